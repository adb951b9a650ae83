//! The stages that change the documents' type without grouping them: `$unwind` (one
//! document per array element), `$lookup` (documents of another model joined in),
//! `$facet` (several sub-pipelines over the same input, in one document) and `$count`.
//! Their marker traits tie the types on both sides of the stage together.

use std::marker::PhantomData;

use bson::{Document, doc};

use super::{Pipeline, same_type, settable, top_level};
use crate::field::{AsField, FieldType};
use crate::model::Model;

/// Array types, with their element type: what `unwind` and `size` take.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an array: `unwind` and `size` need a `Vec` field",
    label = "not an array field"
)]
pub trait ArrayValue {
    type Element;
}

impl<E> ArrayValue for Vec<E> {
    type Element = E;
}

impl<E> ArrayValue for Option<Vec<E>> {
    type Element = E;
}

same_type! {
    /// The array's element type (`Self`) is the type of the field `unwind` writes (`T`).
    #[diagnostic::on_unimplemented(
        message = "`unwind` puts each element (`{Self}`) at the array's path: the output field there is `{T}`",
        label = "an array of `{Self}`",
        note = "declare the output type's field at the array's path with the element type"
    )]
    UnwindsInto
}

same_type! {
    /// The local key's value type (`Self`) is the foreign key's (`T`): `Option` aside.
    #[diagnostic::on_unimplemented(
        message = "`lookup` matches `{Self}` values against `{T}` values: the local and foreign fields must hold the same type",
        label = "key of type `{Self}`"
    )]
    JoinKey
}

/// Output fields `lookup` writes the joined documents of model `F` to: `Vec<F>`.
#[diagnostic::on_unimplemented(
    message = "`lookup` writes the matching `{F}` documents into a `Vec<{F}>`: the output field is `{Self}`",
    label = "not `Vec<{F}>`"
)]
pub trait Joined<F> {}

impl<F: Model> Joined<F> for Vec<F> {}

/// See [`Unmatched`](super::Unmatched): keeps the compiler from unifying too early.
#[diagnostic::do_not_recommend]
impl<F> Joined<super::Unmatched<F>> for Vec<F> {}

/// Output fields a facet whose sub-pipeline yields `X` documents is written to: `Vec<X>`.
#[diagnostic::on_unimplemented(
    message = "this facet's pipeline yields `{X}` documents: its output field must be `Vec<{X}>`, not `{Self}`",
    label = "not `Vec<{X}>`"
)]
pub trait FacetOutput<X> {}

impl<X> FacetOutput<X> for Vec<X> {}

/// See [`Unmatched`](super::Unmatched): keeps the compiler from unifying too early.
#[diagnostic::do_not_recommend]
impl<X> FacetOutput<super::Unmatched<X>> for Vec<X> {}

/// The sub-pipelines of a `$facet`, each run on the same input documents (`Cur`) and
/// written to a `Vec` field of the output type (`Out`). Built by the closure given to
/// [`Pipeline::facet`].
pub struct Facets<In, Cur, Out> {
    facets: Document,
    error: Option<String>,
    /// Each facet starts from a `Pipeline<In, Cur>`.
    _input: PhantomData<fn() -> Pipeline<In, Cur>>,
    _output: PhantomData<fn() -> Out>,
}

