//! `getMore`: the next batch of an open cursor.
//!
//! ```text
//! request  {getMore: Int64 id, collection: "coll", batchSize?, maxTimeMS?}
//! reply    {cursor: {nextBatch: [...], id: Int64 (0 when exhausted), ns}, ok: 1}
//! ```
//!
//! Errors: `CursorNotFound` (43) for an unknown, killed or timed-out id; `Unauthorized`
//! (13) when the collection does not match the cursor's; `QueryPlanKilled` (175) when
//! the collection was dropped or renamed since the cursor was opened; `BadValue` (2) for
//! `maxTimeMS` on a cursor that does not await data, as mongod.
//!
//! A tailable cursor ([`Tail`]) that finds nothing new answers an empty batch and stays
//! open; with `awaitData` (change streams, `local.oplog.rs` opened so) it first waits up
//! to `maxTimeMS` for a commit to bring something, woken by the commit itself.

use std::sync::atomic::Ordering;

use bson::{Bson, Document};

use super::Ctx;
use super::fields::{Fields, namespace};
use crate::cursor::{Cursor, Source, Tail, await_deadline};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{BatchLimit, MAX_BATCH_BYTES};
use crate::storage::catalog;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let id = match ctx.body.get("getMore") {
        Some(Bson::Int64(id)) => *id,
        Some(Bson::Int32(id)) => i64::from(*id),
        Some(other) => {
            return Err(CommandError::type_mismatch(format!(
                "BSON field 'getMore.getMore' is the wrong type '{}', expected type 'long'",
                crate::engine::types::type_alias(crate::engine::types::type_number(other))
                    .unwrap_or("unknown")
            )));
        }
        None => return Err(f.missing("getMore")),
    };
    let coll = f
        .string("collection")?
        .ok_or_else(|| f.missing("collection"))?;
    let batch_size = f
        .non_negative("batchSize")?
        .filter(|n| *n > 0)
        .map(|n| n as usize);
    ctx.state.counters.getmore.fetch_add(1, Ordering::Relaxed);

    let mut cursor = ctx.state.cursors.take(id)?;
    if let Err(e) = ctx.check_cursor_owner(id, &cursor.owners) {
        ctx.state.cursors.give_back(id, Some(cursor));
        return Err(e);
    }
    let ns = namespace(ctx.db, coll);
    if cursor.ns != ns {
        let owner = cursor.ns.clone();
        ctx.state.cursors.give_back(id, Some(cursor));
        return Err(CommandError::new(
            ErrorCode::Unauthorized,
            format!(
                "Requested getMore on namespace '{ns}', but cursor belongs to a different namespace {owner}"
            ),
        ));
    }
    if ctx.body.contains_key("maxTimeMS") && !cursor.tail.as_ref().is_some_and(Tail::awaits_data) {
        ctx.state.cursors.give_back(id, Some(cursor));
        return Err(CommandError::bad_value(
            "cannot set maxTimeMS on getMore command for a non-awaitData cursor",
        ));
    }
    if let Some(mut tail) = cursor.tail.take() {
        let result = match &mut tail {
            Tail::ChangeStream(stream) => super::change_stream::get_more(
                ctx,
                stream,
                id,
                &ns,
                batch_size.or(cursor.batch_size),
            ),
            Tail::Oplog { cursor, await_data } => {
                oplog_batch(ctx, cursor, *await_data, batch_size, id, &ns)
            }
            Tail::Capped { cursor, await_data } => {
                capped_batch(ctx, cursor, *await_data, batch_size, coll, id, &ns)
            }
        };
        return finish(ctx, id, cursor, tail, result);
    }
    let limit = BatchLimit {
        docs: batch_size,
        bytes: MAX_BATCH_BYTES,
    };
    let result = match cursor.source {
        Source::Computed => cursor.state.next_batch(None, limit),
        Source::Collection { ident } => (|| {
            let kept = cursor.snapshot.clone().filter(|_| !ctx.in_transaction());
            let txn = match kept {
                Some(published) => crate::cmd::Reader::Snapshot(published),
                None => ctx.reader()?,
            };
            let meta = catalog::get(&*txn, ctx.db, coll)?
                .filter(|m| m.ident == ident)
                .ok_or_else(|| {
                    CommandError::new(
                        ErrorCode::Location(175),
                        format!("collection {ns} was dropped or renamed while the cursor was open"),
                    )
                })?;
            cursor.state.next_batch(Some((&*txn, &meta)), limit)
        })(),
    };
    match result {
        Ok((batch, done)) => {
            let reply_id = if done { 0 } else { id };
            ctx.state.cursors.give_back(id, (!done).then_some(cursor));
            Ok(ctx.cursor_reply(reply_id, &ns, batch, false))
        }
        Err(e) => {
            ctx.state.cursors.give_back(id, None);
            Err(e)
        }
    }
}

