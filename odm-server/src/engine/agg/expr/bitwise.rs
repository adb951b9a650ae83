//! The bitwise operators on integers: `$bitAnd`, `$bitOr`, `$bitXor` (any number of
//! arguments) and `$bitNot`.
//!
//! Only ints and longs are accepted (a double, even a whole one, is refused, as mongod
//! refuses it); null or missing gives null. The result is an int when every argument is
//! one, else a long.

use bson::Bson;

use super::{Arity, Eval, OpDef, expr_error, nullish, operand, type_name};
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$bitAnd",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$bitOr",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$bitXor",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$bitNot",
        arity: Arity::Exactly(1),
        eval: Eval::Values(not),
    },
];

/// An integer argument and whether it is a long; `None` for null or missing.
fn integer(op: &OpDef, v: &Option<Bson>) -> CmdResult<Option<(i64, bool)>> {
    match v {
        v if nullish(v) => Ok(None),
        Some(Bson::Int32(i)) => Ok(Some((i64::from(*i), false))),
        Some(Bson::Int64(i)) => Ok(Some((*i, true))),
        other => Err(expr_error(
            28834,
            format!(
                "{} only supports int and long operands, not {}",
                op.name,
                type_name(other)
            ),
        )),
    }
}

fn typed(value: i64, long: bool) -> Bson {
    if long {
        Bson::Int64(value)
    } else {
        Bson::Int32(value as i32)
    }
}

fn fold(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    // All bits set is what `$bitAnd` starts from, none what the others start from.
    let mut acc: i64 = if op.name == "$bitAnd" { -1 } else { 0 };
    let mut long = false;
    let mut null = false;
    for v in &values {
        match integer(op, v)? {
            None => null = true,
            Some((i, is_long)) => {
                long |= is_long;
                acc = match op.name {
                    "$bitAnd" => acc & i,
                    "$bitOr" => acc | i,
                    _ => acc ^ i,
                };
            }
        }
    }
    Ok(Some(if null { Bson::Null } else { typed(acc, long) }))
}

fn not(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match integer(op, operand(op, &values, 0)?)? {
        None => Bson::Null,
        Some((i, long)) => typed(!i, long),
    }))
}
