//! `find`: queries a collection and opens a cursor over the results.
//!
//! ```text
//! request  {find: "coll", filter?, sort?, projection?, hint?, skip?, limit?, batchSize?,
//!           singleBatch?, allowDiskUse?, collation?, comment?, maxTimeMS?, readConcern?,
//!           tailable?, awaitData?, let?}
//! reply    {cursor: {firstBatch: [...], id: Int64, ns: "db.coll"}, ok: 1}
//! ```
//!
//! The first batch holds `batchSize` documents (101 by default) within 16 MiB; the cursor
//! id is 0 when nothing is left. `limit` and `skip` are non-negative (51024).
//! A missing collection is an empty result, not an error.
//!
//! `local.oplog.rs` on a replica-set member is read by [`crate::oplog_collection`]. A
//! `tailable` cursor follows it or a capped collection ([`crate::capped_tail`]) (mongod's
//! rules: `awaitData` needs `tailable` (9); a tailable cursor sorts by `{$natural: 1}`
//! only and has no `singleBatch` (2); on another collection it is `BadValue` (2),
//! "tailable cursor requested on non capped collection"). Its first batch never waits.

use std::sync::atomic::Ordering;

use bson::Document;

use super::Ctx;
use super::fields::{Fields, namespace};
use crate::capped_tail::CappedTail;
use crate::cursor::{Cursor, Source, Tail};
use crate::engine::agg::bind::command_let;
use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::engine::projection::Projection;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError};
use crate::exec::{BatchLimit, CursorState, MAX_BATCH_BYTES, Query};
use crate::oplog_collection::{self, OplogCursor};
use crate::planner::Hint;
use crate::raw_bson::RawBatch;
use crate::storage::catalog;

/// The first batch's size when the client gives none (mongod's default).
pub const DEFAULT_FIRST_BATCH: usize = 101;

/// A parsed `find`.
pub struct FindArgs<'a> {
    pub collection: &'a str,
    pub query: Query,
    pub batch_size: Option<usize>,
    pub single_batch: bool,
    pub tailable: bool,
    pub await_data: bool,
    /// The collation asked for (`None`: the collection's default).
    pub collation: Option<Option<Collator>>,
}

/// Parses a `find` command (also used by `explain`).
pub fn parse(body: &Document) -> CmdResult<FindArgs<'_>> {
    let f = Fields::new(body);
    let collection = f.collection()?;
    let empty = Document::new();
    let filter_doc = f.document("filter")?.unwrap_or(&empty).clone();
    let mut sort_doc = f.document("sort")?.unwrap_or(&empty).clone();
    // `sort: {$natural: ±1}` asks for a collection scan in that direction, not a sort.
    let mut hint = body.get("hint").map(Hint::parse).transpose()?.flatten();
    if let Some(direction) = sort_doc.remove("$natural") {
        if !sort_doc.is_empty() {
            return Err(CommandError::bad_value(
                "$natural cannot be combined with other sort fields",
            ));
        }
        if hint.is_none() {
            hint = Hint::parse(&bson::Bson::Document(bson::doc! {"$natural": direction}))?;
        }
    }
    let projection = Projection::parse(f.document("projection")?.unwrap_or(&empty))?;
    let skip = f.non_negative("skip")?.unwrap_or(0);
    // The shell's negative limit is a client-side idea: it sends `singleBatch`.
    let limit = f.non_negative("limit")?.filter(|n| *n > 0);
    let batch_size = f.non_negative("batchSize")?.map(|n| n as usize);
    let single_batch = f.bool("singleBatch")?.unwrap_or(false);
    for unsupported in ["min", "max", "returnKey", "showRecordId"] {
        if f.doc.get(unsupported).is_some_and(|v| {
            crate::engine::agg::expr::truthy(Some(v))
                && !matches!(v, bson::Bson::Document(d) if d.is_empty())
        }) {
            return Err(CommandError::bad_value(format!(
                "find option '{unsupported}' is not supported by this server yet"
            )));
        }
    }
    let tailable = f.bool("tailable")?.unwrap_or(false);
    let await_data = f.bool("awaitData")?.unwrap_or(false);
    check_tailable(f.document("sort")?, tailable, await_data, single_batch)?;
    let vars = command_let(f.doc)?;
    let mut filter = Filter::parse(&filter_doc)?;
    filter.bind(&vars);
    let mut projection = projection;
    if let Some(p) = &mut projection {
        p.bind(&vars);
    }
    let collation = f.collation()?;
    Ok(FindArgs {
        collection,
        query: Query {
            filter,
            sort: SortSpec::parse_find(&sort_doc)?,
            filter_doc,
            sort_doc,
            projection,
            skip,
            limit,
            hint,
            allow_disk_use: f.bool("allowDiskUse")?.unwrap_or(false),
            // `run` sets the server's configured limit.
            sort_memory_limit: crate::exec::BLOCKING_SORT_LIMIT,
        },
        batch_size,
        single_batch,
        tailable,
        await_data,
        collation,
    })
}

