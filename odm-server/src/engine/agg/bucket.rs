//! `$bucket` and `$bucketAuto`: documents grouped into ranges of a value.
//!
//! ```text
//! {$bucket: {groupBy: <expression>, boundaries: [b0, b1, ...], default?: <literal>,
//!            output?: {field: {<accumulator>: <expression>}, ...}}}
//! {$bucketAuto: {groupBy: <expression>, buckets: n, output?: {...}}}
//! ```
//!
//! `$bucketAuto` sorts the documents by their `groupBy` value (missing is null) and cuts
//! them into at most `n` buckets of about the same size, never splitting equal values;
//! each bucket's `_id` is `{min, max}`, `max` being the next bucket's `min` (the last
//! one's largest value).
//!
//! A document whose `groupBy` value `v` has `b[i] <= v < b[i+1]` goes to the bucket whose
//! `_id` is `b[i]`; any other value goes to the `default` bucket (an error without one).
//! Buckets come out in boundary order, the default one where its `_id` sorts among them,
//! and empty buckets are left out. Without `output` each bucket counts its documents.

use std::cmp::Ordering;

use bson::{Bson, Document, doc};

use super::accumulate::{Accumulator, AccumulatorKind, AccumulatorSpec};
use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::granularity::Granularity;
use super::grouping::{accumulate, group_result, new_accumulators, parse_accumulators};
use super::pipeline::stage_error as error;
use crate::engine::arith;
use crate::engine::collation::compare;
use crate::engine::compare::type_rank;
use crate::engine::types::type_name;
use crate::error::CmdResult;

#[derive(Clone, Debug)]
pub struct Bucket {
    group_by: Expression,
    boundaries: Vec<Bson>,
    default: Option<Bson>,
    output: Vec<(String, AccumulatorSpec)>,
}

impl Bucket {
    pub fn parse(arg: &Bson) -> CmdResult<Bucket> {
        let Bson::Document(spec) = arg else {
            return Err(error(
                40201,
                format!(
                    "Argument to $bucket stage must be an object, but found type: {}.",
                    type_name(arg)
                ),
            ));
        };
        let (mut group_by, mut boundaries, mut default, mut output) = (None, None, None, None);
        for (name, value) in spec {
            match name.as_str() {
                "groupBy" => {
                    let ok = matches!(value, Bson::String(s) if s.starts_with('$'))
                        || matches!(value, Bson::Document(_));
                    if !ok {
                        return Err(error(
                            40202,
                            format!(
                                "The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, but found: {value}."
                            ),
                        ));
                    }
                    group_by = Some(expr::parse(value)?);
                }
                "boundaries" => {
                    let Bson::Array(items) = value else {
                        return Err(error(
                            40200,
                            format!(
                                "The $bucket 'boundaries' field must be an array, but found type: {}.",
                                type_name(value)
                            ),
                        ));
                    };
                    boundaries = Some(items.clone());
                }
                "default" => default = Some(value.clone()),
                "output" => {
                    let Bson::Document(fields) = value else {
                        return Err(error(
                            40196,
                            format!(
                                "The $bucket 'output' field must be an object, but found type: {}.",
                                type_name(value)
                            ),
                        ));
                    };
                    output = Some(parse_accumulators(fields, "")?);
                }
                other => {
                    return Err(error(
                        40197,
                        format!("Unrecognized option to $bucket: {other}."),
                    ));
                }
            }
        }
        let (Some(group_by), Some(boundaries)) = (group_by, boundaries) else {
            return Err(error(
                40198,
                "$bucket requires 'groupBy' and 'boundaries' to be specified.",
            ));
        };
        check_boundaries(&boundaries, default.as_ref())?;
        Ok(Bucket {
            group_by,
            boundaries,
            default,
            output: output.unwrap_or_else(count_output),
        })
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.group_by.bind(vars);
        self.output.iter_mut().for_each(|(_, spec)| spec.bind(vars));
    }

    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        // One slot per bucket, then the default one.
        let mut slots: Vec<Option<Vec<Accumulator>>> = vec![None; self.boundaries.len()];
        for d in &docs {
            let mut scope = Scope::new(d);
            let value = self.group_by.evaluate(&mut scope)?.unwrap_or(Bson::Null);
            let slot = match self.bucket_of(&value) {
                Some(i) => i,
                None if self.default.is_some() => self.boundaries.len() - 1,
                None => {
                    return Err(error(
                        40066,
                        format!(
                            "$switch could not find a matching branch for an input, and no default was specified. ($bucket groupBy value: {value})"
                        ),
                    ));
                }
            };
            let accs = match &mut slots[slot] {
                Some(accs) => accs,
                empty => empty.insert(new_accumulators(&self.output, &Bson::Null)?),
            };
            accumulate(&self.output, accs, &mut scope)?;
        }
        // The last slot (one past the last lower bound) holds the default bucket.
        let mut out: Vec<(Bson, Vec<Accumulator>)> = Vec::new();
        for (i, slot) in slots.into_iter().enumerate() {
            let Some(accs) = slot else { continue };
            let id = if i + 1 == self.boundaries.len() {
                self.default.clone().unwrap_or(Bson::Null)
            } else {
                self.boundaries[i].clone()
            };
            out.push((id, accs));
        }
        out.sort_by(|a, b| compare(&a.0, &b.0));
        Ok(out
            .into_iter()
            .map(|(id, accs)| group_result(id, &self.output, accs))
            .collect())
    }

    /// The index of the lower bound of the bucket holding `value`, if one does.
    fn bucket_of(&self, value: &Bson) -> Option<usize> {
        let b = &self.boundaries;
        if type_rank(value) != type_rank(&b[0]) {
            return None;
        }
        // The first boundary greater than the value closes its bucket.
        let above = b.partition_point(|x| compare(x, value) != Ordering::Greater);
        (above > 0 && above < b.len()).then(|| above - 1)
    }
}

