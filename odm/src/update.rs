//! Updates: typed update operators on a model's fields, combined into one `Update<M>`.
//!
//! `f.age.inc(1) & f.tags.push("minor")` (or chained: `f.age.inc(1).push(f.tags, "minor")`)
//! is `{$inc: {age: 1}, $push: {tags: "minor"}}`.
//! Each operator exists only where it fits: `inc`/`mul` on numbers, `min`/`max` on
//! ordered types, `push`/`add_to_set`/`pull`/`pop_*` on arrays with values of the element
//! type. Values set by `set` (and `set_on_insert`) are checked against the model's
//! validation rules before the update is sent.

use std::fmt;
use std::marker::PhantomData;

use bson::{Bson, Document, doc};

use crate::error::{BuildError, Error};
use crate::field::{
    ArrayField, AsField, DateLike, Field, FieldType, Numeric, Optional, Ordered, QueryValue,
};

/// A set of update operators for documents of model `M`.
pub struct Update<M> {
    doc: Document,
    error: Option<BuildError>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Update<M> {
    fn clone(&self) -> Self {
        Update {
            doc: self.doc.clone(),
            error: self.error.clone(),
            _model: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Update<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Update({})", self.doc)
    }
}

impl<M> Default for Update<M> {
    fn default() -> Self {
        Update {
            doc: Document::new(),
            error: None,
            _model: PhantomData,
        }
    }
}

/// `f.likes.inc(1) & f.liked_by.add_to_set(uid)`: both sets of operators, as filters
/// combine with `&`. Two operators on one path are an error, reported when the update is
/// used.
impl<M> std::ops::BitAnd for Update<M> {
    type Output = Update<M>;
    fn bitand(self, other: Update<M>) -> Update<M> {
        self.and(other)
    }
}

impl<M> std::ops::BitAndAssign for Update<M> {
    fn bitand_assign(&mut self, other: Update<M>) {
        *self = std::mem::take(self).and(other);
    }
}

impl<M> Update<M> {
    /// An update with no operators yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An unchecked update document, for what the typed builders do not cover. Nothing is
    /// verified, including validation rules.
    pub fn raw_unchecked(doc: Document) -> Self {
        Update {
            doc,
            error: None,
            _model: PhantomData,
        }
    }

    /// The update document MongoDB receives.
    pub fn to_document(&self) -> Result<Document, Error> {
        match &self.error {
            Some(e) => Err(e.clone().into()),
            None => Ok(self.doc.clone()),
        }
    }

    /// Whether no operator was added.
    pub fn is_empty(&self) -> bool {
        self.doc.is_empty()
    }

    /// Both sets of operators.
    pub fn and(mut self, other: Update<M>) -> Self {
        if self.error.is_none() {
            self.error = other.error;
        }
        for (op, fields) in other.doc {
            let Bson::Document(fields) = fields else {
                continue;
            };
            for (path, value) in fields {
                self = self.with(&op, &path, Ok(value));
            }
        }
        self
    }

    pub(crate) fn with(
        mut self,
        op: &str,
        path: &str,
        value: Result<Bson, bson::error::Error>,
    ) -> Self {
        let problem = match value {
            Err(e) => Some(BuildError::Value {
                path: path.to_string(),
                message: e.to_string(),
            }),
            Ok(_) if path.is_empty() => Some(BuildError::Flattened { place: "an update" }),
            Ok(v) => {
                let entry = self
                    .doc
                    .entry(op.to_string())
                    .or_insert_with(|| Bson::Document(Document::new()));
                match entry {
                    Bson::Document(fields) if fields.contains_key(path) => {
                        Some(BuildError::Repeated {
                            path: path.to_string(),
                            operator: op.to_string(),
                        })
                    }
                    Bson::Document(fields) => {
                        fields.insert(path, v);
                        None
                    }
                    _ => None,
                }
            }
        };
        if self.error.is_none() {
            self.error = problem;
        }
        self
    }

    /// Adds an operator on a field, refusing paths through arrays (they name no element).
    fn on<T>(self, op: &str, field: Field<M, T>, value: Result<Bson, bson::error::Error>) -> Self {
        if field.through_array() {
            let mut refused = self;
            if refused.error.is_none() {
                refused.error = Some(BuildError::ThroughArray {
                    path: field.path().to_string(),
                });
            }
            return refused;
        }
        self.with(op, field.path(), value)
    }
    /// The operators by name, for checks before sending.
    pub(crate) fn operator(&self, op: &str) -> Option<&Document> {
        self.doc.get_document(op).ok()
    }

    /// Sets `field` to `value`.
    pub fn set<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        value: V,
    ) -> Self {
        self.on("$set", field.as_field(), value.into_bson())
    }

    /// Sets `field` to `value` only when an upsert inserts the document.
    pub fn set_on_insert<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        value: V,
    ) -> Self {
        self.on("$setOnInsert", field.as_field(), value.into_bson())
    }

