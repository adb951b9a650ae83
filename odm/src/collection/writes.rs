//! Writes: inserts, updates, replacements, `save` and deletes. Each validates before it
//! sends anything, fills `_id` and the timestamps, and (for a model with an
//! `#[odm(version)]` field) increments the version and checks it where a whole document
//! replaces another.

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawBsonRef, RawDocumentBuf, doc};

use super::write_errors::{decoded, first_failed_position, write_error_of};
use super::{Collection, UpdateResult};
use crate::error::{BuildError, Error, Result};
use crate::filter::Filter;
use crate::id::IdValue;
use crate::model::Model;
use crate::transaction::send_in;
use crate::update::Update;
use crate::validate::ValidationErrors;

/// What `save` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The model was new: inserted (it holds its id now).
    Inserted,
    /// The stored document was replaced.
    Replaced,
}

/// The document a replacement stores: the model, without a null `_id`, with its tag
/// when it is a variant of a polymorphic model.
fn replacement<M: Model>(model: &M) -> Result<Document> {
    let mut doc = bson::serialize_to_document(model)?;
    if matches!(doc.get("_id"), Some(Bson::Null)) {
        doc.remove("_id");
    }
    if let Some((tag, name)) = M::VARIANT {
        doc.insert(tag, name);
    }
    Ok(doc)
}

/// What `bulk_insert` did, position by position.
#[derive(Debug, Default)]
pub struct BulkInsertReport {
    /// Positions of the models that were inserted, with the `_id` each got.
    pub inserted: Vec<(usize, Bson)>,
    /// Positions of the models that were not, with why.
    pub failed: Vec<(usize, Error)>,
}

impl<M: Model> Collection<M> {
    /// Validates, sets timestamps and the `_id` (an ObjectId when the model has none), and
    /// inserts. On success `model` holds what was stored.
    pub async fn insert_one(&self, model: &mut M) -> Result<()> {
        let cx = self.hook_context();
        model.fill_defaults();
        model.before_validate(&cx).await?;
        model.validate()?;
        model.before_insert(&cx).await?;
        self.insert_validated(model).await?;
        model.after_insert(&cx).await
    }

    /// `insert_one` without its hooks and rules: for `save`, which runs its own.
    async fn insert_validated(&self, model: &mut M) -> Result<()> {
        self.ensure_indexes().await?;
        let (doc, generated) = prepare_insert(model)?;
        send_in!(&self.session, self.encoded().insert_one(&doc))
            .map_err(|e| self.write_error(e, &decoded(&doc)))?;
        if let Some(id) = generated {
            model.set_id(Bson::ObjectId(id))?;
        }
        Ok(())
    }

    /// Validates every model first (nothing is written if any fails; error paths start
    /// with the position, `2.email`), then inserts them in order. A failure stops the
    /// batch: the models before it are stored (and have their ids), the rest are not.
    pub async fn insert_many(&self, models: &mut [M]) -> Result<()> {
        self.ensure_indexes().await?;
        if models.is_empty() {
            return Ok(());
        }
        let cx = self.hook_context();
        for m in models.iter_mut() {
            m.fill_defaults();
            m.before_validate(&cx).await?;
        }
        validate_all(models.iter())?;
        for m in models.iter_mut() {
            m.before_insert(&cx).await?;
        }
        let mut docs = Vec::with_capacity(models.len());
        let mut generated = Vec::with_capacity(models.len());
        for m in models.iter_mut() {
            let (doc, id) = prepare_insert(m)?;
            docs.push(doc);
            generated.push(id);
        }
        let outcome = send_in!(&self.session, self.encoded().insert_many(&docs));
        let stored = match &outcome {
            Ok(_) => models.len(),
            Err(e) => match &*e.kind {
                // A write-concern failure: every document was written.
                mongodb::error::ErrorKind::InsertMany(many) if many.write_errors.is_none() => {
                    models.len()
                }
                _ => first_failed_position(e).unwrap_or(0),
            },
        };
        for (m, id) in models.iter_mut().zip(generated).take(stored) {
            if let Some(id) = id {
                m.set_id(Bson::ObjectId(id))?;
            }
        }
        for m in models.iter().take(stored) {
            m.after_insert(&cx).await?;
        }
        outcome.map(|_| ()).map_err(|e| {
            let failed = first_failed_position(&e)
                .and_then(|i| docs.get(i))
                .map(decoded)
                .unwrap_or_default();
            self.write_error(e, &failed)
        })
    }

