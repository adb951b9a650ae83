//! The string operators: `$concat`, `$toLower`, `$toUpper`, `$strLenCP`, `$substrCP`
//! and `$split`.
//!
//! Lengths and offsets count code points, not bytes, as the `CP` operators promise; a
//! non-string argument where one is printed goes through [`display_string`].

use bson::Bson;

use super::{Arity, Eval, OpDef, display_string, expr_error, nullish, operand, type_name};
use crate::engine::arith;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$concat",
        arity: Arity::Any,
        eval: Eval::Values(concat),
    },
    OpDef {
        name: "$toLower",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_lower),
    },
    OpDef {
        name: "$toUpper",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_upper),
    },
    OpDef {
        name: "$strLenCP",
        arity: Arity::Exactly(1),
        eval: Eval::Values(str_len_cp),
    },
    OpDef {
        name: "$substrCP",
        arity: Arity::Exactly(3),
        eval: Eval::Values(substr_cp),
    },
    OpDef {
        name: "$split",
        arity: Arity::Exactly(2),
        eval: Eval::Values(split),
    },
];

/// Null if any argument is null or missing.
fn concat(_: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let mut out = String::new();
    for v in &values {
        match v {
            v if nullish(v) => return Ok(Some(Bson::Null)),
            Some(Bson::String(s)) => out.push_str(s),
            other => {
                return Err(expr_error(
                    16702,
                    format!("$concat only supports strings, not {}", type_name(other)),
                ));
            }
        }
    }
    Ok(Some(Bson::String(out)))
}

fn to_lower(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    change_case(op, &values, str::to_lowercase)
}

fn to_upper(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    change_case(op, &values, str::to_uppercase)
}

/// Null and missing make an empty string; other values are printed first.
fn change_case(
    op: &OpDef,
    values: &[Option<Bson>],
    change: fn(&str) -> String,
) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::String(match operand(op, values, 0)? {
        v if nullish(v) => String::new(),
        Some(Bson::String(s)) => change(s),
        Some(other) => change(&display_string(other)),
        None => String::new(),
    })))
}

fn str_len_cp(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        Some(Bson::String(s)) => Ok(Some(Bson::Int32(s.chars().count() as i32))),
        other => Err(expr_error(
            34471,
            format!(
                "$strLenCP requires a string argument, found: {}",
                type_name(other)
            ),
        )),
    }
}

/// A start or length that is not an integer, or is negative, counts as 0.
fn substr_cp(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let s = match operand(op, &values, 0)? {
        Some(Bson::String(s)) => s.clone(),
        v if nullish(v) => String::new(),
        Some(other) => display_string(other),
        None => String::new(),
    };
    let count = |i: usize| -> CmdResult<usize> {
        Ok(operand(op, &values, i)?
            .as_ref()
            .and_then(arith::to_i64_exact)
            .unwrap_or(0)
            .max(0) as usize)
    };
    let (start, len) = (count(1)?, count(2)?);
    Ok(Some(Bson::String(
        s.chars().skip(start).take(len).collect(),
    )))
}

fn split(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match (operand(op, &values, 0)?, operand(op, &values, 1)?) {
        (v, _) if nullish(v) => Ok(Some(Bson::Null)),
        (Some(Bson::String(s)), Some(Bson::String(sep))) if !sep.is_empty() => {
            Ok(Some(Bson::Array(
                s.split(sep.as_str())
                    .map(|p| Bson::String(p.to_string()))
                    .collect(),
            )))
        }
        _ => Err(expr_error(
            40085,
            "$split requires a string and a non-empty string delimiter",
        )),
    }
}
