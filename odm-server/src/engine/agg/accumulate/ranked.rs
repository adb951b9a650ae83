//! The accumulators that keep at most `n` values: `$firstN`/`$lastN` by arrival,
//! `$minN`/`$maxN` by value, and `$top`/`$bottom`/`$topN`/`$bottomN` by a `sortBy` key.
//!
//! Kept values stay in order as they come, so a group never holds more than `n` of them
//! and the result needs no sort. On equal keys the value seen first wins, as in mongod:
//! a later equal value neither displaces a kept one nor is placed before it.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;

use bson::Bson;

use crate::engine::collation::compare;
use crate::engine::sort::SortSpec;

/// What decides which values are kept.
#[derive(Clone, Debug)]
pub(super) enum Order {
    /// `$firstN` (`last: false`) and `$lastN`: arrival; null and missing are kept (as null).
    Arrival { last: bool },
    /// `$minN` and `$maxN`: the values themselves; null and missing are skipped.
    Values { descending: bool },
    /// `$top`, `$bottom` and their `N` forms: the documents' keys under `sortBy`.
    Sorted(Arc<SortSpec>),
}

#[derive(Clone, Debug)]
pub(super) struct Ranked {
    n: usize,
    order: Order,
    /// Keeps the last `n` in order (`$bottom`) rather than the first.
    bottom: bool,
    /// `$top`/`$bottom`: one value rather than an array.
    single: bool,
    /// Sort key and value, in order.
    kept: VecDeque<(Vec<Bson>, Bson)>,
}

impl Ranked {
    pub(super) fn new(n: usize, order: Order, bottom: bool, single: bool) -> Self {
        Ranked {
            n,
            order,
            bottom,
            single,
            kept: VecDeque::new(),
        }
    }

    fn compare(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        match &self.order {
            Order::Sorted(spec) => spec.compare_keys(a, b),
            Order::Values { descending } => {
                let o = a
                    .iter()
                    .zip(b)
                    .fold(Ordering::Equal, |o, (x, y)| o.then_with(|| compare(x, y)));
                if *descending { o.reverse() } else { o }
            }
            Order::Arrival { .. } => Ordering::Equal,
        }
    }

    /// Folds in one plain value (`None` is missing).
    pub(super) fn add(&mut self, value: Option<Bson>) {
        match self.order {
            Order::Arrival { last: false } => {
                if self.kept.len() < self.n {
                    self.kept
                        .push_back((Vec::new(), value.unwrap_or(Bson::Null)));
                }
            }
            Order::Arrival { last: true } => {
                self.kept
                    .push_back((Vec::new(), value.unwrap_or(Bson::Null)));
                if self.kept.len() > self.n {
                    self.kept.pop_front();
                }
            }
            Order::Values { .. } => {
                if let Some(v) = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined)) {
                    self.add_keyed(vec![v.clone()], v);
                }
            }
            // A sorted accumulator is always given keyed input.
            Order::Sorted(_) => {}
        }
    }

    /// Folds in a value with its sort key.
    pub(super) fn add_keyed(&mut self, key: Vec<Bson>, value: Bson) {
        if self.kept.len() == self.n {
            let displaces = if self.bottom {
                self.kept
                    .front()
                    .is_some_and(|(first, _)| self.compare(&key, first).is_gt())
            } else {
                self.kept
                    .back()
                    .is_some_and(|(last, _)| self.compare(last, &key).is_gt())
            };
            if !displaces {
                return;
            }
            if self.bottom {
                self.kept.pop_front();
            } else {
                self.kept.pop_back();
            }
        }
        // After every kept value whose key is not greater: equal keys stay in arrival order.
        let at = self
            .kept
            .partition_point(|(k, _)| self.compare(k, &key).is_le());
        self.kept.insert(at, (key, value));
    }

    pub(super) fn finish(self) -> Bson {
        let mut values = self.kept.into_iter().map(|(_, v)| v);
        if self.single {
            return values.next().unwrap_or(Bson::Null);
        }
        Bson::Array(values.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(b: Bson) -> Vec<i32> {
        match b {
            Bson::Array(a) => a.into_iter().map(|v| v.as_i32().unwrap_or(-99)).collect(),
            other => panic!("not an array: {other}"),
        }
    }

    #[test]
    fn min_and_max_keep_n_in_order() {
        let mut min = Ranked::new(2, Order::Values { descending: false }, false, false);
        let mut max = Ranked::new(2, Order::Values { descending: true }, false, false);
        for v in [5, 1, 4, 1, 9] {
            min.add(Some(Bson::Int32(v)));
            max.add(Some(Bson::Int32(v)));
        }
        min.add(None);
        assert_eq!(ints(min.finish()), vec![1, 1]);
        assert_eq!(ints(max.finish()), vec![9, 5]);
    }

    #[test]
    fn first_and_last_keep_null_for_missing() {
        let mut first = Ranked::new(2, Order::Arrival { last: false }, false, false);
        let mut last = Ranked::new(2, Order::Arrival { last: true }, false, false);
        for v in [Some(Bson::Int32(1)), None, Some(Bson::Int32(3))] {
            first.add(v.clone());
            last.add(v);
        }
        assert_eq!(first.finish(), Bson::Array(vec![1.into(), Bson::Null]));
        assert_eq!(last.finish(), Bson::Array(vec![Bson::Null, 3.into()]));
    }

    #[test]
    fn bottom_keeps_the_first_of_equal_keys() {
        let spec = Arc::new(SortSpec {
            fields: vec![("s".into(), false)],
        });
        let mut bottom = Ranked::new(2, Order::Sorted(spec.clone()), true, false);
        let mut top = Ranked::new(1, Order::Sorted(spec), false, true);
        for (s, v) in [(3, 1), (9, 2), (9, 3), (1, 4)] {
            bottom.add_keyed(vec![Bson::Int32(s)], Bson::Int32(v));
            top.add_keyed(vec![Bson::Int32(s)], Bson::Int32(v));
        }
        assert_eq!(ints(bottom.finish()), vec![2, 3]);
        assert_eq!(top.finish(), Bson::Int32(4));
    }
}