    /// Inserts as many models as possible: invalid ones are skipped, the others go in
    /// unordered batches, and the report says what happened to each position.
    pub async fn bulk_insert(&self, models: Vec<M>) -> Result<BulkInsertReport> {
        self.ensure_indexes().await?;
        let cx = self.hook_context();
        let mut report = BulkInsertReport::default();
        let mut docs = Vec::new();
        let mut positions = Vec::new();
        // The models that go out, kept for their `after_insert`.
        let mut sent = Vec::new();
        for (i, mut m) in models.into_iter().enumerate() {
            m.fill_defaults();
            if let Err(e) = m.before_validate(&cx).await {
                report.failed.push((i, e));
                continue;
            }
            if let Err(errors) = m.validate() {
                report.failed.push((i, Error::Validation(errors)));
                continue;
            }
            if let Err(e) = m.before_insert(&cx).await {
                report.failed.push((i, e));
                continue;
            }
            match prepare_insert(&mut m) {
                Ok((doc, _)) => {
                    docs.push(doc);
                    positions.push(i);
                    sent.push(m);
                }
                Err(e) => report.failed.push((i, e)),
            }
        }
        let declared = M::indexes();
        for (chunk, chunk_positions) in docs.chunks(10_000).zip(positions.chunks(10_000)) {
            let failed_in_chunk: Vec<(usize, Error)> = match send_in!(
                &self.session,
                self.encoded().insert_many(chunk).ordered(false)
            ) {
                Ok(_) => Vec::new(),
                Err(e) => match &*e.kind {
                    mongodb::error::ErrorKind::InsertMany(many) if many.write_errors.is_some() => {
                        many.write_errors
                            .iter()
                            .flatten()
                            .map(|w| {
                                (
                                    w.index,
                                    write_error_of(
                                        w.code,
                                        &w.message,
                                        &decoded(&chunk[w.index]),
                                        &declared,
                                    ),
                                )
                            })
                            .collect()
                    }
                    // A write-concern failure: the documents were written.
                    mongodb::error::ErrorKind::InsertMany(_) => Vec::new(),
                    // The batch did not go through: none of it is known to be stored.
                    _ => (0..chunk.len())
                        .map(|i| (i, Error::from(e.clone())))
                        .collect(),
                },
            };
            for (i, (p, doc)) in chunk_positions.iter().zip(chunk).enumerate() {
                if !failed_in_chunk.iter().any(|(f, _)| *f == i) {
                    let id = doc.get("_id").ok().flatten().map(Bson::try_from);
                    report
                        .inserted
                        .push((*p, id.and_then(|id| id.ok()).unwrap_or(Bson::Null)));
                }
            }
            for (i, err) in failed_in_chunk {
                report.failed.push((chunk_positions[i], err));
            }
        }
        for (i, m) in positions.iter().zip(&sent) {
            if report.inserted.iter().any(|(p, _)| p == i)
                && let Err(e) = m.after_insert(&cx).await
            {
                report.failed.push((*i, e));
            }
        }
        report.failed.sort_by_key(|(i, _)| *i);
        Ok(report)
    }