#[derive(Clone, Debug)]
pub struct BucketAuto {
    group_by: Expression,
    buckets: usize,
    output: Vec<(String, AccumulatorSpec)>,
    granularity: Option<Granularity>,
}

impl BucketAuto {
    pub fn parse(arg: &Bson) -> CmdResult<BucketAuto> {
        let Bson::Document(spec) = arg else {
            return Err(error(
                40240,
                format!(
                    "The argument to $bucketAuto must be an object, but found type: {}",
                    type_name(arg)
                ),
            ));
        };
        let (mut group_by, mut buckets, mut output, mut granularity) = (None, None, None, None);
        for (name, value) in spec {
            match name.as_str() {
                "groupBy" => {
                    let ok = matches!(value, Bson::String(s) if s.starts_with('$'))
                        || matches!(value, Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')));
                    if !ok {
                        return Err(error(
                            40239,
                            format!(
                                "The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: {value}"
                            ),
                        ));
                    }
                    group_by = Some(expr::parse(value)?);
                }
                "buckets" => {
                    if !matches!(
                        value,
                        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
                    ) {
                        return Err(error(
                            40241,
                            format!(
                                "The $bucketAuto 'buckets' field must be a numeric value, but found type: {}",
                                type_name(value)
                            ),
                        ));
                    }
                    let n = crate::engine::arith::to_i64_exact(value)
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| {
                            error(40242, format!("The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found {value}"))
                        })?;
                    if n <= 0 {
                        return Err(error(
                            40243,
                            format!(
                                "The $bucketAuto 'buckets' field must be greater than 0, but found: {n}"
                            ),
                        ));
                    }
                    buckets = Some(n as usize);
                }
                "output" => {
                    let Bson::Document(fields) = value else {
                        return Err(error(
                            40244,
                            format!(
                                "The $bucketAuto 'output' field must be an object, but found type: {}",
                                type_name(value)
                            ),
                        ));
                    };
                    output = Some(parse_accumulators(fields, "")?);
                }
                "granularity" => {
                    let found = match value {
                        Bson::String(name) => Granularity::parse(name),
                        _ => None,
                    };
                    granularity = Some(found.ok_or_else(|| {
                        error(40257, format!("Unknown rounding granularity '{value}'"))
                    })?);
                }
                other => {
                    return Err(error(
                        40245,
                        format!("Unrecognized option to $bucketAuto: {other}"),
                    ));
                }
            }
        }
        let (Some(group_by), Some(buckets)) = (group_by, buckets) else {
            return Err(error(
                40246,
                "$bucketAuto requires 'groupBy' and 'buckets' to be specified",
            ));
        };
        Ok(BucketAuto {
            group_by,
            buckets,
            output: output.unwrap_or_else(count_output),
            granularity,
        })
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.group_by.bind(vars);
        self.output.iter_mut().for_each(|(_, spec)| spec.bind(vars));
    }

    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        let mut keyed = Vec::with_capacity(docs.len());
        for d in docs {
            let key = self
                .group_by
                .evaluate(&mut Scope::new(&d))?
                .unwrap_or(Bson::Null);
            keyed.push((key, d));
        }
        keyed.sort_by(|a, b| compare(&a.0, &b.0));
        let size = ((keyed.len() as f64 / self.buckets as f64).round() as usize).max(1);
        // Each bucket: its lower and upper boundary and its accumulators.
        let mut made: Vec<(Bson, Bson, Vec<Accumulator>)> = Vec::new();
        let mut rest = keyed.into_iter().peekable();
        while made.len() < self.buckets {
            let Some((first, d)) = rest.next() else { break };
            let last_bucket = made.len() + 1 == self.buckets;
            let mut accs = new_accumulators(&self.output, &Bson::Null)?;
            let min = match (&self.granularity, made.last()) {
                (Some(_), Some((_, previous_max, _))) => previous_max.clone(),
                (Some(g), None) => g.round_down(&first)?,
                (None, _) => first.clone(),
            };
            let mut max = first;
            accumulate(&self.output, &mut accs, &mut Scope::new(&d))?;
            let mut taken = 1;
            while rest.peek().is_some() && (last_bucket || taken < size) {
                let Some((key, d)) = rest.next() else { break };
                accumulate(&self.output, &mut accs, &mut Scope::new(&d))?;
                max = key;
                taken += 1;
            }
            // Values the boundary takes in: equal to the last one, or (with a granularity)
            // below the rounded boundary.
            let boundary = match &self.granularity {
                Some(g) => Some(g.round_up(&max)?),
                None => None,
            };
            while let Some((key, _)) = rest.peek() {
                let absorbed = match &boundary {
                    Some(b) => compare(b, key) == Ordering::Greater || compare(&max, key).is_eq(),
                    None => compare(&max, key).is_eq(),
                };
                if !absorbed {
                    break;
                }
                let Some((key, d)) = rest.next() else { break };
                accumulate(&self.output, &mut accs, &mut Scope::new(&d))?;
                max = key;
            }
            // The upper boundary: the rounded one, else the next bucket's first value (the
            // last bucket keeps its largest value, inclusive).
            let upper = match (boundary, rest.peek()) {
                (Some(b), Some((next, _))) if arith::to_f64(&b) == Some(0.0) => self
                    .granularity
                    .as_ref()
                    .map_or(Ok(b.clone()), |g| g.round_down(next))?,
                (Some(b), _) => b,
                (None, Some((next, _))) => next.clone(),
                (None, None) => max,
            };
            made.push((min, upper, accs));
        }
        Ok(made
            .into_iter()
            .map(|(min, max, accs)| {
                group_result(
                    Bson::Document(doc! {"min": min, "max": max}),
                    &self.output,
                    accs,
                )
            })
            .collect())
    }
}

