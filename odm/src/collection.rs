//! `Collection<M>`: typed CRUD on a model's collection, through the official driver.
//!
//! Every write validates first (nothing is sent when a rule fails), inserts fill the
//! `_id` (an ObjectId when the model has none) and the timestamps, updates are checked
//! against the rules of the fields they `$set`, and operations that touch many documents
//! take a `Filter` (`Filter::all()` for all of them).

use std::marker::PhantomData;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawBsonRef, RawDocumentBuf, doc};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::field::{AsField, FieldType};
use crate::filter::Filter;
use crate::find::Find;
use crate::id::IdValue;
use crate::index::{EnsuredIndexes, IndexReport, IndexSpec};
use crate::model::Model;
use crate::sort::Sort;
use crate::transaction::{SharedSession, send_in};
use crate::update::Update;
use crate::validate::ValidationErrors;

/// A model's collection.
pub struct Collection<M: Model> {
    raw: mongodb::Collection<Document>,
    /// The models whose declared indexes this `Db` has created; `None` when the
    /// `Db` leaves indexes to `sync_indexes` alone.
    auto_index: Option<EnsuredIndexes>,
    /// The transaction every operation belongs to, for a collection from a
    /// [`Tx`](crate::transaction::Tx).
    session: Option<SharedSession>,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> Clone for Collection<M> {
    fn clone(&self) -> Self {
        Collection {
            raw: self.raw.clone(),
            auto_index: self.auto_index.clone(),
            session: self.session.clone(),
            _model: PhantomData,
        }
    }
}

/// What an update did.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateResult {
    /// Documents the filter matched.
    pub matched: u64,
    /// Documents actually changed (a `$set` to the same value changes nothing).
    pub modified: u64,
    /// The `_id` of the document an upsert inserted.
    pub upserted_id: Option<Bson>,
}

impl From<mongodb::results::UpdateResult> for UpdateResult {
    fn from(r: mongodb::results::UpdateResult) -> Self {
        UpdateResult {
            matched: r.matched_count,
            modified: r.modified_count,
            upserted_id: r.upserted_id,
        }
    }
}

/// A type to read query results into instead of the whole model: derive it with
/// `#[derive(Projection)] #[odm(model = User)]`; each field must exist in the model with
/// the same type.
pub trait Projection<M: Model>: DeserializeOwned + Send + Sync + Unpin {
    /// The projection document (`{name: 1, email: 1}`).
    fn projection() -> Document;
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
    pub(crate) fn new(db: &mongodb::Database, auto_index: Option<EnsuredIndexes>) -> Self {
        Collection {
            raw: db.collection(M::COLLECTION),
            auto_index,
            session: None,
            _model: PhantomData,
        }
    }

    pub(crate) fn in_session(mut self, session: Option<SharedSession>) -> Self {
        self.session = session;
        self
    }

    /// Before the first write through this model in this `Db`: creates the indexes it
    /// declares, so that a unique rule holds from the first document even when
    /// `sync_indexes` was never called. Creating an index that exists as declared does
    /// nothing; one declared differently from the stored one is an error that names it
    /// (`sync_indexes` replaces it). Index builds are not part of a transaction: in one,
    /// they run beside it.
    async fn ensure_indexes(&self) -> Result<()> {
        let Some(ensured) = &self.auto_index else {
            return Ok(());
        };
        if ensured.contains::<M>() {
            return Ok(());
        }
        let declared = M::indexes();
        if !declared.is_empty() {
            self.raw
                .create_indexes(declared.iter().map(IndexSpec::to_model))
                .await?;
        }
        ensured.insert::<M>();
        Ok(())
    }