    /// Applies `update` to the first matching document.
    pub async fn update_one(
        &self,
        filter: Filter<M>,
        mut update: Update<M>,
    ) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let cx = self.hook_context();
        M::before_update(&filter, &mut update, &cx).await?;
        let update = prepare_update(update, false)?;
        let filter = self.scoped(filter).into_document()?;
        let result = send_in!(&self.session, self.raw.update_one(filter, update))
            .map_err(|e| self.write_error(e, &Document::new()))
            .map(UpdateResult::from)?;
        M::after_update(&result, &cx).await?;
        Ok(result)
    }

    /// Applies `update` to the document with this `_id` (given as in [`Self::get`]).
    pub async fn update_by_id(
        &self,
        id: impl IdValue<M::Id>,
        update: Update<M>,
    ) -> Result<UpdateResult> {
        let filter = Filter::equality("_id", Ok(id.into_id()?));
        self.update_one(filter, update).await
    }

    /// Applies `update` to every matching document.
    pub async fn update_many(
        &self,
        filter: Filter<M>,
        mut update: Update<M>,
    ) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let cx = self.hook_context();
        M::before_update(&filter, &mut update, &cx).await?;
        let update = prepare_update(update, false)?;
        let filter = self.scoped(filter).into_document()?;
        let result = send_in!(&self.session, self.raw.update_many(filter, update))
            .map_err(|e| self.write_error(e, &Document::new()))
            .map(UpdateResult::from)?;
        M::after_update(&result, &cx).await?;
        Ok(result)
    }

    /// Applies `update` to the first matching document, or inserts one built from the
    /// filter's equality fields and the update when none matches.
    pub async fn upsert(&self, filter: Filter<M>, mut update: Update<M>) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let cx = self.hook_context();
        M::before_update(&filter, &mut update, &cx).await?;
        let update = prepare_update(update, true)?;
        let filter = self.scoped(filter).into_document()?;
        validate_upsert_seed::<M>(&filter)?;
        let result = send_in!(
            &self.session,
            self.raw.update_one(filter, update).upsert(true)
        )
        .map_err(|e| self.write_error(e, &Document::new()))
        .map(UpdateResult::from)?;
        M::after_update(&result, &cx).await?;
        Ok(result)
    }

    /// Replaces the first matching document by `model` (validated; its updated
    /// timestamp is set). With an `#[odm(version)]` field, only a document still at the
    /// model's version is replaced, and the stored version goes up by one: a match at
    /// another version is `Error::VersionConflict`, with nothing written.
    pub async fn replace_one(&self, filter: Filter<M>, model: &mut M) -> Result<UpdateResult> {
        let cx = self.hook_context();
        model.before_validate(&cx).await?;
        model.validate()?;
        model.before_save(&cx).await?;
        let result = self.replace_validated(filter, model).await?;
        model.after_save(&cx).await?;
        Ok(result)
    }

    /// `replace_one` without its hooks and rules: for `save`, which runs its own.
    async fn replace_validated(&self, filter: Filter<M>, model: &mut M) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        model.set_timestamps(DateTime::now(), false);
        let filter = self.scoped(filter).into_document()?;
        let (Some(path), Some(loaded)) = (M::VERSION, model.version()) else {
            let doc = replacement(model)?;
            return send_in!(&self.session, self.raw.replace_one(filter, &doc))
                .map_err(|e| self.write_error(e, &doc))
                .map(UpdateResult::from);
        };
        model.set_version(loaded + 1);
        let doc = replacement(model)?;
        let guarded = doc! {"$and": [filter.clone(), {path: loaded}]};
        let result = send_in!(&self.session, self.raw.replace_one(guarded, &doc))
            .map_err(|e| self.write_error(e, &doc));
        match result {
            Ok(r) if r.matched_count == 1 => Ok(UpdateResult::from(r)),
            other => {
                model.set_version(loaded);
                let r = other?;
                // Nothing at the loaded version: another version, or nothing at all.
                match self.stored_version(filter).await? {
                    Some(stored) => Err(self.conflict(loaded, stored)),
                    None => Ok(UpdateResult::from(r)),
                }
            }
        }
    }

    /// Stores `model`: inserts it when it has no id (or no document has its id), else
    /// replaces the stored document by it. With an `#[odm(version)]` field, the stored
    /// document must still be at the version the model was loaded at (else
    /// `Error::VersionConflict`, nothing written), and the version goes up by one. Two
    /// tasks that load the same document and both save it: the first wins, the second
    /// gets the conflict.
    pub async fn save(&self, model: &mut M) -> Result<SaveOutcome> {
        let cx = self.hook_context();
        if matches!(bson::serialize_to_bson(model.id())?, Bson::Null) {
            model.fill_defaults();
        }
        model.before_validate(&cx).await?;
        model.validate()?;
        model.before_save(&cx).await?;
        let outcome = self.save_validated(model).await?;
        model.after_save(&cx).await?;
        Ok(outcome)
    }

    async fn save_validated(&self, model: &mut M) -> Result<SaveOutcome> {
        let id = bson::serialize_to_bson(model.id())?;
        if matches!(id, Bson::Null) {
            self.insert_validated(model).await?;
            return Ok(SaveOutcome::Inserted);
        }
        let by_id = Filter::equality("_id", Ok(id.clone()));
        if M::VERSION.is_some() {
            let replaced = self.replace_validated(by_id, model).await?;
            if replaced.matched == 1 {
                return Ok(SaveOutcome::Replaced);
            }
            // No document has the id: the model is new. A concurrent insert of the same
            // id loses on `_id`'s uniqueness, as a conflict.
            return match self.insert_validated(model).await {
                Ok(()) => Ok(SaveOutcome::Inserted),
                Err(Error::DuplicateKey { index, .. }) if index == "_id_" => {
                    let by_id = Filter::<M>::equality("_id", Ok(id)).into_document()?;
                    let stored = self.stored_version(by_id).await?.unwrap_or(0);
                    Err(self.conflict(model.version().unwrap_or(0), stored))
                }
                Err(e) => Err(e),
            };
        }
        self.ensure_indexes().await?;
        let stored_before = self.exists(by_id.clone()).await?;
        model.set_timestamps(DateTime::now(), !stored_before);
        let doc = replacement(model)?;
        let filter = self.scoped(by_id).into_document()?;
        let r = send_in!(
            &self.session,
            self.raw.replace_one(filter, &doc).upsert(true)
        )
        .map_err(|e| self.write_error(e, &doc))?;
        Ok(match r.upserted_id {
            Some(_) => SaveOutcome::Inserted,
            None => SaveOutcome::Replaced,
        })
    }

    /// The version of the first document matching `filter`, if one does.
    async fn stored_version(&self, filter: Document) -> Result<Option<i64>> {
        let Some(path) = M::VERSION else {
            return Ok(None);
        };
        let found = send_in!(
            &self.session,
            self.raw.find_one(filter).projection(doc! {path: 1})
        )?;
        Ok(found.map(|d| {
            super::get_path(&d, path)
                .and_then(|v| match v {
                    Bson::Int32(n) => Some(i64::from(*n)),
                    Bson::Int64(n) => Some(*n),
                    Bson::Double(d) => Some(*d as i64),
                    _ => None,
                })
                .unwrap_or(0)
        }))
    }

    fn conflict(&self, expected: i64, stored: i64) -> Error {
        Error::VersionConflict {
            collection: M::COLLECTION,
            expected,
            stored,
        }
    }

    /// Deletes the first matching document; returns how many were deleted (0 or 1).
    /// For a `#[odm(soft_delete)]` model: sets its deletion date instead (reads no
    /// longer see it; [`Self::hard_delete_one`] removes it).
    pub async fn delete_one(&self, filter: Filter<M>) -> Result<u64> {
        self.delete(filter, false, M::SOFT_DELETE.is_some()).await
    }

    /// Removes the first matching document, also for a model that soft-deletes.
    pub async fn hard_delete_one(&self, filter: Filter<M>) -> Result<u64> {
        self.delete(filter, false, false).await
    }

    /// Removes every matching document, also for a model that soft-deletes.
    pub async fn hard_delete_many(&self, filter: Filter<M>) -> Result<u64> {
        self.delete(filter, true, false).await
    }

    async fn delete(&self, filter: Filter<M>, many: bool, soft: bool) -> Result<u64> {
        let cx = self.hook_context();
        M::before_delete(&filter, &cx).await?;
        let deleted = match (soft, M::SOFT_DELETE) {
            (true, Some(path)) => {
                // Only documents not deleted yet: deleting twice keeps the first date.
                let filter = self.scoped(filter & Filter::raw_unchecked(doc! {path: null}));
                let filter = filter.into_document()?;
                let mut update = doc! {"$set": {path: DateTime::now()}};
                if let Some(version) = M::VERSION {
                    update.insert("$inc", doc! {version: 1});
                }
                let r = if many {
                    send_in!(&self.session, self.raw.update_many(filter, update))?
                } else {
                    send_in!(&self.session, self.raw.update_one(filter, update))?
                };
                r.modified_count
            }
            _ => {
                let filter = self.scoped(filter).into_document()?;
                if many {
                    send_in!(&self.session, self.raw.delete_many(filter))?.deleted_count
                } else {
                    send_in!(&self.session, self.raw.delete_one(filter))?.deleted_count
                }
            }
        };
        M::after_delete(deleted, &cx).await?;
        Ok(deleted)
    }

    /// Deletes the document with this `_id` (given as in [`Self::get`]); returns whether
    /// there was one.
    pub async fn delete_by_id(&self, id: impl IdValue<M::Id>) -> Result<bool> {
        let filter = Filter::equality("_id", Ok(id.into_id()?));
        Ok(self.delete_one(filter).await? == 1)
    }

    /// Deletes every matching document (`Filter::all()` for all); returns how many.
    /// For a `#[odm(soft_delete)]` model: sets their deletion date instead.
    pub async fn delete_many(&self, filter: Filter<M>) -> Result<u64> {
        self.delete(filter, true, M::SOFT_DELETE.is_some()).await
    }

    /// The collection for documents this ODM has already encoded: inserts send their
    /// bytes as they are.
    fn encoded(&self) -> mongodb::Collection<RawDocumentBuf> {
        self.raw.clone_with_type()
    }
}

