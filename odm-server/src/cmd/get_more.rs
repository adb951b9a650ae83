//! `getMore`: the next batch of an open cursor.
//!
//! ```text
//! request  {getMore: Int64 id, collection: "coll", batchSize?, maxTimeMS?}
//! reply    {cursor: {nextBatch: [...], id: Int64 (0 when exhausted), ns}, ok: 1}
//! ```
//!
//! Errors: `CursorNotFound` (43) for an unknown, killed or timed-out id; `Unauthorized`
//! (13) when the collection does not match the cursor's; `QueryPlanKilled` (175) when
//! the collection was dropped or renamed since the cursor was opened.

use std::sync::atomic::Ordering;

use bson::{Bson, Document};

use super::Ctx;
use super::fields::{Fields, namespace};
use crate::cursor::{self, Source};
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
    if let Some(mut stream) = cursor.stream.take() {
        let result = super::change_stream::get_more(
            ctx,
            &mut stream,
            id,
            &ns,
            batch_size.or(cursor.batch_size),
        );
        return match result {
            Ok((reply, done)) => {
                cursor.stream = Some(stream);
                ctx.state.cursors.give_back(id, (!done).then_some(cursor));
                Ok(reply)
            }
            Err(e) => {
                ctx.state.cursors.give_back(id, None);
                Err(e)
            }
        };
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
            Ok(cursor::reply(reply_id, &ns, batch, false))
        }
        Err(e) => {
            ctx.state.cursors.give_back(id, None);
            Err(e)
        }
    }
}
