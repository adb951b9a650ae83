//! `insert`: adds documents, creating the collection if needed.
//!
//! ```text
//! request  {insert: "coll", documents: [doc, ...], ordered?: true,
//!           writeConcern?: {w, j}, bypassDocumentValidation?: false}
//!          (documents usually arrive as an OP_MSG document sequence)
//! reply    {n: <inserted>, writeErrors?: [{index, code, errmsg, keyPattern?, keyValue?}], ok: 1}
//! ```
//!
//! A document without `_id` gets an ObjectId, placed first. Each document is checked
//! (16 MiB, nesting depth 180, a valid `_id`, the collection's validator) and written
//! with its index entries, or not at all. `ordered` stops at the first failure; unordered
//! goes on and reports every failure. Everything inserted is committed either way.

use std::sync::atomic::Ordering;

use bson::{Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::{Validator, check_storable, run_batch, with_write_errors, write_reply};
use crate::depth::Write;
use crate::engine::update::ensure_id_first;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::catalog;
use crate::wire::MAX_WRITE_BATCH;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let docs = f.documents("documents")?;
    check_batch_size(docs.len())?;
    let ordered = f.bool("ordered")?.unwrap_or(true);
    let bypass = f.bool("bypassDocumentValidation")?.unwrap_or(false);
    let wc = WriteConcern::parse(&f)?;
    catalog::validate_collection_name(ctx.db, coll)?;

    let reply = write_reply(ctx, wc, |w| {
        ctx.state.fail_points.hang_during_insert();
        let mut meta = w.collection(ctx.db, coll)?;
        let validator = Validator::of(&meta, bypass)?;
        let (inserted, errors) = run_batch(docs.iter(), ordered, |doc| {
            let doc = ensure_id_first((*doc).clone());
            check_storable(&doc, Write::Insert)?;
            validator.check(ctx, &doc, None)?;
            w.insert(&mut meta, &doc)
        })?;
        Ok(with_write_errors(doc! {"n": inserted.len() as i32}, errors))
    })?;
    let inserted = reply.get_i32("n").unwrap_or(0);
    ctx.state
        .counters
        .insert
        .fetch_add(inserted as u64, Ordering::Relaxed);
    Ok(reply)
}

/// Batches hold 1 to 100,000 operations (`maxWriteBatchSize`).
pub fn check_batch_size(n: usize) -> CmdResult<()> {
    if n == 0 || n > MAX_WRITE_BATCH {
        return Err(CommandError::new(
            ErrorCode::InvalidLength,
            format!(
                "Write batch sizes must be between 1 and {MAX_WRITE_BATCH}. Got {n} operations."
            ),
        ));
    }
    Ok(())
}