fn validate_all<'a, M: Model>(models: impl Iterator<Item = &'a M>) -> Result<()> {
    let mut all = ValidationErrors::new();
    for (i, m) in models.enumerate() {
        m.validate_at(&i.to_string(), &mut all);
    }
    all.into_result().map_err(Error::Validation)
}

/// Sets timestamps, serializes, and gives the document an `_id` (first) if it has none:
/// returns the document and the ObjectId generated, if any.
fn prepare_insert<M: Model>(model: &mut M) -> Result<(RawDocumentBuf, Option<ObjectId>)> {
    model.fill_defaults();
    model.set_timestamps(DateTime::now(), true);
    // Encoded once, straight from the model: the driver sends these bytes as they are.
    let mut doc = bson::serialize_to_raw_document_buf(&*model)?;
    if let Some((tag, name)) = M::VARIANT {
        // A variant's struct does not serialize its parent's tag: the collection stores it.
        let key: &bson::raw::CStr = tag.try_into()?;
        doc.append(key, name);
    }
    match doc.get("_id")? {
        Some(id) if !matches!(id, RawBsonRef::Null) => Ok((doc, None)),
        _ => {
            let id = ObjectId::new();
            // The model must be able to hold the id it is about to get.
            bson::deserialize_from_bson::<M::Id>(Bson::ObjectId(id)).map_err(|e| {
                Error::InvalidValue(format!("the model has no _id and its _id type cannot hold a generated ObjectId ({e}); set an id before inserting"))
            })?;
            let mut with_id = RawDocumentBuf::new();
            with_id.append(bson::raw::cstr!("_id"), id);
            for element in &doc {
                let (key, value) = element?;
                if key.as_str() != "_id" {
                    with_id.append(key, value);
                }
            }
            Ok((with_id, Some(id)))
        }
    }
}

