//! Filters: typed conditions on a model's fields, combined with `&`, `|` and `!`.
//!
//! A `Filter<M>` is a plain value that turns into the `bson::Document` MongoDB expects:
//! `f.age.gte(18) & f.city.eq("Paris")` is `{age: {$gte: 18}, city: "Paris"}`. Conditions
//! on different fields merge into one document, conditions on one field merge their
//! operators (`{age: {$gte: 18, $lt: 65}}`), and anything that would collide falls back to
//! `$and`. `Filter::all()` matches every document: operations that change or delete many
//! documents take a filter, so "everything" has to be said.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};

use bson::{Bson, Document, doc};

use crate::error::{BuildError, Error};
use crate::field::{ArrayField, Field, FieldType, Ordered, QueryValue, Text, element_paths};

/// A condition on documents of model `M`.
pub struct Filter<M> {
    doc: Document,
    /// The first mistake, reported when the filter is used.
    error: Option<BuildError>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter {
            doc: self.doc.clone(),
            error: self.error.clone(),
            _model: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Filter({})", self.doc)
    }
}

impl<M> PartialEq for Filter<M> {
    fn eq(&self, other: &Self) -> bool {
        self.doc == other.doc && self.error == other.error
    }
}

impl<M: crate::model::Model> Filter<M> {
    /// The document with this `_id`, given as the model holds it (`Filter::id(user.id)`,
    /// where `None` makes the filter an error) or bare (`Filter::id(oid)`).
    pub fn id(id: impl crate::id::IdValue<M::Id>) -> Self {
        match id.into_id() {
            Ok(id) => Self::equality("_id", Ok(id)),
            Err(e) => Self::from_parts(
                Document::new(),
                Some(BuildError::Value {
                    path: "_id".into(),
                    message: e.to_string(),
                }),
            ),
        }
    }
}

impl<M> Filter<M> {
    pub(crate) fn from_parts(doc: Document, error: Option<BuildError>) -> Self {
        Filter {
            doc,
            error,
            _model: PhantomData,
        }
    }

    /// Every document.
    pub fn all() -> Self {
        Self::from_parts(Document::new(), None)
    }

    /// An unchecked filter document, for what the typed builders do not cover. Nothing is
    /// verified: field names and value types are yours to get right.
    pub fn raw_unchecked(doc: Document) -> Self {
        Self::from_parts(doc, None)
    }

    /// The filter document MongoDB receives, or the error of a value that could not be
    /// converted to BSON.
    pub fn to_document(&self) -> Result<Document, Error> {
        self.clone().into_document()
    }

    pub(crate) fn into_document(self) -> Result<Document, Error> {
        let doc = self.into_unchecked_document()?;
        // Outside `elem_match`, the only field with an empty path is a flattened one, which
        // has no path of its own (its fields are at the parent's level).
        if mentions_empty_path(&doc) {
            return Err(BuildError::Flattened {
                place: "a condition",
            }
            .into());
        }
        Ok(doc)
    }

    /// The document, with conditions on the element itself (empty path) left in.
    fn into_unchecked_document(self) -> Result<Document, Error> {
        match self.error {
            Some(e) => Err(e.into()),
            None => Ok(self.doc),
        }
    }

    /// Whether this is `Filter::all()`.
    pub fn is_all(&self) -> bool {
        self.doc.is_empty() && self.error.is_none()
    }

