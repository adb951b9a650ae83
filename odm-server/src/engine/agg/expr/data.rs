//! The operators about how a value is stored and what the server knows of it:
//! `$bsonSize` (a document's encoded size), `$binarySize` (a string's or binData's
//! bytes), `$toHashedIndexKey` (the hash a hashed index keys the value by) and `$meta`
//! (a document's metadata).
//!
//! `textScore`, `geoNearDistance` and `geoNearPoint` are read from what the query or pipeline
//! attached (`agg::metadata`, parsed as `Expression::Meta`); every other keyword (Atlas
//! search, `indexKey`, `sortKey`...) is missing here.

use bson::Bson;

use super::{Arity, Eval, OpDef, expr_error, nullish, operand, type_name};
use crate::engine::hashed::hash64;
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$bsonSize",
        arity: Arity::Exactly(1),
        eval: Eval::Values(bson_size),
    },
    OpDef {
        name: "$binarySize",
        arity: Arity::Exactly(1),
        eval: Eval::Values(binary_size),
    },
    OpDef {
        name: "$meta",
        arity: Arity::Exactly(1),
        eval: Eval::Values(meta),
    },
    OpDef {
        name: "$toHashedIndexKey",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_hashed_index_key),
    },
];

fn size(n: usize) -> Bson {
    match i32::try_from(n) {
        Ok(n) => Bson::Int32(n),
        Err(_) => Bson::Int64(n as i64),
    }
}

fn bson_size(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match operand(op, &values, 0)? {
        v if nullish(v) => Bson::Null,
        Some(Bson::Document(d)) => size(crate::engine::types::encoded_len(d)),
        other => {
            return Err(expr_error(
                31393,
                format!(
                    "$bsonSize requires a document input, found: {}",
                    type_name(other)
                ),
            ));
        }
    }))
}

fn binary_size(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match operand(op, &values, 0)? {
        v if nullish(v) => Bson::Null,
        Some(Bson::String(s)) => size(s.len()),
        Some(Bson::Binary(b)) => size(b.bytes.len()),
        other => {
            return Err(expr_error(
                51276,
                format!(
                    "$binarySize requires a string or BinData argument, found: {}",
                    type_name(other)
                ),
            ));
        }
    }))
}

/// Missing hashes as null does.
fn to_hashed_index_key(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let value = operand(op, &values, 0)?.clone().unwrap_or(Bson::Null);
    Ok(Some(Bson::Int64(hash64(&value))))
}

/// The keywords `$meta` takes.
const META: &[&str] = &[
    "textScore",
    "randVal",
    "searchScore",
    "searchHighlights",
    "searchScoreDetails",
    "searchSequenceToken",
    "vectorSearchScore",
    "score",
    "scoreDetails",
    "geoNearDistance",
    "geoNearPoint",
    "indexKey",
    "sortKey",
    "recordId",
];

fn meta(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        Some(Bson::String(k)) if META.contains(&k.as_str()) => Ok(None),
        Some(Bson::String(k)) => Err(expr_error(
            17308,
            format!("Unsupported argument to $meta: {k}"),
        )),
        other => Err(expr_error(
            17307,
            format!(
                "$meta only supports string arguments, found: {}",
                type_name(other)
            ),
        )),
    }
}
