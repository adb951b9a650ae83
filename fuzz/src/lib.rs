//! Structured inputs for the engine fuzzers: documents, filters, updates and pipelines
//! built from the fuzzer's bytes with [`arbitrary`], over a small vocabulary of field
//! names, operators and values, so that almost every input reaches the engine instead
//! of failing BSON decoding, and different inputs collide on the same paths.
//!
//! Every generator is bounded in depth and size: the point is MongoDB's semantics, and
//! the nesting limits have their own tests.

use arbitrary::{Arbitrary, Unstructured};
use bson::{Bson, Document, Regex, oid::ObjectId};
use odm_server::engine::update::UPDATE_OPERATORS;
use odm_server::fuzzing::CommandHarness;

/// Field names documents are made of, and the paths filters and updates name.
pub const KEYS: &[&str] = &["a", "b", "c", "x", "0", "1", ""];
pub const PATHS: &[&str] = &[
    "a", "b", "c", "a.b", "a.0", "a.b.c", "b.1", "a.x", "c.0.b", "_id",
];
/// Strings, including the ones aggregation reads as field paths and variables.
pub const STRINGS: &[&str] = &[
    "",
    "a",
    "B",
    "ab",
    "é",
    "$a",
    "$b.c",
    "$$ROOT",
    "$$CURRENT.a",
    "$$NOW",
    "abc",
    "10",
    "\u{0}",
];
/// Query operators for one path.
pub const COMPARISONS: &[&str] = &["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"];
/// Aggregation expression operators, with arguments of any shape.
pub const EXPRESSIONS: &[&str] = &[
    "$add",
    "$subtract",
    "$multiply",
    "$divide",
    "$mod",
    "$concat",
    "$cond",
    "$ifNull",
    "$eq",
    "$gt",
    "$and",
    "$or",
    "$not",
    "$size",
    "$arrayElemAt",
    "$concatArrays",
    "$filter",
    "$map",
    "$reduce",
    "$literal",
    "$toString",
    "$toInt",
    "$toDouble",
    "$type",
    "$max",
    "$min",
    "$sum",
    "$avg",
    "$first",
    "$last",
    "$slice",
    "$split",
    "$substrCP",
    "$strLenCP",
    "$toUpper",
    "$setUnion",
    "$in",
    "$indexOfArray",
    "$range",
    "$reverseArray",
    "$zip",
    "$mergeObjects",
    "$objectToArray",
    "$arrayToObject",
    "$getField",
    "$setField",
    "$let",
    "$switch",
    "$round",
    "$trunc",
    "$abs",
    "$pow",
    "$sqrt",
    "$exp",
    "$ln",
    "$log10",
    "$dateToString",
    "$dateAdd",
    "$isArray",
    "$sortArray",
    "$regexMatch",
    "$convert",
];
/// Pipeline stages that need no other collection.
pub const STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$group",
    "$sort",
    "$limit",
    "$skip",
    "$unwind",
    "$count",
    "$replaceRoot",
    "$replaceWith",
    "$bucket",
    "$bucketAuto",
    "$facet",
    "$sortByCount",
    "$redact",
    "$setWindowFields",
    "$densify",
    "$fill",
    "$sample",
];
/// Field names of specifications (stage, accumulator and expression arguments).
pub const SPEC_KEYS: &[&str] = &[
    "_id",
    "a",
    "b",
    "path",
    "input",
    "as",
    "in",
    "cond",
    "then",
    "else",
    "if",
    "initialValue",
    "groupBy",
    "boundaries",
    "default",
    "output",
    "buckets",
    "partitionBy",
    "sortBy",
    "window",
    "documents",
    "range",
    "step",
    "field",
    "newRoot",
    "vars",
    "n",
    "sortBy",
    "includeArrayIndex",
    "preserveNullAndEmptyArrays",
    "size",
    "to",
    "format",
    "onError",
    "$sum",
    "$avg",
    "$push",
    "$first",
    "$max",
    "$add",
    "$literal",
    "$cond",
    "$concat",
];

