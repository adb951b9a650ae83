//! Typed field paths: `Field<M, T>` names a path in documents of model `M` whose value
//! has the Rust type `T`, and offers only the operators that fit `T`.
//!
//! Which operators exist is decided by traits on the field's type (sea-orm's
//! `typed_column` idea, checked by the compiler):
//!
//! - every field: `eq ne in_ nin exists`, `set unset`, `asc desc`;
//! - [`Ordered`] types (numbers, strings, dates, ObjectIds, decimals): `gt gte lt lte`,
//!   `min max`;
//! - [`Numeric`] types: `inc mul`;
//! - [`Text`] types: `regex starts_with`;
//! - [`Spatial`](crate::geo::Spatial) types (GeoJSON geometries, `crate::geo`): `near
//!   near_sphere geo_within geo_intersects`;
//! - arrays ([`ArrayField`]): `contains all size elem_match`, `push push_each add_to_set
//!   pull pop_first pop_last`, element type checked;
//! - `Option<T>`: `is_null`, and whatever `T` offers (values are given as `T`).
//!
//! A value is accepted where the field's type is expected through [`QueryValue`]: the
//! type itself, a reference to it, or `&str` for strings. A misspelled field, a value of
//! the wrong type or an operator that does not fit is a compile error.
//!
//! [`FieldType`] also decides the *paths* a field offers: a plain `Field` for values, the
//! generated `…Fields` struct for `#[derive(Embedded)]` types (so `f.address.city` is a
//! path), and [`ArrayPaths`] for `Vec` (so `f.items.any().price` reaches into elements).

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

use bson::Bson;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::validate::ValidationErrors;

/// A path in documents of model `M`, holding values of type `T`.
pub struct Field<M, T> {
    path: &'static str,
    /// Whether the path goes through an array (`items.price` from `f.items.any()`):
    /// fine in a filter, meaningless as an update target.
    in_array: bool,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Field<M, T> {
    /// A field at `path` (dotted for nested documents). Generated code builds these; user
    /// code gets them from `Model::fields()`.
    pub const fn new(path: &'static str) -> Self {
        Field {
            path,
            in_array: false,
            _types: PhantomData,
        }
    }

    const fn with_array(path: &'static str, in_array: bool) -> Self {
        Field {
            path,
            in_array,
            _types: PhantomData,
        }
    }

    /// The dotted path, as MongoDB names it (after serde renames).
    pub const fn path(&self) -> &'static str {
        self.path
    }

    /// Whether the path reaches into the elements of an array.
    pub const fn through_array(&self) -> bool {
        self.in_array
    }

    #[doc(hidden)]
    pub fn __type(&self) -> PhantomData<T> {
        PhantomData
    }
}

impl<M, T> Clone for Field<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Field<M, T> {}

impl<M, T> fmt::Debug for Field<M, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({})", self.path)
    }
}

/// What the paths of a field type look like, and how they are built at a path. Paths
/// are `Copy` so that they can be passed by value (`push(f.tags, "x")`).
pub trait Paths: Copy + Send + Sync + 'static {
    /// The same paths for an optional field (`Option<T>`).
    type Optional: Paths;
    /// Builds the paths rooted at `path`; `in_array` when that path goes through an array.
    fn at(path: &'static str, in_array: bool) -> Self;
}

impl<M: 'static, T: 'static> Paths for Field<M, T> {
    type Optional = Field<M, Option<T>>;
    fn at(path: &'static str, in_array: bool) -> Self {
        Field::with_array(path, in_array)
    }
}

