//! `$densify`: documents added where a sequence of numbers or dates has gaps.
//!
//! ```text
//! {$densify: {field: <path>, partitionByFields?: [<path>, ...],
//!             range: {step: <number>, unit?: <time unit>,
//!                     bounds: "full" | "partition" | [lower, upper]}}}
//! ```
//!
//! The values a range holds are `lower + k * step` (k = 0, 1, ...): from the explicit
//! `lower` up to but not including `upper`, from the smallest to the largest value of all
//! documents (`"full"`), or of each partition (`"partition"`). Each value of the range no
//! document of the partition holds becomes a new document with only the field and the
//! partition's fields. A document off the grid stays and generation resumes at the next
//! grid value above it. Documents whose field is null or missing pass through
//! untouched. Numbers keep their type as `$add` would (an int step over int values makes
//! ints); a date range steps by `unit`s as `$dateAdd` does (a month from January 31st is
//! February's last day).
//!
//! The output is ordered as mongod orders it: by the partition fields and the field
//! (by the field alone for `"full"`), null and missing first.

use std::cmp::Ordering;

use bson::{Bson, DateTime, Document};

use super::expr::add_time_units;
use super::pipeline::stage_error as error;
use crate::engine::arith::{self, Op, Outcome};
use crate::engine::compare::{OrderedBson, compare};
use crate::engine::path::{get_path, set_path};
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError};

#[derive(Clone, Debug)]
pub struct Densify {
    field: String,
    partitions: Vec<String>,
    step: Bson,
    /// For dates: the time unit and the whole number of them a step is.
    unit: Option<(String, i64)>,
    bounds: Bounds,
}

/// mongod's `internalQueryMaxAllowedDensifyDocs`: a range too fine for its bounds fails
/// instead of filling memory.
const MAX_GENERATED: usize = 500_000;

#[derive(Clone, Debug)]
enum Bounds {
    Full,
    Partition,
    /// `[lower, upper)`.
    Explicit(Box<(Bson, Bson)>),
}

fn failed(message: impl Into<String>) -> CommandError {
    CommandError::failed_to_parse(message)
}

