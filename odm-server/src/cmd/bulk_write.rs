//! `bulkWrite` (MongoDB 8.0): inserts, updates and deletes over any number of
//! namespaces, in any database, in one command on `admin`. It is what the drivers'
//! client-level bulk write sends.
//!
//! ```text
//! request  {bulkWrite: 1, ops: [op, ...], nsInfo: [{ns: "db.coll"}, ...],
//!           ordered?: true, errorsOnly?: false, bypassDocumentValidation?: false,
//!           let?, writeConcern?, cursor?: {batchSize}, $db: "admin"}
//!          (ops and nsInfo usually arrive as OP_MSG document sequences)
//! op       {insert: <nsInfo index>, document}
//!          {update: <index>, filter, updateMods, arrayFilters?, multi?, upsert?, hint?,
//!           sort?, collation?}
//!          {delete: <index>, filter, multi?, hint?, collation?}
//! reply    {cursor: {id: 0, firstBatch: [{ok: 1, idx, n, nModified?, upserted?: {_id}}
//!           | {ok: 0, idx, code, codeName, errmsg}, ...], ns: "admin.$cmd.bulkWrite"},
//!           nErrors, nInserted, nMatched, nModified, nUpserted, nDeleted, ok: 1}
//! ```
//!
//! Every operation runs in one write (one storage transaction, or statements of the
//! caller's transaction), so a retry of the whole command by its transaction number gets
//! the recorded reply back instead of writing twice. `ordered` stops at the first failed
//! operation; `errorsOnly` leaves successful operations out of the cursor. The whole
//! result comes in the first batch.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bson::{Bson, Document, RawDocumentBuf, doc};

use super::Ctx;
use super::fields::Fields;
use super::update::{self, Statement};
use super::write_concern::WriteConcern;
use super::writes::{Validator, check_storable_raw, under_collation, write_reply};
use crate::depth;
use crate::engine::agg::bind::{Vars, command_let};
use crate::engine::collation::Collator;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::raw_bson::with_id_first;
use crate::replset::writer::Writer;
use crate::storage::catalog::{self, CollectionMeta};
use crate::wire::MAX_WRITE_BATCH;

/// One operation, parsed.
enum Op {
    Insert(RawDocumentBuf),
    Update(Box<Statement>),
    Delete(Box<Delete>),
}

struct Delete {
    filter: Filter,
    multi: bool,
    hint: Option<Hint>,
    collation: Option<Option<Collator>>,
}

/// A namespace of `nsInfo`, split into its database and collection.
struct Namespace {
    db: String,
    coll: String,
}

fn parse_namespaces(items: &[&Document]) -> CmdResult<Vec<Namespace>> {
    items
        .iter()
        .map(|item| {
            let ns = item.get_str("ns").map_err(|_| {
                CommandError::failed_to_parse(
                    "BSON field 'bulkWrite.nsInfo.ns' is missing but a required field",
                )
            })?;
            let Some((db, coll)) = ns.split_once('.') else {
                return Err(CommandError::new(
                    ErrorCode::InvalidNamespace,
                    format!("Invalid namespace specified '{ns}'"),
                ));
            };
            catalog::validate_writable(db, coll)?;
            if db == "local" && coll == "oplog.rs" {
                return Err(CommandError::new(
                    ErrorCode::InvalidNamespace,
                    "cannot write to local.oplog.rs",
                ));
            }
            Ok(Namespace {
                db: db.to_string(),
                coll: coll.to_string(),
            })
        })
        .collect()
}

