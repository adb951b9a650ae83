//! The array operators that build, search and reshape arrays: `$range`,
//! `$indexOfArray`, `$zip`, `$arrayToObject`, `$objectToArray`, `$sortArray`, and the
//! array forms of `$firstN`, `$lastN`, `$maxN` and `$minN`.
//!
//! Operators with named arguments (`{input, n}`, `{inputs, ...}`, `{input, sortBy}`)
//! read them from their evaluated object; a null or missing input gives null. Values
//! compare as in the rest of MongoDB (`1` equals `1.0`, types in BSON order).

use bson::{Bson, Document, doc};

use super::{Arity, Eval, OpDef, display_string, expr_error, named, nullish, operand, type_name};
use crate::engine::arith;
use crate::engine::collation::{compare, values_equal};
use crate::engine::sort::SortSpec;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$range",
        arity: Arity::Range(2, 3),
        eval: Eval::Values(range),
    },
    OpDef {
        name: "$indexOfArray",
        arity: Arity::Range(2, 4),
        eval: Eval::Values(index_of_array),
    },
    OpDef {
        name: "$zip",
        arity: Arity::Exactly(1),
        eval: Eval::Values(zip),
    },
    OpDef {
        name: "$arrayToObject",
        arity: Arity::Exactly(1),
        eval: Eval::Values(array_to_object),
    },
    OpDef {
        name: "$objectToArray",
        arity: Arity::Exactly(1),
        eval: Eval::Values(object_to_array),
    },
    OpDef {
        name: "$sortArray",
        arity: Arity::Exactly(1),
        eval: Eval::Values(sort_array),
    },
    OpDef {
        name: "$firstN",
        arity: Arity::Exactly(1),
        eval: Eval::Values(n_of),
    },
    OpDef {
        name: "$lastN",
        arity: Arity::Exactly(1),
        eval: Eval::Values(n_of),
    },
    OpDef {
        name: "$maxN",
        arity: Arity::Exactly(1),
        eval: Eval::Values(n_of),
    },
    OpDef {
        name: "$minN",
        arity: Arity::Exactly(1),
        eval: Eval::Values(n_of),
    },
];

fn int32(op: &OpDef, v: &Option<Bson>, what: &str, code: i32) -> CmdResult<i64> {
    match v.as_ref().and_then(arith::to_i64_exact) {
        Some(n) if i32::try_from(n).is_ok() => Ok(n),
        _ => Err(expr_error(
            code,
            format!(
                "{} requires a {what} that can be represented as a 32-bit integer, found value: {}",
                op.name,
                v.as_ref().map_or_else(|| "missing".into(), display_string)
            ),
        )),
    }
}

fn range(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let start = int32(op, operand(op, &values, 0)?, "starting value", 34444)?;
    let end = int32(op, operand(op, &values, 1)?, "ending value", 34446)?;
    let step = match values.get(2) {
        Some(v) => int32(op, v, "step value", 34448)?,
        None => 1,
    };
    if step == 0 {
        return Err(expr_error(34449, "$range requires a non-zero step value"));
    }
    // mongod bounds the memory a range may take; so does this, before allocating.
    const MAX_RANGE_BYTES: i64 = 100 * 1024 * 1024;
    let count = ((end - start) / step).max(0) + 1;
    if count.saturating_mul(16) > MAX_RANGE_BYTES {
        return Err(expr_error(
            5747800,
            format!(
                "$range would use too much memory ({} bytes) and cannot spill to disk. Memory limit: {MAX_RANGE_BYTES} bytes",
                count.saturating_mul(16)
            ),
        ));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < end) || (step < 0 && i > end) {
        out.push(Bson::Int32(i as i32));
        i += step;
    }
    Ok(Some(Bson::Array(out)))
}

