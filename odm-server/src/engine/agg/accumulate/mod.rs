//! Accumulators: what `$group`, `$bucket`, `$bucketAuto` and `$setWindowFields` fold the
//! documents of a group or window into, and what the array forms of `$sum`, `$avg`,
//! `$min`, `$max`, `$stdDevPop`, `$median` and friends fold an array into.
//!
//! An output field is parsed once into an [`AccumulatorSpec`] (`spec.rs`): the kind, the
//! expression each document gives, and the arguments some kinds take (`n`, `sortBy`,
//! `p`, `method`). Each group then gets a fresh [`Accumulator`] from
//! [`AccumulatorSpec::start`], which evaluates `n` against the group's key, as mongod
//! does, so that `n` may differ by group. The kinds that keep a few values in order
//! live in `ranked.rs`; the statistical ones in `statistics.rs`.

mod ranked;
mod spec;
mod statistics;

use bson::{Bson, Document};

pub use spec::AccumulatorSpec;
pub use statistics::{Method, parse_ps, percentiles_of};

use crate::engine::arith::{self, Op, Outcome};
use crate::engine::collation::{compare, values_equal};
use crate::engine::decimal_arith::Dec;
use crate::error::{CmdResult, CommandError, ErrorCode};
use ranked::Ranked;
use statistics::{Moments, Samples};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccumulatorKind {
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    Push,
    AddToSet,
    Count,
    MergeObjects,
    StdDevPop,
    StdDevSamp,
    FirstN,
    LastN,
    MinN,
    MaxN,
    Top,
    Bottom,
    TopN,
    BottomN,
    Median,
    Percentile,
}

/// Every accumulator by its name, once.
const NAMES: &[(&str, AccumulatorKind)] = &[
    ("$sum", AccumulatorKind::Sum),
    ("$avg", AccumulatorKind::Avg),
    ("$min", AccumulatorKind::Min),
    ("$max", AccumulatorKind::Max),
    ("$first", AccumulatorKind::First),
    ("$last", AccumulatorKind::Last),
    ("$push", AccumulatorKind::Push),
    ("$addToSet", AccumulatorKind::AddToSet),
    ("$count", AccumulatorKind::Count),
    ("$mergeObjects", AccumulatorKind::MergeObjects),
    ("$stdDevPop", AccumulatorKind::StdDevPop),
    ("$stdDevSamp", AccumulatorKind::StdDevSamp),
    ("$firstN", AccumulatorKind::FirstN),
    ("$lastN", AccumulatorKind::LastN),
    ("$minN", AccumulatorKind::MinN),
    ("$maxN", AccumulatorKind::MaxN),
    ("$top", AccumulatorKind::Top),
    ("$bottom", AccumulatorKind::Bottom),
    ("$topN", AccumulatorKind::TopN),
    ("$bottomN", AccumulatorKind::BottomN),
    ("$median", AccumulatorKind::Median),
    ("$percentile", AccumulatorKind::Percentile),
];

impl AccumulatorKind {
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("$unknown", |(n, _)| n)
    }
}

/// What one document gives an accumulator.
#[derive(Clone, Debug)]
pub enum Input {
    /// The value of the accumulator's expression (`None` is missing).
    Value(Option<Bson>),
    /// For `$top`/`$bottom` and their `N` forms: the document's sort key and the value
    /// of `output`.
    Keyed(Vec<Bson>, Option<Bson>),
}

/// The running state of one accumulator.
#[derive(Clone, Debug)]
pub struct Accumulator {
    kind: AccumulatorKind,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    /// `$sum` and `$avg`: the exact sum while it fits its type, then a double.
    Sum {
        total: Option<Bson>,
        as_double: Option<f64>,
        count: u64,
    },
    /// `$min`, `$max`, `$first`, `$last`.
    One {
        value: Option<Bson>,
        seen: bool,
    },
    /// `$push`, `$addToSet`.
    Items(Vec<Bson>),
    Count(u64),
    Merged(Document),
    Moments(Moments),
    Samples(Samples),
    Ranked(Ranked),
}

impl Accumulator {
    /// An accumulator of a kind that takes no arguments besides its expression.
    pub fn new(kind: AccumulatorKind) -> Self {
        let state = match kind {
            AccumulatorKind::Sum | AccumulatorKind::Avg => State::Sum {
                total: None,
                as_double: None,
                count: 0,
            },
            AccumulatorKind::Push | AccumulatorKind::AddToSet => State::Items(Vec::new()),
            AccumulatorKind::Count => State::Count(0),
            AccumulatorKind::MergeObjects => State::Merged(Document::new()),
            AccumulatorKind::StdDevPop | AccumulatorKind::StdDevSamp => {
                State::Moments(Moments::default())
            }
            AccumulatorKind::Median => State::Samples(Samples::new(vec![0.5], Method::Approximate)),
            _ => State::One {
                value: None,
                seen: false,
            },
        };
        Accumulator { kind, state }
    }