/// The operation at `i` and the index of its namespace. A malformed operation fails the
/// whole command, as in mongod, before anything is written.
fn parse_op(i: usize, op: &Document, namespaces: usize) -> CmdResult<(usize, Op)> {
    let Some((kind, index)) = op.iter().next() else {
        return Err(CommandError::failed_to_parse(format!(
            "BulkWrite ops entry {i} is empty"
        )));
    };
    let index = match index {
        Bson::Int32(n) if *n >= 0 && (*n as usize) < namespaces => *n as usize,
        Bson::Int32(_) => {
            return Err(CommandError::bad_value(format!(
                "BulkWrite ops entry {i} has an invalid nsInfo index."
            )));
        }
        other => {
            return Err(CommandError::type_mismatch(format!(
                "BulkWrite ops entry {i}: the nsInfo index must be an int, found {other}"
            )));
        }
    };
    let f = Fields {
        command: "bulkWrite.ops",
        doc: op,
    };
    let parsed = match kind.as_str() {
        "insert" => {
            let document = f
                .document("document")?
                .ok_or_else(|| f.missing("document"))?;
            Op::Insert(
                RawDocumentBuf::try_from(document).map_err(CommandError::unreadable_document)?,
            )
        }
        "update" => {
            // The `update` command's statement, under this command's names.
            let mut spec = Document::new();
            for (k, v) in op.iter().skip(1) {
                let key = match k.as_str() {
                    "filter" => "q",
                    "updateMods" => "u",
                    "multi" | "upsert" | "hint" | "sort" | "arrayFilters" | "collation" => k,
                    other => {
                        return Err(CommandError::failed_to_parse(format!(
                            "BSON field 'bulkWrite.ops.{other}' is an unknown field."
                        )));
                    }
                };
                spec.insert(key, v.clone());
            }
            if !spec.contains_key("q") {
                return Err(f.missing("filter"));
            }
            if !spec.contains_key("u") {
                return Err(f.missing("updateMods"));
            }
            Op::Update(Box::new(Statement::parse(&spec)?))
        }
        "delete" => {
            for k in op.keys().skip(1) {
                if !matches!(k.as_str(), "filter" | "multi" | "hint" | "collation") {
                    return Err(CommandError::failed_to_parse(format!(
                        "BSON field 'bulkWrite.ops.{k}' is an unknown field."
                    )));
                }
            }
            Op::Delete(Box::new(Delete {
                filter: Filter::parse(f.document("filter")?.ok_or_else(|| f.missing("filter"))?)?,
                multi: f.bool("multi")?.unwrap_or(false),
                hint: op.get("hint").map(Hint::parse).transpose()?.flatten(),
                collation: f.collation()?,
            }))
        }
        other => {
            return Err(CommandError::failed_to_parse(format!(
                "Unrecognized bulkWrite operation: '{other}' in ops entry {i}"
            )));
        }
    };
    Ok((index, parsed))
}

/// What one operation did, as its cursor entry reports it.
#[derive(Default)]
struct Done {
    inserted: usize,
    matched: usize,
    modified: usize,
    upserted: Option<Bson>,
    deleted: usize,
}

/// The collections the command has opened, by namespace index. A namespace that does
/// not exist stays `None` until an insert or an upsert creates it.
struct Targets<'n> {
    namespaces: &'n [Namespace],
    open: HashMap<usize, Option<CollectionMeta>>,
}

impl Targets<'_> {
    fn existing(&mut self, w: &mut Writer<'_>, i: usize) -> CmdResult<Option<&mut CollectionMeta>> {
        if !self.open.contains_key(&i) {
            let ns = &self.namespaces[i];
            let meta = catalog::get_collection(w, &ns.db, &ns.coll)?;
            self.open.insert(i, meta);
        }
        Ok(self.open.get_mut(&i).and_then(Option::as_mut))
    }

    fn created(&mut self, w: &mut Writer<'_>, i: usize) -> CmdResult<&mut CollectionMeta> {
        if self.existing(w, i)?.is_none() {
            let ns = &self.namespaces[i];
            let meta = w.collection(&ns.db, &ns.coll)?;
            self.open.insert(i, Some(meta));
        }
        self.existing(w, i)?
            .ok_or_else(|| CommandError::internal("a collection just created is not open"))
    }
}