fn index_of_array(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let items = match operand(op, &values, 0)? {
        v if nullish(v) => return Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => items,
        other => {
            return Err(expr_error(
                40090,
                format!(
                    "$indexOfArray requires an array as a first argument, found: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let search = operand(op, &values, 1)?;
    let bound = |i: usize, default: usize| -> CmdResult<usize> {
        match values.get(i) {
            None => Ok(default),
            Some(v) => match v.as_ref().and_then(arith::to_i64_exact) {
                Some(n) if n >= 0 => Ok(n as usize),
                Some(_) => Err(expr_error(
                    40097,
                    "$indexOfArray requires a nonnegative index",
                )),
                None => Err(expr_error(
                    40096,
                    format!(
                        "$indexOfArray requires an integral index, found a value of type: {}",
                        type_name(v)
                    ),
                )),
            },
        }
    };
    let start = bound(2, 0)?;
    let end = bound(3, items.len())?.min(items.len());
    let found = (start..end).find(|i| match (&items[*i], search) {
        (item, Some(s)) => values_equal(item, s),
        _ => false,
    });
    Ok(Some(Bson::Int32(found.map_or(-1, |i| i as i32))))
}

fn zip(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let d = named(
        op,
        &values,
        &["inputs", "useLongestLength", "defaults"],
        (34464, 34460),
    )?;
    let inputs = match d.get("inputs") {
        Some(Bson::Array(inputs)) => inputs,
        other => {
            return Err(expr_error(
                34461,
                format!(
                    "inputs must be an array of expressions, found {}",
                    type_name(&other.cloned())
                ),
            ));
        }
    };
    let longest = matches!(d.get("useLongestLength"), Some(Bson::Boolean(true)));
    let defaults = match d.get("defaults") {
        None => None,
        Some(Bson::Array(items)) if longest => Some(items),
        Some(Bson::Array(_)) => {
            return Err(expr_error(
                34466,
                "cannot specify defaults unless useLongestLength is true",
            ));
        }
        Some(other) => {
            return Err(expr_error(
                34462,
                format!(
                    "defaults must be an array of expressions, found {}",
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    if defaults.is_some_and(|d| d.len() != inputs.len()) {
        return Err(expr_error(
            34467,
            "defaults and inputs must have the same length",
        ));
    }
    let mut arrays = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            Bson::Null | Bson::Undefined => return Ok(Some(Bson::Null)),
            Bson::Array(items) => arrays.push(items),
            other => {
                return Err(expr_error(
                    34468,
                    format!("$zip found a non-array expression in input: {other}"),
                ));
            }
        }
    }
    let len = if longest {
        arrays.iter().map(|a| a.len()).max().unwrap_or(0)
    } else {
        arrays.iter().map(|a| a.len()).min().unwrap_or(0)
    };
    let rows = (0..len)
        .map(|i| {
            Bson::Array(
                arrays
                    .iter()
                    .enumerate()
                    .map(|(j, a)| {
                        a.get(i).cloned().unwrap_or_else(|| {
                            defaults
                                .and_then(|d| d.get(j).cloned())
                                .unwrap_or(Bson::Null)
                        })
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(Some(Bson::Array(rows)))
}

fn array_to_object(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let items = match operand(op, &values, 0)? {
        v if nullish(v) => return Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => items,
        other => {
            return Err(expr_error(
                40386,
                format!(
                    "$arrayToObject requires an array input, found: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let mut out = Document::new();
    for item in items {
        // mongod's location for a key holding NUL depends on the form.
        let (k, v, nul_code) = match item {
            Bson::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1], 4940400),
            Bson::Document(d) if d.len() == 2 && d.contains_key("k") && d.contains_key("v") => {
                (&d["k"], &d["v"], 4940401)
            }
            other => {
                return Err(expr_error(
                    40398,
                    format!("Unrecognised input type format for $arrayToObject: {other}"),
                ));
            }
        };
        let Bson::String(k) = k else {
            return Err(expr_error(
                40395,
                format!(
                    "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: {}",
                    type_name(&Some(k.clone()))
                ),
            ));
        };
        if k.contains('\0') {
            return Err(expr_error(
                nul_code,
                "Key field cannot contain an embedded null byte",
            ));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(Some(Bson::Document(out)))
}

fn object_to_array(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        v if nullish(v) => Ok(Some(Bson::Null)),
        Some(Bson::Document(d)) => Ok(Some(Bson::Array(
            d.iter()
                .map(|(k, v)| Bson::Document(doc! {"k": k, "v": v.clone()}))
                .collect(),
        ))),
        other => Err(expr_error(
            40390,
            format!(
                "$objectToArray requires a document input, found: {}",
                type_name(other)
            ),
        )),
    }
}

fn sort_array(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let d = named(op, &values, &["input", "sortBy"], (34464, 34460))?;
    let items = match d.get("input") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => return Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => items.clone(),
        Some(other) => {
            return Err(expr_error(
                2942504,
                format!(
                    "The input argument to $sortArray must be an array, but was of type: {}",
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    let mut items = items;
    match d.get("sortBy") {
        Some(Bson::Document(spec)) => {
            let spec = SortSpec::parse(spec)?;
            // Elements that are not documents sort as if every field were missing.
            items.sort_by(|a, b| match (a, b) {
                (Bson::Document(x), Bson::Document(y)) => spec.compare(x, y),
                _ => compare(a, b),
            });
        }
        Some(v) if matches!(arith::to_i64_exact(v), Some(1 | -1)) => {
            let descending = arith::to_i64_exact(v) == Some(-1);
            items.sort_by(|a, b| {
                let o = compare(a, b);
                if descending { o.reverse() } else { o }
            });
        }
        other => {
            return Err(expr_error(
                2942505,
                format!(
                    "$sortArray requires sortBy to be 1, -1 or a sort specification, found {}",
                    type_name(&other.cloned())
                ),
            ));
        }
    }
    Ok(Some(Bson::Array(items)))
}

/// `$firstN`, `$lastN`, `$maxN`, `$minN` on an array: `{n, input}`.
fn n_of(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let d = named(op, &values, &["n", "input"], (34464, 34460))?;
    let n = match d.get("n").and_then(arith::to_i64_exact) {
        Some(n) if n > 0 => n as usize,
        _ => {
            return Err(expr_error(
                5787908,
                format!(
                    "{} requires 'n' to be a positive integer, found: {}",
                    op.name,
                    d.get("n").map_or_else(|| "missing".into(), display_string)
                ),
            ));
        }
    };
    let items = match d.get("input") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => return Ok(Some(Bson::Null)),
        Some(Bson::Array(items)) => items,
        Some(other) => {
            return Err(expr_error(
                5788200,
                format!(
                    "{} requires 'input' to be an array, found: {}",
                    op.name,
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    let out: Vec<Bson> = match op.name {
        "$firstN" => items.iter().take(n).cloned().collect(),
        "$lastN" => items
            .iter()
            .skip(items.len().saturating_sub(n))
            .cloned()
            .collect(),
        _ => {
            let mut kept: Vec<Bson> = items
                .iter()
                .filter(|v| !matches!(v, Bson::Null | Bson::Undefined))
                .cloned()
                .collect();
            kept.sort_by(|a, b| {
                let o = compare(a, b);
                if op.name == "$maxN" { o.reverse() } else { o }
            });
            kept.truncate(n);
            kept
        }
    };
    Ok(Some(Bson::Array(out)))
}
