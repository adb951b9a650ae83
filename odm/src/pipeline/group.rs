//! `$group` with typed accumulators: [`Pipeline::group`] takes a key path of the
//! current documents and the output type's `_id` field, and a [`Group`] builder whose
//! every accumulator reads a path of the current documents and writes a field of the
//! output type. The marker traits here say which types each accumulator reads and
//! writes, each with the message the compiler shows when a type does not fit.

use std::marker::PhantomData;

use bson::{Bson, Document, doc};

use super::{Pipeline, reference, same_type, top_level};
use crate::field::{AsField, FieldType, Numeric, Ordered};

/// Types `sum` and `avg` add: numbers (checked on the value type, so `Option<i32>` counts).
#[diagnostic::on_unimplemented(
    message = "`sum` and `avg` add numbers: `{Self}` is not a number",
    label = "not a numeric field",
    note = "nulls and missing values are skipped, so an `Option` of a number is fine"
)]
pub trait Summable {}

impl<T: Numeric> Summable for T {}

/// Types a `sum` may be written to: numbers.
#[diagnostic::on_unimplemented(
    message = "`sum` writes a number: the output field is `{Self}`",
    label = "not a numeric output field",
    note = "declare the output field as a number wide enough for the total (`i64`, `f64`, ...)"
)]
pub trait SumOutput {}

impl<T: Numeric> SumOutput for T {}

/// Types an `avg` may be written to: `f64`, or `Option<f64>` for a group whose values
/// are all missing or null (MongoDB gives null then).
#[diagnostic::on_unimplemented(
    message = "`avg` writes an `f64` (null when no value was a number): the output field is `{Self}`",
    label = "not `f64` or `Option<f64>`",
    note = "declare the output field `f64`, or `Option<f64>` when every value of a group may be missing"
)]
pub trait AvgOutput {}

impl AvgOutput for f64 {}
impl AvgOutput for Option<f64> {}

/// Types `min` and `max` compare: the ones with an order (checked on the value type).
#[diagnostic::on_unimplemented(
    message = "`min` and `max` compare values: `{Self}` has no order",
    label = "not an ordered field",
    note = "numbers, strings, dates, ObjectIds and decimals are ordered"
)]
pub trait Comparable {}

impl<T: Ordered> Comparable for T {}

/// Types a `count` may be written to: integers.
#[diagnostic::on_unimplemented(
    message = "`count` writes an integer: the output field is `{Self}`",
    label = "not an integer field",
    note = "declare the output field `i64` (or `i32`, `u32`, `u64`)"
)]
pub trait CountOutput {}

impl CountOutput for i32 {}
impl CountOutput for i64 {}
impl CountOutput for u32 {}
impl CountOutput for u64 {}

same_type! {
    /// The group key's type (`Self`) is the output's `_id` type (`T`).
    #[diagnostic::on_unimplemented(
        message = "the group key is `{Self}`, and the output's `_id` field is `{T}`: they must be the same type",
        label = "key of type `{Self}`"
    )]
    GroupKey
}

same_type! {
    /// `min`, `max`, `first` and `last` give a value of the input's type (`Self`), which
    /// the output field (`T`) must have.
    #[diagnostic::on_unimplemented(
        message = "this accumulator gives values of its input's type, `{Self}`, and the output field is `{T}`",
        label = "input of type `{Self}`",
        note = "`min`, `max`, `first` and `last` write a field of their input's type"
    )]
    KeepsType
}

/// Output types `push` and `add_to_set` collect values of type `T` into: `Vec<T>`.
#[diagnostic::on_unimplemented(
    message = "`push` and `add_to_set` collect `{T}` values into a `Vec<{T}>`: the output field is `{Self}`",
    label = "not `Vec<{T}>`"
)]
pub trait Collects<T> {}

impl<T> Collects<T> for Vec<T> {}

/// See [`Unmatched`](super::Unmatched): keeps the compiler from unifying too early.
#[diagnostic::do_not_recommend]
impl<T> Collects<super::Unmatched<T>> for Vec<T> {}

/// The accumulators of a `$group`: each reads a path of the documents entering the
/// group (`Cur`) and writes a top-level field of the output type (`Out`). Built by the
/// closure given to [`Pipeline::group`].
pub struct Group<Cur, Out> {
    fields: Document,
    error: Option<String>,
    _types: PhantomData<fn() -> (Cur, Out)>,
}

impl<Cur, Out> Group<Cur, Out> {
    fn new() -> Self {
        Group {
            fields: Document::new(),
            error: None,
            _types: PhantomData,
        }
    }

