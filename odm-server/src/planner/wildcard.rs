//! The plan of a query through a wildcard index: one held path's bounds.

use bson::{Bson, doc};

use super::bounds::{Bounded, Interval, field_intervals};
use super::{Access, ByteRange, Plan};
use crate::engine::matcher::{Cond, InItem};
use crate::engine::sort::SortSpec;
use crate::storage::Direction;
use crate::storage::catalog::IndexMeta;
use crate::storage::keycodec::{encode_component_collated, prefix_successor};

/// A plan on a wildcard index: the query's conditions on one path the index holds,
/// that path's entries within the conditions' bounds (points preferred). Conditions on
/// whole documents or arrays, or that match a missing field, give no bounds: the index
/// holds leaves, and no entry for a document without the path.
pub(super) fn wildcard_plan(
    index: &IndexMeta,
    spec: &crate::storage::wildcard::WildcardSpec,
    bounded: &Bounded<'_>,
    conds: &[(&str, &Cond)],
    sort: &SortSpec,
) -> Option<(Plan, (usize, usize, bool))> {
    let on_documents = |v: &Bson| matches!(v, Bson::Document(_));
    let leaf_condition = |c: &Cond| match c {
        Cond::Eq(v) | Cond::Cmp(_, v) => !on_documents(v),
        Cond::In(items) => items
            .iter()
            .all(|i| !matches!(i, InItem::Value(v) if on_documents(v))),
        _ => false,
    };
    let mut best: Option<(&str, Vec<Interval>, bool)> = None;
    for (path, _) in conds {
        if !spec.holds(path) || best.as_ref().is_some_and(|(p, ..)| p == path) {
            continue;
        }
        let on_field: Vec<&Cond> = conds
            .iter()
            .filter(|(p, c)| p == path && leaf_condition(c))
            .map(|(_, c)| *c)
            .collect();
        let Some(intervals) = field_intervals(&on_field, true, true, bounded.same_collation) else {
            continue;
        };
        let points = intervals.iter().all(Interval::is_point);
        if best.as_ref().is_none_or(|(_, _, p)| points && !p) {
            best = Some((path, intervals, points));
        }
    }
    let (path, intervals, points) = best?;
    let descending = index.fields().next().is_some_and(|(_, d)| d);
    let mut prefix = Vec::new();
    encode_component_collated(&Bson::String(path.to_owned()), false, None, &mut prefix);
    let mut ranges: Vec<ByteRange> = intervals
        .iter()
        .map(|i| {
            let (start, end) = i.component_range(descending, bounded.collation);
            let mut s = prefix.clone();
            s.extend_from_slice(&start);
            let e = match end {
                Some(e) => {
                    let mut k = prefix.clone();
                    k.extend_from_slice(&e);
                    Some(k)
                }
                None => prefix_successor(&prefix),
            };
            ByteRange { start: s, end: e }
        })
        .collect();
    ranges.retain(|r| r.end.as_ref().is_none_or(|e| r.start < *e));
    ranges.sort_by(|a, b| a.start.cmp(&b.start));
    let bounds = doc! {
        "$_path": [format!("[\"{path}\", \"{path}\"]")],
        path: intervals.iter().map(|i| Bson::String(i.describe())).collect::<Vec<_>>(),
    };
    let plan = Plan {
        access: Access::IndexScan {
            ident: index.ident,
            index: index.name.clone(),
            ranges,
            direction: Direction::Forward,
            bounds,
            multikey: true,
        },
        provides_sort: sort.is_empty(),
    };
    Some((plan, (usize::from(points), 1, false)))
}