    /// Both conditions (also `a & b`).
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        let error = self.error.or(other.error);
        let (a, b) = (self.doc, other.doc);
        if a.is_empty() {
            return Self::from_parts(b, error);
        }
        if b.is_empty() {
            return Self::from_parts(a, error);
        }
        match merge(a.clone(), &b) {
            Some(merged) => Self::from_parts(merged, error),
            None => {
                let mut parts = and_parts(a);
                parts.extend(and_parts(b));
                Self::from_parts(doc! {"$and": parts}, error)
            }
        }
    }

    /// Either condition (also `a | b`).
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        let error = self.error.or(other.error);
        let mut parts = or_parts(self.doc);
        parts.extend(or_parts(other.doc));
        Self::from_parts(doc! {"$or": parts}, error)
    }

    /// A condition on one path (what the field methods build).
    pub(crate) fn condition(path: &str, value: Result<Bson, bson::error::Error>) -> Self {
        match value {
            Ok(v) => Self::from_parts(doc! {path: v}, None),
            Err(e) => Self::from_parts(
                Document::new(),
                Some(BuildError::Value {
                    path: path.to_string(),
                    message: e.to_string(),
                }),
            ),
        }
    }

    /// `{path: value}`, or `{path: {$eq: value}}` when the value is a document or a
    /// regular expression: bare, MongoDB would read a document's `$` keys as operators
    /// (`{"$ne": ""}` from a request body matching everything) and a regular expression
    /// as a pattern. Under `$eq` both are compared as the values they are.
    pub(crate) fn equality(path: &str, value: Result<Bson, bson::error::Error>) -> Self {
        match value {
            Ok(v @ (Bson::Document(_) | Bson::RegularExpression(_))) => {
                Self::operator(path, "$eq", Ok(v))
            }
            other => Self::condition(path, other),
        }
    }

    /// `{path: {op: value}}`.
    pub(crate) fn operator(path: &str, op: &str, value: Result<Bson, bson::error::Error>) -> Self {
        Self::condition(path, value.map(|v| Bson::Document(doc! {op: v})))
    }
}

