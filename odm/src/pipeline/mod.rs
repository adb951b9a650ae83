//! Typed aggregation pipelines: `Pipeline<In, Out>` is a list of stages run on the
//! collection of model `In` that yields documents of type `Out`, with every path and
//! every type checked by the compiler as filters and updates are.
//!
//! A stage that keeps the shape of the documents (`filter`, `sort`, `skip`, `limit`)
//! keeps `Out`; a stage that reshapes them (`group`, `unwind`, `lookup`, `facet`,
//! `count`, `add_fields`, `project`) names the type it yields, and the stages after it
//! take paths of that type. An output type is a struct deriving `Embedded` and
//! `Deserialize`, whose paths are [`fields::<Out>()`](fields):
//!
//! ```
//! use odm::pipeline::{Pipeline, fields};
//! use odm::prelude::*;
//!
//! #[odm::model]
//! #[derive(Model, Serialize, Deserialize)]
//! struct Order {
//!     #[odm(id)]
//!     id: Option<ObjectId>,
//!     customer: String,
//!     status: String,
//!     amount: f64,
//! }
//!
//! /// One row of the report: a customer and what they spent.
//! #[derive(Embedded, Serialize, Deserialize)]
//! struct Spending {
//!     #[serde(rename = "_id")]
//!     customer: String,
//!     total: f64,
//!     orders: i64,
//! }
//!
//! let (o, s) = (Order::fields(), fields::<Spending>());
//! let top = Pipeline::new()
//!     .filter(o.status.eq("paid"))
//!     .group(o.customer, s.customer, |g| g.sum(s.total, o.amount).count(s.orders))
//!     .sort(s.total.desc())
//!     .limit(3);
//! // `orders.aggregate(top).await?` is a `Vec<Spending>`.
//! assert_eq!(top.to_documents()?, vec![
//!     doc! {"$match": {"status": "paid"}},
//!     doc! {"$group": {"_id": "$customer", "total": {"$sum": "$amount"}, "orders": {"$sum": 1}}},
//!     doc! {"$sort": {"total": -1}},
//!     doc! {"$limit": 3i64},
//! ]);
//! # Ok::<(), odm::Error>(())
//! ```
//!
//! What the compiler checks: every path belongs to the documents at that point of the
//! pipeline; `sum` and `avg` read numbers, `min` and `max` ordered values; each
//! accumulator writes an output field of the type it produces (`push` a `Vec` of the
//! input's type, `count` an integer, `avg` an `f64`); the group key has the type of the
//! output's `_id`; `unwind` reads an array into a field of its element type; `lookup`
//! joins keys of one type into a `Vec` of the foreign model; a facet's sub-pipeline
//! yields the element type of its field. What it cannot see is checked when the
//! pipeline is used, as an [`Error::Build`] naming the stage: the group key must
//! land in `_id`, `unwind` must write the element at the array's own path, accumulators
//! and facets write top-level fields. Fields of an output type that no stage writes are
//! read as the documents hold them: a stage that keeps the other fields (`unwind`,
//! `lookup`, `add_fields`) passes them through unchecked.
//!
//! Run a pipeline with [`Collection::aggregate`](crate::Collection::aggregate) (in the
//! collection's transaction, for a collection from a `Tx`). [`Pipeline::raw_stage`] and
//! [`Pipeline::raw_stage_as`] add stages the builders do not cover, unchecked.

mod expr;
mod group;
mod reshape;
mod run;

use std::fmt;
use std::marker::PhantomData;

use bson::{Bson, Document, doc};

use crate::collection::Projection;
use crate::error::{BuildError, Error, Result};
use crate::field::{Field, FieldType, element_paths};
use crate::filter::Filter;
use crate::model::{Embedded, Model};
use crate::sort::Sort;

pub use expr::{AddFields, Arithmetic, Computes, Concatenable, Expr};
pub use group::{
    AvgOutput, Collects, Comparable, CountOutput, Group, GroupKey, KeepsType, SumOutput, Summable,
};
pub use reshape::{ArrayValue, FacetOutput, Facets, JoinKey, Joined, UnwindsInto};

