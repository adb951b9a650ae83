//! The set operators: arrays read as sets of values (`1` and `1.0` are one value).
//!
//! `$setUnion`, `$setIntersection` and `$setDifference` answer null when an argument is
//! null or missing and keep each value once, in the order it first appears;
//! `$setEquals`, `$setIsSubset`, `$anyElementTrue` and `$allElementsTrue` need arrays.

use bson::Bson;

use super::{Arity, Eval, OpDef, expr_error, nullish, operand, truthy, type_name};
use crate::engine::collation::values_equal;
use crate::error::{CmdResult, CommandError};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$setUnion",
        arity: Arity::Any,
        eval: Eval::Values(union),
    },
    OpDef {
        name: "$setIntersection",
        arity: Arity::Any,
        eval: Eval::Values(intersection),
    },
    OpDef {
        name: "$setDifference",
        arity: Arity::Exactly(2),
        eval: Eval::Values(difference),
    },
    OpDef {
        name: "$setEquals",
        arity: Arity::AtLeast(2, equals_too_few),
        eval: Eval::Values(equals),
    },
    OpDef {
        name: "$setIsSubset",
        arity: Arity::Exactly(2),
        eval: Eval::Values(is_subset),
    },
    OpDef {
        name: "$anyElementTrue",
        arity: Arity::Exactly(1),
        eval: Eval::Values(any_true),
    },
    OpDef {
        name: "$allElementsTrue",
        arity: Arity::Exactly(1),
        eval: Eval::Values(all_true),
    },
];

fn equals_too_few(n: usize) -> CommandError {
    expr_error(
        17045,
        format!("$setEquals needs at least two arguments had: {n}"),
    )
}

fn contains(set: &[Bson], v: &Bson) -> bool {
    set.iter().any(|x| values_equal(x, v))
}

/// The distinct values of `items`, in the order they first appear.
fn distinct(items: impl IntoIterator<Item = Bson>) -> Vec<Bson> {
    let mut out: Vec<Bson> = Vec::new();
    for v in items {
        if !contains(&out, &v) {
            out.push(v);
        }
    }
    out
}

/// Each argument as an array; `None` when one is null or missing.
fn arrays(op: &OpDef, values: Vec<Option<Bson>>, code: i32) -> CmdResult<Option<Vec<Vec<Bson>>>> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v {
            v if nullish(&v) => return Ok(None),
            Some(Bson::Array(items)) => out.push(items),
            other => {
                return Err(expr_error(
                    code,
                    format!(
                        "All operands of {} must be arrays. One argument is of type: {}",
                        op.name,
                        type_name(&other)
                    ),
                ));
            }
        }
    }
    Ok(Some(out))
}

fn union(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match arrays(op, values, 17043)? {
        None => Bson::Null,
        Some(sets) => Bson::Array(distinct(sets.into_iter().flatten())),
    }))
}

fn intersection(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match arrays(op, values, 17047)? {
        None => Bson::Null,
        Some(sets) => {
            let mut sets = sets.into_iter();
            let first = distinct(sets.next().unwrap_or_default());
            let rest: Vec<Vec<Bson>> = sets.collect();
            Bson::Array(
                first
                    .into_iter()
                    .filter(|v| rest.iter().all(|s| contains(s, v)))
                    .collect(),
            )
        }
    }))
}

fn difference(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let (a, b) = (operand(op, &values, 0)?, operand(op, &values, 1)?);
    if nullish(a) || nullish(b) {
        return Ok(Some(Bson::Null));
    }
    match (a, b) {
        (Some(Bson::Array(a)), Some(Bson::Array(b))) => Ok(Some(Bson::Array(distinct(
            a.iter().filter(|v| !contains(b, v)).cloned(),
        )))),
        (Some(Bson::Array(_)), other) => Err(expr_error(
            17049,
            format!(
                "both operands of $setDifference must be arrays. Second argument is of type: {}",
                type_name(other)
            ),
        )),
        (other, _) => Err(expr_error(
            17048,
            format!(
                "both operands of $setDifference must be arrays. First argument is of type: {}",
                type_name(other)
            ),
        )),
    }
}

fn equals(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let mut sets = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Some(Bson::Array(items)) => sets.push(items),
            other => {
                return Err(expr_error(
                    17044,
                    format!(
                        "All operands of {} must be arrays. One argument is of type: {}",
                        op.name,
                        type_name(&other)
                    ),
                ));
            }
        }
    }
    let first = &sets[0];
    let same = sets
        .iter()
        .skip(1)
        .all(|s| s.iter().all(|v| contains(first, v)) && first.iter().all(|v| contains(s, v)));
    Ok(Some(Bson::Boolean(same)))
}

fn is_subset(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match (operand(op, &values, 0)?, operand(op, &values, 1)?) {
        (Some(Bson::Array(a)), Some(Bson::Array(b))) => {
            Ok(Some(Bson::Boolean(a.iter().all(|v| contains(b, v)))))
        }
        (Some(Bson::Array(_)), other) => Err(expr_error(
            17042,
            format!(
                "both operands of $setIsSubset must be arrays. Second argument is of type: {}",
                type_name(other)
            ),
        )),
        (other, _) => Err(expr_error(
            17046,
            format!(
                "both operands of $setIsSubset must be arrays. First argument is of type: {}",
                type_name(other)
            ),
        )),
    }
}

fn elements<'v>(op: &OpDef, values: &'v [Option<Bson>], code: i32) -> CmdResult<&'v [Bson]> {
    match operand(op, values, 0)? {
        Some(Bson::Array(items)) => Ok(items),
        other => Err(expr_error(
            code,
            format!(
                "{}'s argument must be an array, but is {}",
                op.name,
                type_name(other)
            ),
        )),
    }
}

fn any_true(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let items = elements(op, &values, 17041)?;
    Ok(Some(Bson::Boolean(items.iter().any(|v| truthy(Some(v))))))
}

fn all_true(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let items = elements(op, &values, 17040)?;
    Ok(Some(Bson::Boolean(items.iter().all(|v| truthy(Some(v))))))
}
