//! Aggregation: expressions, accumulators and pipeline stages.
//!
//! [`expr`] evaluates expressions (`{$add: ["$a", 1]}`), [`accumulate`] folds values for
//! `$group`, and [`pipeline`] parses and runs stages over a stream of documents. [`join`]
//! holds the stages that read other collections ([`graph`]: `$graphLookup`), [`output`] the ones that write (`$out`,
//! `$merge`), [`bucket`] the range grouping, [`window`] `$setWindowFields` (and [`fill`] `$fill` on it), and [`bind`] writes `let` variables' values
//! into parsed trees.

pub mod accumulate;
pub mod bind;
pub mod bucket;
pub mod expr;
pub mod fill;
pub mod graph;
pub mod join;
pub mod output;
pub mod pipeline;
pub mod window;
