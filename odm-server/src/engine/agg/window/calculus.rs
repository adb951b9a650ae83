//! The window functions that measure change along the `sortBy` axis or between two
//! series: `$derivative`, `$integral`, `$expMovingAvg`, `$covariancePop` and
//! `$covarianceSamp`.
//!
//! `$derivative` and `$integral` read the single `sortBy` field as the x axis: a number,
//! or a date when the function names a `unit` (`week` or smaller, whose length in
//! milliseconds is fixed). `$derivative` is the slope between the window's first and
//! last documents; `$integral` the trapezoid area over the window. `$expMovingAvg`
//! runs over the whole partition in order, so it takes no window.

use bson::{Bson, Document};

use super::{SetWindowFields, Window, error};
use crate::engine::agg::bind::Vars;
use crate::engine::agg::expr::{self, Expression, Scope};
use crate::engine::arith;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

#[derive(Clone, Debug)]
pub(super) enum Calculus {
    Derivative {
        input: Expression,
        unit_ms: Option<f64>,
    },
    Integral {
        input: Expression,
        unit_ms: Option<f64>,
    },
    ExpMovingAvg {
        input: Expression,
        alpha: f64,
    },
    Covariance {
        sample: bool,
        x: Expression,
        y: Expression,
    },
}

fn failed(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::FailedToParse, message)
}

/// The length of a time unit in milliseconds, for the units whose length is fixed.
pub(super) fn unit_millis(unit: &Bson) -> CmdResult<f64> {
    let Bson::String(s) = unit else {
        return Err(failed(format!("'unit' must be a string, but got {unit}")));
    };
    Ok(match s.as_str() {
        "week" => 604_800_000.0,
        "day" => 86_400_000.0,
        "hour" => 3_600_000.0,
        "minute" => 60_000.0,
        "second" => 1_000.0,
        "millisecond" => 1.0,
        "year" | "quarter" | "month" => {
            return Err(error(5490704, "unit must be 'week' or smaller"));
        }
        other => {
            return Err(CommandError::bad_value(format!(
                "unknown time unit value: {other}"
            )));
        }
    })
}

impl Calculus {
    /// Parses `{name: arg}`, `None` when `name` is none of these functions. `explicit_window`
    /// says whether the output gave a `window`.
    pub(super) fn parse(
        name: &str,
        arg: &Bson,
        sort_by: Option<&SortSpec>,
        explicit_window: bool,
    ) -> CmdResult<Option<Calculus>> {
        Ok(Some(match name {
            "$derivative" | "$integral" => {
                match sort_by {
                    None => return Err(failed(format!("{name} requires a sortBy"))),
                    Some(s) if s.fields.len() != 1 => {
                        return Err(failed(format!("{name} requires a non-compound sortBy")));
                    }
                    Some(_) => {}
                }
                let Bson::Document(d) = arg else {
                    return Err(failed(format!("{name} expects an object, but got {arg}")));
                };
                let mut input = None;
                let mut unit_ms = None;
                for (k, v) in d {
                    match k.as_str() {
                        "input" => input = Some(expr::parse(v)?),
                        "unit" => unit_ms = Some(unit_millis(v)?),
                        other => {
                            return Err(failed(format!("{name} got unexpected argument: {other}")));
                        }
                    }
                }
                let input = input
                    .ok_or_else(|| failed(format!("{name} requires an 'input' expression")))?;
                if name == "$derivative" {
                    if !explicit_window {
                        return Err(failed("$derivative requires explicit window bounds"));
                    }
                    Calculus::Derivative { input, unit_ms }
                } else {
                    Calculus::Integral { input, unit_ms }
                }
            }
            "$expMovingAvg" => {
                if sort_by.is_none() {
                    return Err(failed("$expMovingAvg requires an explicit 'sortBy'"));
                }
                if explicit_window {
                    return Err(failed("$expMovingAvg does not accept a window argument"));
                }
                let Bson::Document(d) = arg else {
                    return Err(failed(format!(
                        "$expMovingAvg expects an object, but got {arg}"
                    )));
                };
                let mut input = None;
                let mut alpha = None;
                for (k, v) in d {
                    match k.as_str() {
                        "input" => input = Some(expr::parse(v)?),
                        "N" => {
                            let n = arith::to_i64_exact(v)
                                .filter(|n| *n > 0 && !matches!(v, Bson::Decimal128(_)))
                                .ok_or_else(|| {
                                    failed(format!("'N' field must be an integer, but found {v}"))
                                })?;
                            if alpha.is_some() {
                                return Err(failed(
                                    "$expMovingAvg takes either 'N' or 'alpha', not both",
                                ));
                            }
                            alpha = Some(2.0 / (n as f64 + 1.0));
                        }
                        "alpha" => {
                            let a = arith::to_f64(v)
                                .filter(|a| *a > 0.0 && *a < 1.0)
                                .ok_or_else(|| {
                                    failed(format!(
                                        "'alpha' must be between 0 and 1 (exclusive), found {v}"
                                    ))
                                })?;
                            if alpha.is_some() {
                                return Err(failed(
                                    "$expMovingAvg takes either 'N' or 'alpha', not both",
                                ));
                            }
                            alpha = Some(a);
                        }
                        other => {
                            return Err(failed(format!(
                                "Got unrecognized field in $expMovingAvg, $expMovingAvg sub object must have exactly two fields: An 'input' field, and either an 'N' field or an 'alpha' field, found {other}"
                            )));
                        }
                    }
                }
                let (Some(input), Some(alpha)) = (input, alpha) else {
                    return Err(failed(
                        "$expMovingAvg sub object must have exactly two fields: An 'input' field, and either an 'N' field or an 'alpha' field",
                    ));
                };
                Calculus::ExpMovingAvg { input, alpha }
            }
            "$covariancePop" | "$covarianceSamp" => {
                let Bson::Array(items) = arg else {
                    return Err(failed(format!(
                        "{name} requires an array of two expressions, found {arg}"
                    )));
                };
                let [x, y] = items.as_slice() else {
                    return Err(failed(format!(
                        "{name} requires an array of two expressions, found {} of them",
                        items.len()
                    )));
                };
                Calculus::Covariance {
                    sample: name == "$covarianceSamp",
                    x: expr::parse(x)?,
                    y: expr::parse(y)?,
                }
            }
            _ => return Ok(None),
        }))
    }