    /// `out: {op: input}`; the first mistake is kept for the stage's error.
    fn accumulate(
        mut self,
        out: Result<&'static str, String>,
        op: &str,
        input: Result<Bson, String>,
    ) -> Self {
        let field = out.and_then(|name| {
            if name == "_id" {
                Err("`_id` holds the group key: an accumulator writes another field".into())
            } else if self.fields.contains_key(name) {
                Err(format!("`{name}` is written by two accumulators"))
            } else {
                Ok(name)
            }
        });
        match field.and_then(|name| input.map(|input| (name, input))) {
            Ok((name, input)) => {
                self.fields.insert(name, doc! {op: input});
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    fn read<P: AsField<Cur>>(input: P) -> Result<Bson, String> {
        reference(input.as_field())
    }

    fn write<P: AsField<Out>>(out: P) -> Result<&'static str, String> {
        top_level(out.as_field())
    }

    /// `$sum`: the total of a numeric field, written to a numeric field (0 for a group
    /// with no number).
    pub fn sum<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: FieldType,
        <I::Type as FieldType>::Scalar: Summable,
        O::Type: SumOutput,
    {
        self.accumulate(Self::write(out), "$sum", Self::read(input))
    }

    /// `$avg`: the mean of a numeric field, written to an `f64` (or `Option<f64>`).
    pub fn avg<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: FieldType,
        <I::Type as FieldType>::Scalar: Summable,
        O::Type: AvgOutput,
    {
        self.accumulate(Self::write(out), "$avg", Self::read(input))
    }

    /// `$min`: the smallest value of an ordered field, written to a field of its type.
    pub fn min<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: FieldType + KeepsType<O::Type>,
        <I::Type as FieldType>::Scalar: Comparable,
    {
        self.accumulate(Self::write(out), "$min", Self::read(input))
    }

    /// `$max`: the largest value of an ordered field, written to a field of its type.
    pub fn max<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: FieldType + KeepsType<O::Type>,
        <I::Type as FieldType>::Scalar: Comparable,
    {
        self.accumulate(Self::write(out), "$max", Self::read(input))
    }

    /// `$first`: the value of the group's first document (sort before grouping to
    /// choose it), written to a field of its type.
    pub fn first<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: KeepsType<O::Type>,
    {
        self.accumulate(Self::write(out), "$first", Self::read(input))
    }

    /// `$last`: the value of the group's last document, written to a field of its type.
    pub fn last<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        I::Type: KeepsType<O::Type>,
    {
        self.accumulate(Self::write(out), "$last", Self::read(input))
    }

    /// `$push`: every value of the field in the group, in order, into a `Vec` of its
    /// type.
    pub fn push<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        O::Type: Collects<I::Type>,
    {
        self.accumulate(Self::write(out), "$push", Self::read(input))
    }

    /// `$addToSet`: the distinct values of the field in the group, in no particular
    /// order, into a `Vec` of its type.
    pub fn add_to_set<O, I>(self, out: O, input: I) -> Self
    where
        O: AsField<Out>,
        I: AsField<Cur>,
        O::Type: Collects<I::Type>,
    {
        self.accumulate(Self::write(out), "$addToSet", Self::read(input))
    }

    /// How many documents the group has (`{$sum: 1}`), written to an integer field.
    pub fn count<O>(self, out: O) -> Self
    where
        O: AsField<Out>,
        O::Type: CountOutput,
    {
        self.accumulate(Self::write(out), "$sum", Ok(Bson::Int32(1)))
    }

    /// The `$group` stage, with `id` as its key.
    fn into_stage(self, id: Result<Bson, String>) -> Result<Document, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut group = doc! {"_id": id?};
        group.extend(self.fields);
        Ok(doc! {"$group": group})
    }
}

impl<In, Cur> Pipeline<In, Cur> {
    /// `$group`: one document of type `Out` per distinct value of `key`, a path of the
    /// current documents. The key goes to `id`, the output's `_id` field, which must
    /// have the key's type; `accumulators` writes the other fields:
    ///
    /// ```
    /// # use odm::pipeline::{Pipeline, fields};
    /// # use odm::prelude::*;
    /// # #[odm::model]
    /// # #[derive(Model, Serialize, Deserialize)]
    /// # struct Order { #[odm(id)] id: Option<ObjectId>, customer: String, amount: f64, tags: Vec<String> }
    /// #[derive(Embedded, Serialize, Deserialize)]
    /// struct PerCustomer {
    ///     #[serde(rename = "_id")]
    ///     customer: String,
    ///     mean: f64,
    ///     largest: f64,
    ///     amounts: Vec<f64>,
    ///     orders: i64,
    /// }
    ///
    /// let (o, c) = (Order::fields(), fields::<PerCustomer>());
    /// let per_customer = Pipeline::new().group(o.customer, c.customer, |g| {
    ///     g.avg(c.mean, o.amount)
    ///         .max(c.largest, o.amount)
    ///         .push(c.amounts, o.amount)
    ///         .count(c.orders)
    /// });
    /// # assert!(per_customer.to_documents().is_ok());
    /// ```
    pub fn group<Out, K, I>(
        self,
        key: K,
        id: I,
        accumulators: impl FnOnce(Group<Cur, Out>) -> Group<Cur, Out>,
    ) -> Pipeline<In, Out>
    where
        K: AsField<Cur>,
        I: AsField<Out>,
        K::Type: GroupKey<I::Type>,
    {
        let id_path = id.as_field().path();
        let key = if id_path == "_id" {
            reference(key.as_field())
        } else {
            Err(format!(
                "the group key is written to the output's `_id`, and `{id_path}` is another field: give the output type a field renamed `_id` (`#[serde(rename = \"_id\")]`)"
            ))
        };
        let stage = accumulators(Group::new()).into_stage(key);
        self.then("$group", stage)
    }

    /// `$group` with every document in one group (`_id: null`): totals over the whole
    /// input, as one document of type `Out` (none when there is no input).
    pub fn group_all<Out>(
        self,
        accumulators: impl FnOnce(Group<Cur, Out>) -> Group<Cur, Out>,
    ) -> Pipeline<In, Out> {
        let stage = accumulators(Group::new()).into_stage(Ok(Bson::Null));
        self.then("$group", stage)
    }
}