/// The typed paths of an output type (a struct deriving `Embedded`), rooted at the
/// document itself: `fields::<Spending>().total` is the path `total`, for the stages
/// that write or read documents of that type.
pub fn fields<T: Embedded + FieldType>() -> &'static T::Paths<T> {
    element_paths::<T>()
}

/// A condition on the documents of type `M`: a [`Filter<M>`].
#[diagnostic::on_unimplemented(
    message = "the documents at this point of the pipeline are `{M}`, and this condition is `{Self}`",
    label = "not `Filter<{M}>`",
    note = "after a stage that reshapes the documents, build conditions from the paths of its output type: `odm::pipeline::fields::<Out>()`"
)]
pub trait ConditionOn<M> {
    fn into_filter(self) -> Filter<M>;
}

impl<M> ConditionOn<M> for Filter<M> {
    fn into_filter(self) -> Filter<M> {
        self
    }
}

/// An order of the documents of type `M`: a [`Sort<M>`].
#[diagnostic::on_unimplemented(
    message = "the documents at this point of the pipeline are `{M}`, and this order is `{Self}`",
    label = "not `Sort<{M}>`",
    note = "after a stage that reshapes the documents, sort by the paths of its output type: `odm::pipeline::fields::<Out>()`"
)]
pub trait OrderOn<M> {
    fn into_sort(self) -> Sort<M>;
}

impl<M> OrderOn<M> for Sort<M> {
    fn into_sort(self) -> Sort<M> {
        self
    }
}

/// A type no value has, for the second impl of the "same type" traits below: with one
/// impl only, the compiler would unify the two types before checking them and report a
/// bare type mismatch instead of the trait's message.
#[doc(hidden)]
pub struct Unmatched<T>(PhantomData<fn() -> T>);

/// Declares a trait that holds when `Self` and `T` are the same type, with the
/// `on_unimplemented` attributes given (each use says what the two types are).
macro_rules! same_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        pub trait $name<T> {}

        impl<T> $name<T> for T {}

        #[diagnostic::do_not_recommend]
        impl<T> $name<$crate::pipeline::Unmatched<T>> for T {}
    };
}
pub(crate) use same_type;

/// A list of stages run on the collection of model `In`, yielding documents of type
/// `Out` (see the [module documentation](self)).
pub struct Pipeline<In, Out = In> {
    stages: Vec<Document>,
    /// The first stage that could not be built (a path that cannot be written, a value
    /// that is not BSON), reported when the pipeline is used, as a `Filter` does.
    error: Option<BuildError>,
    _types: PhantomData<fn() -> (In, Out)>,
}

impl<In, Out> Clone for Pipeline<In, Out> {
    fn clone(&self) -> Self {
        Pipeline {
            stages: self.stages.clone(),
            error: self.error.clone(),
            _types: PhantomData,
        }
    }
}

impl<In, Out> fmt::Debug for Pipeline<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stages)
            .field("error", &self.error)
            .finish()
    }
}

impl<In: Model> Pipeline<In> {
    /// A pipeline with no stage yet: it yields the collection's documents as they are.
    pub fn new() -> Self {
        Self::empty()
    }
}

impl<In: Model> Default for Pipeline<In> {
    fn default() -> Self {
        Self::new()
    }
}

impl<In, Cur> Pipeline<In, Cur> {
    /// No stage, starting from documents of type `Cur` (a facet's sub-pipeline).
    fn empty() -> Self {
        Pipeline {
            stages: Vec::new(),
            error: None,
            _types: PhantomData,
        }
    }

    /// Appends a stage (named for the error message), yielding documents of type `Next`.
    fn then<Next>(mut self, name: &str, stage: Result<Document, String>) -> Pipeline<In, Next> {
        match stage {
            Ok(stage) => self.stages.push(stage),
            Err(e) => {
                let position = self.stages.len() + 1;
                self.error.get_or_insert_with(|| BuildError::Stage {
                    position,
                    stage: name.to_string(),
                    reason: e,
                });
            }
        }
        Pipeline {
            stages: self.stages,
            error: self.error,
            _types: PhantomData,
        }
    }

