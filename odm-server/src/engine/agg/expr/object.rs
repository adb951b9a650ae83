//! The object operators: `$mergeObjects`.
//!
//! `$literal` is not here: its argument is not an expression at all, so it is read as a
//! literal where expressions are parsed, before any operator is looked up.

use bson::{Bson, Document};

use super::{Arity, Eval, OpDef, expr_error, nullish, type_name};
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[OpDef {
    name: "$mergeObjects",
    arity: Arity::Any,
    eval: Eval::Values(merge_objects),
}];

/// Later documents' fields win; null and missing arguments are skipped.
fn merge_objects(_: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let mut out = Document::new();
    for v in &values {
        match v {
            v if nullish(v) => {}
            Some(Bson::Document(d)) => {
                for (k, x) in d {
                    out.insert(k.clone(), x.clone());
                }
            }
            other => {
                return Err(expr_error(
                    40400,
                    format!(
                        "$mergeObjects requires object inputs, but input is of type {}",
                        type_name(other)
                    ),
                ));
            }
        }
    }
    Ok(Some(Bson::Document(out)))
}
