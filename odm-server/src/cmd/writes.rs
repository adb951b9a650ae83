//! What every write command shares: running through a [`Writer`] (one storage
//! transaction with the asked durability, or a statement of a multi-document
//! transaction), checking documents before they are stored, and collection validators.

use bson::spec::ElementType;
use bson::{Bson, Document, RawBsonRef, RawDocument};

use super::Ctx;
use super::write_concern::WriteConcern;
use crate::config::Journal;
use crate::depth::{self, Write};
use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::writer::Writer;
use crate::storage::catalog::CollectionMeta;
use crate::wire::MAX_DOCUMENT_LEN;

/// Runs a write command's `work` through a [`Writer`]. Outside a transaction it is one
/// storage transaction, committed with its oplog entries; when the write concern (or, if
/// it does not say, the server's [`Journal`] setting) asks for it, the commit is on disk
/// before this returns. Inside a transaction it writes into the transaction and locks
/// what it wrote. An error from `work` rolls everything back.
pub fn write<T>(
    ctx: &Ctx<'_>,
    wc: WriteConcern,
    work: impl FnMut(&mut Writer<'_>) -> CmdResult<T>,
) -> CmdResult<T> {
    run_write(ctx, wc, work, |_| None)
}

/// [`write`] for the commands drivers retry (`insert`, `update`, `delete`,
/// `findAndModify`): `work` returns the reply, which a retryable write records with its
/// changes, so that a retry gets it back instead of writing twice. A reply with
/// `writeErrors` inside a transaction aborts the transaction, as in mongod.
pub fn write_reply(
    ctx: &Ctx<'_>,
    wc: WriteConcern,
    work: impl FnMut(&mut Writer<'_>) -> CmdResult<Document>,
) -> CmdResult<Document> {
    let reply = run_write(ctx, wc, work, |reply| Some(reply.clone()))?;
    if reply.contains_key("writeErrors")
        && let Some(cell) = ctx.txn
    {
        ctx.state.repl.abort_transaction(&mut cell.borrow_mut());
    }
    Ok(reply)
}

fn run_write<T>(
    ctx: &Ctx<'_>,
    wc: WriteConcern,
    mut work: impl FnMut(&mut Writer<'_>) -> CmdResult<T>,
    reply_of: impl Fn(&T) -> Option<Document>,
) -> CmdResult<T> {
    let state = ctx.state;
    if let Some(cell) = ctx.txn {
        let mut txn = cell.borrow_mut();
        let mut writer = Writer::in_transaction(&mut txn.overlay);
        let out = work(&mut writer);
        let (changes, touched) = writer.into_changes();
        let out = out?;
        state
            .repl
            .end_statement(&*state.store, &mut txn, changes, touched)?;
        ctx.operation_time.set(Some(txn.read_ts));
        return Ok(out);
    }
    let durable = wc
        .journal
        .unwrap_or(state.config.journal == Journal::OnAcknowledge);
    let (out, ts) = state.repl.write(
        &*state.store,
        ctx.retry.as_ref(),
        durable,
        ctx.deadline,
        &mut work,
        reply_of,
    )?;
    ctx.operation_time.set(Some(ts));
    if durable {
        // Most often the commit was durable already (see `replset::batch`).
        state.make_durable()?;
    }
    Ok(out)
}

/// Errors that must abort the whole command rather than fail one operation of a batch.
fn is_fatal(e: &CommandError) -> bool {
    e.code == ErrorCode::InternalError
}

/// Runs the operations of a write batch in order. A failed operation becomes an entry
/// of `writeErrors` (with its index) and an ordered batch stops there; a storage failure
/// aborts the whole command. Returns what each successful operation produced.
pub fn run_batch<I: IntoIterator, T>(
    items: I,
    ordered: bool,
    mut op: impl FnMut(I::Item) -> CmdResult<T>,
) -> CmdResult<(Vec<T>, Vec<Document>)> {
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        // Each document is encoded, decoded and checked whole: see `depth`.
        match depth::guard(|| op(item)) {
            Ok(v) => done.push(v),
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                errors.push(e.to_write_error(i));
                if ordered {
                    break;
                }
            }
        }
    }
    Ok((done, errors))
}

/// Adds `writeErrors` to a write command's reply when there are any.
pub fn with_write_errors(mut reply: Document, errors: Vec<Document>) -> Document {
    if !errors.is_empty() {
        reply.insert("writeErrors", errors);
    }
    reply
}

/// Checks a document about to be stored: nesting, size, and a valid `_id`. The depth
/// comes first: an update may have nested the document deeper than encoding it should
/// be asked to go.
pub fn check_storable(doc: &Document, write: Write) -> CmdResult<()> {
    depth::check_storage_depth(doc, write)?;
    // Measured, not encoded: storing it encodes it once, and fails there if it cannot.
    check_size(crate::engine::types::encoded_len(doc))?;
    match doc.get("_id") {
        None => Ok(()),
        Some(id) => check_id(
            id.element_type(),
            || matches!(id, Bson::Document(d) if d.keys().any(|k| k.starts_with('$'))),
        ),
    }
}

/// [`check_storable`] for a document to insert as it came, as bytes.
pub fn check_storable_raw(doc: &RawDocument) -> CmdResult<()> {
    depth::check_raw_storage_depth(doc, Write::Insert)?;
    check_size(doc.as_bytes().len())?;
    let id = doc.get("_id").map_err(CommandError::unreadable_document)?;
    match id {
        None => Ok(()),
        Some(id) => check_id(id.element_type(), || {
            matches!(id, RawBsonRef::Document(d)
                if d.iter().any(|e| e.is_ok_and(|(k, _)| k.as_str().starts_with('$'))))
        }),
    }
}

fn check_size(size: usize) -> CmdResult<()> {
    if size > MAX_DOCUMENT_LEN {
        return Err(CommandError::new(
            ErrorCode::BsonObjectTooLarge,
            format!(
                "object to insert too large. size in bytes: {size}, max size: {MAX_DOCUMENT_LEN}"
            ),
        ));
    }
    Ok(())
}

/// Refuses an `_id` of a type mongod does not store; `dollar_field` says whether a
/// document `_id` has a `$`-prefixed field.
fn check_id(kind: ElementType, dollar_field: impl FnOnce() -> bool) -> CmdResult<()> {
    match kind {
        ElementType::Array => Err(CommandError::new(
            ErrorCode::InvalidIdField,
            "The '_id' value cannot be of type array",
        )),
        ElementType::RegularExpression => Err(CommandError::new(
            ErrorCode::InvalidIdField,
            "can't use a regex for _id",
        )),
        ElementType::Undefined => Err(CommandError::new(
            ErrorCode::InvalidIdField,
            "can't use a undefined for _id",
        )),
        ElementType::EmbeddedDocument if dollar_field() => Err(CommandError::new(
            ErrorCode::Location(52),
            "_id fields may not contain '$'-prefixed fields",
        )),
        _ => Ok(()),
    }
}

/// A collection's validator, as `create`/`collMod` set it.
pub struct Validator {
    filter: Option<Filter>,
    /// `validationLevel: "moderate"`: updates of documents that already broke the rules
    /// are let through.
    moderate: bool,
    /// `validationAction: "warn"`: failures are logged, not refused.
    warn_only: bool,
    /// The collection's default collation: a validator compares under it, whatever
    /// collation the write itself asks for.
    collation: Option<Collator>,
}

impl Validator {
    pub fn of(meta: &CollectionMeta, bypass: bool) -> CmdResult<Validator> {
        let opts = &meta.options;
        let level = opts.get_str("validationLevel").unwrap_or("strict");
        let filter = match (opts.get_document("validator"), bypass || level == "off") {
            (Ok(v), false) if !v.is_empty() => Some(Filter::parse(v)?),
            _ => None,
        };
        let collation = match &filter {
            Some(_) => collation::stored(opts)?,
            None => None,
        };
        Ok(Validator {
            filter,
            collation,
            moderate: level == "moderate",
            warn_only: opts.get_str("validationAction").is_ok_and(|a| a == "warn"),
        })
    }

    /// [`Validator::check`] for a document to insert as bytes: decoded only when there
    /// is a validator to run.
    pub fn check_raw(&self, ctx: &Ctx<'_>, doc: &RawDocument) -> CmdResult<()> {
        if self.filter.is_none() {
            return Ok(());
        }
        let doc = Document::try_from(doc).map_err(CommandError::unreadable_document)?;
        self.check(ctx, &doc, None)
    }

    /// Checks a document to be written; `old` is the stored version for an update.
    pub fn check(&self, ctx: &Ctx<'_>, doc: &Document, old: Option<&Document>) -> CmdResult<()> {
        let Some(filter) = &self.filter else {
            return Ok(());
        };
        let matches =
            |d: &Document| collation::with_collation(self.collation.as_ref(), || filter.matches(d));
        if matches(doc) {
            return Ok(());
        }
        if self.moderate && old.is_some_and(|o| !matches(o)) {
            return Ok(());
        }
        let id = doc.get("_id").map(|v| v.to_string()).unwrap_or_default();
        if self.warn_only {
            let line = format!("Document would fail validation: _id {id}");
            tracing::warn!("{line}");
            ctx.state.log.record(line);
            return Ok(());
        }
        Err(CommandError::new(ErrorCode::DocumentValidationFailure, "Document failed validation")
            .with_info(bson::doc! {"errInfo": {"failingDocumentId": doc.get("_id").cloned().unwrap_or(Bson::Null), "details": {"operatorName": "$and", "specifiedAs": "validator"}}}))
    }
}

/// Runs `f` (one statement's reads and changes) under the collation the statement asks
/// for, else the collection's default.
pub fn under_collation<T>(
    given: &Option<Option<Collator>>,
    meta: &CollectionMeta,
    f: impl FnOnce() -> CmdResult<T>,
) -> CmdResult<T> {
    let collation = collation::effective(given.clone(), Some(&meta.options))?;
    collation::with_collation(collation.as_ref(), f)
}
