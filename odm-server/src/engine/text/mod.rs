//! Text search: text indexes (`spec`), the words they hold (`tokenize`) and `$text`
//! queries against them (`query`). A `$text` query always goes through the collection's
//! one text index, as in mongod: the planner resolves it against the index (its weights
//! and languages), scans the index for the query's words, and every candidate is then
//! matched (negations, phrases) and scored from the document itself, with the same
//! tokenizer and formula that built the index.

pub mod query;
pub mod spec;
pub mod tokenize;

pub use query::{TextQuery, current_score, with_score};
pub use spec::TextSpec;