/// Whether a value is an operator document (`{$gt: 1}`).
fn is_operator_doc(v: &Bson) -> bool {
    matches!(v, Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')))
}

/// Merges `b` into `a` when no key collides (or both are operator documents on one
/// path with distinct operators); `None` when `$and` is needed.
fn merge(mut a: Document, b: &Document) -> Option<Document> {
    for (k, vb) in b {
        if k.starts_with('$') && a.contains_key(k) {
            return None;
        }
        match a.get_mut(k) {
            None => {
                a.insert(k.clone(), vb.clone());
            }
            Some(va) if is_operator_doc(va) && is_operator_doc(vb) => {
                let (Bson::Document(da), Bson::Document(db)) = (va, vb) else {
                    return None;
                };
                if db.keys().any(|op| da.contains_key(op)) {
                    return None;
                }
                for (op, v) in db {
                    da.insert(op.clone(), v.clone());
                }
            }
            Some(_) => return None,
        }
    }
    Some(a)
}

fn and_parts(d: Document) -> Vec<Document> {
    match d.get("$and") {
        Some(Bson::Array(items)) if d.len() == 1 => items
            .iter()
            .filter_map(|i| i.as_document().cloned())
            .collect(),
        _ => vec![d],
    }
}

fn or_parts(d: Document) -> Vec<Document> {
    match d.get("$or") {
        Some(Bson::Array(items)) if d.len() == 1 => items
            .iter()
            .filter_map(|i| i.as_document().cloned())
            .collect(),
        _ => vec![d],
    }
}

impl<M> BitAnd for Filter<M> {
    type Output = Filter<M>;
    fn bitand(self, rhs: Filter<M>) -> Filter<M> {
        self.and(rhs)
    }
}

impl<M> BitOr for Filter<M> {
    type Output = Filter<M>;
    fn bitor(self, rhs: Filter<M>) -> Filter<M> {
        self.or(rhs)
    }
}

/// The negation, `!a`: matches exactly the documents `a` does not (`{$nor: [a]}`).
impl<M> Not for Filter<M> {
    type Output = Filter<M>;
    fn not(self) -> Filter<M> {
        let doc = self.doc;
        Filter::from_parts(doc! {"$nor": [doc]}, self.error)
    }
}

fn all_to_bson<T, V: QueryValue<T>>(
    values: impl IntoIterator<Item = V>,
) -> Result<Bson, bson::error::Error> {
    values
        .into_iter()
        .map(QueryValue::into_bson)
        .collect::<Result<Vec<_>, _>>()
        .map(Bson::Array)
}

impl<M, T: FieldType> Field<M, T> {
    /// Equal to `value` (for an array field: the whole array; use `contains` for an
    /// element).
    pub fn eq<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M> {
        Filter::equality(self.path(), value.into_bson())
    }

    /// Not equal to `value` (also matches documents without the field).
    pub fn ne<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M> {
        Filter::operator(self.path(), "$ne", value.into_bson())
    }

    /// Equal to one of `values`.
    pub fn in_<V: QueryValue<T::Scalar>>(&self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        self.one_of(false, all_to_bson(values))
    }

    /// Equal to none of `values`.
    pub fn nin<V: QueryValue<T::Scalar>>(&self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        self.one_of(true, all_to_bson(values))
    }

    /// `{path: {$in: values}}` (`$nin` when `negate`), unless a value is one `$in` would
    /// not compare as a value (a regular expression matches as a pattern there; a
    /// document with `$` keys is refused): then one `$eq` per value, joined by `$or`
    /// (negated for `nin`).
    fn one_of(&self, negate: bool, values: Result<Bson, bson::error::Error>) -> Filter<M> {
        let op = if negate { "$nin" } else { "$in" };
        let literal_only = |v: &Bson| match v {
            Bson::RegularExpression(_) => false,
            Bson::Document(d) => !d.keys().next().is_some_and(|k| k.starts_with('$')),
            _ => true,
        };
        match values {
            Ok(Bson::Array(values)) if !values.iter().all(literal_only) => {
                let any = values
                    .into_iter()
                    .map(|v| Filter::equality(self.path(), Ok(v)))
                    .reduce(|a, b| a | b)
                    .expect("a value failed the check, so there is one");
                if negate { !any } else { any }
            }
            other => Filter::operator(self.path(), op, other),
        }
    }

    /// The field is present (`true`) or absent (`false`).
    pub fn exists(&self, present: bool) -> Filter<M> {
        Filter::operator(self.path(), "$exists", Ok(Bson::Boolean(present)))
    }

    /// Greater than `value`.
    pub fn gt<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M>
    where
        T::Scalar: Ordered,
    {
        Filter::operator(self.path(), "$gt", value.into_bson())
    }

    /// Greater than or equal to `value`.
    pub fn gte<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M>
    where
        T::Scalar: Ordered,
    {
        Filter::operator(self.path(), "$gte", value.into_bson())
    }

    /// Less than `value`.
    pub fn lt<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M>
    where
        T::Scalar: Ordered,
    {
        Filter::operator(self.path(), "$lt", value.into_bson())
    }

    /// Less than or equal to `value`.
    pub fn lte<V: QueryValue<T::Scalar>>(&self, value: V) -> Filter<M>
    where
        T::Scalar: Ordered,
    {
        Filter::operator(self.path(), "$lte", value.into_bson())
    }

    /// Matches the regular expression `pattern` (MongoDB's `$regex`; options such as
    /// `"i"` for case-insensitive).
    pub fn regex(&self, pattern: &str, options: &str) -> Filter<M>
    where
        T::Scalar: Text,
    {
        let mut op = doc! {"$regex": pattern};
        if !options.is_empty() {
            op.insert("$options", options);
        }
        Filter::condition(self.path(), Ok(Bson::Document(op)))
    }

    /// Starts with `prefix` (taken literally, not as a pattern).
    pub fn starts_with(&self, prefix: &str) -> Filter<M>
    where
        T::Scalar: Text,
    {
        Filter::condition(
            self.path(),
            Ok(Bson::Document(
                doc! {"$regex": format!("^{}", escape_regex(prefix))},
            )),
        )
    }

    /// An array holding `value` among its elements.
    pub fn contains<V>(&self, value: V) -> Filter<M>
    where
        T: ArrayField,
        V: QueryValue<<<T as ArrayField>::Element as FieldType>::Scalar>,
    {
        Filter::condition(self.path(), value.into_bson())
    }

    /// An array holding every one of `values`.
    pub fn all<V>(&self, values: impl IntoIterator<Item = V>) -> Filter<M>
    where
        T: ArrayField,
        V: QueryValue<<<T as ArrayField>::Element as FieldType>::Scalar>,
    {
        Filter::operator(self.path(), "$all", all_to_bson(values))
    }

    /// An array with exactly `len` elements.
    pub fn size(&self, len: u32) -> Filter<M>
    where
        T: ArrayField,
    {
        Filter::operator(self.path(), "$size", Ok(Bson::Int64(i64::from(len))))
    }

    /// An array with at least one element satisfying every condition built by `conditions`
    /// on the element (`f.items.elem_match(|i| i.price.gt(5.0) & i.qty.lt(3))`).
    pub fn elem_match<E>(
        &self,
        conditions: impl FnOnce(&'static E::Paths<E>) -> Filter<E>,
    ) -> Filter<M>
    where
        T: ArrayField<Element = E>,
        E: FieldType,
    {
        let inner = conditions(element_paths::<E>());
        let value = inner.into_unchecked_document().and_then(|mut d| {
            // A condition on an element that is a value (not a document) is written at
            // the empty path; its operators go straight into $elemMatch. Such conditions
            // combine with `&` only: `|` and `!` would hide them in `$or`/`$nor`, where
            // MongoDB reads them as conditions on a field named "".
            match d.remove("") {
                Some(Bson::Document(ops))
                    if d.is_empty() && is_operator_doc(&Bson::Document(ops.clone())) =>
                {
                    Ok(Bson::Document(ops))
                }
                Some(v) if d.is_empty() => Ok(Bson::Document(doc! {"$eq": v})),
                None if !mentions_empty_path(&d) => Ok(Bson::Document(d)),
                _ => Err(BuildError::ElementConditions.into()),
            }
        });
        match value {
            Ok(v) => Filter::operator(self.path(), "$elemMatch", Ok(v)),
            Err(Error::Build(e)) => Filter::from_parts(Document::new(), Some(e)),
            Err(other) => Filter::from_parts(
                Document::new(),
                Some(BuildError::Value {
                    path: self.path().to_string(),
                    message: other.to_string(),
                }),
            ),
        }
    }
}

/// Whether a filter names the empty path anywhere (through `$and`/`$or`/`$nor`).
fn mentions_empty_path(d: &Document) -> bool {
    d.iter().any(|(k, v)| {
        k.is_empty()
            || (k.starts_with('$')
                && matches!(v, Bson::Array(items) if items.iter().any(|i| i.as_document().is_some_and(mentions_empty_path))))
    })
}

impl<M, T: FieldType> Field<M, Option<T>> {
    /// Null or absent (what `None` is stored as).
    pub fn is_null(&self) -> Filter<M> {
        Filter::condition(self.path(), Ok(Bson::Null))
    }

    /// Present and not null.
    pub fn is_some(&self) -> Filter<M> {
        Filter::operator(self.path(), "$ne", Ok(Bson::Null))
    }
}

/// Escapes regex metacharacters so that `text` matches literally.
fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User;
    struct Item;

    fn age() -> Field<User, u32> {
        Field::new("age")
    }
    fn name() -> Field<User, String> {
        Field::new("name")
    }
    fn tags() -> Field<User, Vec<String>> {
        Field::new("tags")
    }
    fn nick() -> Field<User, Option<String>> {
        Field::new("nick")
    }

    fn d(f: Filter<User>) -> Document {
        f.to_document().unwrap()
    }

    #[test]
    fn documents_and_patterns_from_values_are_compared_under_eq() {
        let meta: Field<User, Document> = Field::new("meta");
        let hostile = doc! {"$ne": ""};
        assert_eq!(
            d(meta.eq(hostile.clone())),
            doc! {"meta": {"$eq": {"$ne": ""}}}
        );
        let pattern = Bson::RegularExpression(bson::Regex {
            pattern: ".*".to_string().try_into().unwrap(),
            options: String::new().try_into().unwrap(),
        });
        let extra: Field<User, Bson> = Field::new("extra");
        assert_eq!(
            d(extra.eq(pattern.clone())),
            doc! {"extra": {"$eq": pattern.clone()}}
        );
        assert_eq!(
            d(extra.in_([pattern.clone(), Bson::Int32(1)])),
            doc! {"$or": [{"extra": {"$eq": pattern.clone()}}, {"extra": 1}]}
        );
        assert_eq!(
            d(extra.nin([pattern.clone()])),
            doc! {"$nor": [{"extra": {"$eq": pattern}}]}
        );
        // Plain values keep the plain forms.
        assert_eq!(d(extra.in_([Bson::Int32(1)])), doc! {"extra": {"$in": [1]}});
        assert_eq!(
            d(meta.eq(doc! {"plan": "pro"})),
            doc! {"meta": {"$eq": {"plan": "pro"}}}
        );
    }

    #[test]
    fn conditions_and_merging() {
        assert_eq!(d(age().eq(3)), doc! {"age": 3i64});
        assert_eq!(
            d(age().gte(18) & name().eq("Ann")),
            doc! {"age": {"$gte": 18i64}, "name": "Ann"}
        );
        assert_eq!(
            d(age().gte(18) & age().lt(65)),
            doc! {"age": {"$gte": 18i64, "$lt": 65i64}}
        );
        assert_eq!(
            d(age().gte(18) & age().gte(21)),
            doc! {"$and": [{"age": {"$gte": 18i64}}, {"age": {"$gte": 21i64}}]}
        );
        assert_eq!(
            d(name().eq("a") & name().eq("b")),
            doc! {"$and": [{"name": "a"}, {"name": "b"}]}
        );
        assert_eq!(d(Filter::all() & age().eq(1)), doc! {"age": 1i64});
        assert!(Filter::<User>::all().is_all());
    }

    #[test]
    fn or_not_flatten() {
        let f = age().lt(10) | age().gt(90) | name().eq("x");
        assert_eq!(
            d(f),
            doc! {"$or": [{"age": {"$lt": 10i64}}, {"age": {"$gt": 90i64}}, {"name": "x"}]}
        );
        assert_eq!(d(!name().eq("x")), doc! {"$nor": [{"name": "x"}]});
        let nested = (age().lt(1) | age().gt(2)) & (name().eq("a") | name().eq("b"));
        assert_eq!(
            d(nested),
            doc! {"$and": [{"$or": [{"age": {"$lt": 1i64}}, {"age": {"$gt": 2i64}}]}, {"$or": [{"name": "a"}, {"name": "b"}]}]}
        );
    }

    #[test]
    fn sets_strings_arrays_options() {
        assert_eq!(
            d(name().in_(["a", "b"])),
            doc! {"name": {"$in": ["a", "b"]}}
        );
        assert_eq!(
            d(name().nin(vec!["a".to_string()])),
            doc! {"name": {"$nin": ["a"]}}
        );
        assert_eq!(d(name().ne("a")), doc! {"name": {"$ne": "a"}});
        assert_eq!(d(name().exists(false)), doc! {"name": {"$exists": false}});
        assert_eq!(
            d(name().regex("^a", "i")),
            doc! {"name": {"$regex": "^a", "$options": "i"}}
        );
        assert_eq!(
            d(name().starts_with("a.b")),
            doc! {"name": {"$regex": "^a\\.b"}}
        );
        assert_eq!(d(tags().contains("x")), doc! {"tags": "x"});
        assert_eq!(
            d(tags().all(["x", "y"])),
            doc! {"tags": {"$all": ["x", "y"]}}
        );
        assert_eq!(d(tags().size(2)), doc! {"tags": {"$size": 2i64}});
        assert_eq!(d(tags().eq(vec!["x".to_string()])), doc! {"tags": ["x"]});
        assert_eq!(
            d(tags().elem_match(|t| t.gte("m"))),
            doc! {"tags": {"$elemMatch": {"$gte": "m"}}}
        );
        assert_eq!(d(nick().is_null()), doc! {"nick": null});
        assert_eq!(d(nick().eq("n")), doc! {"nick": "n"});
        assert_eq!(d(nick().is_some()), doc! {"nick": {"$ne": null}});
        let _ = Item;
    }

    #[test]
    fn unconvertible_values_are_reported_not_panicked() {
        let big: Field<User, u64> = Field::new("big");
        let err = (big.eq(u64::MAX) & age().eq(1)).to_document().unwrap_err();
        assert!(err.to_string().contains("big"), "{err}");
    }

    #[test]
    fn elem_match_on_values_takes_and_only() {
        assert_eq!(
            d(tags().elem_match(|t| t.gte("a") & t.lt("m"))),
            doc! {"tags": {"$elemMatch": {"$gte": "a", "$lt": "m"}}}
        );
        assert_eq!(
            d(tags().elem_match(|t| t.eq("a"))),
            doc! {"tags": {"$elemMatch": {"$eq": "a"}}}
        );
        let err = tags()
            .elem_match(|t| t.eq("a") | t.eq("b"))
            .to_document()
            .unwrap_err();
        assert!(err.to_string().contains("joined with `&`"), "{err}");
        let flattened: Field<User, String> = Field::new("");
        assert!(
            flattened
                .eq("x")
                .to_document()
                .unwrap_err()
                .to_string()
                .contains("flattened")
        );
    }
}
