//! The array operators: `$size`, `$arrayElemAt`, `$in`, `$isArray`, `$concatArrays`,
//! `$reverseArray`, `$slice`, `$first` and `$last`.

use bson::Bson;

use super::{Arity, Eval, OpDef, broken_invariant, expr_error, nullish, operand, type_name};
use crate::engine::arith;
use crate::engine::collation::values_equal;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$size",
        arity: Arity::Exactly(1),
        eval: Eval::Values(size),
    },
    OpDef {
        name: "$arrayElemAt",
        arity: Arity::Exactly(2),
        eval: Eval::Values(array_elem_at),
    },
    OpDef {
        name: "$in",
        arity: Arity::Exactly(2),
        eval: Eval::Values(is_in),
    },
    OpDef {
        name: "$isArray",
        arity: Arity::Exactly(1),
        eval: Eval::Values(is_array),
    },
    OpDef {
        name: "$concatArrays",
        arity: Arity::Any,
        eval: Eval::Values(concat_arrays),
    },
    OpDef {
        name: "$reverseArray",
        arity: Arity::Exactly(1),
        eval: Eval::Values(reverse_array),
    },
    OpDef {
        name: "$slice",
        arity: Arity::Range(2, 3),
        eval: Eval::Values(slice),
    },
    OpDef {
        name: "$first",
        arity: Arity::Exactly(1),
        eval: Eval::Values(first),
    },
    OpDef {
        name: "$last",
        arity: Arity::Exactly(1),
        eval: Eval::Values(last),
    },
];

fn size(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        Some(Bson::Array(items)) => Ok(Some(Bson::Int32(items.len() as i32))),
        other => Err(expr_error(
            17124,
            format!(
                "The argument to $size must be an array. Type of argument: {}",
                type_name(other)
            ),
        )),
    }
}

/// A negative index counts from the end; one out of range is missing.
fn array_elem_at(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match (operand(op, &values, 0)?, operand(op, &values, 1)?) {
        (a, _) if nullish(a) => Ok(Some(Bson::Null)),
        (Some(Bson::Array(items)), Some(i)) => {
            let Some(i) = arith::to_i64_exact(i) else {
                return Err(expr_error(
                    28690,
                    "$arrayElemAt's second argument must be a numeric value",
                ));
            };
            let idx = if i < 0 { items.len() as i64 + i } else { i };
            Ok(usize::try_from(idx)
                .ok()
                .and_then(|i| items.get(i))
                .cloned())
        }
        (other, _) => Err(expr_error(
            28689,
            format!(
                "$arrayElemAt's first argument must be an array, but is {}",
                type_name(other)
            ),
        )),
    }
}

/// A missing needle is looked for as null.
fn is_in(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 1)? {
        Some(Bson::Array(items)) => {
            let needle = operand(op, &values, 0)?.clone().unwrap_or(Bson::Null);
            Ok(Some(Bson::Boolean(
                items.iter().any(|i| values_equal(i, &needle)),
            )))
        }
        other => Err(expr_error(
            40081,
            format!(
                "$in requires an array as a second argument, found: {}",
                type_name(other)
            ),
        )),
    }
}

fn is_array(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Boolean(matches!(
        operand(op, &values, 0)?,
        Some(Bson::Array(_))
    ))))
}

/// Null if any argument is null or missing.
fn concat_arrays(_: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let mut out = Vec::new();
    for v in &values {
        match v {
            v if nullish(v) => return Ok(Some(Bson::Null)),
            Some(Bson::Array(items)) => out.extend(items.iter().cloned()),
            other => {
                return Err(expr_error(
                    28664,
                    format!(
                        "$concatArrays only supports arrays, not {}",
                        type_name(other)
                    ),
                ));
            }
        }
    }
    Ok(Some(Bson::Array(out)))
}

fn reverse_array(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        v if nullish(v) => Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => Ok(Some(Bson::Array(items.iter().rev().cloned().collect()))),
        other => Err(expr_error(
            34435,
            format!(
                "The argument to $reverseArray must be an array, but was of type: {}",
                type_name(other)
            ),
        )),
    }
}

/// `[array, n]` takes the first `n` (the last `-n` when negative); `[array, position, n]`
/// takes `n` from `position` (counted from the end when negative).
fn slice(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let input = operand(op, &values, 0)?;
    let Some(Bson::Array(items)) = input else {
        return if nullish(input) {
            Ok(Some(Bson::Null))
        } else {
            Err(expr_error(
                28724,
                "First argument to $slice must be an array",
            ))
        };
    };
    let rest = values
        .get(1..)
        .ok_or_else(|| broken_invariant(op, "evaluated without arguments"))?;
    let nums: Vec<i64> = rest
        .iter()
        .map(|v| v.as_ref().and_then(arith::to_i64_exact).unwrap_or(0))
        .collect();
    let len = items.len() as i64;
    let (start, count) = match nums.as_slice() {
        [n] if *n >= 0 => (0, *n),
        [n] => (len.saturating_add(*n).max(0), n.saturating_neg()),
        [p, n] => (
            if *p < 0 {
                (len + p).max(0)
            } else {
                (*p).min(len)
            },
            *n,
        ),
        _ => (0, 0),
    };
    if count < 0 {
        return Err(expr_error(
            28729,
            "Third argument to $slice must be positive",
        ));
    }
    Ok(Some(Bson::Array(
        items
            .iter()
            .skip(start as usize)
            .take(count as usize)
            .cloned()
            .collect(),
    )))
}

fn first(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    end(op, &values, <[Bson]>::first)
}

fn last(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    end(op, &values, <[Bson]>::last)
}

/// `$first` and `$last`: missing for an empty array.
fn end(
    op: &OpDef,
    values: &[Option<Bson>],
    pick: fn(&[Bson]) -> Option<&Bson>,
) -> CmdResult<Option<Bson>> {
    match operand(op, values, 0)? {
        v if nullish(v) => Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => Ok(pick(items).cloned()),
        other => Err(expr_error(
            28689,
            format!("{} requires an array, found: {}", op.name, type_name(other)),
        )),
    }
}
