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
//! Functions: every accumulator (`$sum`, `$stdDevPop`, `$topN`, `$percentile`, ...) over
//! the window; `$rank`, `$denseRank`, `$documentNumber` and `$shift` by position in the
//! sorted partition; `$locf` (the last non-null value so far) and `$linearFill`; and in
//! `calculus.rs` `$derivative`, `$integral`, `$expMovingAvg` and the covariances.
//! A range window may count in a time `unit` (calendar units included) over a date
//! `sortBy`.

mod calculus;

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::accumulate::{AccumulatorKind, AccumulatorSpec, Input};
use super::bind::Vars;
use super::expr::{self, Expression, Scope};
use super::join::set_overwriting;
use super::pipeline::stage_error as error;
use crate::engine::arith;
use crate::engine::collation::compare;
use crate::engine::sort::SortSpec;
use crate::engine::types::type_name;
use crate::error::{CmdResult, CommandError};
use calculus::Calculus;

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
    Accumulate(AccumulatorSpec),
    Calculus(Calculus),
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
    /// Bounds on the `sortBy` value; with a time unit, the value is a date and the bounds
    /// count units, calendar ones as `$dateAdd` counts them.
    Range(Bound, Bound, Option<&'static str>),
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
                Function::Accumulate(spec) => spec.bind(vars),
                Function::Calculus(c) => c.bind(vars),
                Function::Locf(e) | Function::LinearFill(e) => e.bind(vars),
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
        // (partition key, sort key, document): each key computed once, then ordered by
        // the partition, then by `sortBy`.
        let mut rows = Vec::with_capacity(docs.len());
        for d in docs {
            let partition = match &self.partition_by {
                Some(p) => p.evaluate(&mut Scope::new(&d))?.unwrap_or(Bson::Null),
                None => Bson::Null,
            };
            let sort_key = self.sort_by.as_ref().map(|s| s.key(&d)).unwrap_or_default();
            rows.push((partition, sort_key, d));
        }
        rows.sort_by(|a, b| {
            compare(&a.0, &b.0).then_with(|| match &self.sort_by {
                Some(s) => s.compare_keys(&a.1, &b.1),
                None => Ordering::Equal,
            })
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while let Some((partition, key, doc)) = rows.next() {
            let (mut keys, mut docs) = (vec![key], vec![doc]);
            while let Some((_, key, doc)) =
                rows.next_if(|(p, _, _)| compare(p, &partition) == Ordering::Equal)
            {
                keys.push(key);
                docs.push(doc);
            }
            out.extend(self.run_partition(docs, &keys)?);
        }
        Ok(out)
    }

    /// `keys` are the documents' `sortBy` keys, in the same order.
    fn run_partition(&self, docs: Vec<Document>, keys: &[Vec<Bson>]) -> CmdResult<Vec<Document>> {
        let mut values: Vec<Vec<Option<Bson>>> = Vec::with_capacity(self.output.len());
        for o in &self.output {
            values.push(self.compute(o, &docs, keys)?);
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
    fn compute(
        &self,
        o: &Output,
        docs: &[Document],
        keys: &[Vec<Bson>],
    ) -> CmdResult<Vec<Option<Bson>>> {
        let n = docs.len();
        match &o.function {
            Function::DocumentNumber => Ok((1..=n as i64).map(|i| Some(Bson::Int64(i))).collect()),
            Function::Rank | Function::DenseRank => {
                // Equal sort keys share a rank, whichever way the sort runs.
                let same = |a: &[Bson], b: &[Bson]| {
                    a.iter()
                        .zip(b)
                        .all(|(x, y)| compare(x, y) == Ordering::Equal)
                };
                let mut out = Vec::with_capacity(n);
                let mut dense = 0;
                for i in 0..n {
                    let tied = i > 0 && same(&keys[i - 1], &keys[i]);
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
            Function::Calculus(c) => c.compute(self, o.window, docs),
            Function::Accumulate(spec) => {
                let inputs = docs
                    .iter()
                    .map(|d| spec.input(&mut Scope::new(d)))
                    .collect::<CmdResult<Vec<Input>>>()?;
                let xs = self.range_values(o.window, docs)?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (lo, hi) = Self::bounds(o.window, n, &xs, i);
                    let mut acc = spec.start(&Bson::Null)?;
                    if lo <= hi {
                        for input in &inputs[lo..=hi] {
                            acc.add_input(input.clone())?;
                        }
                    }
                    out.push(Some(acc.finish()));
                }
                Ok(out)
            }
        }
    }

    /// Each document's `sortBy` value, when a range window measures by them (read once
    /// per partition, not per window).
    fn range_values(&self, window: Window, docs: &[Document]) -> CmdResult<Vec<f64>> {
        match window {
            Window::Range(_, _, None) => docs.iter().map(|d| self.sort_value(d, false)).collect(),
            Window::Range(_, _, Some(_)) => docs.iter().map(|d| self.date_value(d)).collect(),
            _ => Ok(Vec::new()),
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

    /// The (single) `sortBy` field as a date, in milliseconds, for a range window with a
    /// unit.
    fn date_value(&self, d: &Document) -> CmdResult<f64> {
        let field = self
            .sort_by
            .as_ref()
            .and_then(|s| s.fields.first())
            .map_or("", |(f, _)| f.as_str());
        match crate::engine::path::get_path(d, field) {
            Some(Bson::DateTime(t)) => Ok(t.timestamp_millis() as f64),
            other => Err(error(
                5429513,
                format!(
                    "Invalid range: Expected the sortBy field to be a Date, but it was {}",
                    other.map_or("missing", type_name)
                ),
            )),
        }
    }

    /// The first and last index of the window of document `i` (empty when first > last).
    /// `xs` are the partition's `sortBy` values, which only range windows read.
    fn bounds(window: Window, n: usize, xs: &[f64], i: usize) -> (usize, usize) {
        let last = n.saturating_sub(1);
        match window {
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
            Window::Range(l, u, unit) => {
                let current = xs[i];
                // The current value moved by `k`: plus `k`, or `k` time units later.
                let shifted = |k: f64, past_end: f64| match unit {
                    None => current + k,
                    Some(unit) => {
                        crate::engine::agg::expr::add_time_units(current as i64, unit, k as i64)
                            .map_or(past_end, |ms| ms as f64)
                    }
                };
                let lo = match l {
                    Bound::Unbounded => 0,
                    Bound::Current => i,
                    Bound::Offset(k) => {
                        let from = shifted(k, f64::NEG_INFINITY);
                        xs.iter().take_while(|x| **x < from).count()
                    }
                };
                let hi = match u {
                    Bound::Unbounded => last as i64,
                    Bound::Current => i as i64,
                    Bound::Offset(k) => {
                        let to = shifted(k, f64::INFINITY);
                        n as i64 - 1 - xs.iter().rev().take_while(|x| **x > to).count() as i64
                    }
                };
                if hi < 0 || lo as i64 > hi {
                    (1, 0)
                } else {
                    (lo, hi as usize)
                }
            }
        }
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
        function = Some((name, value));
    }
    let Some((name, value)) = function else {
        return Err(error(
            5371603,
            format!("'output' specification for '{path}' must have exactly one function"),
        ));
    };
    let function = match Calculus::parse(name, value, sort_by, window.is_some())? {
        Some(c) => Function::Calculus(c),
        None => parse_function(name, value)?,
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
            Function::Accumulate(AccumulatorSpec::simple(
                AccumulatorKind::Sum,
                Expression::Literal(Bson::Int32(1)),
            ))
        }
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
        other => match AccumulatorSpec::parse(other, arg)? {
            Some(spec) => Function::Accumulate(spec),
            None => {
                return Err(error(
                    5371602,
                    format!("Unrecognized window function, {other}"),
                ));
            }
        },
    })
}

/// A range window's `unit`: any unit `$dateAdd` takes.
fn time_unit(v: &Bson) -> CmdResult<&'static str> {
    const UNITS: [&str; 9] = [
        "year",
        "quarter",
        "month",
        "week",
        "day",
        "hour",
        "minute",
        "second",
        "millisecond",
    ];
    match v {
        Bson::String(s) => UNITS
            .iter()
            .find(|u| **u == s.as_str())
            .copied()
            .ok_or_else(|| CommandError::failed_to_parse(format!("unknown time unit value: {s}"))),
        other => Err(CommandError::failed_to_parse(format!(
            "'unit' must be a string, but got {other}"
        ))),
    }
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
    let mut unit = None;
    for (k, v) in d {
        match k.as_str() {
            "documents" if window.is_none() => {
                let (l, u) = bounds(v, "documents")?;
                window = Some(Window::Documents(l, u));
            }
            "range" if window.is_none() => {
                let (l, u) = bounds(v, "range")?;
                window = Some(Window::Range(l, u, None));
            }
            "unit" => unit = Some(time_unit(v)?),
            "documents" | "range" => {
                return Err(error(
                    5371603,
                    "'window' field can only contain one of 'documents' or 'range'",
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
        }
    }
    match (window, unit) {
        (Some(Window::Range(l, u, None)), unit) => Ok(Window::Range(l, u, unit)),
        (Some(_), Some(_)) => Err(error(
            5371603,
            "'unit' can only be specified with a 'range' window",
        )),
        (Some(w), None) => Ok(w),
        (None, _) => Err(error(
            5371603,
            "'window' field must have 'documents' or 'range'",
        )),
    }
}

#[cfg(test)]
mod tests;
