//! `Find`: a query being built (sort, skip, limit, batch size, projection) and the ways
//! to finish it: `.await` or `all()`, `first()`, `stream()`, and keyset pages
//! (`page_after`) that resume after the last document of the previous page in the
//! query's own order.

use std::marker::PhantomData;

use bson::{Bson, Document, doc};
use futures::{Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::collection::{Projection, get_path};
use crate::error::{BuildError, Error, Result};
use crate::filter::Filter;
use crate::geo::{DISTANCE_FIELD, Distanced};
use crate::index::Collation;
use crate::model::Model;
use crate::sort::Sort;
use crate::text::{SCORE_FIELD, Scored};
use crate::transaction::SharedSession;

/// A query being built; finish it with `.await` (every result, as `all()`), `first()`,
/// `stream()` or `page_after()`.
pub struct Find<M: Model, R = M> {
    pub(crate) collection: mongodb::Collection<Document>,
    /// The transaction the query reads in, for a collection from a `Tx`.
    pub(crate) session: Option<SharedSession>,
    pub(crate) filter: Filter<M>,
    pub(crate) sort: Option<Sort<M>>,
    pub(crate) skip: Option<u64>,
    pub(crate) limit: Option<i64>,
    pub(crate) batch_size: Option<u32>,
    pub(crate) projection: Option<Document>,
    pub(crate) collation: Option<Collation>,
    /// Best text-search matches first (before `sort`'s keys), from `by_relevance`.
    pub(crate) relevance: bool,
    pub(crate) _output: PhantomData<fn() -> R>,
}

impl<M: Model> Find<M> {
    pub(crate) fn new(
        collection: mongodb::Collection<Document>,
        session: Option<SharedSession>,
        filter: Filter<M>,
    ) -> Self {
        Find {
            collection,
            session,
            filter,
            sort: None,
            skip: None,
            limit: None,
            batch_size: None,
            projection: None,
            collation: None,
            relevance: false,
            _output: PhantomData,
        }
    }

    /// The results of a text search (`Filter::text`) with their score, best first (then
    /// in `sort`'s order). Without a text search in the filter, MongoDB refuses it.
    pub fn by_relevance(self) -> Find<M, Scored<M>> {
        let mut scored = self.reading();
        // A `$meta` field alone keeps every stored field.
        scored.projection = Some(doc! {SCORE_FIELD: {"$meta": "textScore"}});
        scored.relevance = true;
        scored
    }

    /// The results of a `near` or `near_sphere` query with their distance from its
    /// point, in meters, nearest first (MongoDB's `geoNearDistance`).
    ///
    /// ```ignore
    /// let close = places
    ///     .find(f.location.near(paris, Distance::at_most(5_000.0)))
    ///     .with_distance()
    ///     .await?;
    /// for hit in close { println!("{:.0} m: {}", hit.meters, hit.doc.name); }
    /// ```
    pub fn with_distance(self) -> Find<M, Distanced<M>> {
        let mut distanced = self.reading();
        // A `$meta` field alone keeps every stored field.
        distanced.projection = Some(doc! {DISTANCE_FIELD: {"$meta": "geoNearDistance"}});
        distanced
    }
}

impl<M: Model, R> Find<M, R> {
    /// The same query, its results read as `R2`.
    pub(crate) fn reading<R2>(self) -> Find<M, R2> {
        Find {
            collection: self.collection,
            session: self.session,
            filter: self.filter,
            sort: self.sort,
            skip: self.skip,
            limit: self.limit,
            batch_size: self.batch_size,
            projection: self.projection,
            collation: self.collation,
            relevance: self.relevance,
            _output: PhantomData,
        }
    }
}

impl<M: Model, R: DeserializeOwned + Send + Sync + Unpin> Find<M, R> {
    /// The order of results.
    pub fn sort(mut self, sort: Sort<M>) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Skips the first `n` results.
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = Some(n);
        self
    }

    /// Returns at most `n` results.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(i64::try_from(n).unwrap_or(i64::MAX));
        self
    }

    /// Documents per round trip to the server.
    pub fn batch_size(mut self, n: u32) -> Self {
        self.batch_size = Some(n);
        self
    }

    /// Compares strings under `collation` (the filter's equalities and ranges, and the
    /// sort), for example case-insensitively with [`crate::index::case_insensitive`]. An index
    /// serves the query only if it was declared with the same collation.
    pub fn collation(mut self, collation: Collation) -> Self {
        self.collation = Some(collation);
        self
    }

    /// Reads results into a projection type instead of the model.
    pub fn project<P: Projection<M>>(self) -> Find<M, P> {
        let mut projected = self.reading();
        projected.projection = Some(P::projection());
        projected
    }

    /// Sends the query: the first batch comes back with the cursor.
    async fn cursor(self) -> Result<Rows<R>> {
        let typed = self.collection.clone_with_type::<R>();
        let filter = self.filter.into_document()?;
        let sort = match (self.relevance, self.sort) {
            (true, sort) => {
                let mut by_score = doc! {SCORE_FIELD: {"$meta": "textScore"}};
                if let Some(s) = sort {
                    by_score.extend(s.to_document());
                }
                Some(by_score)
            }
            (false, sort) => sort.map(|s| s.to_document()),
        };
        let options = mongodb::options::FindOptions::builder()
            .sort(sort)
            .skip(self.skip)
            .limit(self.limit)
            .batch_size(self.batch_size)
            .projection(self.projection)
            .collation(self.collation)
            .build();
        Ok(match self.session {
            None => Rows::Plain(typed.find(filter).with_options(options).await?),
            Some(session) => {
                let cursor = {
                    let mut guard = session.lock().await;
                    typed
                        .find(filter)
                        .with_options(options)
                        .session(&mut *guard)
                        .await?
                };
                Rows::InSession(session, cursor)
            }
        })
    }

    /// `limit(0)`: MongoDB would read it as "no limit", but here it means no results.
    fn wants_nothing(&self) -> bool {
        self.limit == Some(0)
    }

    /// Every result.
    pub async fn all(self) -> Result<Vec<R>> {
        if self.wants_nothing() {
            return Ok(Vec::new());
        }
        self.cursor().await?.into_stream().try_collect().await
    }

    /// The first result, if any.
    pub async fn first(mut self) -> Result<Option<R>> {
        if self.wants_nothing() {
            return Ok(None);
        }
        self.limit = Some(1);
        self.cursor().await?.into_stream().try_next().await
    }

    /// The results as a stream, fetched batch by batch as it is read.
    pub async fn stream(self) -> Result<impl Stream<Item = Result<R>> + Send + Unpin> {
        if self.wants_nothing() {
            return Ok(futures::future::Either::Left(futures::stream::empty()));
        }
        Ok(futures::future::Either::Right(
            self.cursor().await?.into_stream(),
        ))
    }
}

