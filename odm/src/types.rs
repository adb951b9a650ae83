//! [`FieldType`] for the types users put in models: numbers, `bool`, `String`, the
//! `bson` types, `Option`, `Vec`, `Box`, string-keyed maps, and (feature `chrono`)
//! `chrono::DateTime<Utc>`.

use std::collections::{BTreeMap, HashMap};

use bson::oid::ObjectId;
use bson::{Binary, Bson, DateTime, Decimal128, Document, Timestamp, Uuid};
use serde::Serialize;

use crate::field::{
    ArrayPaths, DateLike, Field, FieldType, LazyPaths, Numeric, Ordered, Paths, Text, serialize,
};
use crate::validate::{ValidationErrors, join, split_path};

macro_rules! scalar {
    ($($t:ty => [$($kind:ident),*] $(, $bson:expr)?);* $(;)?) => {$(
        impl FieldType for $t {
            type Scalar = $t;
            type Item = $t;
            type Paths<M: 'static> = Field<M, $t>;
            fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
                serialize(value)
            }
            $(fn json_schema() -> Document {
                bson::doc! {"bsonType": $bson}
            })?
        }
        $(impl $kind for $t {})*
    )*};
}

// The BSON types a value reads back from: integers from either integer type, floats from
// any number (serde reads an int into an f64, not a double into an int).
const INTEGER: [&str; 2] = ["int", "long"];
const FLOAT: [&str; 3] = ["double", "int", "long"];

scalar! {
    i8 => [Ordered, Numeric], INTEGER.as_slice();
    i16 => [Ordered, Numeric], INTEGER.as_slice();
    i32 => [Ordered, Numeric], INTEGER.as_slice();
    i64 => [Ordered, Numeric], INTEGER.as_slice();
    u8 => [Ordered, Numeric], INTEGER.as_slice();
    u16 => [Ordered, Numeric], INTEGER.as_slice();
    u32 => [Ordered, Numeric], INTEGER.as_slice();
    u64 => [Ordered, Numeric], INTEGER.as_slice();
    f32 => [Ordered, Numeric], FLOAT.as_slice();
    f64 => [Ordered, Numeric], FLOAT.as_slice();
    bool => [], "bool";
    String => [Ordered, Text], "string";
    ObjectId => [Ordered], "objectId";
    DateTime => [Ordered], "date";
    Decimal128 => [Ordered, Numeric], "decimal";
    Timestamp => [Ordered], "timestamp";
    Binary => [], "binData";
    Uuid => [], "binData";
    Document => [], "object";
    Bson => [];
}

/// Outside the table so that a `current_date` on another type lists the date types plainly.
impl DateLike for DateTime {}

impl<T: FieldType + Serialize> FieldType for Option<T> {
    type Scalar = T::Scalar;
    /// `distinct` may return null for an optional field.
    type Item = Option<T::Item>;
    type Paths<M: 'static> = <T::Paths<M> as Paths>::Optional;
    const IS_ARRAY: bool = T::IS_ARRAY;
    const OPTIONAL: bool = true;
    const LENGTH_KEYWORDS: (&'static str, &'static str) = T::LENGTH_KEYWORDS;
    fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
        match value {
            Some(v) => T::to_bson(v),
            None => Ok(Bson::Null),
        }
    }
    /// The inner type's, with null allowed as a `bsonType`.
    fn json_schema() -> Document {
        crate::schema::nullable(T::json_schema())
    }
    fn validate_inner(&self, at: &str, errors: &mut ValidationErrors) {
        if let Some(v) = self {
            v.validate_inner(at, errors);
        }
    }
    fn validate_inner_stored(
        path: Option<&str>,
        value: &Bson,
        at: &str,
        errors: &mut ValidationErrors,
    ) {
        // Storing null in an optional field is storing `None`: nothing inside to check.
        if path.is_none() && *value == Bson::Null {
            return;
        }
        T::validate_inner_stored(path, value, at, errors)
    }
}

impl<E: FieldType> FieldType for Vec<E> {
    type Scalar = Vec<E>;
    type Item = E::Item;
    type Paths<M: 'static> = ArrayPaths<M, Vec<E>, E>;
    const IS_ARRAY: bool = true;
    const LENGTH_KEYWORDS: (&'static str, &'static str) = ("minItems", "maxItems");
    fn json_schema() -> Document {
        let items = E::json_schema();
        let mut schema = bson::doc! {"bsonType": "array"};
        if !items.is_empty() {
            schema.insert("items", items);
        }
        schema
    }
    fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
        value
            .iter()
            .map(E::to_bson)
            .collect::<Result<Vec<_>, _>>()
            .map(Bson::Array)
    }
    fn validate_inner(&self, at: &str, errors: &mut ValidationErrors) {
        for (i, item) in self.iter().enumerate() {
            item.validate_inner(&join(at, &i.to_string()), errors);
        }
    }
    fn validate_inner_stored(
        path: Option<&str>,
        value: &Bson,
        at: &str,
        errors: &mut ValidationErrors,
    ) {
        let Some(path) = path else {
            if let Bson::Array(items) = value {
                for (i, item) in items.iter().enumerate() {
                    E::validate_inner_stored(None, item, &join(at, &i.to_string()), errors);
                }
            }
            return;
        };
        // Into an element: `items.3` sets one element, `items.3.price` a field of it;
        // `items.$` is an element appended by `$push` / `$addToSet`.
        let (index, rest) = split_path(path);
        if index != "$" && (index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit())) {
            return;
        }
        E::validate_inner_stored(rest, value, &join(at, index), errors)
    }
}