fn run_op(
    ctx: &Ctx<'_>,
    w: &mut Writer<'_>,
    targets: &mut Targets<'_>,
    (index, op): (usize, Op),
    vars: &Vars,
    bypass: bool,
) -> CmdResult<Done> {
    match op {
        Op::Insert(doc) => {
            let meta = targets.created(w, index)?;
            let doc = with_id_first(&doc).map_err(CommandError::unreadable_document)?;
            check_storable_raw(&doc)?;
            Validator::of(meta, bypass)?.check_raw(ctx, &doc)?;
            w.insert_raw(meta, &doc)?;
            Ok(Done {
                inserted: 1,
                ..Done::default()
            })
        }
        Op::Update(mut st) => {
            st.filter.bind(vars);
            st.update.bind(vars);
            let meta = if st.upsert {
                targets.created(w, index)?
            } else {
                match targets.existing(w, index)? {
                    Some(meta) => meta,
                    None => return Ok(Done::default()),
                }
            };
            let validator = Validator::of(meta, bypass)?;
            let outcome = update::apply(ctx, w, meta, &st, &validator)?;
            Ok(Done {
                matched: outcome.matched,
                modified: outcome.modified,
                upserted: outcome.upserted,
                ..Done::default()
            })
        }
        Op::Delete(delete) => {
            let Delete {
                mut filter,
                multi,
                hint,
                collation,
            } = *delete;
            filter.bind(vars);
            let Some(meta) = targets.existing(w, index)? else {
                return Ok(Done::default());
            };
            let query = Query {
                limit: (!multi).then_some(1),
                hint,
                ..Query::matching(filter)
            };
            let found = under_collation(&collation, meta, || collect(w, meta, &query))?;
            for doc in &found {
                w.delete(meta, doc)?;
            }
            Ok(Done {
                deleted: found.len(),
                ..Done::default()
            })
        }
    }
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let vars = command_let(ctx.body)?;
    let namespaces = parse_namespaces(f.documents("nsInfo")?.as_slice())?;
    let raw_ops = f.documents("ops")?;
    // An empty bulkWrite is allowed; only the upper bound is the batch's.
    if raw_ops.len() > MAX_WRITE_BATCH {
        super::insert::check_batch_size(raw_ops.len())?;
    }
    // A malformed operation fails the command before anything is written.
    for (i, op) in raw_ops.iter().enumerate() {
        parse_op(i, op, namespaces.len())?;
    }
    let ordered = f.bool("ordered")?.unwrap_or(true);
    let errors_only = f.bool("errorsOnly")?.unwrap_or(false);
    let bypass = f.bool("bypassDocumentValidation")?.unwrap_or(false);
    let wc = WriteConcern::parse(&f)?;

    let reply = write_reply(ctx, wc, |w| {
        let mut targets = Targets {
            namespaces: &namespaces,
            open: HashMap::new(),
        };
        let mut results = Vec::new();
        let mut totals = Done::default();
        let (mut errors, mut upserts) = (0_i32, 0_usize);
        // Parsed again for each attempt: a write retried after a conflict starts over
        // with fresh statements.
        let ops = raw_ops
            .iter()
            .enumerate()
            .map(|(i, op)| parse_op(i, op, namespaces.len()))
            .collect::<CmdResult<Vec<_>>>()?;
        for (i, op) in ops.into_iter().enumerate() {
            match depth::guard(|| run_op(ctx, w, &mut targets, op, &vars, bypass)) {
                Ok(done) => {
                    totals.inserted += done.inserted;
                    totals.matched += done.matched;
                    totals.modified += done.modified;
                    totals.deleted += done.deleted;
                    upserts += usize::from(done.upserted.is_some());
                    if !errors_only {
                        let n = done.inserted
                            + done.matched
                            + done.deleted
                            + usize::from(done.upserted.is_some());
                        let mut entry = doc! {"ok": 1.0, "idx": i as i32, "n": n as i32};
                        if raw_ops[i].contains_key("update") {
                            entry.insert("nModified", done.modified as i32);
                            if let Some(id) = done.upserted {
                                entry.insert("upserted", doc! {"_id": id});
                            }
                        }
                        results.push(Bson::Document(entry));
                    }
                }
                Err(e) if e.code == ErrorCode::InternalError => return Err(e),
                Err(e) => {
                    errors += 1;
                    let mut entry = doc! {"ok": 0.0, "idx": i as i32, "code": e.code.code(),
                    "codeName": e.code.name(), "errmsg": e.message.clone()};
                    if let Some(info) = &e.info {
                        entry.extend(info.as_ref().clone());
                    }
                    results.push(Bson::Document(entry));
                    if ordered {
                        break;
                    }
                }
            }
        }
        Ok(doc! {
            "cursor": {"id": 0_i64, "firstBatch": results, "ns": "admin.$cmd.bulkWrite"},
            "nErrors": errors,
            "nInserted": totals.inserted as i32,
            "nMatched": totals.matched as i32,
            "nModified": totals.modified as i32,
            "nUpserted": upserts as i32,
            "nDeleted": totals.deleted as i32,
        })
    })?;
    let counters = &ctx.state.counters;
    let count = |field: &str| reply.get_i32(field).unwrap_or(0) as u64;
    counters
        .insert
        .fetch_add(count("nInserted"), Ordering::Relaxed);
    counters
        .update
        .fetch_add(count("nMatched") + count("nUpserted"), Ordering::Relaxed);
    counters
        .delete
        .fetch_add(count("nDeleted"), Ordering::Relaxed);
    Ok(reply)
}
