//! Change streams on a model's collection: [`Collection::watch`] opens one, and each
//! event arrives as a [`ChangeEvent`] whose [`Change`] is typed by the model (the
//! document as `M`, the id as `M::Id`).
//!
//! The driver's change stream underneath resumes by itself after a network error or a
//! failover, from the last token it saw; [`ChangeStream::resume_token`] gives that token
//! to store, so that a restarted application carries on with
//! [`Watch::resume_after`].

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bson::{Bson, DateTime, Document, Timestamp, doc};
use futures::Stream;
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType};

use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::model::Model;

pub use mongodb::change_stream::event::ResumeToken;
pub use mongodb::options::{FullDocumentBeforeChangeType, FullDocumentType};

/// The kinds of change a stream can be narrowed to with [`Watch::operations`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Replace,
    Delete,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Replace => "replace",
            Operation::Delete => "delete",
        }
    }
}

/// One change, as the model sees it.
#[derive(Debug)]
pub enum Change<M: Model> {
    /// A document was inserted.
    Inserted { id: M::Id, document: M },
    /// A document was modified in place. `document` is the whole document after the
    /// change when the stream asked for it ([`Watch::full_document`]) and it still
    /// exists.
    Updated {
        id: M::Id,
        fields: UpdatedFields,
        document: Option<M>,
    },
    /// A document was replaced by another with the same id.
    Replaced { id: M::Id, document: M },
    /// A document was deleted.
    Deleted { id: M::Id },
    /// The collection was dropped; an `Invalidated` follows.
    Dropped,
    /// The collection was renamed to `to` (`db.collection`); an `Invalidated` follows.
    Renamed { to: String },
    /// The collection's database was dropped; an `Invalidated` follows.
    DatabaseDropped,
    /// The stream ends here: its collection is gone. Start a new one with
    /// [`Watch::start_after`] this event's token to see what comes next.
    Invalidated,
}

/// What an update changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdatedFields {
    /// Paths set, with their new values (`{"age": 31, "address.city": "Lyon"}`).
    pub set: Document,
    /// Paths removed.
    pub removed: Vec<String>,
    /// Arrays shortened from the end: path and new length.
    pub truncated: Vec<(String, u32)>,
}

/// A change with where it stands in the stream.
#[derive(Debug)]
pub struct ChangeEvent<M: Model> {
    /// Where the stream is after this event: give it to [`Watch::resume_after`].
    pub token: ResumeToken,
    /// When the change was committed (the cluster time of its write).
    pub cluster_time: Option<Timestamp>,
    /// The server's clock at the commit.
    pub wall_time: Option<DateTime>,
    pub change: Change<M>,
    /// The document before the change, when the stream asked for it
    /// ([`Watch::full_document_before_change`]) and the collection records it
    /// (`changeStreamPreAndPostImages`).
    pub before: Option<M>,
}

/// A change stream being opened; `.await` it.
pub struct Watch<M: Model> {
    collection: Collection<M>,
    filter: Option<Filter<M>>,
    operations: Vec<Operation>,
    options: mongodb::options::ChangeStreamOptions,
}

impl<M: Model> Watch<M> {
    pub(crate) fn new(collection: Collection<M>) -> Self {
        Watch {
            collection,
            filter: None,
            operations: Vec::new(),
            options: Default::default(),
        }
    }