    /// Removes an optional field (a required one would leave the document unreadable).
    pub fn unset<T: Optional>(self, field: impl AsField<M, Type = T>) -> Self {
        self.on("$unset", field.as_field(), Ok(Bson::String(String::new())))
    }

    /// Adds `by` to a numeric field (creating it with `by` if absent).
    pub fn inc<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        by: V,
    ) -> Self
    where
        T::Scalar: Numeric,
    {
        self.on("$inc", field.as_field(), by.into_bson())
    }

    /// Multiplies a numeric field by `by`.
    pub fn mul<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        by: V,
    ) -> Self
    where
        T::Scalar: Numeric,
    {
        self.on("$mul", field.as_field(), by.into_bson())
    }

    /// Sets `field` to `value` if `value` is smaller.
    pub fn min<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        value: V,
    ) -> Self
    where
        T::Scalar: Ordered,
    {
        self.on("$min", field.as_field(), value.into_bson())
    }

    /// Sets `field` to `value` if `value` is larger.
    pub fn max<T: FieldType, V: QueryValue<T::Scalar>>(
        self,
        field: impl AsField<M, Type = T>,
        value: V,
    ) -> Self
    where
        T::Scalar: Ordered,
    {
        self.on("$max", field.as_field(), value.into_bson())
    }

    /// Sets a date field to the current date.
    pub fn current_date<T: FieldType>(self, field: impl AsField<M, Type = T>) -> Self
    where
        T::Scalar: DateLike,
    {
        self.on(
            "$currentDate",
            field.as_field(),
            Ok(Bson::Document(doc! {"$type": "date"})),
        )
    }

    /// Appends `value` to an array field.
    pub fn push<T, V>(self, field: impl AsField<M, Type = T>, value: V) -> Self
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        self.on("$push", field.as_field(), value.into_bson())
    }

    /// Appends every one of `values` to an array field.
    pub fn push_each<T, V>(
        self,
        field: impl AsField<M, Type = T>,
        values: impl IntoIterator<Item = V>,
    ) -> Self
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        let each = values
            .into_iter()
            .map(QueryValue::into_bson)
            .collect::<Result<Vec<_>, _>>();
        self.on(
            "$push",
            field.as_field(),
            each.map(|v| Bson::Document(doc! {"$each": v})),
        )
    }

    /// Appends `value` to an array field unless it is already there.
    pub fn add_to_set<T, V>(self, field: impl AsField<M, Type = T>, value: V) -> Self
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        self.on("$addToSet", field.as_field(), value.into_bson())
    }

    /// Removes every element equal to `value` from an array field.
    pub fn pull<T, V>(self, field: impl AsField<M, Type = T>, value: V) -> Self
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        self.on("$pull", field.as_field(), value.into_bson())
    }

    /// Removes the first element of an array field.
    pub fn pop_first<T: ArrayField>(self, field: impl AsField<M, Type = T>) -> Self {
        self.on("$pop", field.as_field(), Ok(Bson::Int32(-1)))
    }

    /// Removes the last element of an array field.
    pub fn pop_last<T: ArrayField>(self, field: impl AsField<M, Type = T>) -> Self {
        self.on("$pop", field.as_field(), Ok(Bson::Int32(1)))
    }
}

/// One-operator updates straight from a field (`f.age.inc(1)`), to chain further with
/// the methods of [`Update`].
impl<M, T: FieldType> Field<M, T> {
    /// `$set`: see [`Update::set`].
    pub fn set<V: QueryValue<T::Scalar>>(self, value: V) -> Update<M> {
        Update::new().set(self, value)
    }

    /// `$setOnInsert`: see [`Update::set_on_insert`].
    pub fn set_on_insert<V: QueryValue<T::Scalar>>(self, value: V) -> Update<M> {
        Update::new().set_on_insert(self, value)
    }

    /// `$unset`: see [`Update::unset`].
    pub fn unset(self) -> Update<M>
    where
        T: Optional,
    {
        Update::new().unset(self)
    }

    /// `$inc`: see [`Update::inc`].
    pub fn inc<V: QueryValue<T::Scalar>>(self, by: V) -> Update<M>
    where
        T::Scalar: Numeric,
    {
        Update::new().inc(self, by)
    }

    /// `$mul`: see [`Update::mul`].
    #[allow(clippy::should_implement_trait)] // MongoDB's operator name, not arithmetic
    pub fn mul<V: QueryValue<T::Scalar>>(self, by: V) -> Update<M>
    where
        T::Scalar: Numeric,
    {
        Update::new().mul(self, by)
    }

    /// `$min`: see [`Update::min`].
    pub fn min<V: QueryValue<T::Scalar>>(self, value: V) -> Update<M>
    where
        T::Scalar: Ordered,
    {
        Update::new().min(self, value)
    }