/// The paths of type `P` rooted at `path`, built once and shared for the rest of the
/// program. Element paths (`any()`) and boxed fields are built lazily through this, which
/// is what lets a type contain itself (`replies: Vec<Comment>` inside `Comment`).
pub fn shared_paths<P: Paths>(path: &'static str, in_array: bool) -> &'static P {
    type Registry = Mutex<HashMap<(TypeId, &'static str, bool), &'static (dyn Any + Send + Sync)>>;
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Default::default);
    let key = (TypeId::of::<P>(), path, in_array);
    let found = registry
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .copied();
    let entry = match found {
        Some(entry) => entry,
        None => {
            // Built outside the lock: building may ask for other shared paths.
            let built: &'static P = Box::leak(Box::new(P::at(path, in_array)));
            *registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_insert(built)
        }
    };
    entry
        .downcast_ref::<P>()
        .expect("the registry is keyed by type")
}

/// Paths built on first use: what a `Box<T>` field offers (`T`'s paths, through
/// `Deref`), so that recursive types have finite paths.
pub struct LazyPaths<P> {
    path: &'static str,
    in_array: bool,
    _paths: PhantomData<fn() -> P>,
}

impl<P> Clone for LazyPaths<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for LazyPaths<P> {}

impl<P: Paths> Deref for LazyPaths<P> {
    type Target = P;
    fn deref(&self) -> &P {
        shared_paths::<P>(self.path, self.in_array)
    }
}

impl<P: Paths> Paths for LazyPaths<P> {
    type Optional = LazyPaths<P::Optional>;
    fn at(path: &'static str, in_array: bool) -> Self {
        LazyPaths {
            path,
            in_array,
            _paths: PhantomData,
        }
    }
}

impl<M, P: Paths + AsField<M>> AsField<M> for LazyPaths<P> {
    type Type = P::Type;
    fn as_field(&self) -> Field<M, P::Type> {
        (**self).as_field()
    }
}

/// Anything that names a field of model `M`: a `Field`, or the paths of an array or an
/// embedded document (which stand for the field itself). Update methods take these.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a path of `{M}`",
    label = "a path of another type",
    note = "a model's paths come from `Model::fields()`; in a pipeline, after a stage that reshapes the documents, they are its output type's: `odm::pipeline::fields::<Out>()`"
)]
pub trait AsField<M>: Copy {
    /// The field's Rust type.
    type Type;
    fn as_field(&self) -> Field<M, Self::Type>;
}

impl<M, T> AsField<M> for Field<M, T> {
    type Type = T;
    fn as_field(&self) -> Field<M, T> {
        *self
    }
}

/// A Rust type that can be a field of a model.
///
/// Implemented for numbers, `bool`, `String`, the `bson` types, `Option`, `Vec`, maps,
/// and for your own types by `#[derive(Embedded)]` (structs stored as sub-documents) or
/// `#[derive(Value)]` (enums and newtypes stored as one value).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an odm model",
    label = "this type has no field paths",
    note = "derive `odm::Embedded` for a struct stored as a sub-document, or `odm::Value` for an enum or newtype stored as one value"
)]
pub trait FieldType: 'static {
    /// The type values are given in for filters and updates (`T` for `Option<T>`).
    type Scalar;
    /// What `distinct` returns for this field (array elements for a `Vec`).
    type Item: DeserializeOwned;
    /// The paths this field offers (see the module documentation).
    type Paths<M: 'static>: Paths;

    /// Whether a value is stored as an array (a `Vec`, or an `Option` or `Box` of one):
    /// such a field has no single value per document to sort or page by.
    const IS_ARRAY: bool = false;

    /// The BSON a value of this type is stored as.
    fn to_bson(value: &Self) -> Result<Bson, bson::error::Error>;

    /// Whether a value may be absent or null (`Option`): left out of a `$jsonSchema`'s
    /// `required`.
    const OPTIONAL: bool = false;

    /// The `$jsonSchema` a stored value of this type satisfies (`bsonType`, `items`,
    /// `properties`...); empty for a type it does not constrain.
    fn json_schema() -> bson::Document {
        bson::Document::new()
    }

    /// The keywords a `length` rule becomes on this type: `minLength`/`maxLength` for
    /// strings, `minItems`/`maxItems` for arrays.
    const LENGTH_KEYWORDS: (&'static str, &'static str) = ("minLength", "maxLength");

    /// Checks the rules declared inside a value of this type: the fields of an embedded
    /// document, through any depth of `Option`, `Vec`, `Box` and maps. Plain values
    /// declare none. Every field of a model is checked this way, so the rules of an
    /// embedded type always apply, without anything to remember on the field.
    fn validate_inner(&self, at: &str, errors: &mut ValidationErrors) {
        let _ = (at, errors);
    }

    /// The same for a value an update stores: at `path` inside a field of this type
    /// (`items.3.price`, `items.$` for an appended element), or the whole value (`None`).
    fn validate_inner_stored(
        path: Option<&str>,
        value: &Bson,
        at: &str,
        errors: &mut ValidationErrors,
    ) {
        let _ = (path, value, at, errors);
    }
}

/// Types with an order MongoDB compares within: comparisons and `$min`/`$max` exist.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no order: `gt`, `gte`, `lt`, `lte`, `min` and `max` need a number, string, date, ObjectId or decimal field",
    label = "not an ordered type"
)]
pub trait Ordered {}

/// Numeric types: `$inc` and `$mul` exist.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number: `inc` and `mul` need a numeric field",
    label = "not a numeric type"
)]
pub trait Numeric {}

