//! Aggregation: expressions, accumulators and pipeline stages.
//!
//! [`expr`] evaluates expressions (`{$add: ["$a", 1]}`), [`accumulate`] folds values for
//! `$group`, and [`pipeline`] parses and runs stages over a stream of documents.

pub mod accumulate;
pub mod expr;
pub mod pipeline;