    pub(super) fn bind(&mut self, vars: &Vars) {
        match self {
            Calculus::Derivative { input, .. }
            | Calculus::Integral { input, .. }
            | Calculus::ExpMovingAvg { input, .. } => input.bind(vars),
            Calculus::Covariance { x, y, .. } => {
                x.bind(vars);
                y.bind(vars);
            }
        }
    }

    /// The function's value for each document of one sorted partition.
    pub(super) fn compute(
        &self,
        stage: &SetWindowFields,
        window: Window,
        docs: &[Document],
    ) -> CmdResult<Vec<Option<Bson>>> {
        let n = docs.len();
        let xs = stage.range_values(window, docs)?;
        match self {
            Calculus::Derivative { input, unit_ms } | Calculus::Integral { input, unit_ms } => {
                let name = if matches!(self, Calculus::Derivative { .. }) {
                    "$derivative"
                } else {
                    "$integral"
                };
                let axis = docs
                    .iter()
                    .map(|d| axis_value(stage, d, *unit_ms, name))
                    .collect::<CmdResult<Vec<f64>>>()?;
                let ys = docs
                    .iter()
                    .map(|d| numeric_input(input, d))
                    .collect::<CmdResult<Vec<f64>>>()?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (lo, hi) = SetWindowFields::bounds(window, n, &xs, i);
                    let value = if lo > hi {
                        Bson::Null
                    } else if matches!(self, Calculus::Derivative { .. }) {
                        derivative(&axis[lo..=hi], &ys[lo..=hi]).map_or(Bson::Null, Bson::Double)
                    } else if lo == hi && unit_ms.is_none() {
                        // No pair of points: mongod's empty sum, an int.
                        Bson::Int32(0)
                    } else {
                        Bson::Double(integral(&axis[lo..=hi], &ys[lo..=hi]))
                    };
                    out.push(Some(value));
                }
                Ok(out)
            }
            Calculus::ExpMovingAvg { input, alpha } => {
                let mut average: Option<f64> = None;
                let mut out = Vec::with_capacity(n);
                for d in docs {
                    match input.evaluate(&mut Scope::new(d))? {
                        Some(v) if arith::is_number(&v) => {
                            let x = arith::to_f64(&v).unwrap_or(f64::NAN);
                            let next = average.map_or(x, |a| alpha * x + (1.0 - alpha) * a);
                            average = Some(next);
                            out.push(Some(Bson::Double(next)));
                        }
                        // A value that is not a number leaves the average as it was.
                        _ => out.push(Some(Bson::Null)),
                    }
                }
                Ok(out)
            }
            Calculus::Covariance { sample, x, y } => {
                let pairs = docs
                    .iter()
                    .map(|d| {
                        let mut scope = Scope::new(d);
                        let (a, b) = (x.evaluate(&mut scope)?, y.evaluate(&mut scope)?);
                        Ok(match (a, b) {
                            (Some(a), Some(b)) if arith::is_number(&a) && arith::is_number(&b) => {
                                Some((
                                    arith::to_f64(&a).unwrap_or(f64::NAN),
                                    arith::to_f64(&b).unwrap_or(f64::NAN),
                                ))
                            }
                            _ => None,
                        })
                    })
                    .collect::<CmdResult<Vec<Option<(f64, f64)>>>>()?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (lo, hi) = SetWindowFields::bounds(window, n, &xs, i);
                    let window_pairs: Vec<(f64, f64)> = if lo > hi {
                        Vec::new()
                    } else {
                        pairs[lo..=hi].iter().flatten().copied().collect()
                    };
                    out.push(Some(covariance(&window_pairs, *sample)));
                }
                Ok(out)
            }
        }
    }
}

