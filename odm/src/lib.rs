//! odm: a MongoDB object-document mapper with compile-checked queries.
//!
//! ```no_run
//! use odm::prelude::*;
//!
//! #[odm::model]
//! #[derive(Model, Serialize, Deserialize, Debug, Default)]
//! #[odm(index(keys(email = 1), unique))]
//! struct User {
//!     #[odm(id)]
//!     id: Option<ObjectId>,
//!     #[odm(email)]
//!     email: String,
//!     #[odm(range(min = 0, max = 150))]
//!     age: u32,
//! }
//!
//! # async fn run() -> odm::Result<()> {
//! let db = Db::open("./data").await?;            // embedded server; Db::connect(uri) for MongoDB
//! let users = db.collection::<User>();
//! let mut ann = User { email: "ann@example.com".into(), age: 30, ..Default::default() };
//! users.insert_one(&mut ann).await?;             // on disk when it returns
//! let f = User::fields();
//! let adults: Vec<User> = users.find(f.age.gte(18)).sort(f.age.desc()).await?;
//! users.update_by_id(ann.id, f.age.inc(1)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - [`model`]: the `Model` and `Embedded` traits the derives implement;
//! - [`field`]: typed paths (`Field<M, T>`) and the traits that decide which operators
//!   a field offers; [`types`]: those traits for std, bson (and chrono) types;
//! - [`filter`], [`update`], [`sort`]: pure builders that turn into `bson::Document`s;
//! - [`validate`]: validation rules and errors; [`index`]: declared indexes; [`id`]: ids
//!   as the model holds them (`Option<ObjectId>`) accepted by the methods taking one;
//! - [`collection`]: typed CRUD through the official driver; [`find`]: queries and keyset
//!   pages; [`pipeline`]: typed aggregation pipelines (`Pipeline<In, Out>`: stages over
//!   typed paths, accumulators checked by the compiler) run by `Collection::aggregate`;
//!   [`db`]: connecting, to the
//!   embedded server (feature `embedded`, on by default) or to any MongoDB;
//! - [`geo`]: GeoJSON geometries as field types (`Point`, `Polygon`, ...) and the
//!   geospatial operators on them (`near`, `geo_within`, `geo_intersects`), for fields a
//!   `"2dsphere"` index covers;
//! - [`reference`]: `Ref<T>`, a field that stores another model's id; [`populate`]:
//!   loading what references name, one query per path, and the reverse side;
//! - [`polymorphic`]: one collection of several kinds of documents, a tagged enum of
//!   models;
//! - [`schema`]: a model's `$jsonSchema`, installed by `sync_schema`;
//! - [`migrate`]: versioned data migrations, `db.migrate(&[...])`;
//! - [`hooks`]: `Hooks`, what a model runs before and after its writes;
//! - [`transaction`]: `Db::transaction`, a closure run in a multi-document transaction
//!   and retried as the drivers' convenient API; [`change_stream`]: `Collection::watch`,
//!   typed change events;
//! - [`error`]: the one error type.

pub mod change_stream;
pub mod collection;
pub mod db;
pub mod error;
pub mod field;
pub mod filter;
pub mod find;
pub mod geo;
pub mod hooks;
pub mod id;
pub mod index;
pub mod migrate;
pub mod model;
pub mod pipeline;
pub mod polymorphic;
pub mod populate;
pub mod reference;
pub mod schema;
pub mod sort;
pub mod text;
pub mod transaction;
pub mod types;
pub mod update;
pub mod validate;

#[cfg(feature = "chrono")]
pub mod chrono_datetime;

pub use change_stream::{Change, ChangeEvent, ChangeStream};
pub use collection::{
    BulkInsertReport, Collection, FindOneAndUpdate, Projection, SaveOutcome, UpdateResult,
};
pub use db::{Db, Models};
pub use error::{BuildError, Error, Result};
pub use field::{AsField, Field, FieldType};
pub use filter::Filter;
pub use find::Find;
pub use geo::{
    Distance, Distanced, Geometry, GeometryCollection, IntoShape, LineString, MultiLineString,
    MultiPoint, MultiPolygon, Point, Polygon, Shape, Spatial,
};
pub use hooks::{HookContext, Hooks};
pub use id::IdValue;
pub use index::{Collation, IndexReport, IndexSpec};
pub use model::{Embedded, Model};
pub use odm_derive::{Embedded, Model, Projection, Value, model};
pub use pipeline::Pipeline;
pub use polymorphic::{Polymorphic, VariantOf};
pub use populate::{Populate, PopulatePath, Referred};
pub use reference::Ref;
pub use sort::Sort;
pub use text::{Scored, TextSearch};
pub use transaction::{TransactionOptions, Tx};
pub use update::Update;
pub use validate::{Validate, ValidationError, ValidationErrors};

/// Re-exports of the crates models need.
pub use bson;
pub use mongodb;

/// The embedded server (`odm-server`): its [`Config`](server::Config) and
/// [`Journal`](server::Journal) setting, for [`Db::start`].
#[cfg(feature = "embedded")]
pub use odm_server as server;

/// What a model file needs: the derives, `Db`, builders, and serde's derives.
pub mod prelude {
    pub use crate::geo::{
        Distance, Distanced, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint,
        MultiPolygon, Point, Polygon, Shape,
    };
    pub use crate::{
        Db, Embedded, Error, Filter, Model, Pipeline, PopulatePath, Projection, Ref, Sort, Update,
        Validate, Value,
    };
    pub use bson::oid::ObjectId;
    pub use bson::{Bson, DateTime, doc};
    pub use serde::{Deserialize, Serialize};
}

/// What generated code refers to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::collection::Projection;
    pub use crate::error::Result;
    pub use crate::field::{
        ArrayPaths, AsField, Field, FieldType, Numeric, Ordered, Paths, Text, join_path, serialize,
        shared_paths,
    };
    pub use crate::filter::Filter;
    pub use crate::geo::Spatial;
    pub use crate::hooks::{HookContext, Hooks};
    pub use crate::index::{self, IndexSpec};
    pub use crate::model::{DeletedAt, Embedded, Model, Timestamp, Version};
    pub use crate::polymorphic::{
        Polymorphic, VariantOf, is_variant, merge_variant_indexes, same_path, schema_of_variants,
    };
    pub use crate::schema::{DepthGuard, object as schema_object};
    pub use crate::validate::{
        CanBeEmpty, HasLength, InRange, IsText, Validate, ValidationErrors, check_custom,
        check_email, check_length, check_non_empty, check_one_of, check_pattern, check_range,
        check_url, const_str_eq, join, split_path, stored_value,
    };
    pub use bson::{self, Bson, DateTime, Document, doc};
    pub use regex::Regex;
    pub use serde;
    pub use std::sync::OnceLock;
}