/// mongod's rules for `tailable` and `awaitData`.
fn check_tailable(
    sort: Option<&Document>,
    tailable: bool,
    await_data: bool,
    single_batch: bool,
) -> CmdResult<()> {
    if await_data && !tailable {
        return Err(CommandError::failed_to_parse(
            "Cannot set 'awaitData' without also setting 'tailable'",
        ));
    }
    if !tailable {
        return Ok(());
    }
    let natural_forward = |s: &Document| {
        s.len() == 1
            && s.get("$natural")
                .and_then(crate::engine::arith::to_i64_exact)
                == Some(1)
    };
    if sort.is_some_and(|s| !s.is_empty() && !natural_forward(s)) {
        return Err(CommandError::bad_value(
            "cannot use tailable option with a sort other than {$natural: 1}",
        ));
    }
    if single_batch {
        return Err(CommandError::bad_value(
            "cannot use tailable option with the 'singleBatch' option",
        ));
    }
    Ok(())
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let mut args = parse(ctx.body)?;
    args.query.sort_memory_limit = ctx.state.config.sort_memory_limit;
    ctx.state.counters.query.fetch_add(1, Ordering::Relaxed);
    let ns = namespace(ctx.db, args.collection);
    catalog::validate_collection_name(ctx.db, args.collection)?;
    let limit = BatchLimit {
        docs: Some(args.batch_size.unwrap_or(DEFAULT_FIRST_BATCH)),
        bytes: MAX_BATCH_BYTES,
    };
    if oplog_collection::is_oplog(ctx.state, ctx.db, args.collection) {
        return find_oplog(ctx, &args, &ns, limit);
    }
    let txn = ctx.reader()?;
    if let Some(view) = super::views::resolve(&*txn, ctx.db, args.collection)? {
        super::views::check_collation(&args.collation)?;
        let docs = super::views::read(ctx, &*txn, &view, super::views::find_stages(&args.query))?;
        drop(txn);
        return computed_cursor(ctx, &ns, docs, args.batch_size);
    }
    let Some(meta) = catalog::get(&*txn, ctx.db, args.collection)? else {
        return Ok(ctx.cursor_reply(0, &ns, RawBatch::default(), true));
    };
    if args.tailable && meta.capped().is_some() {
        return find_capped_tail(ctx, &*txn, &meta, args, &ns, limit);
    }
    if args.tailable {
        let filter = if args.query.filter_doc.is_empty() {
            "$and".to_owned()
        } else {
            args.query.filter_doc.to_string()
        };
        return Err(CommandError::bad_value(format!(
            "error processing query: ns={ns}Tree: {filter}\nSort: {}\nProj: {{}}\n tailable cursor requested on non capped collection",
            args.query.sort_doc
        )));
    }
    let collation = collation::effective(args.collation.clone(), Some(&meta.options))?;
    let (state, batch, done) = collation::with_collation(collation.as_ref(), || {
        let (mut state, _plan) = CursorState::open(&*txn, &meta, &args.query)?;
        let (batch, done) = state.next_batch(Some((&*txn, &meta)), limit)?;
        CmdResult::Ok((state, batch, done))
    })?;
    let snapshot = txn.published().filter(|_| ctx.snapshot_read());
    drop(txn);
    if done || args.single_batch {
        return Ok(ctx.cursor_reply(0, &ns, batch, true));
    }
    let id = ctx.state.cursors.new_id();
    ctx.state.cursors.put(Cursor {
        source: Source::Collection { ident: meta.ident },
        state,
        batch_size: args.batch_size,
        snapshot,
        ..ctx.new_cursor(id, &ns)
    });
    Ok(ctx.cursor_reply(id, &ns, batch, true))
}

