//! The string operators that search, measure bytes, trim and replace: `$indexOfCP`,
//! `$indexOfBytes`, `$strLenBytes`, `$substrBytes` (and its old name `$substr`),
//! `$strcasecmp`, `$trim`, `$ltrim`, `$rtrim`, `$replaceOne` and `$replaceAll`.
//!
//! The `Bytes` forms count UTF-8 bytes and refuse to cut a character in two; the `CP`
//! form counts code points. `$trim` and the replacements take named arguments
//! (`{input, chars}`, `{input, find, replacement}`): null or missing ones give null.

use bson::Bson;

use super::{Arity, Eval, OpDef, display_string, expr_error, named, nullish, operand, type_name};
use crate::engine::arith;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$indexOfCP",
        arity: Arity::Range(2, 4),
        eval: Eval::Values(index_of),
    },
    OpDef {
        name: "$indexOfBytes",
        arity: Arity::Range(2, 4),
        eval: Eval::Values(index_of),
    },
    OpDef {
        name: "$strLenBytes",
        arity: Arity::Exactly(1),
        eval: Eval::Values(str_len_bytes),
    },
    OpDef {
        name: "$substrBytes",
        arity: Arity::Exactly(3),
        eval: Eval::Values(substr_bytes),
    },
    OpDef {
        name: "$substr",
        arity: Arity::Exactly(3),
        eval: Eval::Values(substr_bytes),
    },
    OpDef {
        name: "$strcasecmp",
        arity: Arity::Exactly(2),
        eval: Eval::Values(strcasecmp),
    },
    OpDef {
        name: "$trim",
        arity: Arity::Exactly(1),
        eval: Eval::Values(trim),
    },
    OpDef {
        name: "$ltrim",
        arity: Arity::Exactly(1),
        eval: Eval::Values(trim),
    },
    OpDef {
        name: "$rtrim",
        arity: Arity::Exactly(1),
        eval: Eval::Values(trim),
    },
    OpDef {
        name: "$replaceOne",
        arity: Arity::Exactly(1),
        eval: Eval::Values(replace),
    },
    OpDef {
        name: "$replaceAll",
        arity: Arity::Exactly(1),
        eval: Eval::Values(replace),
    },
];

/// A non-negative integer index argument (`$indexOf*`'s start and end).
fn index_arg(op: &OpDef, v: &Option<Bson>, which: &str, code: i32) -> CmdResult<usize> {
    match v.as_ref().and_then(arith::to_i64_exact) {
        Some(n) if n >= 0 => Ok(n as usize),
        Some(_) => Err(expr_error(
            if which == "starting" { 40097 } else { 40098 },
            format!(
                "{} requires a nonnegative {which} index, found: {}",
                op.name,
                display_value(v)
            ),
        )),
        None => Err(expr_error(
            code,
            format!(
                "{} requires an integral {which} index, found a value of type: {}",
                op.name,
                type_name(v)
            ),
        )),
    }
}

fn display_value(v: &Option<Bson>) -> String {
    v.as_ref()
        .map_or_else(|| "missing".to_string(), display_string)
}

fn index_of(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let bytes = op.name == "$indexOfBytes";
    let (first_code, second_code) = if bytes {
        (40091, 40092)
    } else {
        (40093, 40094)
    };
    let haystack = match operand(op, &values, 0)? {
        v if nullish(v) => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        other => {
            return Err(expr_error(
                first_code,
                format!(
                    "{} requires a string as the first argument, found: {}",
                    op.name,
                    type_name(other)
                ),
            ));
        }
    };
    let needle = match operand(op, &values, 1)? {
        Some(Bson::String(s)) => s,
        other => {
            return Err(expr_error(
                second_code,
                format!(
                    "{} requires a string as the second argument, found: {}",
                    op.name,
                    type_name(other)
                ),
            ));
        }
    };
    // Positions in the unit the operator counts: bytes, or code points.
    let units: Vec<usize> = if bytes {
        (0..=haystack.len()).collect()
    } else {
        haystack
            .char_indices()
            .map(|(i, _)| i)
            .chain([haystack.len()])
            .collect()
    };
    let len = units.len() - 1;
    let start = match values.get(2) {
        Some(v) => index_arg(op, v, "starting", 40096)?,
        None => 0,
    };
    let end = match values.get(3) {
        Some(v) => index_arg(op, v, "ending", 40096)?.min(len),
        None => len,
    };
    if start > end || start > len {
        return Ok(Some(Bson::Int32(-1)));
    }
    for (unit, at) in units[start..=end].iter().enumerate() {
        let at = *at;
        if at + needle.len() <= units[end]
            && haystack
                .get(at..)
                .is_some_and(|rest| rest.starts_with(needle.as_str()))
        {
            return Ok(Some(Bson::Int32((start + unit) as i32)));
        }
    }
    Ok(Some(Bson::Int32(-1)))
}