/// Checks the values an upsert copies from the filter into the new document (its
/// equality conditions) against the model's rules.
pub(super) fn validate_upsert_seed<M: Model>(filter: &Document) -> Result<()> {
    let mut errors = ValidationErrors::new();
    let mut check = |doc: &Document| {
        for (path, value) in doc {
            let operator = matches!(value, Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')));
            if !path.starts_with('$') && !operator {
                M::validate_stored_value(path, value, "", &mut errors);
            }
        }
    };
    check(filter);
    for part in filter.get_array("$and").into_iter().flatten() {
        if let Bson::Document(d) = part {
            check(d);
        }
    }
    errors.into_result().map_err(Error::Validation)
}

/// Checks an update against the model's rules and adds the timestamps.
pub(super) fn prepare_update<M: Model>(update: Update<M>, upsert: bool) -> Result<Document> {
    let mut errors = ValidationErrors::new();
    // Values the update may store as they are.
    for op in ["$set", "$setOnInsert", "$min", "$max"] {
        if let Some(fields) = update.operator(op) {
            for (path, value) in fields {
                M::validate_stored_value(path, value, "", &mut errors);
            }
        }
    }
    // Elements it appends, checked as an element of the array (`items.$`).
    for op in ["$push", "$addToSet"] {
        if let Some(fields) = update.operator(op) {
            for (path, value) in fields {
                let element_path = format!("{path}.$");
                match value {
                    Bson::Document(d) if d.contains_key("$each") => {
                        for item in d.get_array("$each").into_iter().flatten() {
                            M::validate_stored_value(&element_path, item, "", &mut errors);
                        }
                    }
                    item => M::validate_stored_value(&element_path, item, "", &mut errors),
                }
            }
        }
    }
    errors.into_result()?;
    let mut doc = update.to_document()?;
    let now = Bson::DateTime(DateTime::now());
    let mentions = |doc: &Document, path: &str| {
        ["$set", "$currentDate", "$setOnInsert", "$unset"]
            .iter()
            .any(|op| doc.get_document(op).is_ok_and(|f| f.contains_key(path)))
    };
    if let Some(updated) = M::UPDATED_AT
        && !mentions(&doc, updated)
    {
        set_in(&mut doc, "$set", updated, now.clone());
    }
    if let Some(created) = M::CREATED_AT
        && upsert
        && !mentions(&doc, created)
    {
        set_in(&mut doc, "$setOnInsert", created, now);
    }
    if doc.is_empty() {
        return Err(BuildError::EmptyUpdate.into());
    }
    // Every write moves the version on, so that a model loaded before it cannot be
    // saved over it.
    if let Some(version) = M::VERSION
        && !mentions(&doc, version)
        && !doc
            .get_document("$inc")
            .is_ok_and(|f| f.contains_key(version))
    {
        set_in(&mut doc, "$inc", version, Bson::Int32(1));
    }
    Ok(doc)
}

fn set_in(doc: &mut Document, op: &str, path: &str, value: Bson) {
    let entry = doc
        .entry(op.to_string())
        .or_insert_with(|| Bson::Document(Document::new()));
    if let Bson::Document(fields) = entry {
        fields.insert(path, value);
    }
}
