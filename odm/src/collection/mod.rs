//! `Collection<M>`: typed CRUD on a model's collection, through the official driver.
//!
//! Every write validates first (nothing is sent when a rule fails), inserts fill the
//! `_id` (an ObjectId when the model has none) and the timestamps, updates are checked
//! against the rules of the fields they `$set`, and operations that touch many documents
//! take a `Filter` (`Filter::all()` for all of them).
//!
//! This file holds the handle, the reads and the collection's own operations (indexes,
//! drop); `writes.rs` the writes and `save`, `find_and_modify.rs` `find_one_and_update`,
//! `write_errors.rs` how a driver error becomes an `Error`.

mod find_and_modify;
mod write_errors;
mod writes;

pub use find_and_modify::FindOneAndUpdate;
pub use writes::{BulkInsertReport, SaveOutcome};

use std::marker::PhantomData;

use bson::{Bson, Document, doc};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::field::{AsField, FieldType};
use crate::filter::Filter;
use crate::find::Find;
use crate::id::IdValue;
use crate::index::{EnsuredIndexes, IndexReport, IndexSpec};
use crate::model::Model;
use crate::transaction::{SharedSession, send_in};

/// A model's collection.
pub struct Collection<M: Model> {
    raw: mongodb::Collection<Document>,
    /// The models whose declared indexes this `Db` has created; `None` when the
    /// `Db` leaves indexes to `sync_indexes` alone.
    auto_index: Option<EnsuredIndexes>,
    /// The transaction every operation belongs to, for a collection from a
    /// [`Tx`](crate::transaction::Tx).
    session: Option<SharedSession>,
    /// Which soft-deleted documents reads see (for a `#[odm(soft_delete)]` model).
    deleted: Deleted,
    _model: PhantomData<fn() -> M>,
}

/// Which documents of a soft-deleting model a collection's reads see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deleted {
    Hidden,
    Included,
    Only,
}