fn str_len_bytes(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        Some(Bson::String(s)) => Ok(Some(Bson::Int32(s.len() as i32))),
        other => Err(expr_error(
            34473,
            format!(
                "$strLenBytes requires a string argument, found: {}",
                type_name(other)
            ),
        )),
    }
}

fn substr_bytes(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let s = match operand(op, &values, 0)? {
        Some(Bson::String(s)) => s.clone(),
        Some(other) if !nullish(&Some(other.clone())) => display_string(other),
        _ => String::new(),
    };
    let start = operand(op, &values, 1)?;
    let Some(start) = start
        .as_ref()
        .and_then(arith::to_i64_exact)
        .filter(|n| *n >= 0)
    else {
        return Err(expr_error(
            16034,
            format!(
                "{}: starting index must be a non-negative integer, found: {}",
                op.name,
                display_value(start)
            ),
        ));
    };
    let length = operand(op, &values, 2)?;
    let Some(length) = length.as_ref().and_then(arith::to_i64_exact) else {
        return Err(expr_error(
            16035,
            format!(
                "{}: length must be a numeric value, found: {}",
                op.name,
                display_value(length)
            ),
        ));
    };
    let start = (start as usize).min(s.len());
    // A negative length reaches to the end.
    let end = if length < 0 {
        s.len()
    } else {
        start.saturating_add(length as usize).min(s.len())
    };
    if !s.is_char_boundary(start) {
        return Err(expr_error(
            28656,
            format!(
                "{}:  Invalid range, starting index is a UTF-8 continuation byte.",
                op.name
            ),
        ));
    }
    if !s.is_char_boundary(end) {
        return Err(expr_error(
            28657,
            format!(
                "{}:  Invalid range, ending index is in the middle of a UTF-8 character.",
                op.name
            ),
        ));
    }
    Ok(Some(Bson::String(s[start..end].to_string())))
}

fn strcasecmp(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let text = |v: &Option<Bson>| match v {
        Some(Bson::String(s)) => s.to_ascii_lowercase(),
        Some(Bson::Null | Bson::Undefined) | None => String::new(),
        Some(other) => display_string(other).to_ascii_lowercase(),
    };
    let (a, b) = (
        text(operand(op, &values, 0)?),
        text(operand(op, &values, 1)?),
    );
    Ok(Some(Bson::Int32(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })))
}

/// What `$trim` removes when no `chars` are given: whitespace as mongod lists it.
fn is_default_space(c: char) -> bool {
    matches!(
        c,
        '\0' | ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn trim(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let d = named(op, &values, &["input", "chars"], (50694, 50696))?;
    let input = match d.get("input") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        Some(other) => {
            return Err(expr_error(
                50699,
                format!(
                    "{} requires its input to be a string, got {other} (of type {}) instead.",
                    op.name,
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    let chars: Option<Vec<char>> = match d.get("chars") {
        None => None,
        Some(Bson::Null) | Some(Bson::Undefined) => return Ok(Some(Bson::Null)),
        Some(Bson::String(c)) => Some(c.chars().collect()),
        Some(other) => {
            return Err(expr_error(
                50700,
                format!(
                    "{} requires 'chars' to be a string, got {other} instead.",
                    op.name
                ),
            ));
        }
    };
    let strip = |c: char| match &chars {
        Some(set) => set.contains(&c),
        None => is_default_space(c),
    };
    let out = match op.name {
        "$ltrim" => input.trim_start_matches(strip),
        "$rtrim" => input.trim_end_matches(strip),
        _ => input.trim_matches(strip),
    };
    Ok(Some(Bson::String(out.to_string())))
}

fn replace(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let d = named(
        op,
        &values,
        &["input", "find", "replacement"],
        (50694, 50696),
    )?;
    let mut parts = Vec::with_capacity(3);
    for (name, code) in [("input", 51746), ("find", 51745), ("replacement", 51744)] {
        match d.get(name) {
            None | Some(Bson::Null) | Some(Bson::Undefined) => parts.push(None),
            Some(Bson::String(s)) => parts.push(Some(s.as_str())),
            Some(other) => {
                return Err(expr_error(
                    code,
                    format!(
                        "{} requires that '{name}' be a string, found: {other}",
                        op.name
                    ),
                ));
            }
        }
    }
    let (Some(input), Some(find), Some(replacement)) = (parts[0], parts[1], parts[2]) else {
        return Ok(Some(Bson::Null));
    };
    Ok(Some(Bson::String(if op.name == "$replaceOne" {
        input.replacen(find, replacement, 1)
    } else {
        input.replace(find, replacement)
    })))
}