/// Puts a tailable cursor back unless it is exhausted or failed.
fn finish(
    ctx: &Ctx<'_>,
    id: i64,
    mut cursor: Cursor,
    tail: Tail,
    result: CmdResult<(Document, bool)>,
) -> CmdResult<Document> {
    match result {
        Ok((reply, done)) => {
            cursor.tail = Some(tail);
            ctx.state.cursors.give_back(id, (!done).then_some(cursor));
            Ok(reply)
        }
        Err(e) => {
            ctx.state.cursors.give_back(id, None);
            Err(e)
        }
    }
}

/// The next batch of a tailable cursor on a capped collection.
fn capped_batch(
    ctx: &Ctx<'_>,
    tail: &mut crate::capped_tail::CappedTail,
    await_data: bool,
    batch_size: Option<usize>,
    coll: &str,
    id: i64,
    ns: &str,
) -> CmdResult<(Document, bool)> {
    tail_batch(ctx, await_data, batch_size, id, ns, |snapshot, limit| {
        let meta = catalog::get(snapshot, ctx.db, coll)?.ok_or_else(|| {
            CommandError::new(
                ErrorCode::Location(175),
                format!("capped collection {ns} was dropped while a tailable cursor followed it"),
            )
        })?;
        tail.next_batch(snapshot, &meta, limit)
    })
}

/// The next batch of a query on `local.oplog.rs`.
fn oplog_batch(
    ctx: &Ctx<'_>,
    oplog: &mut crate::oplog_collection::OplogCursor,
    await_data: bool,
    batch_size: Option<usize>,
    id: i64,
    ns: &str,
) -> CmdResult<(Document, bool)> {
    tail_batch(ctx, await_data, batch_size, id, ns, |snapshot, limit| {
        oplog.next_batch(snapshot, limit)
    })
}

/// A tailable cursor's next batch (of at most `batch_size` documents), `read` from the
/// latest snapshot; an `awaitData` cursor that finds nothing waits for the next commit,
/// until the deadline.
fn tail_batch(
    ctx: &Ctx<'_>,
    await_data: bool,
    batch_size: Option<usize>,
    id: i64,
    ns: &str,
    mut read: impl FnMut(
        &dyn crate::storage::ReadTxn,
        BatchLimit,
    ) -> CmdResult<(crate::raw_bson::RawBatch, bool)>,
) -> CmdResult<(Document, bool)> {
    let limit = BatchLimit {
        docs: batch_size,
        bytes: MAX_BATCH_BYTES,
    };
    let deadline = await_deadline(ctx.body);
    let repl = &ctx.state.repl;
    loop {
        let published = repl.snapshot();
        let (batch, done) = read(&*published.snapshot, limit)?;
        ctx.operation_time.set(Some(published.ts));
        let waits = await_data && batch.is_empty() && !done;
        if waits && repl.wait_for_commit_after(published.ts, deadline) {
            continue;
        }
        let reply_id = if done { 0 } else { id };
        return Ok((ctx.cursor_reply(reply_id, ns, batch, false), done));
    }
}