    /// Keeps the events whose document matches `filter`: inserts and replaces always
    /// carry their document; updates only when [`Watch::full_document`] asks for it;
    /// deletes never do, so a filter drops them (narrow by [`Watch::operations`]
    /// instead to keep them).
    pub fn filter(mut self, filter: Filter<M>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Keeps only these kinds of change (and the events that end the stream).
    pub fn operations(mut self, operations: impl IntoIterator<Item = Operation>) -> Self {
        self.operations = operations.into_iter().collect();
        self
    }

    /// Whether updates carry the whole document: `UpdateLookup` (as it is when the event
    /// is read), `WhenAvailable` or `Required` (as the update left it, from the
    /// collection's post-images).
    pub fn full_document(mut self, mode: FullDocumentType) -> Self {
        self.options.full_document = Some(mode);
        self
    }

    /// Whether updates, replaces and deletes carry the document as it was before
    /// (`WhenAvailable`, `Required`); the collection must record pre-images
    /// (`changeStreamPreAndPostImages`).
    pub fn full_document_before_change(mut self, mode: FullDocumentBeforeChangeType) -> Self {
        self.options.full_document_before_change = Some(mode);
        self
    }

    /// Starts after the event of this token (from [`ChangeEvent::token`] or
    /// [`ChangeStream::resume_token`]).
    pub fn resume_after(mut self, token: ResumeToken) -> Self {
        self.options.resume_after = Some(token);
        self
    }

    /// As `resume_after`, and also after an `Invalidated` event's token.
    pub fn start_after(mut self, token: ResumeToken) -> Self {
        self.options.start_after = Some(token);
        self
    }

    /// Starts with the changes committed at or after this cluster time.
    pub fn start_at(mut self, time: Timestamp) -> Self {
        self.options.start_at_operation_time = Some(time);
        self
    }

    /// How long the server waits for a change before answering an empty batch
    /// (the stream then asks again).
    pub fn max_await_time(mut self, wait: Duration) -> Self {
        self.options.max_await_time = Some(wait);
        self
    }

    /// The pipeline after `$changeStream`.
    fn pipeline(&self) -> Result<Vec<Document>> {
        let mut conditions = Vec::new();
        if !self.operations.is_empty() {
            let mut names: Vec<&str> = self.operations.iter().map(|o| o.name()).collect();
            names.extend(["drop", "rename", "dropDatabase", "invalidate"]);
            conditions.push(Bson::Document(doc! {"operationType": {"$in": names}}));
        }
        if let Some(filter) = &self.filter {
            let filter = filter.to_document()?;
            if !filter.is_empty() {
                conditions.push(Bson::Document(under("fullDocument", &filter)?));
            }
        }
        if let Some((tag, name)) = M::VARIANT {
            // A variant's stream: the events whose document (or, without one, whose
            // pre-image) has its tag. An event that carries neither (an update without
            // `full_document`, a delete without pre-images) cannot be told apart: kept.
            let (after, before) = (
                format!("fullDocument.{tag}"),
                format!("fullDocumentBeforeChange.{tag}"),
            );
            conditions.push(Bson::Document(doc! {"$or": [
                {after: name},
                {"fullDocument": null, "$or": [{"fullDocumentBeforeChange": null}, {before: name}]},
            ]}));
        }
        Ok(match conditions.len() {
            0 => Vec::new(),
            1 => vec![doc! {"$match": conditions.remove(0)}],
            _ => vec![doc! {"$match": {"$and": conditions}}],
        })
    }

    async fn open(self) -> Result<ChangeStream<M>> {
        let pipeline = self.pipeline()?;
        let action = self
            .collection
            .raw()
            .watch()
            .pipeline(pipeline)
            .with_options(self.options);
        let inner = action
            .await
            .map_err(|e| Error::needing_replica_set(e, "change streams"))?;
        Ok(ChangeStream {
            inner,
            _model: std::marker::PhantomData,
        })
    }
}

impl<M: Model> std::future::IntoFuture for Watch<M> {
    type Output = Result<ChangeStream<M>>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Result<ChangeStream<M>>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.open())
    }
}