impl Densify {
    pub fn parse(arg: &Bson) -> CmdResult<Densify> {
        let Bson::Document(spec) = arg else {
            return Err(failed(format!(
                "The $densify stage specification must be an object, found {}",
                type_name(arg)
            )));
        };
        let mut field = None;
        let mut partitions = Vec::new();
        let mut range = None;
        for (k, v) in spec {
            match (k.as_str(), v) {
                ("field", Bson::String(f)) => field = Some(field_path(f)?),
                ("partitionByFields", Bson::Array(items)) => {
                    for item in items {
                        let Bson::String(p) = item else {
                            return Err(CommandError::type_mismatch(
                                "BSON field '$densify.partitionByFields' must be an array of strings",
                            ));
                        };
                        partitions.push(field_path(p)?);
                    }
                }
                ("range", Bson::Document(r)) => range = Some(r),
                ("field" | "partitionByFields" | "range", other) => {
                    return Err(CommandError::type_mismatch(format!(
                        "BSON field '$densify.{k}' is the wrong type '{}'",
                        type_name(other)
                    )));
                }
                (other, _) => {
                    return Err(error(
                        40415,
                        format!("BSON field '$densify.{other}' is an unknown field."),
                    ));
                }
            }
        }
        let field = field.ok_or_else(|| {
            error(
                40414,
                "BSON field '$densify.field' is missing but a required field",
            )
        })?;
        let range = range.ok_or_else(|| {
            error(
                40414,
                "BSON field '$densify.range' is missing but a required field",
            )
        })?;
        for p in &partitions {
            if p.starts_with(field.as_str()) {
                return Err(error(
                    8993000,
                    format!(
                        "partitionByFields '{p}' cannot include field '{field}' that is being densified."
                    ),
                ));
            }
            if field.starts_with(p.as_str()) {
                return Err(error(
                    9554500,
                    format!(
                        "field '{field}' that is being densified cannot include partitionByFields '{p}'."
                    ),
                ));
            }
        }
        let step = range.get("step").cloned().ok_or_else(|| {
            error(
                40414,
                "BSON field '$densify.range.step' is missing but a required field",
            )
        })?;
        if !arith::is_number(&step) || compare(&step, &Bson::Int32(0)) != Ordering::Greater {
            return Err(error(
                5733401,
                "The step parameter in a range statement must be a strictly positive numeric value",
            ));
        }
        let unit = match range.get("unit") {
            None => None,
            Some(Bson::String(u)) => {
                let Some(whole) = arith::to_i64_exact(&step) else {
                    return Err(error(
                        6586400,
                        "The step parameter in a range statement must be a whole number when densifying a date range",
                    ));
                };
                // An unknown unit is refused here, before any document.
                add_time_units(0, u, 0)?;
                Some((u.clone(), whole))
            }
            Some(other) => {
                return Err(CommandError::type_mismatch(format!(
                    "BSON field '$densify.range.unit' is the wrong type '{}', expected type 'string'",
                    type_name(other)
                )));
            }
        };
        let bounds = match range.get("bounds") {
            Some(Bson::String(s)) if s == "full" => Bounds::Full,
            Some(Bson::String(s)) if s == "partition" => Bounds::Partition,
            Some(Bson::String(_)) => {
                return Err(error(
                    5946802,
                    "Bounds string must either be 'full' or 'partition'",
                ));
            }
            Some(Bson::Array(items)) => {
                let [lower, upper] = items.as_slice() else {
                    return Err(error(
                        5733403,
                        "A bounding array in a range statement must have exactly two elements",
                    ));
                };
                match (lower, upper) {
                    (Bson::DateTime(_), Bson::DateTime(_)) if unit.is_none() => {
                        return Err(error(
                            5733410,
                            "A bounding array of dates must specify a unit",
                        ));
                    }
                    (Bson::DateTime(_), Bson::DateTime(_)) => {}
                    (l, u) if arith::is_number(l) && arith::is_number(u) => {
                        if unit.is_some() {
                            return Err(error(
                                5733409,
                                "Numeric bounds may not have unit parameter",
                            ));
                        }
                    }
                    (l, _) if arith::is_number(l) || matches!(l, Bson::DateTime(_)) => {
                        return Err(error(
                            5733406,
                            "A bounding array must contain either both dates or both numeric types",
                        ));
                    }
                    _ => return Err(error(5946800, "Explicit bounds must be numeric or dates")),
                }
                if compare(lower, upper) == Ordering::Greater {
                    return Err(error(
                        5733402,
                        "A bounding array in a range statement must be sorted in ascending order",
                    ));
                }
                Bounds::Explicit(Box::new((lower.clone(), upper.clone())))
            }
            _ => {
                return Err(error(
                    5733404,
                    "The bounds in a range statement must be the string 'full', 'partition', or an ascending array of two numbers or two dates",
                ));
            }
        };
        if matches!(bounds, Bounds::Partition) && partitions.is_empty() {
            return Err(error(
                5733408,
                "One cannot specify the bounds as 'partition' without specifying a non-empty array of partitionByFields. You may have meant to specify 'full' bounds.",
            ));
        }
        Ok(Densify {
            field,
            partitions,
            step,
            unit,
            bounds,
        })
    }

    /// The next value of the range after `value`.
    fn next(&self, value: &Bson) -> CmdResult<Bson> {
        match (value, &self.unit) {
            (Bson::DateTime(d), Some((unit, step))) => {
                add_time_units(d.timestamp_millis(), unit, *step)
                    .map(|t| Bson::DateTime(DateTime::from_millis(t)))
            }
            _ => match arith::apply(Op::Add, value, &self.step) {
                Some(Outcome::Value(v)) => Ok(v),
                _ => Err(CommandError::bad_value(
                    "$densify went past the largest number",
                )),
            },
        }
    }

