//! `populate`: loading the documents that [`Ref`] fields name, with one query per
//! reference path per batch of results, never one per document.
//!
//! ```no_run
//! # use odm::prelude::*;
//! # use odm::{PopulatePath, Ref};
//! # #[derive(Model, Serialize, Deserialize)]
//! # struct User { #[serde(rename = "_id")] id: ObjectId, name: String }
//! # #[derive(Model, Serialize, Deserialize)]
//! # struct Comment { #[serde(rename = "_id")] id: ObjectId, author: Ref<User>, text: String }
//! # #[derive(Model, Serialize, Deserialize)]
//! # struct Post { #[serde(rename = "_id")] id: ObjectId, author: Ref<User>, comments: Vec<Ref<Comment>> }
//! # async fn run(db: Db) -> odm::Result<()> {
//! let (p, c) = (Post::fields(), Comment::fields());
//! let posts = db
//!     .collection::<Post>()
//!     .find(Filter::all())
//!     .populate(p.author)                      // one query on users
//!     .populate(p.comments.with(c.author))     // one on comments, one on their authors
//!     .await?;
//! for post in &posts {
//!     println!("{} wrote {} comments", post.author.loaded()?.name, post.comments.len());
//!     for comment in &post.comments {
//!         println!("  {}: {}", comment.loaded()?.author.loaded()?.name, comment.loaded()?.text);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! How: the query's documents are read as BSON; for each path, the ids found there (in
//! every document, through arrays) go into one `{_id: {$in: [...]}}` query on the target
//! model's collection, whose documents are populated in turn for the nested paths
//! (`with`), then handed to the references at that path; an id that found nothing marks
//! its reference dangling. Only then are the documents read into the model. So
//! populating 1,000 posts with their authors and their comments' authors costs three
//! queries, as it costs for 10. Mongoose's `populate` on a cursor issues one per
//! document.
//!
//! The reverse side, the documents of another model that reference these ones, is
//! [`Find::with_referrers`]: one `$lookup`, in the same aggregation as the query.

use std::collections::HashMap;
use std::marker::PhantomData;

use bson::{Bson, Document, doc};
use futures::TryStreamExt;

use crate::error::{Error, Result};
use crate::field::{ArrayPaths, Field};
use crate::find::Find;
use crate::model::Model;
use crate::reference::{DANGLING, LOADED, Ref};
use crate::transaction::SharedSession;

/// Documents asked for per round trip when a query populates: as many as the server puts
/// in one reply (16 MiB), so that the number of commands does not grow with the results.
const POPULATE_BATCH: u32 = 1_000_000;
/// Ids per `$in` query: beyond this many distinct ids a path takes several queries.
const IDS_PER_QUERY: usize = 100_000;

/// What one path populates: where the ids are, which collection they name, and what to
/// populate inside the documents found.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Step {
    path: &'static str,
    collection: &'static str,
    nested: Vec<Step>,
}

/// A path of model `M` that holds references: a `Ref<T>`, an `Option<Ref<T>>` or a
/// `Vec<Ref<T>>` field (also inside embedded documents and arrays of them).
#[diagnostic::on_unimplemented(
    message = "`{Self}` holds no references: `populate` takes a `Ref<T>`, `Option<Ref<T>>` or `Vec<Ref<T>>` field of `{M}`",
    label = "not a reference field of `{M}`"
)]
pub trait PopulatePath<M>: Copy {
    /// The referenced model.
    type Target: Model;

    #[doc(hidden)]
    fn step(&self) -> Step;

    /// Also populates `inner`, a reference path of the documents this path loads: one
    /// more query, for all of them at once.
    fn with<Q: PopulatePath<Self::Target>>(self, inner: Q) -> Nested<M, Self, Q> {
        Nested {
            outer: self,
            inner,
            _model: PhantomData,
        }
    }
}

fn step_of<T: Model>(path: &'static str) -> Step {
    Step {
        path,
        collection: T::COLLECTION,
        nested: Vec::new(),
    }
}

impl<M, T: Model> PopulatePath<M> for Field<M, Ref<T>> {
    type Target = T;
    fn step(&self) -> Step {
        step_of::<T>(self.path())
    }
}

impl<M, T: Model> PopulatePath<M> for Field<M, Option<Ref<T>>> {
    type Target = T;
    fn step(&self) -> Step {
        step_of::<T>(self.path())
    }
}

impl<M: 'static, T: Model> PopulatePath<M> for ArrayPaths<M, Vec<Ref<T>>, Ref<T>> {
    type Target = T;
    fn step(&self) -> Step {
        step_of::<T>(self.path())
    }
}