/// A document's place on the x axis: its `sortBy` number, or its `sortBy` date in
/// `unit`s.
fn axis_value(
    stage: &SetWindowFields,
    d: &Document,
    unit_ms: Option<f64>,
    name: &str,
) -> CmdResult<f64> {
    let field = stage
        .sort_by
        .as_ref()
        .and_then(|s| s.fields.first())
        .map_or("", |(f, _)| f.as_str());
    let value = crate::engine::path::get_path(d, field);
    match (value, unit_ms) {
        (Some(Bson::DateTime(t)), Some(ms)) => Ok(t.timestamp_millis() as f64 / ms),
        (Some(v), None) if arith::is_number(v) => Ok(arith::to_f64(v).unwrap_or(f64::NAN)),
        (Some(Bson::DateTime(_)), None) => Err(error(
            5624901,
            format!("{name} where the sortBy is a Date requires a 'unit'"),
        )),
        (v, Some(_)) => Err(error(
            5624900,
            format!(
                "{name} with 'unit' expects the sortBy field to be a Date, but it was {}",
                v.map_or("missing", crate::engine::types::type_name)
            ),
        )),
        (v, None) => Err(error(
            5624902,
            format!(
                "{name} (with no 'unit') expects the sortBy field to be numeric, but it was {}",
                v.map_or("missing", crate::engine::types::type_name)
            ),
        )),
    }
}

/// The input of `$derivative`/`$integral` for one document, which must be a number.
fn numeric_input(input: &Expression, d: &Document) -> CmdResult<f64> {
    match input.evaluate(&mut Scope::new(d))? {
        Some(v) if arith::is_number(&v) => Ok(arith::to_f64(&v).unwrap_or(f64::NAN)),
        _ => Err(error(
            5423900,
            "The input value of $integral window function must be a vector of 2 value, the first value must be numeric or date type and the second must be numeric.",
        )),
    }
}

/// The slope from the window's first point to its last; null for a single point.
fn derivative(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let last = xs.len().checked_sub(1).filter(|l| *l > 0)?;
    let (y0, y1) = (*ys.first()?, *ys.get(last)?);
    let run = xs.get(last)? - xs.first()?;
    (run != 0.0).then(|| (y1 - y0) / run)
}

/// The trapezoid rule over the window's points.
fn integral(xs: &[f64], ys: &[f64]) -> f64 {
    let points: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
    points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

fn covariance(pairs: &[(f64, f64)], sample: bool) -> Bson {
    let n = pairs.len();
    if n == 0 || (sample && n < 2) {
        return Bson::Null;
    }
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let s: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    Bson::Double(s / if sample { n - 1 } else { n } as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_area_and_covariance() {
        let xs = [0.0, 1.0, 3.0];
        let ys = [0.0, 2.0, 2.0];
        assert_eq!(derivative(&xs, &ys), Some(2.0 / 3.0));
        assert_eq!(derivative(&xs[..1], &ys[..1]), None);
        assert_eq!(integral(&xs, &ys), 1.0 + 4.0);
        assert_eq!(
            covariance(&[(1.0, 2.0), (3.0, 6.0)], false),
            Bson::Double(2.0)
        );
        assert_eq!(covariance(&[(1.0, 2.0)], true), Bson::Null);
    }
}