impl<M: Model> Clone for Collection<M> {
    fn clone(&self) -> Self {
        Collection {
            raw: self.raw.clone(),
            auto_index: self.auto_index.clone(),
            session: self.session.clone(),
            deleted: self.deleted,
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

impl<M: Model> Collection<M> {
    pub(crate) fn new(db: &mongodb::Database, auto_index: Option<EnsuredIndexes>) -> Self {
        Collection {
            raw: db.collection(M::COLLECTION),
            auto_index,
            session: None,
            deleted: Deleted::Hidden,
            _model: PhantomData,
        }
    }

    /// The same collection, whose reads also see soft-deleted documents
    /// (`#[odm(soft_delete)]`).
    pub fn with_deleted(&self) -> Self {
        Collection {
            deleted: Deleted::Included,
            ..self.clone()
        }
    }

    /// The same collection, whose reads see only soft-deleted documents.
    pub fn only_deleted(&self) -> Self {
        Collection {
            deleted: Deleted::Only,
            ..self.clone()
        }
    }

    /// The same collection, transaction and view of soft-deleted documents, typed as
    /// another model stored in it (a variant of a polymorphic model).
    pub(crate) fn retyped<V: Model>(&self) -> Collection<V> {
        Collection {
            raw: self.raw.clone(),
            auto_index: self.auto_index.clone(),
            session: self.session.clone(),
            deleted: self.deleted,
            _model: PhantomData,
        }
    }

    /// `filter`, narrowed to the documents of this collection's model: for a variant of
    /// a polymorphic model, those with its tag. Every read and write goes through it.
    pub(crate) fn scoped(&self, filter: Filter<M>) -> Filter<M> {
        match M::VARIANT {
            Some((tag, name)) => filter & Filter::raw_unchecked(doc! {tag: name}),
            None => filter,
        }
    }

    /// `filter`, narrowed to the documents this collection's reads see: [`Self::scoped`],
    /// and for a model that soft-deletes, those without a deletion date unless asked
    /// otherwise.
    pub(crate) fn visible(&self, filter: Filter<M>) -> Filter<M> {
        let filter = self.scoped(filter);
        let Some(path) = M::SOFT_DELETE else {
            return filter;
        };
        match self.deleted {
            Deleted::Hidden => filter & Filter::raw_unchecked(doc! {path: null}),
            Deleted::Only => filter & Filter::raw_unchecked(doc! {path: {"$ne": null}}),
            Deleted::Included => filter,
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

    /// What this collection's hooks run with: its database, in its transaction.
    pub(crate) fn hook_context(&self) -> crate::hooks::HookContext {
        let database = self.raw.client().database(&self.raw.namespace().db);
        crate::hooks::HookContext::new(database, self.session.clone())
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

    /// A query: add `sort`, `skip`, `limit`, `batch_size`, `project`, then `all()`,
    /// `first()` or `stream()`.
    pub fn find(&self, filter: Filter<M>) -> Find<M> {
        Find::new(self.raw.clone(), self.session.clone(), self.visible(filter))
    }

    /// The document with this `_id`, if any. The id may be given as the model holds it
    /// (`user.id`, an `Option<ObjectId>`: `None` is `Error::MissingId`) or bare.
    pub async fn find_by_id(&self, id: impl IdValue<M::Id>) -> Result<Option<M>> {
        self.find(Filter::equality("_id", Ok(id.into_id()?)))
            .first()
            .await
    }

    /// The document with this `_id`, or `Error::NotFound`.
    pub async fn get(&self, id: impl IdValue<M::Id>) -> Result<M> {
        self.find_by_id(id).await?.ok_or(Error::NotFound)
    }

    /// How many documents match.
    pub async fn count(&self, filter: Filter<M>) -> Result<u64> {
        let filter = self.visible(filter).into_document()?;
        Ok(send_in!(&self.session, self.raw.count_documents(filter))?)
    }

    /// Whether any document matches.
    pub async fn exists(&self, filter: Filter<M>) -> Result<bool> {
        let filter = self.visible(filter).into_document()?;
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
        let (path, filter) = (
            field.as_field().path(),
            self.visible(filter).into_document()?,
        );
        let values = send_in!(&self.session, self.raw.distinct(path, filter))?;
        values
            .into_iter()
            .map(|v| bson::deserialize_from_bson(v).map_err(Error::from))
            .collect()
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

    /// Installs the model's `$jsonSchema` ([`Model::json_schema`]) as the collection's
    /// validator (`validationLevel: strict`, `validationAction: error`), creating the
    /// collection if needed: from then on the server refuses (code 121) any write that
    /// breaks a rule the schema expresses, whoever sends it. Returns the schema.
    pub async fn sync_schema(&self) -> Result<Document> {
        self.sync_schema_with("strict", "error").await
    }

    /// [`Self::sync_schema`] with a chosen `validationLevel` (`"strict"`, `"moderate"`:
    /// documents that already broke a rule may still be updated, `"off"`) and
    /// `validationAction` (`"error"`, or `"warn"`: logged, not refused).
    pub async fn sync_schema_with(&self, level: &str, action: &str) -> Result<Document> {
        self.outside_transaction("sync_schema")?;
        let schema = M::json_schema();
        let db = self.raw.client().database(&self.raw.namespace().db);
        let validator = doc! {"$jsonSchema": schema.clone()};
        let changed = db
            .run_command(doc! {
                "collMod": self.raw.name(),
                "validator": validator.clone(),
                "validationLevel": level,
                "validationAction": action,
            })
            .await;
        match changed {
            Ok(_) => {}
            // No collection yet: create it with the validator.
            Err(e) if Error::from(e.clone()).code() == Some(26) => {
                db.run_command(doc! {
                    "create": self.raw.name(),
                    "validator": validator,
                    "validationLevel": level,
                    "validationAction": action,
                })
                .await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(schema)
    }

    /// Drops the collection with its documents and indexes.
    pub async fn drop(&self) -> Result<()> {
        self.outside_transaction("drop")?;
        Ok(self.raw.drop().await?)
    }

    /// Refuses an operation on the collection itself in a transaction: MongoDB does not
    /// run them in one, and sending them beside it would escape its all-or-nothing.
    fn outside_transaction(&self, operation: &'static str) -> Result<()> {
        match self.session {
            Some(_) => Err(Error::NotInTransaction { operation }),
            None => Ok(()),
        }
    }
}

pub(crate) fn get_path<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut steps = path.split('.');
    let mut current = doc.get(steps.next()?)?;
    for step in steps {
        current = current.as_document()?.get(step)?;
    }
    Some(current)
}
