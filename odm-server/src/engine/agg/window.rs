//! `$setWindowFields`: values computed over a window of neighbouring documents.
//!
//! ```text
//! {$setWindowFields: {partitionBy?: <expression>, sortBy?: {field: 1 | -1, ...},
//!   output: {field: {<function>: <argument>,
//!                    window?: {documents: [lower, upper]} | {range: [lower, upper]}}}}}
//! ```
//!
//! Documents are grouped by `partitionBy` and ordered by the partition value, then
//! `sortBy`; they come out in that order. For each document a function sees the
//! documents of its window within its partition:
//!
//! - `documents: [l, u]`: positions relative to the current one (`"current"` is 0,
//!   `"unbounded"` the partition's end);
//! - `range: [l, u]`: documents whose `sortBy` value lies within the current value plus
//!   `l` and plus `u` (one numeric `sortBy` field); `"current"` there is the current
//!   document's position;
//! - no window: the whole partition.
//!
//! Functions: the accumulators (`$sum $avg $min $max $count $push $addToSet $first $last
//! $stdDevPop $stdDevSamp`) over the window; `$rank`, `$denseRank`, `$documentNumber`
//! and `$shift` by position in the sorted partition; `$locf` (the last non-null value so
//! far). The others are refused as not supported yet.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::accumulate::{Accumulator, AccumulatorKind};
use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::join::set_overwriting;
use super::pipeline::stage_error as error;
use crate::engine::arith;
use crate::engine::compare::compare;
use crate::engine::sort::SortSpec;
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError};

#[derive(Clone, Debug)]
pub struct SetWindowFields {
    partition_by: Option<Expression>,
    sort_by: Option<SortSpec>,
    output: Vec<Output>,
}

#[derive(Clone, Debug)]
struct Output {
    path: String,
    function: Function,
    window: Window,
}