    fn with_state(kind: AccumulatorKind, state: State) -> Self {
        Accumulator { kind, state }
    }

    /// Folds in one plain value (`None` is missing).
    pub fn add(&mut self, value: Option<Bson>) -> CmdResult<()> {
        self.add_input(Input::Value(value))
    }

    /// Folds in what one document gives.
    pub fn add_input(&mut self, input: Input) -> CmdResult<()> {
        let value = match input {
            Input::Keyed(key, output) => {
                if let State::Ranked(r) = &mut self.state {
                    r.add_keyed(key, output.unwrap_or(Bson::Null));
                }
                return Ok(());
            }
            Input::Value(v) => v,
        };
        match (&mut self.state, self.kind) {
            (
                State::Sum {
                    total,
                    as_double,
                    count,
                },
                _,
            ) => {
                let Some(v) = value.filter(arith::is_number) else {
                    return Ok(());
                };
                *count += 1;
                if let Some(d) = as_double {
                    *d += arith::to_f64(&v).unwrap_or(0.0);
                    return Ok(());
                }
                let current = total.take().unwrap_or(Bson::Int32(0));
                match arith::apply(Op::Add, &current, &v) {
                    Some(Outcome::Value(sum)) => *total = Some(sum),
                    _ => {
                        *as_double = Some(
                            arith::to_f64(&current).unwrap_or(0.0)
                                + arith::to_f64(&v).unwrap_or(0.0),
                        );
                    }
                }
            }
            (State::One { value: cur, .. }, AccumulatorKind::Min | AccumulatorKind::Max) => {
                // null and missing are ignored unless nothing else comes.
                let Some(v) = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined)) else {
                    return Ok(());
                };
                let replace = match cur {
                    None => true,
                    Some(c) if self.kind == AccumulatorKind::Min => compare(&v, c).is_lt(),
                    Some(c) => compare(&v, c).is_gt(),
                };
                if replace {
                    *cur = Some(v);
                }
            }
            (State::One { value: cur, seen }, AccumulatorKind::First) => {
                if !*seen {
                    *cur = Some(value.unwrap_or(Bson::Null));
                    *seen = true;
                }
            }
            (State::One { value: cur, .. }, _) => *cur = Some(value.unwrap_or(Bson::Null)),
            (State::Items(items), AccumulatorKind::AddToSet) => {
                if let Some(v) = value
                    && !items.iter().any(|i| values_equal(i, &v))
                {
                    items.push(v);
                }
            }
            (State::Items(items), _) => items.extend(value),
            (State::Count(n), _) => *n += 1,
            (State::Merged(merged), _) => match value {
                None | Some(Bson::Null) | Some(Bson::Undefined) => {}
                Some(Bson::Document(d)) => merged.extend(d),
                Some(other) => {
                    return Err(CommandError::new(
                        ErrorCode::Location(40400),
                        format!(
                            "$mergeObjects requires object inputs, but input {other} is of type {}",
                            crate::engine::types::type_name(&other)
                        ),
                    ));
                }
            },
            (State::Moments(m), _) => {
                if let Some(x) = value.as_ref().filter(|v| arith::is_number(v)) {
                    m.add(arith::to_f64(x).unwrap_or(f64::NAN));
                }
            }
            (State::Samples(s), _) => {
                if let Some(x) = value.as_ref().filter(|v| arith::is_number(v)) {
                    s.add(arith::to_f64(x).unwrap_or(f64::NAN));
                }
            }
            (State::Ranked(r), _) => r.add(value),
        }
        Ok(())
    }

    /// The accumulated result.
    pub fn finish(self) -> Bson {
        match self.state {
            State::Sum {
                total,
                as_double,
                count,
            } => {
                if self.kind == AccumulatorKind::Sum {
                    return match as_double {
                        Some(d) => Bson::Double(d),
                        None => total.unwrap_or(Bson::Int32(0)),
                    };
                }
                if count == 0 {
                    return Bson::Null;
                }
                if let (None, Some(Bson::Decimal128(t))) = (as_double, &total) {
                    // A decimal sum divides as a decimal, exactly rounded.
                    let count = Dec::from_i64(count as i64);
                    return Bson::Decimal128(
                        Dec::from_decimal128(t).divide(&count).to_decimal128(),
                    );
                }
                let t = as_double
                    .or_else(|| total.as_ref().and_then(arith::to_f64))
                    .unwrap_or(0.0);
                Bson::Double(t / count as f64)
            }
            State::One { value, .. } => value.unwrap_or(Bson::Null),
            State::Items(items) => Bson::Array(items),
            State::Count(n) => match i32::try_from(n) {
                Ok(n) => Bson::Int32(n),
                Err(_) => Bson::Int64(n as i64),
            },
            State::Merged(d) => Bson::Document(d),
            State::Moments(m) => m.std_dev(self.kind == AccumulatorKind::StdDevSamp),
            State::Samples(s) => s.finish(self.kind == AccumulatorKind::Median),
            State::Ranked(r) => r.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: AccumulatorKind, values: Vec<Option<Bson>>) -> Bson {
        let mut acc = Accumulator::new(kind);
        for v in values {
            acc.add(v).unwrap();
        }
        acc.finish()
    }

    #[test]
    fn sum_keeps_integer_types_and_skips_non_numbers() {
        assert_eq!(
            run(
                AccumulatorKind::Sum,
                vec![Some(1.into()), Some(2.into()), Some("x".into()), None]
            ),
            Bson::Int32(3)
        );
        assert_eq!(run(AccumulatorKind::Sum, vec![]), Bson::Int32(0));
        assert_eq!(
            run(
                AccumulatorKind::Sum,
                vec![Some(Bson::Int64(i64::MAX)), Some(Bson::Int64(1))]
            ),
            Bson::Double(i64::MAX as f64 + 1.0)
        );
    }

    #[test]
    fn avg_min_max_first_last() {
        let vals = || {
            vec![
                Some(Bson::Int32(4)),
                Some(Bson::Null),
                Some(Bson::Double(1.0)),
                None,
            ]
        };
        assert_eq!(run(AccumulatorKind::Avg, vals()), Bson::Double(2.5));
        assert_eq!(run(AccumulatorKind::Min, vals()), Bson::Double(1.0));
        assert_eq!(run(AccumulatorKind::Max, vals()), Bson::Int32(4));
        assert_eq!(run(AccumulatorKind::First, vals()), Bson::Int32(4));
        assert_eq!(run(AccumulatorKind::Last, vals()), Bson::Null);
        assert_eq!(run(AccumulatorKind::Avg, vec![None]), Bson::Null);
        assert_eq!(
            run(AccumulatorKind::Max, vec![Some(Bson::Null)]),
            Bson::Null
        );
    }

    #[test]
    fn push_and_add_to_set() {
        let vals = vec![
            Some(Bson::Int32(1)),
            Some(Bson::Double(1.0)),
            None,
            Some(Bson::Int32(2)),
        ];
        assert_eq!(
            run(AccumulatorKind::Push, vals.clone()),
            Bson::Array(vec![1.into(), 1.0.into(), 2.into()])
        );
        assert_eq!(
            run(AccumulatorKind::AddToSet, vals),
            Bson::Array(vec![1.into(), 2.into()])
        );
    }

    #[test]
    fn merge_objects_refuses_a_non_object() {
        let mut acc = Accumulator::new(AccumulatorKind::MergeObjects);
        acc.add(Some(Bson::Document(bson::doc! {"a": 1}))).unwrap();
        acc.add(Some(Bson::Null)).unwrap();
        acc.add(Some(Bson::Document(bson::doc! {"a": 2, "b": 1})))
            .unwrap();
        let err = acc.add(Some(Bson::Int32(1))).unwrap_err();
        assert_eq!(err.code, ErrorCode::Location(40400));
        assert_eq!(acc.finish(), Bson::Document(bson::doc! {"a": 2, "b": 1}));
    }

    #[test]
    fn std_dev_of_numbers_only() {
        let vals = || {
            vec![
                Some(Bson::Int32(2)),
                Some(Bson::Int32(4)),
                Some("x".into()),
                Some(Bson::Int32(4)),
                Some(Bson::Int32(4)),
                Some(Bson::Int32(5)),
                Some(Bson::Int32(5)),
                Some(Bson::Int32(7)),
                Some(Bson::Int32(9)),
            ]
        };
        assert_eq!(run(AccumulatorKind::StdDevPop, vals()), Bson::Double(2.0));
        assert_eq!(
            run(AccumulatorKind::StdDevSamp, vec![Some(Bson::Int32(1))]),
            Bson::Null
        );
        assert_eq!(run(AccumulatorKind::StdDevPop, vec![]), Bson::Null);
    }
}
