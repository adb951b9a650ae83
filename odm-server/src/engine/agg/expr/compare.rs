//! The comparison operators: `$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte` and `$cmp`.
//!
//! All of them order their two arguments the one way [`compare_present`] does, which
//! differs from the query operators' comparison in how it treats a missing value, so it
//! lives here rather than with the query matcher.

use std::cmp::Ordering;

use bson::Bson;

use super::{Arity, Eval, OpDef, operand};
use crate::engine::collation::compare;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$eq",
        arity: Arity::Exactly(2),
        eval: Eval::Values(eq),
    },
    OpDef {
        name: "$ne",
        arity: Arity::Exactly(2),
        eval: Eval::Values(ne),
    },
    OpDef {
        name: "$gt",
        arity: Arity::Exactly(2),
        eval: Eval::Values(gt),
    },
    OpDef {
        name: "$gte",
        arity: Arity::Exactly(2),
        eval: Eval::Values(gte),
    },
    OpDef {
        name: "$lt",
        arity: Arity::Exactly(2),
        eval: Eval::Values(lt),
    },
    OpDef {
        name: "$lte",
        arity: Arity::Exactly(2),
        eval: Eval::Values(lte),
    },
    OpDef {
        name: "$cmp",
        arity: Arity::Exactly(2),
        eval: Eval::Values(cmp),
    },
];

/// How the first argument compares with the second.
fn order(op: &OpDef, values: &[Option<Bson>]) -> CmdResult<Ordering> {
    let (a, b) = (operand(op, values, 0)?, operand(op, values, 1)?);
    Ok(compare_present(a.as_ref(), b.as_ref()))
}

fn answer(
    op: &OpDef,
    values: &[Option<Bson>],
    holds: fn(Ordering) -> bool,
) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Boolean(holds(order(op, values)?))))
}

fn eq(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_eq)
}

fn ne(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_ne)
}

fn gt(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_gt)
}

fn gte(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_ge)
}

fn lt(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_lt)
}

fn lte(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    answer(op, &values, Ordering::is_le)
}

/// -1, 0 or 1.
fn cmp(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Int32(order(op, &values)? as i32)))
}

/// Compares two expression values as aggregation does: a missing value is a value of its
/// own, equal to another missing one (and to undefined) and below every other, MinKey
/// aside. Query operators differ: there `{a: null}` matches a missing `a`.
pub fn compare_present(a: Option<&Bson>, b: Option<&Bson>) -> Ordering {
    let missing_vs = |v: &Bson| match v {
        Bson::MinKey => Ordering::Greater,
        Bson::Undefined => Ordering::Equal,
        _ => Ordering::Less,
    };
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(v)) => missing_vs(v),
        (Some(v), None) => missing_vs(v).reverse(),
        (Some(x), Some(y)) => compare(x, y),
    }
}
