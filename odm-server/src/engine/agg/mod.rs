//! Aggregation: expressions, accumulators and pipeline stages.
//!
//! [`expr`] evaluates expressions (`{$add: ["$a", 1]}`, one file per operator family),
//! [`accumulate`] folds values for `$group`, and [`pipeline`] parses stages and runs them
//! over a stream of documents. The stages with more to them have a file each:
//! [`grouping`] (`$group`), [`reshape`] (`$unwind`, `$redact`, the paths of `$addFields`),
//! [`join`] and [`graph`] (the stages that read other collections), [`output`] (`$out`,
//! `$merge`), [`bucket`], [`window`] (`$setWindowFields`) and [`fill`]. [`bind`] writes
//! `let` variables' values into parsed trees.

pub mod accumulate;
pub mod bind;
pub mod bucket;
pub mod densify;
pub mod expr;
pub mod fill;
pub mod geo_near;
pub mod granularity;
pub mod graph;
pub mod grouping;
pub mod join;
pub mod metadata;
pub mod output;
pub mod pipeline;
pub mod reshape;
pub mod window;
