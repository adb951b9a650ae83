//! `$bucket`: documents grouped into ranges of a value.
//!
//! ```text
//! {$bucket: {groupBy: <expression>, boundaries: [b0, b1, ...], default?: <literal>,
//!            output?: {field: {<accumulator>: <expression>}, ...}}}
//! ```
//!
//! A document whose `groupBy` value `v` has `b[i] <= v < b[i+1]` goes to the bucket whose
//! `_id` is `b[i]`; any other value goes to the `default` bucket (an error without one).
//! Buckets come out in boundary order, the default one where its `_id` sorts among them,
//! and empty buckets are left out. Without `output` each bucket counts its documents.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::accumulate::{Accumulator, AccumulatorKind};
use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::pipeline::{group_result, new_accumulators, parse_accumulators};
use crate::engine::compare::{compare, type_rank};
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError, ErrorCode};

#[derive(Clone, Debug)]
pub struct Bucket {
    group_by: Expression,
    boundaries: Vec<Bson>,
    default: Option<Bson>,
    output: Vec<(String, AccumulatorKind, Expression)>,
}

fn error(code: i32, msg: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::Location(code), msg)
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
            output: output.unwrap_or_else(|| {
                vec![(
                    "count".into(),
                    AccumulatorKind::Sum,
                    Expression::Literal(Bson::Int32(1)),
                )]
            }),
        })
    }

    pub fn bind(&mut self, vars: &Vars) {
        self.group_by.bind(vars);
        self.output.iter_mut().for_each(|(_, _, e)| e.bind(vars));
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
            let accs = slots[slot].get_or_insert_with(|| new_accumulators(&self.output));
            for ((_, _, e), acc) in self.output.iter().zip(accs.iter_mut()) {
                acc.add(e.evaluate(&mut scope)?);
            }
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
    use bson::doc;

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