impl<In, Cur, Out> Facets<In, Cur, Out> {
    /// A sub-pipeline, built by `pipeline` from the stage's input, whose documents are
    /// written to `field`, a `Vec` of their type.
    pub fn facet<F, X>(
        mut self,
        field: F,
        pipeline: impl FnOnce(Pipeline<In, Cur>) -> Pipeline<In, X>,
    ) -> Self
    where
        F: AsField<Out>,
        F::Type: FacetOutput<X>,
    {
        let facet = top_level(field.as_field()).and_then(|name| {
            if self.facets.contains_key(name) {
                return Err(format!("`{name}` is written by two facets"));
            }
            let stages = pipeline(Pipeline::empty())
                .into_documents()
                .map_err(|e| format!("in facet `{name}`: {}", super::message(e)))?;
            Ok((name, stages))
        });
        match facet {
            Ok((name, stages)) => {
                self.facets.insert(name, stages);
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }
}

impl<In, Cur> Pipeline<In, Cur> {
    /// `$unwind`: one document per element of the array at `array`, with the element in
    /// its place. `element` is the output type's field at the same path, of the
    /// element's type (the path is checked when the pipeline is used). Documents whose
    /// array is empty, null or missing are dropped.
    ///
    /// ```
    /// # use odm::pipeline::{Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Post { #[odm(id)] id: Option<ObjectId>, tags: Vec<String> }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct Tagged {
    ///     tags: String,
    /// }
    ///
    /// let (p, t) = (Post::fields(), fields::<Tagged>());
    /// let one_per_tag = Pipeline::new().unwind(p.tags, t.tags);
    /// assert_eq!(one_per_tag.to_documents()?, vec![doc! {"$unwind": "$tags"}]);
    /// # Ok::<(), odm::Error>(())
    /// ```
    pub fn unwind<Out, A, E>(self, array: A, element: E) -> Pipeline<In, Out>
    where
        A: AsField<Cur>,
        E: AsField<Out>,
        A::Type: ArrayValue,
        <A::Type as ArrayValue>::Element: UnwindsInto<E::Type>,
    {
        let (from, to) = (array.as_field().path(), element.as_field().path());
        let stage = settable(array.as_field()).and_then(|path| {
            if from == to {
                Ok(doc! {"$unwind": format!("${path}")})
            } else {
                Err(format!(
                    "the element is written at the array's own path `{from}`, and the output field given is `{to}`"
                ))
            }
        });
        self.then("$unwind", stage)
    }

    /// `$lookup`: the documents of model `F` whose `foreign` path equals this
    /// document's `local` path, joined in as `into`, a `Vec<F>` field of the output type.
    /// The two keys hold the same type (`Option` aside: an `Option<ObjectId>` id matches
    /// an `ObjectId` reference).
    ///
    /// ```
    /// # use odm::pipeline::{Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Customer { #[odm(id)] id: Option<ObjectId>, name: String }
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Order { #[odm(id)] id: Option<ObjectId>, customer: ObjectId, amount: f64 }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct OrderWithCustomer {
    ///     amount: f64,
    ///     buyer: Vec<Customer>,
    /// }
    ///
    /// let (o, w) = (Order::fields(), fields::<OrderWithCustomer>());
    /// let joined = Pipeline::new().lookup(o.customer, Customer::fields().id, w.buyer);
    /// assert_eq!(
    ///     joined.to_documents()?,
    ///     vec![doc! {"$lookup": {"from": "customers", "localField": "customer", "foreignField": "_id", "as": "buyer"}}],
    /// );
    /// # Ok::<(), odm::Error>(())
    /// ```
    pub fn lookup<Out, F, L, R, A>(self, local: L, foreign: R, into: A) -> Pipeline<In, Out>
    where
        F: Model,
        L: AsField<Cur>,
        R: AsField<F>,
        A: AsField<Out>,
        L::Type: FieldType,
        R::Type: FieldType,
        <L::Type as FieldType>::Scalar: JoinKey<<R::Type as FieldType>::Scalar>,
        A::Type: Joined<F>,
    {
        let stage = (|| {
            let (local, foreign) = (settable(local.as_field())?, settable(foreign.as_field())?);
            let into = settable(into.as_field())?;
            Ok(doc! {"$lookup": {
                "from": F::COLLECTION,
                "localField": local,
                "foreignField": foreign,
                "as": into,
            }})
        })();
        self.then("$lookup", stage)
    }

    /// `$facet`: one document of type `Out` whose fields hold the results of
    /// sub-pipelines run on the same input (a page and the total count, say).
    ///
    /// ```
    /// # use odm::pipeline::{Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Order { #[odm(id)] id: Option<ObjectId>, amount: f64 }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct Total {
    ///     n: i64,
    /// }
    ///
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct Page {
    ///     total: Vec<Total>,
    ///     largest: Vec<Order>,
    /// }
    ///
    /// let (o, p, t) = (Order::fields(), fields::<Page>(), fields::<Total>());
    /// let page = Pipeline::new().facet(|f| {
    ///     f.facet(p.total, |all| all.count(t.n))
    ///         .facet(p.largest, |all| all.sort(o.amount.desc()).limit(5))
    /// });
    /// # assert!(page.to_documents().is_ok());
    /// ```
    pub fn facet<Out>(
        self,
        facets: impl FnOnce(Facets<In, Cur, Out>) -> Facets<In, Cur, Out>,
    ) -> Pipeline<In, Out> {
        let facets = facets(Facets {
            facets: Document::new(),
            error: None,
            _input: PhantomData,
            _output: PhantomData,
        });
        let stage = match facets.error {
            Some(e) => Err(e),
            None if facets.facets.is_empty() => Err("a $facet needs at least one facet".into()),
            None => Ok(doc! {"$facet": facets.facets}),
        };
        self.then("$facet", stage)
    }

    /// `$count`: one document of type `Out` whose integer field `field` holds how many
    /// documents came in (no document when none did).
    pub fn count<Out, F>(self, field: F) -> Pipeline<In, Out>
    where
        F: AsField<Out>,
        F::Type: super::CountOutput,
    {
        let stage = top_level(field.as_field()).map(|name| doc! {"$count": name});
        self.then("$count", stage)
    }
}