/// The paths of a filter on a document, moved under `prefix` (a filter on the model,
/// applied to the events' `fullDocument`). Only the logical operators can stand above
/// paths; anything else at the top level reads the whole event and is refused.
fn under(prefix: &str, filter: &Document) -> Result<Document> {
    let mut moved = Document::new();
    for (key, value) in filter {
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                let Bson::Array(parts) = value else {
                    return Err(Error::InvalidValue(format!("{key} takes an array")));
                };
                let parts = parts
                    .iter()
                    .map(|p| match p {
                        Bson::Document(d) => under(prefix, d).map(Bson::Document),
                        _ => Err(Error::InvalidValue(format!("{key} takes documents"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                moved.insert(key, parts);
            }
            op if op.starts_with('$') => {
                return Err(Error::InvalidValue(format!(
                    "a change stream's filter applies to the document, and {op} does not: use the driver's watch() with a pipeline of your own"
                )));
            }
            path => {
                moved.insert(format!("{prefix}.{path}"), value.clone());
            }
        }
    }
    Ok(moved)
}

/// A stream of [`ChangeEvent`]s; it waits for changes as long as it is read, and ends
/// after an [`Change::Invalidated`].
pub struct ChangeStream<M: Model> {
    inner: mongodb::change_stream::ChangeStream<ChangeStreamEvent<Document>>,
    _model: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> ChangeStream<M> {
    /// The token to resume after everything read so far (also after batches with no
    /// event, so that a quiet stream's token stays fresh).
    pub fn resume_token(&self) -> Option<ResumeToken> {
        self.inner.resume_token()
    }

    /// The next event, waiting for it as long as it takes; `None` once the stream has
    /// ended (after an [`Change::Invalidated`]). The same as `StreamExt::next`, without
    /// importing it.
    pub async fn next_event(&mut self) -> Result<Option<ChangeEvent<M>>> {
        match futures::StreamExt::next(self).await {
            Some(event) => event.map(Some),
            None => Ok(None),
        }
    }

    /// The next event if one comes within one wait of the server (`max_await_time`),
    /// `None` otherwise: for a loop that does other work between changes.
    pub async fn next_if_any(&mut self) -> Result<Option<ChangeEvent<M>>> {
        match self.inner.next_if_any().await? {
            Some(event) => typed(event).map(Some),
            None => Ok(None),
        }
    }
}

impl<M: Model> Stream for ChangeStream<M> {
    type Item = Result<ChangeEvent<M>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|event| event.map(|e| e.map_err(Error::from).and_then(typed)))
    }
}

/// The driver's event, typed by the model.
fn typed<M: Model>(event: ChangeStreamEvent<Document>) -> Result<ChangeEvent<M>> {
    let ChangeStreamEvent {
        id: token,
        operation_type,
        to,
        document_key,
        update_description,
        cluster_time,
        wall_time,
        full_document,
        full_document_before_change,
        ..
    } = event;
    let id = || -> Result<M::Id> {
        let id = document_key
            .as_ref()
            .and_then(|k| k.get("_id"))
            .cloned()
            .ok_or_else(|| Error::InvalidValue("a change event without documentKey._id".into()))?;
        Ok(bson::deserialize_from_bson(id)?)
    };
    let document = |d: Option<Document>| -> Result<Option<M>> {
        d.map(|d| bson::deserialize_from_document(d).map_err(Error::from))
            .transpose()
    };
    let required = |d: Option<Document>| -> Result<M> {
        document(d)?.ok_or_else(|| {
            Error::InvalidValue("an insert or replace event without its document".into())
        })
    };
    let change = match operation_type {
        OperationType::Insert => Change::Inserted {
            id: id()?,
            document: required(full_document)?,
        },
        OperationType::Update => Change::Updated {
            id: id()?,
            fields: update_description
                .map(|d| UpdatedFields {
                    set: d.updated_fields,
                    removed: d.removed_fields,
                    truncated: d
                        .truncated_arrays
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.field, u32::try_from(t.new_size).unwrap_or(0)))
                        .collect(),
                })
                .unwrap_or_default(),
            document: document(full_document)?,
        },
        OperationType::Replace => Change::Replaced {
            id: id()?,
            document: required(full_document)?,
        },
        OperationType::Delete => Change::Deleted { id: id()? },
        OperationType::Drop => Change::Dropped,
        OperationType::Rename => Change::Renamed {
            to: to
                .map(|ns| match ns.coll {
                    Some(coll) => format!("{}.{coll}", ns.db),
                    None => ns.db,
                })
                .unwrap_or_default(),
        },
        OperationType::DropDatabase => Change::DatabaseDropped,
        OperationType::Invalidate => Change::Invalidated,
        other => {
            return Err(Error::InvalidValue(format!(
                "a change of a kind this version does not know: {other:?}"
            )));
        }
    };
    Ok(ChangeEvent {
        before: document(full_document_before_change)?,
        token,
        cluster_time,
        wall_time,
        change,
    })
}

impl<M: Model> Collection<M> {
    /// Opens a change stream on this collection: narrow it with `filter` or
    /// `operations`, choose what documents events carry, resume from a token, then
    /// `.await` it and read it as a `Stream`.
    ///
    /// ```no_run
    /// # use odm::prelude::*;
    /// # use futures::StreamExt;
    /// # #[odm::model] #[derive(Model, Serialize, Deserialize, Debug, Default)]
    /// # struct User { #[odm(id)] id: Option<ObjectId>, age: u32 }
    /// # async fn run(db: Db) -> odm::Result<()> {
    /// use odm::change_stream::{Change, FullDocumentType};
    /// let mut changes = db
    ///     .collection::<User>()
    ///     .watch()
    ///     .filter(User::fields().age.gte(18))
    ///     .full_document(FullDocumentType::UpdateLookup)
    ///     .await?;
    /// while let Some(event) = changes.next().await {
    ///     if let Change::Inserted { document, .. } = event?.change {
    ///         println!("welcome, {} year old", document.age);
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Change streams need a replica set (the embedded server is one) or a sharded
    /// cluster; on a standalone MongoDB this is [`Error::ReplicaSetRequired`].
    pub fn watch(&self) -> Watch<M> {
        Watch::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_moves_under_the_document_through_logical_operators() {
        let filter = doc! {"age": {"$gte": 18}, "$or": [{"name": "a"}, {"tags": "x"}]};
        assert_eq!(
            under("fullDocument", &filter).unwrap(),
            doc! {
                "fullDocument.age": {"$gte": 18},
                "$or": [{"fullDocument.name": "a"}, {"fullDocument.tags": "x"}],
            }
        );
        assert!(under("fullDocument", &doc! {"$expr": {"$gt": ["$a", 1]}}).is_err());
    }
}