#[derive(Clone, Debug)]
enum Function {
    Accumulate(AccumulatorKind, Expression),
    StdDev {
        sample: bool,
        arg: Expression,
    },
    Rank,
    DenseRank,
    DocumentNumber,
    Shift {
        output: Expression,
        by: i64,
        default: Option<Expression>,
    },
    Locf(Expression),
    /// Nulls and missing values filled on the straight line between the nearest
    /// numbers before and after, by the `sortBy` value.
    LinearFill(Expression),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    Unbounded,
    Current,
    Offset(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Window {
    Partition,
    Documents(Bound, Bound),
    Range(Bound, Bound),
}

impl SetWindowFields {
    pub fn parse(arg: &Bson) -> CmdResult<SetWindowFields> {
        let Bson::Document(spec) = arg else {
            return Err(CommandError::type_mismatch(format!(
                "the $setWindowFields stage specification must be an object, found {}",
                type_name(arg)
            )));
        };
        let (mut partition_by, mut sort_by, mut output) = (None, None, None);
        for (name, value) in spec {
            match name.as_str() {
                "partitionBy" => partition_by = Some(expr::parse(value)?),
                "sortBy" => {
                    let Bson::Document(s) = value else {
                        return Err(CommandError::type_mismatch(format!(
                            "BSON field '$setWindowFields.sortBy' is the wrong type '{}', expected type 'object'",
                            type_name(value)
                        )));
                    };
                    sort_by = Some(SortSpec::parse(s)?);
                }
                "output" => {
                    let Bson::Document(o) = value else {
                        return Err(CommandError::type_mismatch(format!(
                            "BSON field '$setWindowFields.output' is the wrong type '{}', expected type 'object'",
                            type_name(value)
                        )));
                    };
                    output = Some(o.clone());
                }
                other => {
                    return Err(error(
                        40415,
                        format!("BSON field '$setWindowFields.{other}' is an unknown field."),
                    ));
                }
            }
        }
        let Some(output) = output else {
            return Err(error(
                40414,
                "BSON field '$setWindowFields.output' is missing but a required field",
            ));
        };
        let mut outputs = Vec::with_capacity(output.len());
        for (path, spec) in &output {
            crate::depth::check_field_path(path)?;
            outputs.push(parse_output(path, spec, sort_by.as_ref())?);
        }
        Ok(SetWindowFields {
            partition_by,
            sort_by,
            output: outputs,
        })
    }

    /// The window stage `$fill` runs for its `method` outputs: each field filled from
    /// itself, by the last value before (`locf`) or on the line between its neighbours
    /// (`linear`).
    pub(super) fn filling(
        partition_by: Option<Expression>,
        sort_by: Option<SortSpec>,
        fields: &[(String, bool)],
    ) -> CmdResult<SetWindowFields> {
        let mut output = Vec::with_capacity(fields.len());
        for (path, linear) in fields {
            let own = Expression::Path(path.split('.').map(str::to_string).collect());
            let function = if *linear {
                if sort_by.as_ref().is_none_or(|s| s.fields.len() != 1) {
                    return Err(error(
                        605001,
                        "$fill with method 'linear' requires a sortBy of exactly one field",
                    ));
                }
                Function::LinearFill(own)
            } else {
                Function::Locf(own)
            };
            output.push(Output {
                path: path.clone(),
                function,
                window: Window::Partition,
            });
        }
        Ok(SetWindowFields {
            partition_by,
            sort_by,
            output,
        })
    }

    pub fn bind(&mut self, vars: &Vars) {
        if let Some(p) = &mut self.partition_by {
            p.bind(vars);
        }
        for o in &mut self.output {
            match &mut o.function {
                Function::Accumulate(_, e)
                | Function::StdDev { arg: e, .. }
                | Function::Locf(e)
                | Function::LinearFill(e) => e.bind(vars),
                Function::Shift {
                    output, default, ..
                } => {
                    output.bind(vars);
                    if let Some(d) = default {
                        d.bind(vars);
                    }
                }
                Function::Rank | Function::DenseRank | Function::DocumentNumber => {}
            }
        }
    }

    pub fn run(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        // (partition key, document), ordered by the key, then by `sortBy`.
        let mut keyed = Vec::with_capacity(docs.len());
        for d in docs {
            let key = match &self.partition_by {
                Some(p) => p.evaluate(&mut Scope::new(&d))?.unwrap_or(Bson::Null),
                None => Bson::Null,
            };
            keyed.push((key, d));
        }
        keyed.sort_by(|a, b| {
            compare(&a.0, &b.0).then_with(|| match &self.sort_by {
                Some(s) => s.compare(&a.1, &b.1),
                None => Ordering::Equal,
            })
        });
        let mut out = Vec::with_capacity(keyed.len());
        let mut start = 0;
        while start < keyed.len() {
            let end = start
                + keyed[start..]
                    .iter()
                    .take_while(|(k, _)| compare(k, &keyed[start].0) == Ordering::Equal)
                    .count();
            let partition: Vec<Document> =
                keyed[start..end].iter().map(|(_, d)| d.clone()).collect();
            out.extend(self.run_partition(partition)?);
            start = end;
        }
        Ok(out)
    }

    fn run_partition(&self, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        let mut values: Vec<Vec<Option<Bson>>> = Vec::with_capacity(self.output.len());
        for o in &self.output {
            values.push(self.compute(o, &docs)?);
        }
        let mut out = docs;
        for (o, column) in self.output.iter().zip(values) {
            for (d, v) in out.iter_mut().zip(column) {
                set_overwriting(d, &o.path, v.unwrap_or(Bson::Null));
            }
        }
        Ok(out)
    }

    /// One output field's value for every document of a partition.
    fn compute(&self, o: &Output, docs: &[Document]) -> CmdResult<Vec<Option<Bson>>> {
        let n = docs.len();
        match &o.function {
            Function::DocumentNumber => Ok((1..=n as i64).map(|i| Some(Bson::Int64(i))).collect()),
            Function::Rank | Function::DenseRank => {
                let sort = self.sort_by.as_ref().expect("checked when parsed");
                let mut out = Vec::with_capacity(n);
                let mut dense = 0;
                for i in 0..n {
                    let tied = i > 0 && sort.compare(&docs[i - 1], &docs[i]) == Ordering::Equal;
                    if !tied {
                        dense += 1;
                    }
                    let rank = match (&o.function, tied) {
                        (Function::DenseRank, _) => dense,
                        (_, true) => match out.last() {
                            Some(Some(Bson::Int64(r))) => *r,
                            _ => i as i64 + 1,
                        },
                        (_, false) => i as i64 + 1,
                    };
                    out.push(Some(Bson::Int64(rank)));
                }
                Ok(out)
            }
            Function::Shift {
                output,
                by,
                default,
            } => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let j = i as i64 + by;
                    let v = if (0..n as i64).contains(&j) {
                        output.evaluate(&mut Scope::new(&docs[j as usize]))?
                    } else {
                        match default {
                            Some(d) => d.evaluate(&mut Scope::new(&docs[i]))?,
                            None => Some(Bson::Null),
                        }
                    };
                    out.push(Some(v.unwrap_or(Bson::Null)));
                }
                Ok(out)
            }
            Function::LinearFill(e) => {
                let ys = evaluate_all(e, docs)?;
                let xs = docs
                    .iter()
                    .map(|d| self.sort_value(d, true))
                    .collect::<CmdResult<Vec<f64>>>()?;
                let known: Vec<usize> = (0..n).filter(|i| is_number(&ys[*i])).collect();
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    if is_number(&ys[i]) || !matches!(ys[i], None | Some(Bson::Null)) {
                        out.push(ys[i].clone());
                        continue;
                    }
                    let before = known.iter().rev().find(|k| **k < i);
                    let after = known.iter().find(|k| **k > i);
                    out.push(Some(match (before, after) {
                        (Some(&a), Some(&b)) => {
                            let ya = ys[a].as_ref().and_then(arith::to_f64).unwrap_or(f64::NAN);
                            let yb = ys[b].as_ref().and_then(arith::to_f64).unwrap_or(f64::NAN);
                            Bson::Double(ya + (yb - ya) * (xs[i] - xs[a]) / (xs[b] - xs[a]))
                        }
                        _ => Bson::Null,
                    }));
                }
                Ok(out)
            }
            Function::Locf(e) => {
                let mut last = Bson::Null;
                let mut out = Vec::with_capacity(n);
                for d in docs {
                    match e.evaluate(&mut Scope::new(d))? {
                        Some(Bson::Null) | None => {}
                        Some(v) => last = v,
                    }
                    out.push(Some(last.clone()));
                }
                Ok(out)
            }
            Function::Accumulate(kind, e) => {
                let args = evaluate_all(e, docs)?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (lo, hi) = self.bounds(o.window, docs, i)?;
                    let mut acc = Accumulator::new(*kind);
                    if lo <= hi {
                        for v in &args[lo..=hi] {
                            acc.add(v.clone());
                        }
                    }
                    out.push(Some(acc.finish()));
                }
                Ok(out)
            }
            Function::StdDev { sample, arg } => {
                let args = evaluate_all(arg, docs)?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (lo, hi) = self.bounds(o.window, docs, i)?;
                    let xs: Vec<f64> = if lo <= hi {
                        args[lo..=hi]
                            .iter()
                            .flatten()
                            .filter(|v| {
                                matches!(
                                    v,
                                    Bson::Int32(_)
                                        | Bson::Int64(_)
                                        | Bson::Double(_)
                                        | Bson::Decimal128(_)
                                )
                            })
                            .filter_map(arith::to_f64)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    out.push(Some(std_dev(&xs, *sample)));
                }
                Ok(out)
            }
        }
    }

    /// The numeric value of the (single) `sortBy` field, which range windows and
    /// `$linearFill` measure distances with.
    fn sort_value(&self, d: &Document, allow_dates: bool) -> CmdResult<f64> {
        let field = self
            .sort_by
            .as_ref()
            .and_then(|s| s.fields.first())
            .map(|(f, _)| f.as_str())
            .unwrap_or("");
        match crate::engine::path::get_path(d, field) {
            Some(v) if is_number(&Some(v.clone())) => Ok(arith::to_f64(v).unwrap_or(f64::NAN)),
            Some(Bson::DateTime(t)) if allow_dates => Ok(t.timestamp_millis() as f64),
            other => Err(error(
                5429413,
                format!(
                    "Invalid range: Expected the sortBy field to be a number, but it was {}",
                    other.map_or("missing", type_name)
                ),
            )),
        }
    }

    /// The first and last index of the window of document `i` (empty when first > last).
    fn bounds(&self, window: Window, docs: &[Document], i: usize) -> CmdResult<(usize, usize)> {
        let n = docs.len();
        let last = n.saturating_sub(1);
        Ok(match window {
            Window::Partition => (0, last),
            Window::Documents(l, u) => {
                let at = |b: Bound, unbounded: i64| -> i64 {
                    match b {
                        Bound::Unbounded => unbounded,
                        Bound::Current => i as i64,
                        Bound::Offset(k) => i as i64 + k as i64,
                    }
                };
                let lo = at(l, 0).max(0);
                let hi = at(u, last as i64).min(last as i64);
                if lo > hi || n == 0 {
                    (1, 0)
                } else {
                    (lo as usize, hi as usize)
                }
            }
            Window::Range(l, u) => {
                let key = |d: &Document| self.sort_value(d, false);
                let current = key(&docs[i])?;
                let lo = match l {
                    Bound::Unbounded => 0,
                    Bound::Current => i,
                    Bound::Offset(k) => {
                        let mut j = 0;
                        while j < n && key(&docs[j])? < current + k {
                            j += 1;
                        }
                        j
                    }
                };
                let hi = match u {
                    Bound::Unbounded => last as i64,
                    Bound::Current => i as i64,
                    Bound::Offset(k) => {
                        let mut j = n as i64 - 1;
                        while j >= 0 && key(&docs[j as usize])? > current + k {
                            j -= 1;
                        }
                        j
                    }
                };
                if hi < 0 || lo as i64 > hi {
                    (1, 0)
                } else {
                    (lo, hi as usize)
                }
            }
        })
    }
}