impl<T: FieldType> FieldType for Box<T> {
    type Scalar = T::Scalar;
    type Item = T::Item;
    /// Built on first use, so that a type may contain a box of itself.
    type Paths<M: 'static> = LazyPaths<T::Paths<M>>;
    const IS_ARRAY: bool = T::IS_ARRAY;
    const OPTIONAL: bool = T::OPTIONAL;
    const LENGTH_KEYWORDS: (&'static str, &'static str) = T::LENGTH_KEYWORDS;
    fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
        T::to_bson(value)
    }
    fn json_schema() -> Document {
        T::json_schema()
    }
    fn validate_inner(&self, at: &str, errors: &mut ValidationErrors) {
        (**self).validate_inner(at, errors)
    }
    fn validate_inner_stored(
        path: Option<&str>,
        value: &Bson,
        at: &str,
        errors: &mut ValidationErrors,
    ) {
        T::validate_inner_stored(path, value, at, errors)
    }
}

/// A map's values sit under their keys: `prices.eur`.
fn map_validate_inner<'a, V: FieldType>(
    entries: impl Iterator<Item = (&'a String, &'a V)>,
    at: &str,
    errors: &mut ValidationErrors,
) {
    for (k, v) in entries {
        v.validate_inner(&join(at, k), errors);
    }
}

fn map_validate_inner_stored<V: FieldType>(
    path: Option<&str>,
    value: &Bson,
    at: &str,
    errors: &mut ValidationErrors,
) {
    match path {
        None => {
            if let Bson::Document(doc) = value {
                for (k, v) in doc {
                    V::validate_inner_stored(None, v, &join(at, k), errors);
                }
            }
        }
        Some(path) => {
            let (key, rest) = split_path(path);
            V::validate_inner_stored(rest, value, &join(at, key), errors)
        }
    }
}

fn map_to_bson<'a, V: FieldType>(
    entries: impl Iterator<Item = (&'a String, &'a V)>,
) -> Result<Bson, bson::error::Error> {
    let mut doc = Document::new();
    for (k, v) in entries {
        doc.insert(k.clone(), V::to_bson(v)?);
    }
    Ok(Bson::Document(doc))
}

/// String-keyed maps, stored as sub-documents whose keys are data (no typed paths).
macro_rules! map_field_type {
    ($($map:ident),*) => {$(
        impl<V: FieldType + serde::de::DeserializeOwned> FieldType for $map<String, V> {
            type Scalar = $map<String, V>;
            type Item = $map<String, V>;
            type Paths<M: 'static> = Field<M, $map<String, V>>;
            fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
                map_to_bson(value.iter())
            }
            fn json_schema() -> Document {
                let values = V::json_schema();
                let mut schema = bson::doc! {"bsonType": "object"};
                if !values.is_empty() {
                    schema.insert("additionalProperties", values);
                }
                schema
            }
            fn validate_inner(&self, at: &str, errors: &mut ValidationErrors) {
                map_validate_inner(self.iter(), at, errors)
            }
            fn validate_inner_stored(
                path: Option<&str>,
                value: &Bson,
                at: &str,
                errors: &mut ValidationErrors,
            ) {
                map_validate_inner_stored::<V>(path, value, at, errors)
            }
        }
    )*};
}

map_field_type!(HashMap, BTreeMap);

#[cfg(feature = "chrono")]
mod chrono_types {
    use super::*;
    use chrono::Utc;

    impl FieldType for chrono::DateTime<Utc> {
        type Scalar = chrono::DateTime<Utc>;
        type Item = DateTime;
        type Paths<M: 'static> = Field<M, chrono::DateTime<Utc>>;
        fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
            Ok(Bson::DateTime(DateTime::from_chrono(*value)))
        }
    }

    impl Ordered for chrono::DateTime<Utc> {}
    impl DateLike for chrono::DateTime<Utc> {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_the_bson_they_are_stored_as() {
        assert_eq!(<u32 as FieldType>::to_bson(&7).unwrap(), Bson::Int64(7));
        assert_eq!(<i32 as FieldType>::to_bson(&7).unwrap(), Bson::Int32(7));
        assert_eq!(
            <Option<String> as FieldType>::to_bson(&None).unwrap(),
            Bson::Null
        );
        assert_eq!(
            <Vec<i32> as FieldType>::to_bson(&vec![1, 2]).unwrap(),
            Bson::Array(vec![Bson::Int32(1), Bson::Int32(2)])
        );
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), 1.5f64);
        assert_eq!(
            <BTreeMap<String, f64> as FieldType>::to_bson(&m).unwrap(),
            Bson::Document(bson::doc! {"k": 1.5})
        );
        assert!(<u64 as FieldType>::to_bson(&u64::MAX).is_err());
    }
}
