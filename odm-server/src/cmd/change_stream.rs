//! Opening a change stream (`aggregate` with `$changeStream` first) and reading its
//! batches (`getMore`); the events themselves come from [`crate::change_stream`].
//!
//! ```text
//! {aggregate: "coll", pipeline: [{$changeStream: {...}}, ...], cursor: {batchSize?}}   a collection
//! {aggregate: 1, pipeline: [{$changeStream: {...}}], cursor: {}}                       a database
//! {aggregate: 1, pipeline: [{$changeStream: {allChangesForCluster: true}}], $db: "admin"}  everything
//! reply {cursor: {firstBatch, postBatchResumeToken: {_data}, id, ns}, ok: 1}
//! ```
//!
//! The cursor is tailable: it stays open (until an invalidate event) and each `getMore`
//! waits up to its `maxTimeMS` (1 s when absent, as mongod) for events.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::{Fields, namespace};
use crate::change_stream::{ChangeStream, Scope};
use crate::cursor::{Cursor, Tail, await_deadline};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// Events per batch when the client does not say (mongod's default first batch).
const DEFAULT_BATCH: usize = 101;

pub fn open(ctx: &Ctx<'_>, f: &Fields<'_>, spec: &Document, rest: &[Bson]) -> CmdResult<Document> {
    if !ctx.state.is_replica_set() {
        return Err(CommandError::new(
            ErrorCode::Location(40573),
            "The $changeStream stage is only supported on replica sets",
        ));
    }
    if ctx.in_transaction() {
        return Err(CommandError::new(
            ErrorCode::OperationNotSupportedInTransaction,
            "Operation not permitted in transaction :: caused by :: $changeStream",
        ));
    }
    let whole_cluster = spec.get_bool("allChangesForCluster").unwrap_or(false);
    let (scope, ns) = match ctx.body.get("aggregate") {
        Some(Bson::String(coll)) if !whole_cluster => {
            // A view has no changes of its own to report.
            crate::storage::catalog::get_collection(&*ctx.reader()?, ctx.db, coll)?;
            (
                Scope::Collection {
                    db: ctx.db.to_owned(),
                    coll: coll.clone(),
                },
                namespace(ctx.db, coll),
            )
        }
        Some(Bson::Int32(1) | Bson::Int64(1) | Bson::Double(1.0)) if whole_cluster => {
            if ctx.db != "admin" {
                return Err(CommandError::new(
                    ErrorCode::InvalidNamespace,
                    "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database",
                ));
            }
            (Scope::Cluster, namespace(ctx.db, "$cmd.aggregate"))
        }
        Some(Bson::Int32(1) | Bson::Int64(1) | Bson::Double(1.0)) => {
            if matches!(ctx.db, "admin" | "config" | "local") {
                return Err(CommandError::new(
                    ErrorCode::InvalidNamespace,
                    format!(
                        "$changeStream may not be opened on the internal {} database",
                        ctx.db
                    ),
                ));
            }
            (
                Scope::Database {
                    db: ctx.db.to_owned(),
                },
                namespace(ctx.db, "$cmd.aggregate"),
            )
        }
        _ => {
            return Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                "a $changeStream with allChangesForCluster needs {aggregate: 1} on admin",
            ));
        }
    };
    let batch_size = match f.document("cursor")? {
        Some(c) => Fields {
            command: "aggregate.cursor",
            doc: c,
        }
        .non_negative("batchSize")?
        .map(|n| n as usize),
        None => {
            return Err(CommandError::failed_to_parse(
                "The 'cursor' option is required, except for aggregate with the explain argument",
            ));
        }
    };
    let repl = &ctx.state.repl;
    let mut stream = ChangeStream::open(repl, &*repl.snapshot().snapshot, scope, spec, rest)?;
    let batch = stream.next_batch(repl, batch_size.unwrap_or(DEFAULT_BATCH), None)?;
    let token = stream.resume_token();
    let id = if stream.finished() {
        0
    } else {
        let id = ctx.state.cursors.new_id();
        ctx.state.cursors.put(Cursor {
            batch_size,
            tail: Some(Tail::ChangeStream(Box::new(stream))),
            ..ctx.new_cursor(id, &ns)
        });
        id
    };
    Ok(reply(id, &ns, batch, token, "firstBatch"))
}

fn reply(id: i64, ns: &str, batch: Vec<Document>, token: Document, field: &str) -> Document {
    doc! {"cursor": {field: batch, "postBatchResumeToken": token, "id": id, "ns": ns}}
}

/// A `getMore` on a change stream: the next events, waiting up to `maxTimeMS`.
pub fn get_more(
    ctx: &Ctx<'_>,
    stream: &mut ChangeStream,
    id: i64,
    ns: &str,
    batch_size: Option<usize>,
) -> CmdResult<(Document, bool)> {
    let batch = stream.next_batch(
        &ctx.state.repl,
        batch_size.unwrap_or(DEFAULT_BATCH),
        Some(await_deadline(ctx.body)),
    )?;
    let done = stream.finished();
    let token = stream.resume_token();
    Ok((
        reply(if done { 0 } else { id }, ns, batch, token, "nextBatch"),
        done,
    ))
}
