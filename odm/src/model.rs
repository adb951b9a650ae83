//! The traits `#[derive(Model)]` and `#[derive(Embedded)]` implement.

use bson::{Bson, DateTime};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::hooks::Hooks;
use crate::index::IndexSpec;
use crate::validate::Validate;

/// A collection's document type. Derive it:
///
/// ```
/// use odm::prelude::*;
///
/// #[derive(Model, Serialize, Deserialize)]
/// #[odm(collection = "users", index(keys(email = 1), unique))]
/// struct User {
///     #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
///     id: Option<ObjectId>,
///     #[odm(email)]
///     email: String,
/// }
///
/// assert_eq!(User::COLLECTION, "users");
/// assert_eq!(User::fields().email.path(), "email");
/// ```
pub trait Model:
    Serialize + DeserializeOwned + Validate + Hooks + Send + Sync + Unpin + 'static
{
    /// The typed paths of the fields (`User::fields().email`).
    type Fields: Sync + 'static;
    /// The type of the `_id` field.
    type Id: Serialize + DeserializeOwned + std::fmt::Debug + Send + Sync;

    /// The collection name: given with `collection = "..."`, or the snake_case plural of
    /// the type name (`BlogPost` → `blog_posts`).
    const COLLECTION: &'static str;

    /// The path of the field the ODM sets when a document is inserted (`timestamps` and
    /// a `created_at` field).
    const CREATED_AT: Option<&'static str> = None;
    /// The path of the field the ODM sets on every write (`timestamps` and an
    /// `updated_at` field).
    const UPDATED_AT: Option<&'static str> = None;

    /// The typed paths of the fields, built once.
    fn fields() -> &'static Self::Fields;

    /// The indexes the model declares (`index(...)`, `#[odm(unique)]`, `#[odm(index)]`).
    fn indexes() -> Vec<IndexSpec>;

    /// The `_id` value.
    fn id(&self) -> &Self::Id;

    /// Replaces the `_id` value with one read from BSON (after an insert generated it).
    fn set_id(&mut self, id: Bson) -> Result<(), bson::error::Error>;

    /// Sets the timestamp fields: both on insert, the updated one otherwise.
    fn set_timestamps(&mut self, _now: DateTime, _inserting: bool) {}

    /// The path of the `#[odm(version)]` field: every write through the ODM increments
    /// it, and `save`/`replace_one` only replace the version they loaded.
    const VERSION: Option<&'static str> = None;

    /// The version the model holds (`None` without a version field).
    fn version(&self) -> Option<i64> {
        None
    }

    /// Sets the version field.
    fn set_version(&mut self, _version: i64) {}

    /// The `$jsonSchema` documents of this model satisfy: the types of its fields and the
    /// rules JSON Schema can express (see [`crate::schema`]).
    fn json_schema() -> bson::Document {
        bson::Document::new()
    }

    /// The path of the deletion date of a `#[odm(soft_delete)]` model: deletes set it,
    /// reads leave out the documents that have it.
    const SOFT_DELETE: Option<&'static str> = None;

    /// Fills the `Option` fields declared `#[odm(default = ..)]` that are `None`: what an
    /// insert does before it stores the model.
    fn fill_defaults(&mut self) {}

    /// For a variant of a polymorphic model (`#[odm(variant_of = Animal)]`): the tag's
    /// key and this variant's tag value. Its collection reads and writes only documents
    /// with that tag, and stores the tag in every document it writes.
    const VARIANT: Option<(&'static str, &'static str)> = None;

    /// The indexes a variant of a polymorphic model declares itself; its `indexes()` are
    /// its parent's, which gathers these from every variant.
    #[doc(hidden)]
    fn variant_indexes() -> Vec<IndexSpec> {
        Vec::new()
    }
}

/// Types a `deleted_at` field of a `#[odm(soft_delete)]` model may have.
#[diagnostic::on_unimplemented(
    message = "`soft_delete` stores the deletion date in `deleted_at`, which must be an `Option` of a date (`Option<bson::DateTime>`), not `{Self}`",
    label = "not an optional date"
)]
pub trait DeletedAt {}

impl DeletedAt for Option<DateTime> {}

#[cfg(feature = "chrono")]
impl DeletedAt for Option<chrono::DateTime<chrono::Utc>> {}

/// Types a version field may have: integers, counted from 0.
#[diagnostic::on_unimplemented(
    message = "an `#[odm(version)]` field counts writes: it must be an integer (`u32`, `u64`, `i32` or `i64`), not `{Self}`",
    label = "not an integer type"
)]
pub trait Version {
    fn get(&self) -> i64;
    fn from_count(count: i64) -> Self;
}

macro_rules! version_types {
    ($($t:ty),*) => {$(
        impl Version for $t {
            fn get(&self) -> i64 {
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
            fn from_count(count: i64) -> Self {
                <$t>::try_from(count).unwrap_or(<$t>::MAX)
            }
        }
    )*};
}

version_types!(u32, u64, i32, i64);

/// A struct stored as a sub-document of a model (derive it): its fields get nested paths
/// (`f.address.city`), and its rules are checked wherever it is used.
pub trait Embedded: Serialize + DeserializeOwned + Validate + 'static {}

/// Types a timestamp field may have.
#[diagnostic::on_unimplemented(
    message = "`timestamps` fields must be `bson::DateTime` (or `Option` of it, or `chrono::DateTime<Utc>` with the `chrono` feature); `{Self}` is not",
    label = "not a timestamp type"
)]
pub trait Timestamp {
    fn from_now(now: DateTime) -> Self;
}

impl Timestamp for DateTime {
    fn from_now(now: DateTime) -> Self {
        now
    }
}

impl<T: Timestamp> Timestamp for Option<T> {
    fn from_now(now: DateTime) -> Self {
        Some(T::from_now(now))
    }
}

#[cfg(feature = "chrono")]
impl Timestamp for chrono::DateTime<chrono::Utc> {
    fn from_now(now: DateTime) -> Self {
        now.to_chrono()
    }
}