fn is_number(v: &Option<Bson>) -> bool {
    matches!(
        v,
        Some(Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_))
    )
}

fn evaluate_all(e: &Expression, docs: &[Document]) -> CmdResult<Vec<Option<Bson>>> {
    docs.iter()
        .map(|d| e.evaluate(&mut Scope::new(d)))
        .collect()
}

fn std_dev(xs: &[f64], sample: bool) -> Bson {
    let n = xs.len() as f64;
    if xs.is_empty() || (sample && xs.len() < 2) {
        return Bson::Null;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let squares: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    Bson::Double((squares / if sample { n - 1.0 } else { n }).sqrt())
}

fn parse_output(path: &str, spec: &Bson, sort_by: Option<&SortSpec>) -> CmdResult<Output> {
    let Bson::Document(spec) = spec else {
        return Err(error(
            5371602,
            format!("The field '{path}' must be an object"),
        ));
    };
    let mut function = None;
    let mut window = None;
    for (name, value) in spec {
        if name == "window" {
            window = Some(parse_window(value)?);
            continue;
        }
        if function.is_some() {
            return Err(error(
                5371603,
                format!("'output' specification for '{path}' must have exactly one function"),
            ));
        }
        function = Some(parse_function(name, value)?);
    }
    let Some(function) = function else {
        return Err(error(
            5371603,
            format!("'output' specification for '{path}' must have exactly one function"),
        ));
    };
    let positional = matches!(
        function,
        Function::Rank
            | Function::DenseRank
            | Function::DocumentNumber
            | Function::Shift { .. }
            | Function::Locf(_)
            | Function::LinearFill(_)
    );
    if positional && window.is_some() {
        return Err(error(
            5371601,
            format!("Rank style window functions take no other arguments: '{path}' has a window"),
        ));
    }
    if matches!(
        function,
        Function::Rank | Function::DenseRank | Function::Shift { .. }
    ) && sort_by.is_none_or(|s| s.is_empty())
    {
        return Err(error(
            5371602,
            "$rank, $denseRank and $shift require a 'sortBy'",
        ));
    }
    if matches!(function, Function::LinearFill(_)) && sort_by.is_none_or(|s| s.fields.len() != 1) {
        return Err(error(
            605001,
            "$linearFill requires a sortBy of exactly one field",
        ));
    }
    let window = window.unwrap_or(Window::Partition);
    if let Window::Range(..) = window {
        match sort_by {
            Some(s) if s.fields.len() == 1 && !s.fields[0].1 => {}
            _ => {
                return Err(error(
                    5339902,
                    "Range-based window requires sortBy a single field, ascending",
                ));
            }
        }
    }
    // Only a window over the whole partition means the same in every order.
    let whole = matches!(
        window,
        Window::Partition | Window::Documents(Bound::Unbounded, Bound::Unbounded)
    );
    if !whole && sort_by.is_none_or(|s| s.is_empty()) {
        return Err(error(5339901, "Document-based bounds require a sortBy"));
    }
    Ok(Output {
        path: path.to_string(),
        function,
        window,
    })
}

fn parse_function(name: &str, arg: &Bson) -> CmdResult<Function> {
    let empty_object = |what: &str| -> CmdResult<()> {
        match arg {
            Bson::Document(d) if d.is_empty() => Ok(()),
            _ => Err(error(
                5371603,
                format!("{what} must be specified with '{{}}' as the value"),
            )),
        }
    };
    Ok(match name {
        "$rank" => {
            empty_object("$rank")?;
            Function::Rank
        }
        "$denseRank" => {
            empty_object("$denseRank")?;
            Function::DenseRank
        }
        "$documentNumber" => {
            empty_object("$documentNumber")?;
            Function::DocumentNumber
        }
        "$count" => {
            empty_object("$count")?;
            Function::Accumulate(AccumulatorKind::Count, Expression::Literal(Bson::Int32(1)))
        }
        "$stdDevPop" | "$stdDevSamp" => Function::StdDev {
            sample: name == "$stdDevSamp",
            arg: expr::parse(arg)?,
        },
        "$locf" => Function::Locf(expr::parse(arg)?),
        "$linearFill" => Function::LinearFill(expr::parse(arg)?),
        "$shift" => {
            let Bson::Document(d) = arg else {
                return Err(error(5433600, "Argument to $shift must be an object"));
            };
            let mut output = None;
            let mut by = None;
            let mut default = None;
            for (k, v) in d {
                match k.as_str() {
                    "output" => output = Some(expr::parse(v)?),
                    "by" => {
                        let integral =
                            matches!(v, Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_));
                        by =
                            Some(arith::to_i64_exact(v).filter(|_| integral).ok_or_else(|| {
                                error(
                                    5433601,
                                    format!("'$shift:by' field must be an integer, but found {v}"),
                                )
                            })?);
                    }
                    "default" => default = Some(expr::parse(v)?),
                    other => {
                        return Err(error(
                            5433602,
                            format!("Unknown argument in $shift: {other}"),
                        ));
                    }
                }
            }
            let (Some(output), Some(by)) = (output, by) else {
                return Err(error(5433603, "$shift requires 'output' and 'by'"));
            };
            Function::Shift {
                output,
                by,
                default,
            }
        }
        other => match AccumulatorKind::from_name(other) {
            Some(kind) => Function::Accumulate(kind, expr::parse(arg)?),
            None if matches!(
                other,
                "$derivative"
                    | "$integral"
                    | "$expMovingAvg"
                    | "$covariancePop"
                    | "$covarianceSamp"
                    | "$topN"
                    | "$bottomN"
                    | "$top"
                    | "$bottom"
                    | "$firstN"
                    | "$lastN"
                    | "$minN"
                    | "$maxN"
                    | "$median"
                    | "$percentile"
            ) =>
            {
                return Err(CommandError::bad_value(format!(
                    "the window function {other} is not supported by this server yet"
                )));
            }
            None => {
                return Err(error(
                    5371602,
                    format!("Unrecognized window function, {other}"),
                ));
            }
        },
    })
}