    /// `$match`: keeps the documents the filter matches.
    pub fn filter(self, filter: impl ConditionOn<Cur>) -> Self {
        let stage = filter
            .into_filter()
            .into_document()
            .map(|f| doc! {"$match": f})
            .map_err(message);
        self.then("$match", stage)
    }

    /// `$sort`: orders the documents.
    pub fn sort(self, sort: impl OrderOn<Cur>) -> Self {
        let stage = doc! {"$sort": sort.into_sort().to_document()};
        self.then("$sort", Ok(stage))
    }

    /// `$skip`: drops the first `n` documents.
    pub fn skip(self, n: u64) -> Self {
        let stage = doc! {"$skip": i64::try_from(n).unwrap_or(i64::MAX)};
        self.then("$skip", Ok(stage))
    }

    /// `$limit`: keeps the first `n` documents. MongoDB refuses `$limit: 0`, and so does
    /// this (as an error when the pipeline is used).
    pub fn limit(self, n: u64) -> Self {
        let stage = match n {
            0 => Err("MongoDB's $limit takes a positive number, not 0".to_string()),
            n => Ok(doc! {"$limit": i64::try_from(n).unwrap_or(i64::MAX)}),
        };
        self.then("$limit", stage)
    }

    /// Appends a stage as given, and keeps the type of the documents. **Unchecked**:
    /// nothing verifies that the stage leaves documents of type `Cur`, or even that it is
    /// a stage; a mistake shows as the server's error or as a document that does not
    /// deserialize.
    pub fn raw_stage(self, stage: Document) -> Self {
        self.then("raw", Ok(stage))
    }

    /// Appends a stage as given, after which the documents are read as `Out`.
    /// **Unchecked**, as [`raw_stage`](Self::raw_stage): the stage's output is yours to
    /// match with `Out`.
    pub fn raw_stage_as<Out>(self, stage: Document) -> Pipeline<In, Out> {
        self.then("raw", Ok(stage))
    }

    /// The stages MongoDB receives, or the error of the first stage that could not be
    /// built.
    pub fn to_documents(&self) -> Result<Vec<Document>> {
        self.clone().into_documents()
    }

    pub(crate) fn into_documents(self) -> Result<Vec<Document>> {
        match self.error {
            Some(e) => Err(e.into()),
            None => Ok(self.stages),
        }
    }
}

impl<In, Cur: Model> Pipeline<In, Cur> {
    /// `$project`: keeps the fields of the projection type `P` (see
    /// [`Projection`](crate::Projection)), which the pipeline then yields.
    pub fn project<P: Projection<Cur>>(self) -> Pipeline<In, P> {
        self.then("$project", Ok(doc! {"$project": P::projection()}))
    }
}

/// The text of a builder's error, to nest in another's.
fn message(e: Error) -> String {
    match e {
        Error::Build(e) => e.to_string(),
        Error::InvalidValue(m) => m,
        other => other.to_string(),
    }
}

/// `"$path"`: the value at a path, as an expression. A path through array elements
/// would give an array of their values (not the field's type), and a flattened field
/// has no path of its own: both are refused.
fn reference<M, T>(field: Field<M, T>) -> Result<Bson, String> {
    let path = field.path();
    if path.is_empty() {
        return Err("a flattened field has no path of its own: use the paths of its fields".into());
    }
    if field.through_array() {
        return Err(format!(
            "`{path}` goes through array elements, so it has no single value of the field's type: unwind the array first"
        ));
    }
    Ok(Bson::String(format!("${path}")))
}

/// A path written whole by a stage (`$group`'s accumulators, `$facet`, `$count`):
/// MongoDB takes top-level names only there.
fn top_level<M, T>(field: Field<M, T>) -> Result<&'static str, String> {
    let path = field.path();
    if path.is_empty() {
        return Err(
            "a flattened field has no name of its own: write the fields of the output type".into(),
        );
    }
    if path.contains('.') {
        return Err(format!(
            "`{path}` is a nested path, and this stage writes top-level fields only"
        ));
    }
    Ok(path)
}

/// A path a stage sets inside the documents (`$unwind`, `$lookup`'s `as`,
/// `$addFields`): any depth, but not through array elements.
fn settable<M, T>(field: Field<M, T>) -> Result<&'static str, String> {
    reference(field).map(|_| field.path())
}