/// `find` on `local.oplog.rs`: the first batch, and a cursor for the rest (a tailable
/// one stays open at the end of the log).
fn find_oplog(
    ctx: &Ctx<'_>,
    args: &FindArgs<'_>,
    ns: &str,
    limit: BatchLimit,
) -> CmdResult<Document> {
    if ctx.in_transaction() {
        return Err(CommandError::new(
            crate::error::ErrorCode::OperationNotSupportedInTransaction,
            "Cannot run command against the 'local' database in a transaction.",
        ));
    }
    let txn = ctx.reader()?;
    let mut oplog = OplogCursor::open(&*txn, &args.query, args.tailable)?;
    let (batch, done) = oplog.next_batch(&*txn, limit)?;
    drop(txn);
    if done || args.single_batch {
        return Ok(ctx.cursor_reply(0, ns, batch, true));
    }
    let id = ctx.state.cursors.new_id();
    ctx.state.cursors.put(Cursor {
        batch_size: args.batch_size,
        tail: Some(Tail::Oplog {
            cursor: Box::new(oplog),
            await_data: args.await_data,
        }),
        ..ctx.new_cursor(id, ns)
    });
    Ok(ctx.cursor_reply(id, ns, batch, true))
}

/// A tailable `find` on a capped collection: the first batch, and a cursor that stays
/// open at the end of the collection for what is inserted later.
fn find_capped_tail(
    ctx: &Ctx<'_>,
    txn: &dyn crate::storage::ReadTxn,
    meta: &crate::storage::catalog::CollectionMeta,
    args: FindArgs<'_>,
    ns: &str,
    limit: BatchLimit,
) -> CmdResult<Document> {
    let collation = collation::effective(args.collation, Some(&meta.options))?;
    let query = args.query;
    let mut tail = CappedTail::new(
        meta,
        query.filter,
        query.projection,
        query.skip,
        query.limit,
        collation,
    );
    let (batch, done) = tail.next_batch(txn, meta, limit)?;
    if done || args.single_batch {
        return Ok(ctx.cursor_reply(0, ns, batch, true));
    }
    let id = ctx.state.cursors.new_id();
    ctx.state.cursors.put(Cursor {
        batch_size: args.batch_size,
        tail: Some(Tail::Capped {
            cursor: Box::new(tail),
            await_data: args.await_data,
        }),
        ..ctx.new_cursor(id, ns)
    });
    Ok(ctx.cursor_reply(id, ns, batch, true))
}

/// Opens a cursor over results computed up front (aggregate, listCollections, ...):
/// returns the first batch, registering the rest.
pub fn computed_cursor(
    ctx: &Ctx<'_>,
    ns: &str,
    docs: Vec<Document>,
    batch_size: Option<usize>,
) -> CmdResult<Document> {
    let mut state = CursorState::Buffered(docs.into());
    let limit = BatchLimit {
        docs: Some(batch_size.unwrap_or(DEFAULT_FIRST_BATCH)),
        bytes: MAX_BATCH_BYTES,
    };
    let (batch, done) = state.next_batch(None, limit)?;
    if done {
        return Ok(ctx.cursor_reply(0, ns, batch, true));
    }
    let id = ctx.state.cursors.new_id();
    ctx.state.cursors.put(Cursor {
        state,
        batch_size,
        ..ctx.new_cursor(id, ns)
    });
    Ok(ctx.cursor_reply(id, ns, batch, true))
}