impl<M: 'static, T: Model> PopulatePath<M> for ArrayPaths<M, Option<Vec<Ref<T>>>, Ref<T>> {
    type Target = T;
    fn step(&self) -> Step {
        step_of::<T>(self.path())
    }
}

/// A reference path with paths to populate inside what it loads (see
/// [`PopulatePath::with`]).
pub struct Nested<M, P, Q> {
    outer: P,
    inner: Q,
    _model: PhantomData<fn() -> M>,
}

impl<M, P: Copy, Q: Copy> Clone for Nested<M, P, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, P: Copy, Q: Copy> Copy for Nested<M, P, Q> {}

impl<M, P: PopulatePath<M>, Q: PopulatePath<P::Target>> PopulatePath<M> for Nested<M, P, Q> {
    type Target = P::Target;
    fn step(&self) -> Step {
        let mut step = self.outer.step();
        step.nested.push(self.inner.step());
        step
    }
}

/// A query that populates reference paths; finish it with `.await` (or `all()`) or
/// `first()`.
pub struct Populate<M: Model> {
    find: Find<M>,
    steps: Vec<Step>,
}

impl<M: Model> Find<M> {
    /// Loads the documents `path`'s references name with the results, in one query for
    /// all the results (see the [module documentation](crate::populate)).
    pub fn populate<P: PopulatePath<M>>(self, path: P) -> Populate<M> {
        Populate {
            find: self,
            steps: vec![path.step()],
        }
    }

    /// The results, each with the documents of model `R` that reference it at `path`
    /// (all posts whose `author` is this user), found by one `$lookup` in the same
    /// aggregation as the query.
    pub async fn with_referrers<R: Model, P: PopulatePath<R, Target = M>>(
        self,
        path: P,
    ) -> Result<Vec<Referred<M, R>>> {
        let step = path.step();
        let mut pipeline = vec![doc! {"$match": self.filter.into_document()?}];
        if let Some(sort) = &self.sort {
            pipeline.push(doc! {"$sort": sort.to_document()});
        }
        if let Some(skip) = self.skip {
            pipeline.push(doc! {"$skip": i64::try_from(skip).unwrap_or(i64::MAX)});
        }
        match self.limit {
            Some(0) => return Ok(Vec::new()),
            Some(limit) => pipeline.push(doc! {"$limit": limit.abs()}),
            None => {}
        }
        pipeline.push(doc! {"$lookup": {
            "from": R::COLLECTION,
            "localField": "_id",
            "foreignField": step.path,
            "as": REFERRERS,
        }});
        let cursor = self.collection.aggregate(pipeline);
        let docs: Vec<Document> = match &self.session {
            None => cursor.await?.try_collect().await?,
            Some(session) => {
                let mut guard = session.lock().await;
                let mut cursor = cursor.session(&mut *guard).await?;
                cursor.stream(&mut guard).try_collect().await?
            }
        };
        docs.into_iter()
            .map(|mut d| {
                let referrers = match d.remove(REFERRERS) {
                    Some(Bson::Array(items)) => items
                        .into_iter()
                        .map(bson::deserialize_from_bson)
                        .collect::<std::result::Result<Vec<R>, _>>()?,
                    _ => Vec::new(),
                };
                Ok(Referred {
                    doc: bson::deserialize_from_document(d)?,
                    referrers,
                })
            })
            .collect()
    }
}

/// Where `$lookup` puts the referrers, out of the way of the model's own fields.
const REFERRERS: &str = "__odm_referrers";

/// A document with the documents of another model that reference it.
#[derive(Debug, Clone, PartialEq)]
pub struct Referred<M, R> {
    pub doc: M,
    pub referrers: Vec<R>,
}

impl<M: Model> Populate<M> {
    /// Populates another path as well.
    pub fn populate<P: PopulatePath<M>>(mut self, path: P) -> Self {
        self.steps.push(path.step());
        self
    }

    /// Every result, populated.
    pub async fn all(self) -> Result<Vec<M>> {
        let Populate { find, steps } = self;
        if find.limit == Some(0) {
            return Ok(Vec::new());
        }
        let db = find
            .collection
            .client()
            .database(&find.collection.namespace().db);
        let session = find.session.clone();
        let mut raw: Find<M, Document> = find.reading();
        raw.batch_size = Some(raw.batch_size.unwrap_or(POPULATE_BATCH));
        let mut docs = raw.all().await?;
        populate(&db, session.as_ref(), &mut docs, &steps).await?;
        docs.into_iter()
            .map(|d| bson::deserialize_from_document(d).map_err(Error::from))
            .collect()
    }

