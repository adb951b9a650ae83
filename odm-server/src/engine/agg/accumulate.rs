//! Accumulators: what `$group` (and the array forms of `$sum`, `$avg`, `$min`, `$max`)
//! fold values into.

use bson::Bson;

use crate::engine::arith::{self, Op, Outcome};
use crate::engine::compare::{compare, values_equal};
use crate::engine::decimal_arith::Dec;

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
}

impl AccumulatorKind {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "$sum" => Self::Sum,
            "$avg" => Self::Avg,
            "$min" => Self::Min,
            "$max" => Self::Max,
            "$first" => Self::First,
            "$last" => Self::Last,
            "$push" => Self::Push,
            "$addToSet" => Self::AddToSet,
            "$count" => Self::Count,
            _ => return None,
        })
    }
}

/// The running state of one accumulator.
#[derive(Clone, Debug)]
pub struct Accumulator {
    kind: AccumulatorKind,
    /// Sum (for $sum/$avg), extreme (for $min/$max), first/last value.
    value: Option<Bson>,
    /// Set once an int64 sum overflowed: the sum continues as a double.
    sum_as_double: Option<f64>,
    count: u64,
    items: Vec<Bson>,
}

impl Accumulator {
    pub fn new(kind: AccumulatorKind) -> Self {
        Accumulator {
            kind,
            value: None,
            sum_as_double: None,
            count: 0,
            items: Vec::new(),
        }
    }

    /// Folds in one value (`None` is missing).
    pub fn add(&mut self, value: Option<Bson>) {
        match self.kind {
            AccumulatorKind::Sum | AccumulatorKind::Avg => {
                let Some(v) = value.filter(arith::is_number) else {
                    return;
                };
                self.count += 1;
                if let Some(d) = &mut self.sum_as_double {
                    *d += arith::to_f64(&v).unwrap_or(0.0);
                    return;
                }
                let current = self.value.take().unwrap_or(Bson::Int32(0));
                match arith::apply(Op::Add, &current, &v).expect("both numbers") {
                    Outcome::Value(sum) => self.value = Some(sum),
                    Outcome::Overflow => {
                        self.sum_as_double = Some(
                            arith::to_f64(&current).unwrap_or(0.0)
                                + arith::to_f64(&v).unwrap_or(0.0),
                        );
                    }
                }
            }
            AccumulatorKind::Min | AccumulatorKind::Max => {
                // null and missing are ignored unless nothing else comes.
                let Some(v) = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined)) else {
                    return;
                };
                let replace = match &self.value {
                    None => true,
                    Some(cur) if self.kind == AccumulatorKind::Min => compare(&v, cur).is_lt(),
                    Some(cur) => compare(&v, cur).is_gt(),
                };
                if replace {
                    self.value = Some(v);
                }
            }
            AccumulatorKind::First => {
                if self.count == 0 {
                    self.value = Some(value.unwrap_or(Bson::Null));
                }
                self.count += 1;
            }
            AccumulatorKind::Last => self.value = Some(value.unwrap_or(Bson::Null)),
            AccumulatorKind::Push => self.items.extend(value),
            AccumulatorKind::AddToSet => {
                if let Some(v) = value
                    && !self.items.iter().any(|i| values_equal(i, &v))
                {
                    self.items.push(v);
                }
            }
            AccumulatorKind::Count => self.count += 1,
        }
    }

    /// The accumulated result.
    pub fn finish(self) -> Bson {
        match self.kind {
            AccumulatorKind::Sum => match self.sum_as_double {
                Some(d) => Bson::Double(d),
                None => self.value.unwrap_or(Bson::Int32(0)),
            },
            AccumulatorKind::Avg => {
                if self.count == 0 {
                    return Bson::Null;
                }
                if let (None, Some(Bson::Decimal128(total))) = (self.sum_as_double, &self.value) {
                    // A decimal sum divides as a decimal, exactly rounded.
                    let count = Dec::from_i64(self.count as i64);
                    return Bson::Decimal128(
                        Dec::from_decimal128(total).divide(&count).to_decimal128(),
                    );
                }
                let total = self
                    .sum_as_double
                    .or_else(|| self.value.as_ref().and_then(arith::to_f64))
                    .unwrap_or(0.0);
                Bson::Double(total / self.count as f64)
            }
            AccumulatorKind::Min
            | AccumulatorKind::Max
            | AccumulatorKind::First
            | AccumulatorKind::Last => self.value.unwrap_or(Bson::Null),
            AccumulatorKind::Push | AccumulatorKind::AddToSet => Bson::Array(self.items),
            AccumulatorKind::Count => match i32::try_from(self.count) {
                Ok(n) => Bson::Int32(n),
                Err(_) => Bson::Int64(self.count as i64),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: AccumulatorKind, values: Vec<Option<Bson>>) -> Bson {
        let mut acc = Accumulator::new(kind);
        for v in values {
            acc.add(v);
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
}
