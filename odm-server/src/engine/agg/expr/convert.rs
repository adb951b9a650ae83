//! The type operators: `$type`, `$isNumber`, `$toString`, `$toInt`, `$toLong`,
//! `$toDouble` and `$toBool`.
//!
//! The numeric conversions share one parser, so that a string or a date becomes an int, a
//! long or a double by the same rules, and fail with the error `$convert` gives.

use bson::Bson;

use super::{Arity, Eval, OpDef, display_string, nullish, operand, truthy, type_name};
use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$isNumber",
        arity: Arity::Exactly(1),
        eval: Eval::Values(is_number),
    },
    OpDef {
        name: "$type",
        arity: Arity::Exactly(1),
        eval: Eval::Values(type_of),
    },
    OpDef {
        name: "$toString",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_string),
    },
    OpDef {
        name: "$toInt",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_int),
    },
    OpDef {
        name: "$toLong",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_long),
    },
    OpDef {
        name: "$toDouble",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_double),
    },
    OpDef {
        name: "$toBool",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_bool),
    },
];

/// The type's alias (`"missing"` for a missing value).
fn type_of(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::String(
        type_name(operand(op, &values, 0)?).to_string(),
    )))
}

fn to_string(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match operand(op, &values, 0)? {
        v if nullish(v) => Bson::Null,
        Some(v) => Bson::String(display_string(v)),
        None => Bson::Null,
    }))
}

fn to_bool(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match operand(op, &values, 0)? {
        v if nullish(v) => Bson::Null,
        v => Bson::Boolean(truthy(v.as_ref())),
    }))
}

fn to_int(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    convert_number(operand(op, &values, 0)?, Target::Int)
}

fn to_long(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    convert_number(operand(op, &values, 0)?, Target::Long)
}

fn to_double(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    convert_number(operand(op, &values, 0)?, Target::Double)
}

/// The number type a conversion makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Int,
    Long,
    Double,
}

/// Integers are truncated towards zero; a string must hold an integer unless the target
/// is a double.
fn convert_number(value: &Option<Bson>, target: Target) -> CmdResult<Option<Bson>> {
    let fail = |what: &Bson| {
        Err(CommandError::new(
            ErrorCode::Location(241),
            format!(
                "Failed to parse number '{}' in $convert with no onError value",
                display_string(what)
            ),
        ))
    };
    let Some(v) = value else {
        return Ok(Some(Bson::Null));
    };
    let as_f64 = match v {
        Bson::Null | Bson::Undefined => return Ok(Some(Bson::Null)),
        Bson::Boolean(b) => f64::from(u8::from(*b)),
        Bson::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if target != Target::Double && n.fract() != 0.0 => return fail(v),
            Ok(n) => n,
            Err(_) => return fail(v),
        },
        Bson::DateTime(d) => d.timestamp_millis() as f64,
        n if arith::is_number(n) => arith::to_f64(n).unwrap_or(f64::NAN),
        other => return fail(other),
    };
    Ok(Some(match target {
        Target::Int => Bson::Int32(as_f64.trunc() as i32),
        Target::Long => Bson::Int64(as_f64.trunc() as i64),
        Target::Double => Bson::Double(as_f64),
    }))
}

/// Whether the value is an int, a long, a double or a decimal (false for missing).
fn is_number(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let v = operand(op, &values, 0)?;
    Ok(Some(Bson::Boolean(
        v.as_ref().is_some_and(arith::is_number),
    )))
}