    /// The first result, populated.
    pub async fn first(mut self) -> Result<Option<M>> {
        self.find.limit = Some(1);
        Ok(self.all().await?.into_iter().next())
    }
}

impl<M: Model> std::future::IntoFuture for Populate<M> {
    type Output = Result<Vec<M>>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<M>>> + Send>>;
    /// `.await` is `.all()`.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}

/// Populates `steps` in `docs`: per step, one query (per [`IDS_PER_QUERY`] ids) for the
/// ids of every document, its own nested steps populated in what it found.
async fn populate(
    db: &mongodb::Database,
    session: Option<&SharedSession>,
    docs: &mut [Document],
    steps: &[Step],
) -> Result<()> {
    for step in steps {
        let parts: Vec<&str> = step.path.split('.').collect();
        let mut ids: Vec<Bson> = Vec::new();
        let mut seen: HashMap<Vec<u8>, ()> = HashMap::new();
        for d in docs.iter_mut() {
            visit(d, &parts, &mut |id| {
                if !matches!(id, Bson::Null) && seen.insert(key_of(id), ()).is_none() {
                    ids.push(id.clone());
                }
            });
        }
        if ids.is_empty() {
            continue;
        }
        let mut found: Vec<Document> = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let collection = db.collection::<Document>(step.collection);
            let query = collection
                .find(doc! {"_id": {"$in": chunk.to_vec()}})
                .batch_size(POPULATE_BATCH);
            match session {
                None => found.extend(query.await?.try_collect::<Vec<_>>().await?),
                Some(session) => {
                    let mut guard = session.lock().await;
                    let mut cursor = query.session(&mut *guard).await?;
                    found.extend(cursor.stream(&mut guard).try_collect::<Vec<_>>().await?);
                }
            }
        }
        Box::pin(populate(db, session, &mut found, &step.nested)).await?;
        let by_id: HashMap<Vec<u8>, Document> = found
            .into_iter()
            .filter_map(|d| d.get("_id").map(key_of).map(|k| (k, d)))
            .collect();
        for d in docs.iter_mut() {
            visit(d, &parts, &mut |id| {
                if matches!(id, Bson::Null) {
                    return;
                }
                *id = match by_id.get(&key_of(id)) {
                    Some(target) => Bson::Document(doc! {LOADED: target.clone()}),
                    None => Bson::Document(doc! {DANGLING: id.clone()}),
                };
            });
        }
    }
    Ok(())
}

/// An id as a map key: its BSON encoding (type and bytes), which tells ids apart as
/// `_id` equality does for ids of one type (ObjectIds, strings, integers).
fn key_of(id: &Bson) -> Vec<u8> {
    let mut key = Vec::new();
    let _ = doc! {"": id.clone()}.to_writer(&mut key);
    key
}

/// Calls `f` on each reference at `parts` in `doc`: through arrays on the way, and on
/// each element of an array of references at the end.
fn visit(doc: &mut Document, parts: &[&str], f: &mut impl FnMut(&mut Bson)) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    if let Some(value) = doc.get_mut(*first) {
        visit_value(value, rest, f);
    }
}

fn visit_value(value: &mut Bson, rest: &[&str], f: &mut impl FnMut(&mut Bson)) {
    match (value, rest.is_empty()) {
        (Bson::Array(items), true) => items.iter_mut().for_each(f),
        (value, true) => f(value),
        (Bson::Document(d), false) => visit(d, rest, f),
        (Bson::Array(items), false) => {
            for item in items {
                if let Bson::Document(d) = item {
                    visit(d, rest, f);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_references_through_arrays() {
        let mut d = doc! {
            "author": 1,
            "comments": [2, 3],
            "items": [{"product": 4}, {"product": 5}, {"other": 6}],
            "nested": {"ref": null},
        };
        let mut seen = Vec::new();
        for path in [
            "author",
            "comments",
            "items.product",
            "nested.ref",
            "missing.x",
        ] {
            let parts: Vec<&str> = path.split('.').collect();
            visit(&mut d, &parts, &mut |id| seen.push(id.clone()));
        }
        assert_eq!(
            seen,
            vec![
                Bson::Int32(1),
                Bson::Int32(2),
                Bson::Int32(3),
                Bson::Int32(4),
                Bson::Int32(5),
                Bson::Null
            ]
        );
    }
}