fn pick<'a>(u: &mut Unstructured<'_>, from: &[&'a str]) -> arbitrary::Result<&'a str> {
    Ok(from[u.choose_index(from.len())?])
}

/// A value of any BSON type the engine orders and compares, `depth` levels at most.
pub fn value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Bson> {
    let kinds = if depth == 0 { 14 } else { 16 };
    Ok(match u.choose_index(kinds)? {
        0 => Bson::Null,
        1 => Bson::Boolean(bool::arbitrary(u)?),
        2 => Bson::Int32(i32::from(i8::arbitrary(u)?)),
        3 => Bson::Int32(*u.choose(&[i32::MIN, i32::MAX, 0, -1])?),
        4 => Bson::Int64(*u.choose(&[i64::MIN, i64::MAX, 1 << 53, (1 << 53) + 1, 3])?),
        5 => Bson::Double(f64::from(i8::arbitrary(u)?) / 2.0),
        6 => Bson::Double(*u.choose(&[f64::NAN, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1e308])?),
        7 => Bson::String(pick(u, STRINGS)?.to_owned()),
        8 => Bson::Decimal128(
            pick(u, &["1", "-0", "NaN", "Infinity", "2.50", "1E+6000"])?
                .parse()
                .unwrap(),
        ),
        9 => Bson::DateTime(bson::DateTime::from_millis(
            i64::from(i16::arbitrary(u)?) * 86_400_000,
        )),
        10 => Bson::ObjectId(ObjectId::from_bytes([u8::arbitrary(u)?; 12])),
        11 => Bson::RegularExpression(Regex {
            pattern: pick(u, &["^a", "b$", "a|B", ""])?
                .try_into()
                .expect("no NUL"),
            options: pick(u, &["", "i", "ms"])?.try_into().expect("no NUL"),
        }),
        12 => u
            .choose(&[Bson::MinKey, Bson::MaxKey, Bson::Undefined])?
            .clone(),
        13 => Bson::Timestamp(bson::Timestamp {
            time: u32::from(u8::arbitrary(u)?),
            increment: 1,
        }),
        14 => {
            let n = u.choose_index(4)?;
            Bson::Array(
                (0..n)
                    .map(|_| value(u, depth - 1))
                    .collect::<arbitrary::Result<_>>()?,
            )
        }
        _ => Bson::Document(document(u, depth - 1, KEYS)?),
    })
}

/// A document of up to four fields named from `keys`.
pub fn document(
    u: &mut Unstructured<'_>,
    depth: u32,
    keys: &[&str],
) -> arbitrary::Result<Document> {
    let mut doc = Document::new();
    for _ in 0..u.choose_index(5)? {
        doc.insert(pick(u, keys)?, value(u, depth)?);
    }
    Ok(doc)
}

/// Up to eight stored documents, `_id` 0, 1, 2, ... first.
pub fn collection(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<Document>> {
    let n = u.choose_index(9)?;
    (0..n)
        .map(|i| {
            let mut d = bson::doc! {"_id": i as i32};
            d.extend(document(u, 3, KEYS)?);
            Ok(d)
        })
        .collect()
}

/// A query filter: clauses on paths, logical operators and `$elemMatch`, `depth` deep.
pub fn filter(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Document> {
    let mut f = Document::new();
    for _ in 0..1 + u.choose_index(3)? {
        let logical = depth > 0 && u.ratio(1, 5)?;
        if logical {
            let op = pick(u, &["$and", "$or", "$nor"])?;
            let n = 1 + u.choose_index(3)?;
            let branches = (0..n)
                .map(|_| filter(u, depth - 1).map(Bson::Document))
                .collect::<arbitrary::Result<Vec<_>>>()?;
            f.insert(op, branches);
        } else {
            f.insert(pick(u, PATHS)?, condition(u, depth)?);
        }
    }
    Ok(f)
}

/// What a filter asks of one path: a value (equality) or an operator document.
pub fn condition(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Bson> {
    if u.ratio(1, 4)? {
        return value(u, 2);
    }
    let mut ops = Document::new();
    for _ in 0..1 + u.choose_index(2)? {
        let (name, arg) = match u.choose_index(12)? {
            0..=3 => (pick(u, COMPARISONS)?, value(u, 2)?),
            4 => (
                *u.choose(&["$in", "$nin", "$all"])?,
                Bson::Array(
                    (0..u.choose_index(4)?)
                        .map(|_| value(u, 1))
                        .collect::<arbitrary::Result<_>>()?,
                ),
            ),
            5 => ("$exists", Bson::Boolean(bool::arbitrary(u)?)),
            6 => (
                "$type",
                u.choose(&[
                    Bson::String("number".into()),
                    Bson::String("array".into()),
                    Bson::Int32(2),
                    Bson::Int32(3),
                    Bson::String("null".into()),
                ])?
                .clone(),
            ),
            7 => ("$size", Bson::Int32(u.choose_index(3)? as i32)),
            8 => (
                "$mod",
                Bson::Array(vec![
                    Bson::Int32(1 + u.choose_index(3)? as i32),
                    Bson::Int32(u.choose_index(2)? as i32),
                ]),
            ),
            9 => (
                "$regex",
                Bson::String(pick(u, &["^a", "b", "^$", "A"])?.to_owned()),
            ),
            10 if depth > 0 => (
                "$elemMatch",
                Bson::Document(if bool::arbitrary(u)? {
                    filter(u, depth - 1)?
                } else {
                    condition_doc(u)?
                }),
            ),
            10 => ("$eq", value(u, 1)?),
            _ if depth > 0 => ("$not", Bson::Document(condition_doc(u)?)),
            _ => ("$lt", value(u, 1)?),
        };
        ops.insert(name, arg);
    }
    Ok(Bson::Document(ops))
}

fn condition_doc(u: &mut Unstructured<'_>) -> arbitrary::Result<Document> {
    let mut d = Document::new();
    d.insert(pick(u, COMPARISONS)?, value(u, 1)?);
    Ok(d)
}

/// An aggregation expression: a path, a literal or an operator over expressions.
pub fn expression(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Bson> {
    Ok(match u.choose_index(if depth == 0 { 2 } else { 4 })? {
        0 => Bson::String(
            pick(
                u,
                &["$a", "$b", "$c", "$a.b", "$_id", "$$ROOT", "$$CURRENT.c"],
            )?
            .to_owned(),
        ),
        1 => value(u, 1)?,
        2 => {
            let args = (0..u.choose_index(4)?)
                .map(|_| expression(u, depth - 1))
                .collect::<arbitrary::Result<Vec<_>>>()?;
            let mut d = Document::new();
            d.insert(pick(u, EXPRESSIONS)?, args);
            Bson::Document(d)
        }
        _ => {
            // An object argument ($filter, $map, $let, $cond, ...): named parts.
            let mut args = Document::new();
            for _ in 0..u.choose_index(4)? {
                args.insert(pick(u, SPEC_KEYS)?, expression(u, depth - 1)?);
            }
            let mut d = Document::new();
            d.insert(pick(u, EXPRESSIONS)?, args);
            Bson::Document(d)
        }
    })
}

/// A specification of any shape for a stage or an operator: named parts holding values,
/// expressions or nested specifications.
pub fn spec(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Document> {
    let mut d = Document::new();
    for _ in 0..u.choose_index(4)? {
        let part = match u.choose_index(if depth == 0 { 2 } else { 3 })? {
            0 => value(u, 1)?,
            1 => expression(u, 2)?,
            _ => Bson::Document(spec(u, depth - 1)?),
        };
        d.insert(pick(u, SPEC_KEYS)?, part);
    }
    Ok(d)
}

/// A pipeline of up to four stages that need no other collection.
pub fn pipeline(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<Bson>> {
    (0..1 + u.choose_index(4)?)
        .map(|_| {
            let name = pick(u, STAGES)?;
            let arg = match name {
                "$match" => Bson::Document(filter(u, 2)?),
                "$limit" | "$skip" | "$sample" => Bson::Int32(i32::from(i8::arbitrary(u)?)),
                "$count" | "$unwind" | "$sortByCount" if bool::arbitrary(u)? => expression(u, 0)?,
                "$sort" => {
                    let mut s = Document::new();
                    for _ in 0..1 + u.choose_index(2)? {
                        s.insert(pick(u, PATHS)?, *u.choose(&[1, -1])?);
                    }
                    Bson::Document(s)
                }
                _ => Bson::Document(spec(u, 2)?),
            };
            let mut stage = Document::new();
            stage.insert(name, arg);
            Ok(Bson::Document(stage))
        })
        .collect()
}

/// An update document: up to three operators, each on up to two paths.
pub fn update(u: &mut Unstructured<'_>) -> arbitrary::Result<Document> {
    let mut d = Document::new();
    for _ in 0..1 + u.choose_index(3)? {
        let mut fields = Document::new();
        for _ in 0..1 + u.choose_index(2)? {
            let path = pick(
                u,
                &[
                    "a", "b", "c", "a.b", "a.0", "a.$", "a.$[]", "a.$[e]", "b.1.c", "_id", "x",
                ],
            )?;
            let arg = match u.choose_index(4)? {
                0 => Bson::Int32(i32::from(i8::arbitrary(u)?)),
                1 => Bson::String(pick(u, &["b", "c", "a.x", "z"])?.to_owned()),
                2 => {
                    let mut m = Document::new();
                    m.insert(
                        pick(
                            u,
                            &[
                                "$each",
                                "$slice",
                                "$sort",
                                "$position",
                                "$in",
                                "$gt",
                                "e",
                                "$type",
                            ],
                        )?,
                        value(u, 1)?,
                    );
                    Bson::Document(m)
                }
                _ => value(u, 2)?,
            };
            fields.insert(path, arg);
        }
        d.insert(pick(u, &UPDATE_OPERATORS)?, fields);
    }
    Ok(d)
}

/// A copy of `filter` with every level whose order MongoDB ignores reversed: the
/// clauses of the filter (and of each `$and`/`$or`/`$nor` branch and `$elemMatch`)
/// and the operators of each operator document. Values (embedded documents compared
/// for equality, whose order matters) are left as they are.
pub fn reorder_filter(filter: &Document) -> Document {
    reversed(filter)
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("$and" | "$or" | "$nor", Bson::Array(branches)) => Bson::Array(
                    branches
                        .iter()
                        .map(|b| match b {
                            Bson::Document(d) => Bson::Document(reorder_filter(d)),
                            other => other.clone(),
                        })
                        .collect(),
                ),
                (_, Bson::Document(ops))
                    if ops.keys().next().is_some_and(|k| k.starts_with('$')) =>
                {
                    Bson::Document(reorder_operators(&ops))
                }
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// A document's fields, last first (`Document`'s iterator only goes forward).
pub fn reversed(d: &Document) -> impl Iterator<Item = (&String, &Bson)> {
    d.iter().collect::<Vec<_>>().into_iter().rev()
}

fn reorder_operators(ops: &Document) -> Document {
    reversed(ops)
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("$elemMatch", Bson::Document(d))
                    if d.keys().next().is_some_and(|k| k.starts_with('$')) =>
                {
                    Bson::Document(reorder_operators(d))
                }
                ("$elemMatch", Bson::Document(d)) => Bson::Document(reorder_filter(d)),
                ("$not", Bson::Document(d)) => Bson::Document(reorder_operators(d)),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Whether the value holds `$expr` or a `$where`-like operator anywhere (whose answers
/// may read the whole document, field order included).
pub fn mentions_expr(v: &Bson) -> bool {
    match v {
        Bson::Document(d) => d.iter().any(|(k, v)| k == "$expr" || mentions_expr(v)),
        Bson::Array(items) => items.iter().any(mentions_expr),
        _ => false,
    }
}

/// The `_id`s (`int`s here) a `find` on collection `c` of database `db` returns, in
/// order; `None` when the query was refused.
pub fn found_ids(
    server: &mut CommandHarness,
    filter: &Document,
    hint: Option<Bson>,
) -> Option<Vec<Bson>> {
    let mut find = bson::doc! {"find": "c", "filter": filter.clone(), "batchSize": 1000};
    if let Some(hint) = hint {
        find.insert("hint", hint);
    }
    let reply = server.run("db", &find);
    let batch = reply
        .get_document("cursor")
        .ok()?
        .get_array("firstBatch")
        .ok()?;
    let mut ids: Vec<Bson> = batch
        .iter()
        .map(|d| {
            d.as_document()
                .and_then(|d| d.get("_id"))
                .cloned()
                .expect("an _id")
        })
        .collect();
    ids.sort_by_key(|id| id.as_i32());
    Some(ids)
}