fn parse_window(v: &Bson) -> CmdResult<Window> {
    let Bson::Document(d) = v else {
        return Err(error(5371603, "'window' field must be an object"));
    };
    let bounds = |v: &Bson, what: &str| -> CmdResult<(Bound, Bound)> {
        let Bson::Array(items) = v else {
            return Err(error(
                5371603,
                format!("Window bounds must be a 2-element array: {what}"),
            ));
        };
        let [l, u] = items.as_slice() else {
            return Err(error(
                5371603,
                format!("Window bounds must be a 2-element array: {what}"),
            ));
        };
        let one = |b: &Bson| -> CmdResult<Bound> {
            match b {
                Bson::String(s) if s == "unbounded" => Ok(Bound::Unbounded),
                Bson::String(s) if s == "current" => Ok(Bound::Current),
                Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                    let f = arith::to_f64(b).unwrap_or(f64::NAN);
                    if what == "documents" && f.fract() != 0.0 {
                        return Err(error(
                            5371603,
                            "Numeric document-based bounds must be an integer",
                        ));
                    }
                    Ok(Bound::Offset(f))
                }
                other => Err(error(
                    5371603,
                    format!(
                        "Window bounds must be 'unbounded', 'current', or a number, not {other}"
                    ),
                )),
            }
        };
        let (l, u) = (one(l)?, one(u)?);
        let rank = |b: Bound| match b {
            Bound::Unbounded => None,
            Bound::Current => Some(0.0),
            Bound::Offset(k) => Some(k),
        };
        if let (Some(a), Some(b)) = (rank(l), rank(u))
            && a > b
        {
            return Err(error(5339900, "Lower bound must not exceed upper bound"));
        }
        Ok((l, u))
    };
    let mut window = None;
    for (k, v) in d {
        window = Some(match k.as_str() {
            "documents" => {
                let (l, u) = bounds(v, "documents")?;
                Window::Documents(l, u)
            }
            "range" => {
                let (l, u) = bounds(v, "range")?;
                Window::Range(l, u)
            }
            "unit" => {
                return Err(CommandError::bad_value(
                    "time-unit range windows ('unit') are not supported by this server yet",
                ));
            }
            other => {
                return Err(error(
                    5371603,
                    format!(
                        "'window' field can only contain 'documents' or 'range', not '{other}'"
                    ),
                ));
            }
        });
    }
    window.ok_or_else(|| error(5371603, "'window' field must have 'documents' or 'range'"))
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::engine::agg::pipeline::Pipeline;

    fn run(spec: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
        Pipeline::parse(&[Bson::Document(doc! {"$setWindowFields": spec})])?.run(docs)
    }

    fn sales() -> Vec<Document> {
        vec![
            doc! {"_id": 1, "state": "CA", "day": 1, "qty": 10},
            doc! {"_id": 2, "state": "WA", "day": 1, "qty": 5},
            doc! {"_id": 3, "state": "CA", "day": 2, "qty": 20},
            doc! {"_id": 4, "state": "CA", "day": 4, "qty": 30},
            doc! {"_id": 5, "state": "WA", "day": 3, "qty": 15},
        ]
    }

    fn column(out: &[Document], field: &str) -> Vec<Bson> {
        out.iter()
            .map(|d| d.get(field).cloned().unwrap_or(Bson::Null))
            .collect()
    }

    #[test]
    fn running_totals_moving_windows_and_ranges() {
        let out = run(
            doc! {"partitionBy": "$state", "sortBy": {"day": 1}, "output": {
                "running": {"$sum": "$qty", "window": {"documents": ["unbounded", "current"]}},
                "moving": {"$avg": "$qty", "window": {"documents": [-1, 0]}},
                "near": {"$sum": "$qty", "window": {"range": [-1, 1]}},
                "total": {"$sum": "$qty"},
            }},
            sales(),
        )
        .unwrap();
        let ids = column(&out, "_id");
        assert_eq!(ids, [1, 3, 4, 2, 5].map(Bson::Int32));
        assert_eq!(
            column(&out, "running"),
            [10, 30, 60, 5, 20].map(Bson::Int32)
        );
        assert_eq!(
            column(&out, "moving"),
            [10.0, 15.0, 25.0, 5.0, 10.0].map(Bson::Double)
        );
        // CA days 1, 2, 4: within one day of each other: 1-2, 1-2, 4 alone.
        assert_eq!(column(&out, "near"), [30, 30, 30, 5, 15].map(Bson::Int32));
        assert_eq!(column(&out, "total"), [60, 60, 60, 20, 20].map(Bson::Int32));
    }

    #[test]
    fn ranks_shift_and_locf() {
        let docs = vec![
            doc! {"_id": 1, "score": 5, "v": 1},
            doc! {"_id": 2, "score": 7, "v": null},
            doc! {"_id": 3, "score": 7},
            doc! {"_id": 4, "score": 9, "v": 4},
        ];
        let out = run(
            doc! {"sortBy": {"score": 1}, "output": {
                "rank": {"$rank": {}}, "dense": {"$denseRank": {}}, "n": {"$documentNumber": {}},
                "prev": {"$shift": {"output": "$_id", "by": -1, "default": 0}},
                "filled": {"$locf": "$v"},
            }},
            docs,
        )
        .unwrap();
        assert_eq!(column(&out, "rank"), [1, 2, 2, 4].map(Bson::Int64));
        assert_eq!(column(&out, "dense"), [1, 2, 2, 3].map(Bson::Int64));
        assert_eq!(column(&out, "n"), [1, 2, 3, 4].map(Bson::Int64));
        assert_eq!(column(&out, "prev"), [0, 1, 2, 3].map(Bson::Int32));
        assert_eq!(column(&out, "filled"), [1, 1, 1, 4].map(Bson::Int32));
    }

    #[test]
    fn linear_fill_interpolates_between_known_values() {
        let docs = vec![
            doc! {"t": 1, "v": 10},
            doc! {"t": 2, "v": null},
            doc! {"t": 4},
            doc! {"t": 5, "v": 40},
            doc! {"t": 6},
        ];
        let out = run(
            doc! {"sortBy": {"t": 1}, "output": {"v": {"$linearFill": "$v"}}},
            docs,
        )
        .unwrap();
        assert_eq!(
            column(&out, "v"),
            [
                Bson::Int32(10),
                Bson::Double(17.5),
                Bson::Double(32.5),
                Bson::Int32(40),
                Bson::Null
            ]
        );
    }

    #[test]
    fn bad_specifications_name_the_problem() {
        for (spec, code) in [
            (doc! {"sortBy": {"a": 1}}, 40414),
            (doc! {"output": {"r": {"$rank": {}}}}, 5371602),
            (
                doc! {"sortBy": {"a": 1}, "output": {"r": {"$rank": {}, "window": {"documents": [0, 1]}}}},
                5371601,
            ),
            (
                doc! {"sortBy": {"a": 1}, "output": {"s": {"$sum": "$a", "window": {"documents": [1, 0]}}}},
                5339900,
            ),
            (
                doc! {"sortBy": {"a": 1, "b": 1}, "output": {"s": {"$sum": "$a", "window": {"range": [0, 1]}}}},
                5339902,
            ),
            (doc! {"output": {"s": {"$frob": "$a"}}}, 5371602),
            (doc! {"output": {"s": {"$integral": "$a"}}}, 2),
        ] {
            assert_eq!(
                run(spec.clone(), vec![]).unwrap_err().code.code(),
                code,
                "{spec}"
            );
        }
        let err = run(
            doc! {"sortBy": {"a": 1}, "output": {"s": {"$sum": 1, "window": {"range": [0, 1]}}}},
            vec![doc! {"a": "x"}],
        )
        .unwrap_err();
        assert_eq!(err.code.code(), 5429413);
    }
}