    /// The transaction this collection's operations belong to, if any.
    pub(crate) fn session(&self) -> Option<&SharedSession> {
        self.session.as_ref()
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// The driver's collection, for what the typed API does not cover.
    pub fn raw(&self) -> &mongodb::Collection<Document> {
        &self.raw
    }

    /// Validates, sets timestamps and the `_id` (an ObjectId when the model has none), and
    /// inserts. On success `model` holds what was stored.
    pub async fn insert_one(&self, model: &mut M) -> Result<()> {
        self.ensure_indexes().await?;
        model.validate()?;
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
        validate_all(models.iter())?;
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
        let mut report = BulkInsertReport::default();
        let mut docs = Vec::new();
        let mut positions = Vec::new();
        for (i, mut m) in models.into_iter().enumerate() {
            if let Err(errors) = m.validate() {
                report.failed.push((i, Error::Validation(errors)));
                continue;
            }
            match prepare_insert(&mut m) {
                Ok((doc, _)) => {
                    docs.push(doc);
                    positions.push(i);
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
        report.failed.sort_by_key(|(i, _)| *i);
        Ok(report)
    }

    /// A query: add `sort`, `skip`, `limit`, `batch_size`, `project`, then `all()`,
    /// `first()` or `stream()`.
    pub fn find(&self, filter: Filter<M>) -> Find<M> {
        Find::new(self.raw.clone(), self.session.clone(), filter)
    }

    /// The document with this `_id`, if any. The id may be given as the model holds it
    /// (`user.id`, an `Option<ObjectId>`: `None` is `Error::MissingId`) or bare.
    pub async fn find_by_id(&self, id: impl IdValue<M::Id>) -> Result<Option<M>> {
        self.find(Filter::raw_unchecked(doc! {"_id": id.into_id()?}))
            .first()
            .await
    }

    /// The document with this `_id`, or `Error::NotFound`.
    pub async fn get(&self, id: impl IdValue<M::Id>) -> Result<M> {
        self.find_by_id(id).await?.ok_or(Error::NotFound)
    }

    /// How many documents match.
    pub async fn count(&self, filter: Filter<M>) -> Result<u64> {
        let filter = filter.into_document()?;
        Ok(send_in!(&self.session, self.raw.count_documents(filter))?)
    }

    /// Whether any document matches.
    pub async fn exists(&self, filter: Filter<M>) -> Result<bool> {
        let filter = filter.into_document()?;
        let found = send_in!(&self.session, self.raw.count_documents(filter).limit(1))?;
        Ok(found > 0)
    }

    /// The distinct values of a field among matching documents (array fields give their
    /// elements).
    pub async fn distinct<T: FieldType>(
        &self,
        field: impl AsField<M, Type = T>,
        filter: Filter<M>,
    ) -> Result<Vec<T::Item>> {
        let (path, filter) = (field.as_field().path(), filter.into_document()?);
        let values = send_in!(&self.session, self.raw.distinct(path, filter))?;
        values
            .into_iter()
            .map(|v| bson::deserialize_from_bson(v).map_err(Error::from))
            .collect()
    }

    /// Applies `update` to the first matching document.
    pub async fn update_one(&self, filter: Filter<M>, update: Update<M>) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let update = prepare_update(update, false)?;
        let filter = filter.into_document()?;
        send_in!(&self.session, self.raw.update_one(filter, update))
            .map_err(|e| self.write_error(e, &Document::new()))
            .map(UpdateResult::from)
    }

    /// Applies `update` to the document with this `_id` (given as in [`Self::get`]).
    pub async fn update_by_id(
        &self,
        id: impl IdValue<M::Id>,
        update: Update<M>,
    ) -> Result<UpdateResult> {
        let filter = Filter::raw_unchecked(doc! {"_id": id.into_id()?});
        self.update_one(filter, update).await
    }

    /// Applies `update` to every matching document.
    pub async fn update_many(&self, filter: Filter<M>, update: Update<M>) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let update = prepare_update(update, false)?;
        let filter = filter.into_document()?;
        send_in!(&self.session, self.raw.update_many(filter, update))
            .map_err(|e| self.write_error(e, &Document::new()))
            .map(UpdateResult::from)
    }

    /// Applies `update` to the first matching document, or inserts one built from the
    /// filter's equality fields and the update when none matches.
    pub async fn upsert(&self, filter: Filter<M>, update: Update<M>) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        let update = prepare_update(update, true)?;
        let filter = filter.into_document()?;
        validate_upsert_seed::<M>(&filter)?;
        send_in!(
            &self.session,
            self.raw.update_one(filter, update).upsert(true)
        )
        .map_err(|e| self.write_error(e, &Document::new()))
        .map(UpdateResult::from)
    }

    /// Replaces the first matching document by `model` (validated; its updated
    /// timestamp is set).
    pub async fn replace_one(&self, filter: Filter<M>, model: &mut M) -> Result<UpdateResult> {
        self.ensure_indexes().await?;
        model.validate()?;
        model.set_timestamps(DateTime::now(), false);
        let mut doc = bson::serialize_to_document(&*model)?;
        if matches!(doc.get("_id"), Some(Bson::Null)) {
            doc.remove("_id");
        }
        let filter = filter.into_document()?;
        send_in!(&self.session, self.raw.replace_one(filter, &doc))
            .map_err(|e| self.write_error(e, &doc))
            .map(UpdateResult::from)
    }

    /// Updates the first matching document and returns it: as it was before (default)
    /// or after (`.return_after()`).
    pub fn find_one_and_update(&self, filter: Filter<M>, update: Update<M>) -> FindOneAndUpdate<M> {
        FindOneAndUpdate {
            collection: self.clone(),
            filter,
            update,
            after: false,
            sort: None,
            upsert: false,
        }
    }

    /// Deletes the first matching document; returns how many were deleted (0 or 1).
    pub async fn delete_one(&self, filter: Filter<M>) -> Result<u64> {
        let filter = filter.into_document()?;
        Ok(send_in!(&self.session, self.raw.delete_one(filter))?.deleted_count)
    }

    /// Deletes the document with this `_id` (given as in [`Self::get`]); returns whether
    /// there was one.
    pub async fn delete_by_id(&self, id: impl IdValue<M::Id>) -> Result<bool> {
        let filter = Filter::raw_unchecked(doc! {"_id": id.into_id()?});
        Ok(self.delete_one(filter).await? == 1)
    }

    /// Deletes every matching document (`Filter::all()` for all); returns how many.
    pub async fn delete_many(&self, filter: Filter<M>) -> Result<u64> {
        let filter = filter.into_document()?;
        Ok(send_in!(&self.session, self.raw.delete_many(filter))?.deleted_count)
    }

    /// Makes the collection's indexes what the model declares: creates the missing ones,
    /// drops the ones it no longer declares (or declares differently, then recreates
    /// them). The `_id` index is never touched.
    pub async fn sync_indexes(&self) -> Result<IndexReport> {
        self.outside_transaction("sync_indexes")?;
        let declared = M::indexes();
        let existing: Vec<Document> = match self.raw.list_indexes().await {
            Ok(cursor) => cursor
                .try_collect::<Vec<_>>()
                .await?
                .into_iter()
                .map(|m| bson::serialize_to_document(&m))
                .collect::<Result<_, _>>()?,
            // A collection that does not exist yet has no indexes.
            Err(e) if crate::error::Error::from(e.clone()).code() == Some(26) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut report = IndexReport::default();
        for index in &existing {
            // The driver's IndexModel serializes flat, as listIndexes describes an index.
            let name = index.get_str("name").unwrap_or_default().to_string();
            if name == "_id_" {
                continue;
            }
            match declared.iter().find(|d| d.name() == name) {
                Some(d) if d.matches(index) => report.unchanged.push(name),
                _ => {
                    self.raw.drop_index(&name).await?;
                    report.dropped.push(name);
                }
            }
        }
        for d in &declared {
            let name = d.name();
            if !report.unchanged.contains(&name) {
                self.raw.create_index(d.to_model()).await?;
                report.created.push(name);
            }
        }
        if let Some(ensured) = &self.auto_index {
            ensured.insert::<M>();
        }
        Ok(report)
    }

    /// Drops the collection with its documents and indexes.
    pub async fn drop(&self) -> Result<()> {
        self.outside_transaction("drop")?;
        Ok(self.raw.drop().await?)
    }

    /// Refuses an operation on the collection itself in a transaction: MongoDB does not
    /// run them in one, and sending them beside it would escape its all-or-nothing.
    fn outside_transaction(&self, operation: &str) -> Result<()> {
        match self.session {
            Some(_) => Err(Error::InvalidValue(format!(
                "{operation} changes the collection itself, which is not part of a transaction: call it on db.collection(), outside the closure"
            ))),
            None => Ok(()),
        }
    }

    /// The collection for documents this ODM has already encoded: inserts send their
    /// bytes as they are.
    fn encoded(&self) -> mongodb::Collection<RawDocumentBuf> {
        self.raw.clone_with_type()
    }

    /// Turns a driver error into an `Error`, filling a duplicate key's value from the
    /// document written when the server did not send it.
    fn write_error(&self, e: mongodb::error::Error, written: &Document) -> Error {
        match Error::from(e) {
            Error::DuplicateKey { index, key } if key.is_empty() => Error::DuplicateKey {
                key: key_of(&index, written, &M::indexes()),
                index,
            },
            other => other,
        }
    }
}

/// The key a document has in an index, by the index's name.
fn key_of(index: &str, doc: &Document, declared: &[crate::index::IndexSpec]) -> Document {
    let paths: Vec<String> = if index == "_id_" {
        vec!["_id".to_string()]
    } else {
        declared
            .iter()
            .find(|d| d.name() == index)
            .map(|d| d.keys.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut key = Document::new();
    for p in paths {
        key.insert(p.clone(), get_path(doc, &p).cloned().unwrap_or(Bson::Null));
    }
    key
}

pub(crate) fn get_path<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut steps = path.split('.');
    let mut current = doc.get(steps.next()?)?;
    for step in steps {
        current = current.as_document()?.get(step)?;
    }
    Some(current)
}

fn write_error_of(
    code: i32,
    message: &str,
    doc: &Document,
    declared: &[crate::index::IndexSpec],
) -> Error {
    if code == 11000 {
        let index = crate::error::index_from_message(message);
        let key = key_of(&index, doc, declared);
        Error::DuplicateKey { index, key }
    } else {
        Error::Write {
            code,
            message: message.to_string(),
        }
    }
}

fn first_failed_position(e: &mongodb::error::Error) -> Option<usize> {
    match &*e.kind {
        mongodb::error::ErrorKind::InsertMany(many) => {
            many.write_errors.as_ref()?.first().map(|w| w.index)
        }
        _ => None,
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
    model.set_timestamps(DateTime::now(), true);
    // Encoded once, straight from the model: the driver sends these bytes as they are.
    let doc = bson::serialize_to_raw_document_buf(&*model)?;
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

/// A document this ODM encoded, decoded again for an error message.
fn decoded(doc: &RawDocumentBuf) -> Document {
    Document::try_from(doc).unwrap_or_default()
}

/// Checks the values an upsert copies from the filter into the new document (its
/// equality conditions) against the model's rules.
fn validate_upsert_seed<M: Model>(filter: &Document) -> Result<()> {
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
fn prepare_update<M: Model>(update: Update<M>, upsert: bool) -> Result<Document> {
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
        return Err(Error::InvalidValue(
            "an update needs at least one operator".into(),
        ));
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

/// A `find_one_and_update` being built; `.await` it.
pub struct FindOneAndUpdate<M: Model> {
    collection: Collection<M>,
    filter: Filter<M>,
    update: Update<M>,
    after: bool,
    sort: Option<Sort<M>>,
    upsert: bool,
}

impl<M: Model> FindOneAndUpdate<M> {
    /// Return the document as it is after the update (default: before).
    pub fn return_after(mut self) -> Self {
        self.after = true;
        self
    }

    /// Which matching document to update first.
    pub fn sort(mut self, sort: Sort<M>) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Insert a document when none matches.
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    async fn run(self) -> Result<Option<M>> {
        self.collection.ensure_indexes().await?;
        let update = prepare_update(self.update, self.upsert)?;
        let filter = self.filter.into_document()?;
        if self.upsert {
            validate_upsert_seed::<M>(&filter)?;
        }
        let typed = self.collection.raw.clone_with_type::<M>();
        let options = mongodb::options::FindOneAndUpdateOptions::builder()
            .return_document(if self.after {
                ReturnDocument::After
            } else {
                ReturnDocument::Before
            })
            .upsert(self.upsert)
            .sort(self.sort.map(|s| s.to_document()))
            .build();
        send_in!(
            &self.collection.session,
            typed
                .find_one_and_update(filter, update)
                .with_options(options)
        )
        .map_err(|e| self.collection.write_error(e, &Document::new()))
    }
}

impl<M: Model> std::future::IntoFuture for FindOneAndUpdate<M> {
    type Output = Result<Option<M>>;
    type IntoFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<M>>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