/// String types: regular expressions exist.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a string: `regex` and `starts_with` need a string field",
    label = "not a string type"
)]
pub trait Text {}

/// Array fields, with their element type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an array: this operator needs a `Vec` field",
    label = "not an array type"
)]
pub trait ArrayField {
    type Element: FieldType;
}

impl<E: FieldType> ArrayField for Vec<E> {
    type Element = E;
}

impl<E: FieldType> ArrayField for Option<Vec<E>> {
    type Element = E;
}

/// A value usable where a field's values are of type `T` (for an `Option<T>` field, the
/// `T` inside: the message must not call such a field "a `T` field").
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot be a value of this field: its values are `{T}`",
    label = "expected a `{T}`",
    note = "for a field declared `Option<{T}>`, values are the `{T}` inside; `is_null()` and `is_some()` test whether it is there"
)]
pub trait QueryValue<T> {
    fn into_bson(self) -> Result<Bson, bson::error::Error>;
}

impl<T: FieldType> QueryValue<T> for T {
    fn into_bson(self) -> Result<Bson, bson::error::Error> {
        T::to_bson(&self)
    }
}

impl<T: FieldType> QueryValue<T> for &T {
    fn into_bson(self) -> Result<Bson, bson::error::Error> {
        T::to_bson(self)
    }
}

impl QueryValue<String> for &str {
    fn into_bson(self) -> Result<Bson, bson::error::Error> {
        Ok(Bson::String(self.to_owned()))
    }
}

/// Serializes a value with serde into BSON (what a field's `to_bson` does by default).
pub fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<Bson, bson::error::Error> {
    bson::serialize_to_bson(value)
}

/// The paths of an array field: the array itself (through `Deref`: array operators,
/// equality), and its elements' paths with [`ArrayPaths::any`].
pub struct ArrayPaths<M: 'static, S: 'static, E: FieldType> {
    field: Field<M, S>,
    _element: PhantomData<fn() -> E>,
}

impl<M: 'static, S: 'static, E: FieldType> Clone for ArrayPaths<M, S, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: 'static, S: 'static, E: FieldType> Copy for ArrayPaths<M, S, E> {}

impl<M: 'static, S: 'static, E: FieldType> AsField<M> for ArrayPaths<M, S, E> {
    type Type = S;
    fn as_field(&self) -> Field<M, S> {
        self.field
    }
}

impl<M: 'static, S: 'static, E: FieldType> ArrayPaths<M, S, E> {
    /// The paths of the elements, for filters: a condition on them holds when it holds
    /// for *any* element (`f.items.any().price.gt(5)` is `{"items.price": {$gt: 5}}`).
    /// They name no single element, so updates refuse them.
    pub fn any(&self) -> &'static E::Paths<M> {
        shared_paths::<E::Paths<M>>(self.field.path, true)
    }
}

impl<M: 'static, S: 'static, E: FieldType> Deref for ArrayPaths<M, S, E> {
    type Target = Field<M, S>;
    fn deref(&self) -> &Field<M, S> {
        &self.field
    }
}

impl<M: 'static, S: 'static, E: FieldType> Paths for ArrayPaths<M, S, E> {
    type Optional = ArrayPaths<M, Option<S>, E>;
    fn at(path: &'static str, in_array: bool) -> Self {
        ArrayPaths {
            field: Field::with_array(path, in_array),
            _element: PhantomData,
        }
    }
}

/// The paths of an element type rooted at the element itself, for `elem_match`.
pub fn element_paths<E: FieldType>() -> &'static E::Paths<E> {
    shared_paths::<E::Paths<E>>("", false)
}

/// Joins a prefix and a field name into a path that lives as long as the program.
///
/// Paths are built once per model (the fields struct is cached in a static), so the
/// strings are leaked deliberately: a bounded, one-time cost that lets `Field` be `Copy`.
pub fn join_path(prefix: &str, name: &str) -> &'static str {
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let joined = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    };
    let mut interned = INTERNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = interned.get(joined.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(joined.into_boxed_str());
    interned.insert(leaked);
    leaked
}

/// Types `$currentDate` can write.
#[diagnostic::on_unimplemented(
    message = "`current_date` writes a date: `{Self}` is not a date type",
    label = "not a date field"
)]
pub trait DateLike {}

/// Types that may be absent: `unset` leaves only these readable.
#[diagnostic::on_unimplemented(
    message = "`unset` removes the field, and a `{Self}` field cannot be absent: only `Option` fields can",
    label = "not an `Option` field"
)]
pub trait Optional {}

impl<T> Optional for Option<T> {}