    /// The densified value of `doc`: a number, or a date when the range has a unit.
    fn value_of(&self, doc: &Document) -> CmdResult<Option<Bson>> {
        match get_path(doc, &self.field) {
            None | Some(Bson::Null) | Some(Bson::Undefined) => Ok(None),
            Some(v) if arith::is_number(v) && self.unit.is_none() => Ok(Some(v.clone())),
            Some(Bson::DateTime(d)) if self.unit.is_some() => Ok(Some(Bson::DateTime(*d))),
            Some(Bson::DateTime(_)) => Err(error(
                5733410,
                "Densify field type is a date, so the range must specify a unit",
            )),
            Some(v) if arith::is_number(v) => Err(error(
                6053600,
                "Densify field type is numeric, so the range must not specify a unit",
            )),
            Some(other) => Err(error(
                5733201,
                format!(
                    "Densify field type must be numeric or a date, found {}",
                    type_name(other)
                ),
            )),
        }
    }

    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        let mut made = 0;
        let mut untouched = Vec::new();
        // Partition key, value, document.
        let mut keyed: Vec<(Vec<Option<Bson>>, Bson, Document)> = Vec::new();
        for d in docs {
            match self.value_of(&d)? {
                None => untouched.push(d),
                Some(v) => {
                    let key = self
                        .partitions
                        .iter()
                        .map(|p| get_path(&d, p).cloned())
                        .collect();
                    keyed.push((key, v, d));
                }
            }
        }
        let full = matches!(self.bounds, Bounds::Full);
        let global = match (
            keyed.iter().map(|k| &k.1).min_by(|a, b| compare(a, b)),
            keyed.iter().map(|k| &k.1).max_by(|a, b| compare(a, b)),
        ) {
            (Some(lo), Some(hi)) => Some((lo.clone(), hi.clone())),
            _ => None,
        };
        keyed.sort_by(|a, b| {
            let by_partition =
                a.0.iter()
                    .zip(&b.0)
                    .map(|(x, y)| compare_optional(x, y))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal);
            by_partition.then_with(|| compare(&a.1, &b.1))
        });
        let mut out = untouched;
        let mut start = 0;
        while start < keyed.len() {
            let end = start
                + keyed[start..]
                    .iter()
                    .take_while(|k| k.0 == keyed[start].0)
                    .count();
            let partition = &keyed[start..end];
            let (lower, upper, inclusive) = match &self.bounds {
                Bounds::Explicit(b) => (b.0.clone(), b.1.clone(), false),
                Bounds::Partition => (
                    partition[0].1.clone(),
                    partition[partition.len() - 1].1.clone(),
                    true,
                ),
                Bounds::Full => match &global {
                    Some((l, u)) => (l.clone(), u.clone(), true),
                    None => break,
                },
            };
            self.fill_partition(partition, (&lower, &upper, inclusive), &mut out, &mut made)?;
            start = end;
        }
        if full {
            // "full" orders by the field alone, across partitions.
            let field = self.field.clone();
            out.sort_by(|a, b| {
                compare_optional(&get_path(a, &field).cloned(), &get_path(b, &field).cloned())
            });
        }
        Ok(out)
    }

    /// One partition's documents (sorted by value) with the range's missing values added.
    fn fill_partition(
        &self,
        partition: &[(Vec<Option<Bson>>, Bson, Document)],
        (lower, upper, inclusive): (&Bson, &Bson, bool),
        out: &mut Vec<Document>,
        made: &mut usize,
    ) -> CmdResult<()> {
        let in_range = |v: &Bson| match compare(v, upper) {
            Ordering::Less => true,
            Ordering::Equal => inclusive,
            Ordering::Greater => false,
        };
        let mut current = lower.clone();
        for (key, value, doc) in partition {
            while compare(&current, value) == Ordering::Less && in_range(&current) {
                out.push(self.generated(key, &current, made)?);
                current = self.next(&current)?;
            }
            // A document on the grid covers its value; one past the grid value resumes it.
            while compare(&current, value) != Ordering::Greater
                && compare(value, lower) != Ordering::Less
                && in_range(&current)
            {
                current = self.next(&current)?;
            }
            out.push(doc.clone());
        }
        while in_range(&current) {
            out.push(self.generated(&partition[0].0, &current, made)?);
            current = self.next(&current)?;
        }
        Ok(())
    }

    /// A new document: the partition's fields and the value.
    fn generated(
        &self,
        key: &[Option<Bson>],
        value: &Bson,
        made: &mut usize,
    ) -> CmdResult<Document> {
        *made += 1;
        let made = *made;
        if made > MAX_GENERATED {
            return Err(error(
                5897900,
                format!(
                    "Generated {made} documents in $densify, which is over the limit of {MAX_GENERATED}. Increase the 'internalQueryMaxAllowedDensifyDocs' parameter to allow more generated documents"
                ),
            ));
        }
        let mut d = Document::new();
        for (path, v) in self.partitions.iter().zip(key) {
            if let Some(v) = v {
                set_path(&mut d, path, v.clone())
                    .map_err(|e| CommandError::bad_value(format!("$densify: {e:?}")))?;
            }
        }
        set_path(&mut d, &self.field, value.clone())
            .map_err(|e| CommandError::bad_value(format!("$densify: {e:?}")))?;
        Ok(d)
    }
}

fn compare_optional(a: &Option<Bson>, b: &Option<Bson>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => OrderedBson(x.clone()).cmp(&OrderedBson(y.clone())),
    }
}

/// A field path as `$densify` takes it: no `$` prefix.
fn field_path(path: &str) -> CmdResult<String> {
    if path.starts_with('$') {
        return Err(error(
            16410,
            "FieldPath field names may not start with '$'. Consider using $getField or $setField.",
        ));
    }
    crate::depth::check_field_path(path)?;
    Ok(path.to_string())
}
