//! MongoDB's semantics on plain BSON values: no I/O, no storage, no sockets.
//!
//! Everything here is a pure function of documents, so it is tested with plain
//! documents: [`compare`] (the BSON total order), [`collation`] (ICU string order),
//! [`decimal`] and
//! [`decimal_arith`] (exact decimal128 comparison and arithmetic), [`path`] (dotted paths through arrays),
//! [`matcher`] (query filters, with [`bits`] for the bitwise tests), [`text`] (text search), [`schema`] (`$jsonSchema`), [`update`] (update operators), [`projection`], [`sort`]
//! and [`agg`] (aggregation pipelines).

pub mod agg;
pub mod arith;
pub mod bits;
pub mod collation;
pub mod compare;
pub mod decimal;
pub mod decimal_arith;
pub mod geo;
pub mod hashed;
pub mod matcher;
pub mod path;
pub mod pcre;
pub mod projection;
pub mod schema;
pub mod sort;
pub mod text;
pub mod types;
pub mod update;
