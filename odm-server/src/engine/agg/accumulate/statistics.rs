//! The statistical accumulators: `$stdDevPop`/`$stdDevSamp` (a running mean and sum of
//! squares, so a group never keeps its values) and `$median`/`$percentile` (which keep
//! the numbers and rank them once, at the end).
//!
//! Both take numbers only; anything else is skipped. mongod computes an `approximate`
//! percentile in `$group` with a t-digest, whose answer for a small group is the
//! discrete one: this server gives the discrete percentile for `approximate` everywhere
//! (an exact value is always within the approximation's bounds).

use bson::Bson;

use crate::error::{CmdResult, CommandError, ErrorCode};

/// How a percentile is chosen from the ranked values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Approximate,
    /// The value at rank `ceil(p * n) - 1`.
    Discrete,
    /// Interpolated between the values around rank `p * (n - 1)`.
    Continuous,
}

impl Method {
    pub fn parse(value: &Bson) -> CmdResult<Method> {
        match value {
            Bson::String(s) if s == "approximate" => Ok(Method::Approximate),
            Bson::String(s) if s == "discrete" => Ok(Method::Discrete),
            Bson::String(s) if s == "continuous" => Ok(Method::Continuous),
            _ => Err(CommandError::bad_value(
                "Currently only 'approximate', 'discrete', and 'continuous' can be used as percentile 'method'.",
            )),
        }
    }
}

/// Welford's running mean and sum of squared differences.
#[derive(Clone, Debug, Default)]
pub(super) struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
    /// An infinity or NaN makes the deviation NaN, as in mongod.
    non_finite: bool,
}

impl Moments {
    pub(super) fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.non_finite = true;
            return;
        }
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// The population or sample standard deviation; null without enough values.
    pub(super) fn std_dev(&self, sample: bool) -> Bson {
        let n = self.count + u64::from(self.non_finite);
        if n == 0 || (sample && n < 2) {
            return Bson::Null;
        }
        if self.non_finite {
            return Bson::Double(f64::NAN);
        }
        let divisor = if sample { n - 1 } else { n };
        Bson::Double((self.m2 / divisor as f64).sqrt())
    }
}

/// The numbers a `$median` or `$percentile` ranks.
#[derive(Clone, Debug)]
pub(super) struct Samples {
    values: Vec<f64>,
    ps: Vec<f64>,
    method: Method,
}

impl Samples {
    pub(super) fn new(ps: Vec<f64>, method: Method) -> Self {
        Samples {
            values: Vec::new(),
            ps,
            method,
        }
    }

    pub(super) fn add(&mut self, x: f64) {
        if !x.is_nan() {
            self.values.push(x);
        }
    }

    /// `$median`: one double (null without numbers); `$percentile`: one per `p`.
    pub(super) fn finish(mut self, median: bool) -> Bson {
        let found = percentiles_of(&mut self.values, &self.ps, self.method);
        match (median, found) {
            (true, Some(v)) => v.first().map_or(Bson::Null, |x| Bson::Double(*x)),
            (true, None) => Bson::Null,
            (false, Some(v)) => Bson::Array(v.into_iter().map(Bson::Double).collect()),
            (false, None) => Bson::Array(vec![Bson::Null; self.ps.len()]),
        }
    }
}

/// The percentiles `ps` of `values` (sorted in place), or `None` when there are none.
pub fn percentiles_of(values: &mut [f64], ps: &[f64], method: Method) -> Option<Vec<f64>> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let at = |i: usize| values[i.min(n - 1)];
    Some(
        ps.iter()
            .map(|&p| match method {
                Method::Approximate | Method::Discrete => {
                    let rank = if p >= 1.0 {
                        n - 1
                    } else {
                        ((p * n as f64).ceil() as usize).saturating_sub(1)
                    };
                    at(rank)
                }
                Method::Continuous => {
                    let rank = p * (n - 1) as f64;
                    let (lo, hi) = (rank.floor(), rank.ceil());
                    if lo == hi {
                        at(rank as usize)
                    } else {
                        (hi - rank) * at(lo as usize) + (rank - lo) * at(hi as usize)
                    }
                }
            })
            .collect(),
    )
}

/// The `p` of a `$percentile`: a non-empty array of numbers from 0 to 1, known when the
/// command is parsed.
pub fn parse_ps(value: &Bson) -> CmdResult<Vec<f64>> {
    let msg = "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: ";
    let fail = |code: i32, what: String| {
        Err(CommandError::new(
            ErrorCode::Location(code),
            format!("{msg}{what}"),
        ))
    };
    let Bson::Array(items) = value else {
        return fail(7750301, value.to_string());
    };
    if items.is_empty() {
        return fail(7750301, "[]".into());
    }
    let mut ps = Vec::with_capacity(items.len());
    for item in items {
        let Some(p) = crate::engine::arith::to_f64(item) else {
            return fail(7750302, item.to_string());
        };
        if !(0.0..=1.0).contains(&p) {
            return fail(7750303, p.to_string());
        }
        ps.push(p);
    }
    Ok(ps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_and_continuous_ranks() {
        let mut xs = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        let ps = [0.0, 0.5, 0.9, 1.0];
        assert_eq!(
            percentiles_of(&mut xs, &ps, Method::Discrete),
            Some(vec![1.0, 3.0, 5.0, 5.0])
        );
        assert_eq!(
            percentiles_of(&mut xs, &[0.25, 0.6], Method::Continuous),
            Some(vec![2.0, 3.4])
        );
        assert_eq!(percentiles_of(&mut [], &ps, Method::Discrete), None);
    }

    #[test]
    fn p_must_be_numbers_within_zero_and_one() {
        assert!(parse_ps(&Bson::Array(vec![0.5.into(), 1.into()])).is_ok());
        for (bad, code) in [
            (Bson::Int32(1), 7750301),
            (Bson::Array(vec![]), 7750301),
            (Bson::Array(vec!["a".into()]), 7750302),
            (Bson::Array(vec![1.5.into()]), 7750303),
        ] {
            assert_eq!(parse_ps(&bad).unwrap_err().code, ErrorCode::Location(code));
        }
    }
}
