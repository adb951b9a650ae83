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
//! with its index entries, or not at all. Documents that came as a document sequence
//! are stored as the bytes they came in; they are decoded only for a validator or a
//! secondary index. `ordered` stops at the first failure; unordered
//! goes on and reports every failure. Everything inserted is committed either way.

use std::sync::atomic::Ordering;

use std::borrow::Cow;

use bson::{Document, RawDocument, RawDocumentBuf, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::{Validator, check_storable_raw, run_batch, with_write_errors, write_reply};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::raw_bson::with_id_first;
use crate::storage::catalog;
use crate::wire::MAX_WRITE_BATCH;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let docs: Vec<Cow<'_, RawDocument>> = match ctx.documents {
        Some(sequence) => sequence.iter().map(Cow::Borrowed).collect(),
        None => f
            .documents("documents")?
            .into_iter()
            .map(|d| encode(d).map(Cow::Owned))
            .collect::<CmdResult<_>>()?,
    };
    check_batch_size(docs.len())?;
    let ordered = f.bool("ordered")?.unwrap_or(true);
    let bypass = f.bool("bypassDocumentValidation")?.unwrap_or(false);
    let wc = WriteConcern::parse(&f)?;
    catalog::validate_writable(ctx.db, coll)?;

    let reply = write_reply(ctx, wc, |w| {
        ctx.state.fail_points.hang_during_insert();
        let mut meta = w.collection(ctx.db, coll)?;
        let validator = Validator::of(&meta, bypass)?;
        let (inserted, errors) = run_batch(docs.iter(), ordered, |doc| {
            let doc = with_id_first(doc).map_err(unreadable)?;
            check_storable_raw(&doc)?;
            validator.check_raw(ctx, &doc)?;
            w.insert_raw(&mut meta, &doc)
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

fn encode(doc: &Document) -> CmdResult<RawDocumentBuf> {
    RawDocumentBuf::try_from(doc).map_err(unreadable)
}

fn unreadable(e: bson::error::Error) -> CommandError {
    CommandError::bad_value(format!("cannot read the document to insert: {e}"))
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