/// Without `output`, a bucket counts its documents.
fn count_output() -> Vec<(String, AccumulatorSpec)> {
    vec![(
        "count".into(),
        AccumulatorSpec::simple(AccumulatorKind::Sum, Expression::Literal(Bson::Int32(1))),
    )]
}

fn check_boundaries(b: &[Bson], default: Option<&Bson>) -> CmdResult<()> {
    if b.len() < 2 {
        return Err(error(
            40192,
            format!(
                "The $bucket 'boundaries' field must have at least 2 values, but found {} value(s).",
                b.len()
            ),
        ));
    }
    for pair in b.windows(2) {
        if type_rank(&pair[0]) != type_rank(&pair[1]) {
            return Err(error(
                40193,
                format!(
                    "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types {} and {}.",
                    type_name(&pair[0]),
                    type_name(&pair[1])
                ),
            ));
        }
        if compare(&pair[0], &pair[1]) != Ordering::Less {
            return Err(error(
                40194,
                format!(
                    "The 'boundaries' option to $bucket must be sorted in ascending order, but elements {} and {} are not in ascending order ({} is not less than {}).",
                    pair[0], pair[1], pair[0], pair[1]
                ),
            ));
        }
    }
    if let Some(d) = default
        && type_rank(d) == type_rank(&b[0])
        && compare(d, &b[0]) != Ordering::Less
        && compare(d, &b[b.len() - 1]) == Ordering::Less
    {
        return Err(error(
            40199,
            "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::agg::pipeline::Pipeline;

    fn run(spec: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(doc! {"$bucket": spec})])?.run(docs)
    }

    fn prices() -> Vec<Document> {
        [5.0, 15.5, 120.0, 99.0, 0.0, 250.0]
            .into_iter()
            .map(|p: f64| doc! {"price": p})
            .chain([doc! {"price": "n/a"}, doc! {}])
            .collect()
    }

    #[test]
    fn buckets_by_range_with_a_default() {
        let out = run(
            doc! {"groupBy": "$price", "boundaries": [0, 100, 200], "default": "Other",
            "output": {"n": {"$sum": 1}, "max": {"$max": "$price"}}},
            prices(),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"_id": 0, "n": 4, "max": 99.0},
                doc! {"_id": 100, "n": 1, "max": 120.0},
                // Strings sort above numbers: "n/a" is the largest value there.
                doc! {"_id": "Other", "n": 3, "max": "n/a"},
            ]
        );
    }

    #[test]
    fn counts_without_output_and_needs_a_default_for_outsiders() {
        let inside = vec![doc! {"p": 1}, doc! {"p": 2}, doc! {"p": 12}];
        let out = run(doc! {"groupBy": "$p", "boundaries": [0, 10, 20]}, inside).unwrap();
        assert_eq!(
            out,
            vec![doc! {"_id": 0, "count": 2}, doc! {"_id": 10, "count": 1}]
        );
        let err = run(doc! {"groupBy": "$price", "boundaries": [0, 10]}, prices()).unwrap_err();
        assert_eq!(err.code.code(), 40066);
    }

    fn auto(spec: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(doc! {"$bucketAuto": spec})])?.run(docs)
    }

    #[test]
    fn bucket_auto_cuts_even_buckets_without_splitting_equal_values() {
        let docs: Vec<Document> = [1, 2, 2, 2, 3, 4, 5, 6, 7, 8]
            .into_iter()
            .map(|p| doc! {"p": p})
            .collect();
        let out = auto(doc! {"groupBy": "$p", "buckets": 3}, docs.clone()).unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"_id": {"min": 1, "max": 3}, "count": 4},
                doc! {"_id": {"min": 3, "max": 6}, "count": 3},
                doc! {"_id": {"min": 6, "max": 8}, "count": 3},
            ]
        );
        // More buckets than documents: one each.
        let out = auto(
            doc! {"groupBy": "$p", "buckets": 20, "output": {"n": {"$sum": 1}}},
            docs[..2].to_vec(),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"_id": {"min": 1, "max": 2}, "n": 1},
                doc! {"_id": {"min": 2, "max": 2}, "n": 1}
            ]
        );
        assert_eq!(
            auto(doc! {"groupBy": "$p", "buckets": 0}, vec![])
                .unwrap_err()
                .code
                .code(),
            40243
        );
        assert_eq!(
            auto(doc! {"groupBy": "p", "buckets": 2}, vec![])
                .unwrap_err()
                .code
                .code(),
            40239
        );
        assert_eq!(
            auto(doc! {"buckets": 2}, vec![]).unwrap_err().code.code(),
            40246
        );
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        for (spec, code) in [
            (doc! {"groupBy": "$p", "boundaries": [0]}, 40192),
            (doc! {"groupBy": "$p", "boundaries": [0, "a"]}, 40193),
            (doc! {"groupBy": "$p", "boundaries": [5, 1]}, 40194),
            (
                doc! {"groupBy": "$p", "boundaries": [0, 10], "default": 5},
                40199,
            ),
            (doc! {"groupBy": "p", "boundaries": [0, 10]}, 40202),
            (doc! {"boundaries": [0, 10]}, 40198),
            (doc! {"groupBy": "$p", "boundaries": [0, 10], "x": 1}, 40197),
        ] {
            assert_eq!(
                run(spec.clone(), vec![]).unwrap_err().code.code(),
                code,
                "{spec}"
            );
        }
    }
}