/// An open cursor, in a transaction's session or not (a find's, or an aggregation's).
pub(crate) enum Rows<R> {
    Plain(mongodb::Cursor<R>),
    InSession(SharedSession, mongodb::SessionCursor<R>),
}

impl<R: DeserializeOwned + Send + Sync + Unpin> Rows<R> {
    /// The results one by one. In a session, the session is locked only while a batch
    /// is fetched, so that the transaction's other operations can run between reads.
    pub(crate) fn into_stream(self) -> impl Stream<Item = Result<R>> + Send + Unpin + use<R> {
        match self {
            Rows::Plain(cursor) => {
                futures::future::Either::Left(cursor.map(|r| r.map_err(Error::from)))
            }
            Rows::InSession(session, cursor) => futures::future::Either::Right(Box::pin(
                futures::stream::unfold((session, cursor), |(session, mut cursor)| async move {
                    let next = {
                        let mut guard = session.lock().await;
                        cursor.next(&mut guard).await
                    };
                    next.map(|r| (r.map_err(Error::from), (session, cursor)))
                }),
            )),
        }
    }
}

impl<M: Model, R: DeserializeOwned + Send + Sync + Unpin + 'static> std::future::IntoFuture
    for Find<M, R>
{
    type Output = Result<Vec<R>>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<R>>> + Send>>;
    /// `.await` on a find is `.all()`: every result.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}

impl<M: Model> Find<M, M> {
    /// Keyset pagination: the next `n` documents in the order of `sort` (by `_id` when
    /// none was given), after `last`, the final document of the previous page (`None` for
    /// the first page). Any keys, in either direction: `.sort(f.created_at.desc())`
    /// pages newest first. `_id` breaks ties, so every document is visited once. Unlike
    /// `skip`, the cost does not grow with the page number, and concurrent inserts do not
    /// shift pages.
    ///
    /// Refused with `Error::Build`: a `limit` (the page size is `n`), and a sort key
    /// with no single value per document (an array, or a path through array elements).
    pub async fn page_after(mut self, last: Option<&M>, n: u64) -> Result<Vec<M>> {
        if let Some(limit) = self.limit {
            return Err(BuildError::PageWithLimit { size: n, limit }.into());
        }
        let sort = self.sort.take();
        if let Some(path) = sort.as_ref().and_then(Sort::multivalued_key) {
            return Err(BuildError::MultivaluedSortKey {
                path: path.to_string(),
            }
            .into());
        }
        let mut keys: Vec<(String, i32)> = sort
            .iter()
            .flat_map(Sort::keys)
            .map(|(k, d)| (k.to_string(), d))
            .collect();
        if !keys.iter().any(|(k, _)| k == "_id") {
            let direction = keys.last().map_or(1, |(_, d)| *d);
            keys.push(("_id".to_string(), direction));
        }
        if let Some(last) = last {
            let doc = bson::serialize_to_document(last)?;
            let mut values = Vec::with_capacity(keys.len());
            for (path, _) in &keys {
                let value = get_path(&doc, path).cloned().unwrap_or(Bson::Null);
                if matches!(value, Bson::Array(_)) {
                    return Err(BuildError::MultivaluedSortKey { path: path.clone() }.into());
                }
                values.push(value);
            }
            self.filter = self.filter & Filter::raw_unchecked(keyset_after(&keys, &values));
        }
        let mut sort_doc = Document::new();
        for (k, d) in keys {
            sort_doc.insert(k, d);
        }
        self.sort = Some(Sort::from_document(sort_doc));
        self.limit = Some(i64::try_from(n).unwrap_or(i64::MAX));
        self.all().await
    }
}

/// The documents strictly after `values` in the order `keys`: for some key, every key
/// before it equal and this one past it. Null and missing values sort first ascending
/// and last descending, and MongoDB's comparisons only match values of the same type, so
/// a null key is handled apart: past a null ascending is any present value; past a
/// present value descending includes the nulls.
fn keyset_after(keys: &[(String, i32)], values: &[Bson]) -> Document {
    let mut branches = Vec::new();
    let mut equal_so_far = Document::new();
    for ((path, direction), value) in keys.iter().zip(values) {
        let past = match (value, *direction > 0) {
            (Bson::Null, true) => Some(doc! {path.as_str(): {"$ne": null}}),
            (Bson::Null, false) => None,
            (v, true) => Some(doc! {path.as_str(): {"$gt": v.clone()}}),
            (v, false) => {
                Some(doc! {"$or": [{path.as_str(): {"$lt": v.clone()}}, {path.as_str(): null}]})
            }
        };
        if let Some(past) = past {
            let mut branch = equal_so_far.clone();
            // A path may already be bound to equality in this branch only if keys repeat,
            // which `Sort` prevents; `$and` keeps the two conditions apart regardless.
            branch = if branch.is_empty() {
                past
            } else {
                doc! {"$and": [Bson::Document(branch), Bson::Document(past)]}
            };
            branches.push(Bson::Document(branch));
        }
        equal_so_far.insert(path.clone(), value.clone());
    }
    match branches.len() {
        // Nothing can come after (every key null, descending): match nothing.
        0 => doc! {"_id": {"$in": []}},
        1 => match branches.pop() {
            Some(Bson::Document(d)) => d,
            _ => Document::new(),
        },
        _ => doc! {"$or": branches},
    }
}

/// Reads a result that carries a number the server computed (a text score, a distance)
/// beside the document's own fields: the number from `field`, the rest as `M`.
pub(crate) fn with_metadata<'de, M, D>(
    deserializer: D,
    field: &str,
    missing: &str,
) -> Result<(f64, M), D::Error>
where
    M: DeserializeOwned,
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    let mut raw = <Document as serde::Deserialize>::deserialize(deserializer)?;
    let value = match raw.remove(field) {
        Some(bson::Bson::Double(v)) => v,
        Some(bson::Bson::Int32(v)) => f64::from(v),
        Some(bson::Bson::Int64(v)) => v as f64,
        _ => return Err(D::Error::custom(missing)),
    };
    let doc = bson::deserialize_from_document(raw).map_err(D::Error::custom)?;
    Ok((value, doc))
}