    /// `$max`: see [`Update::max`].
    pub fn max<V: QueryValue<T::Scalar>>(self, value: V) -> Update<M>
    where
        T::Scalar: Ordered,
    {
        Update::new().max(self, value)
    }

    /// `$currentDate`: see [`Update::current_date`].
    pub fn current_date(self) -> Update<M>
    where
        T::Scalar: DateLike,
    {
        Update::new().current_date(self)
    }

    /// `$push`: see [`Update::push`].
    pub fn push<V>(self, value: V) -> Update<M>
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        Update::new().push(self, value)
    }

    /// `$push` with `$each`: see [`Update::push_each`].
    pub fn push_each<V>(self, values: impl IntoIterator<Item = V>) -> Update<M>
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        Update::new().push_each(self, values)
    }

    /// `$addToSet`: see [`Update::add_to_set`].
    pub fn add_to_set<V>(self, value: V) -> Update<M>
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        Update::new().add_to_set(self, value)
    }

    /// `$pull`: see [`Update::pull`].
    pub fn pull<V>(self, value: V) -> Update<M>
    where
        T: ArrayField,
        V: QueryValue<<T::Element as FieldType>::Scalar>,
    {
        Update::new().pull(self, value)
    }

    /// `$pop` the first element: see [`Update::pop_first`].
    pub fn pop_first(self) -> Update<M>
    where
        T: ArrayField,
    {
        Update::new().pop_first(self)
    }

    /// `$pop` the last element: see [`Update::pop_last`].
    pub fn pop_last(self) -> Update<M>
    where
        T: ArrayField,
    {
        Update::new().pop_last(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User;

    fn age() -> Field<User, u32> {
        Field::new("age")
    }
    fn score() -> Field<User, f64> {
        Field::new("score")
    }
    fn tags() -> Field<User, Vec<String>> {
        Field::new("tags")
    }
    fn city() -> Field<User, String> {
        Field::new("address.city")
    }
    fn nick() -> Field<User, Option<String>> {
        Field::new("nick")
    }
    fn seen() -> Field<User, bson::DateTime> {
        Field::new("seen")
    }

    #[test]
    fn operators_combine_into_one_document() {
        let u = age()
            .inc(1u32)
            .push(tags(), "minor")
            .set(city(), "Paris")
            .mul(score(), 1.5);
        assert_eq!(
            u.to_document().unwrap(),
            doc! {"$inc": {"age": 1i64}, "$push": {"tags": "minor"}, "$set": {"address.city": "Paris"}, "$mul": {"score": 1.5}}
        );
        let u = tags()
            .push_each(["a", "b"])
            .and(nick().unset())
            .and(seen().current_date());
        assert_eq!(
            u.to_document().unwrap(),
            doc! {"$push": {"tags": {"$each": ["a", "b"]}}, "$unset": {"nick": ""}, "$currentDate": {"seen": {"$type": "date"}}}
        );
        let u = tags()
            .add_to_set("x")
            .pull(Field::<User, Vec<String>>::new("old_tags"), "y")
            .and(Field::<User, Vec<i32>>::new("queue").pop_last())
            .min(age(), 3u32)
            .max(score(), 9.0);
        assert_eq!(
            u.to_document().unwrap(),
            doc! {"$addToSet": {"tags": "x"}, "$pull": {"old_tags": "y"}, "$pop": {"queue": 1}, "$min": {"age": 3i64}, "$max": {"score": 9.0}}
        );
        assert_eq!(
            tags().pop_first().to_document().unwrap(),
            doc! {"$pop": {"tags": -1}}
        );
        assert_eq!(
            city().set_on_insert("Nice").to_document().unwrap(),
            doc! {"$setOnInsert": {"address.city": "Nice"}}
        );
    }

    #[test]
    fn mistakes_are_reported_not_sent() {
        let twice = age().inc(1u32).inc(age(), 2u32).to_document().unwrap_err();
        assert!(
            matches!(&twice, Error::Build(BuildError::Repeated { path, operator }) if path == "age" && operator == "$inc"),
            "{twice:?}"
        );
        assert_eq!(
            twice.to_string(),
            "`age` is given twice to $inc in one update"
        );
        let elements: Field<User, f64> =
            <Field<User, f64> as crate::field::Paths>::at("items.price", true);
        let through = elements.set(1.0).to_document().unwrap_err();
        assert!(
            matches!(&through, Error::Build(BuildError::ThroughArray { path }) if path == "items.price"),
            "{through:?}"
        );
        let flattened: Field<User, String> = Field::new("");
        let err = flattened.set("x").to_document().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Build(BuildError::Flattened { place: "an update" })
            ),
            "{err:?}"
        );
    }
}
