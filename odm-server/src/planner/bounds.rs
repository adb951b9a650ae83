//! Index bounds: the intervals of values each condition allows on a field, and the byte
//! ranges of an index (or of the documents table) they become, field after field, as
//! MongoDB builds them: points for the equality fields, then one range.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::{ByteRange, Cond};
use crate::engine::collation::{self, Collator};
use crate::engine::compare::{TypeRank, compare, type_rank};
use crate::engine::matcher::{CmpOp, Filter, InItem};
use crate::storage::catalog::IndexMeta;
use crate::storage::collection::hashed_key;
use crate::storage::keycodec::{self, encode_component_collated, prefix_successor};

/// The bytes one field's component of a key may take: `[start, end)`, `end` unbounded
/// when `None`.
pub(super) type ComponentRange = (Vec<u8>, Option<Vec<u8>>);

/// One end of an interval of values of one field.
#[derive(Clone, Debug)]
pub(super) enum End {
    /// The first (or last) value of a whole type bracket.
    Bracket(TypeRank),
    Value(Bson, bool),
}

#[derive(Clone, Debug)]
pub(super) struct Interval {
    pub(super) lower: End,
    pub(super) upper: End,
}

impl Interval {
    pub(super) fn point(v: &Bson) -> Interval {
        Interval {
            lower: End::Value(v.clone(), true),
            upper: End::Value(v.clone(), true),
        }
    }

    pub(super) fn is_point(&self) -> bool {
        matches!((&self.lower, &self.upper), (End::Value(a, true), End::Value(b, true)) if collation::compare(a, b) == Ordering::Equal)
    }

    pub(super) fn from_cmp(op: CmpOp, v: &Bson) -> Interval {
        let bracket = End::Bracket(type_rank(v));
        match op {
            CmpOp::Gt => Interval {
                lower: End::Value(v.clone(), false),
                upper: bracket,
            },
            CmpOp::Gte => Interval {
                lower: End::Value(v.clone(), true),
                upper: bracket,
            },
            CmpOp::Lt => Interval {
                lower: bracket,
                upper: End::Value(v.clone(), false),
            },
            CmpOp::Lte => Interval {
                lower: bracket,
                upper: End::Value(v.clone(), true),
            },
        }
    }

    /// The intersection, or `None` when it is empty.
    pub(super) fn intersect(&self, other: &Interval) -> Option<Interval> {
        let lower = max_lower(&self.lower, &other.lower);
        let upper = min_upper(&self.upper, &other.upper);
        let i = Interval { lower, upper };
        (!i.is_empty()).then_some(i)
    }

    pub(super) fn is_empty(&self) -> bool {
        let (lo, lo_incl) = lower_key(&self.lower);
        let (hi, hi_incl) = upper_key(&self.upper);
        match compare_keys(&lo, &hi) {
            Ordering::Greater => true,
            Ordering::Equal => !(lo_incl && hi_incl),
            Ordering::Less => false,
        }
    }

    /// The byte range of one field's component, for an ascending or descending field of
    /// an index with `collation`.
    pub(super) fn component_range(
        &self,
        descending: bool,
        collation: Option<&Collator>,
    ) -> ComponentRange {
        let enc = |v: &Bson, desc: bool| {
            let mut out = Vec::new();
            encode_component_collated(v, desc, collation, &mut out);
            out
        };
        let bracket = |r: TypeRank, desc: bool| keycodec::type_prefix(r, desc);
        if !descending {
            let start = match &self.lower {
                End::Bracket(r) => bracket(*r, false),
                End::Value(v, true) => enc(v, false),
                End::Value(v, false) => prefix_successor(&enc(v, false)).unwrap_or_default(),
            };
            let end = match &self.upper {
                End::Bracket(r) => prefix_successor(&bracket(*r, false)),
                End::Value(v, true) => prefix_successor(&enc(v, false)),
                End::Value(v, false) => Some(enc(v, false)),
            };
            (start, end)
        } else {
            let start = match &self.upper {
                End::Bracket(r) => bracket(*r, true),
                End::Value(v, true) => enc(v, true),
                End::Value(v, false) => prefix_successor(&enc(v, true)).unwrap_or_default(),
            };
            let end = match &self.lower {
                End::Bracket(r) => prefix_successor(&bracket(*r, true)),
                End::Value(v, true) => prefix_successor(&enc(v, true)),
                End::Value(v, false) => Some(enc(v, true)),
            };
            (start, end)
        }
    }

    pub(super) fn describe(&self) -> String {
        let show = |e: &End, low: bool| match e {
            End::Bracket(r) => {
                if low {
                    format!("[{}", bracket_name(*r, true))
                } else {
                    format!("{}]", bracket_name(*r, false))
                }
            }
            End::Value(v, incl) => {
                if low {
                    format!("{}{v}", if *incl { "[" } else { "(" })
                } else {
                    format!("{v}{}", if *incl { "]" } else { ")" })
                }
            }
        };
        format!("{}, {}", show(&self.lower, true), show(&self.upper, false))
    }
}

pub(super) fn bracket_name(rank: TypeRank, low: bool) -> &'static str {
    match (rank, low) {
        (TypeRank::Number, true) => "-inf.0",
        (TypeRank::Number, false) => "inf.0",
        (TypeRank::String, true) => "\"\"",
        (TypeRank::String, false) => "{}",
        (_, true) => "MinKey",
        (_, false) => "MaxKey",
    }
}

/// Orders interval ends: a bracket start sorts before every value of its bracket, a
/// bracket end after.
pub(super) fn lower_key(e: &End) -> ((TypeRank, i8, Option<&Bson>), bool) {
    match e {
        End::Bracket(r) => ((*r, -1, None), true),
        End::Value(v, incl) => ((type_rank(v), 0, Some(v)), *incl),
    }
}

pub(super) fn upper_key(e: &End) -> ((TypeRank, i8, Option<&Bson>), bool) {
    match e {
        End::Bracket(r) => ((*r, 1, None), true),
        End::Value(v, incl) => ((type_rank(v), 0, Some(v)), *incl),
    }
}

pub(super) fn compare_keys(
    a: &(TypeRank, i8, Option<&Bson>),
    b: &(TypeRank, i8, Option<&Bson>),
) -> Ordering {
    a.0.cmp(&b.0)
        .then(a.1.cmp(&b.1))
        // Strings are bounded only through an index under the query's collation, so the
        // query's collation orders the ends as the index's keys do.
        .then_with(|| match (a.2, b.2) {
            (Some(x), Some(y)) => collation::compare(x, y),
            _ => Ordering::Equal,
        })
}

pub(super) fn max_lower(a: &End, b: &End) -> End {
    let (ka, ia) = lower_key(a);
    let (kb, _) = lower_key(b);
    match compare_keys(&ka, &kb) {
        Ordering::Greater => a.clone(),
        Ordering::Less => b.clone(),
        // Same value: the exclusive end is the tighter one.
        Ordering::Equal => {
            if ia {
                b.clone()
            } else {
                a.clone()
            }
        }
    }
}

pub(super) fn min_upper(a: &End, b: &End) -> End {
    let (ka, ia) = upper_key(a);
    let (kb, _) = upper_key(b);
    match compare_keys(&ka, &kb) {
        Ordering::Less => a.clone(),
        Ordering::Greater => b.clone(),
        Ordering::Equal => {
            if ia {
                b.clone()
            } else {
                a.clone()
            }
        }
    }
}

/// The conditions of the filter's top-level conjunction, by path.
pub(super) fn conjuncts(filter: &Filter) -> Vec<(&str, &Cond)> {
    let mut out = Vec::new();
    pub(super) fn walk<'a>(f: &'a Filter, out: &mut Vec<(&'a str, &'a Cond)>) {
        crate::depth::guard(|| match f {
            Filter::And(fs) => fs.iter().for_each(|f| walk(f, out)),
            Filter::Field {
                path,
                cond: Cond::And(cs),
            } => cs.iter().for_each(|c| out.push((path, c))),
            Filter::Field { path, cond } => out.push((path, cond)),
            _ => {}
        })
    }
    walk(filter, &mut out);
    out
}

/// Whether an index can answer a condition on a value: arrays (matched as wholes or by
/// element) and MinKey/MaxKey operands are left to the filter.
pub(super) fn boundable(v: &Bson) -> bool {
    !matches!(
        v,
        Bson::Array(_) | Bson::MinKey | Bson::MaxKey | Bson::Undefined
    )
}

/// Whether a value's place in an index depends on the collation: an index whose
/// collation is not the query's cannot bound conditions on such values.
pub(super) fn collation_sensitive(v: &Bson) -> bool {
    matches!(
        v,
        Bson::String(_) | Bson::Symbol(_) | Bson::Document(_) | Bson::Array(_)
    )
}

/// The intervals a field's conditions allow, or `None` when they cannot bound it.
/// `sparse` indexes hold no entry for missing fields, so conditions that match a missing
/// field (equality to null) cannot use them. Without `same_collation` (the index's
/// collation is not the query's), conditions on strings and documents cannot either.
pub(super) fn field_intervals(
    conds: &[&Cond],
    multikey: bool,
    sparse: bool,
    same_collation: bool,
) -> Option<Vec<Interval>> {
    let boundable = |v: &Bson| boundable(v) && (same_collation || !collation_sensitive(v));
    let mut eq = None;
    let mut ins = None;
    let mut ranges = Vec::new();
    for c in conds {
        match c {
            Cond::Eq(v) if boundable(v) && !(sparse && matches!(v, Bson::Null)) => {
                eq = eq.or(Some(v))
            }
            Cond::In(items) if ins.is_none() => {
                let values: Option<Vec<&Bson>> = items
                    .iter()
                    .map(|i| match i {
                        InItem::Value(v)
                            if boundable(v) && !(sparse && matches!(v, Bson::Null)) =>
                        {
                            Some(v)
                        }
                        _ => None,
                    })
                    .collect();
                ins = values;
            }
            Cond::Cmp(op, v) if boundable(v) && !matches!(v, Bson::Null) => {
                ranges.push(Interval::from_cmp(*op, v))
            }
            _ => {}
        }
    }
    if let Some(v) = eq {
        return Some(vec![Interval::point(v)]);
    }
    if let Some(mut values) = ins {
        values.sort_by(|a, b| collation::compare(a, b));
        values.dedup_by(|a, b| collation::compare(a, b) == Ordering::Equal);
        return Some(values.into_iter().map(Interval::point).collect());
    }
    let mut ranges = ranges.into_iter();
    let first = ranges.next()?;
    if multikey {
        return Some(vec![first]);
    }
    let mut acc = first;
    for r in ranges {
        match acc.intersect(&r) {
            Some(i) => acc = i,
            None => return Some(Vec::new()),
        }
    }
    Some(vec![acc])
}

/// The points a hashed field's conditions allow: the hashes of an equality's value or of
/// every `$in` value (ranges of hashes mean nothing), or `None`.
pub(super) fn hashed_intervals(
    conds: &[&Cond],
    sparse: bool,
    collation: Option<&Collator>,
    same_collation: bool,
) -> Option<Vec<Interval>> {
    // Under a collation only a top-level string is hashed by its sort key: a document
    // holding strings hashes by its bytes, so it cannot be looked up by an equal one.
    let usable = |v: &Bson| {
        boundable(v)
            && !(sparse && matches!(v, Bson::Null))
            && (same_collation || !collation_sensitive(v))
            && !(collation.is_some() && matches!(v, Bson::Document(_)))
    };
    conds.iter().find_map(|c| {
        let values: Vec<&Bson> = match c {
            Cond::Eq(v) => vec![v],
            Cond::In(items) => items
                .iter()
                .map(|i| match i {
                    InItem::Value(v) => Some(v),
                    InItem::Regex(_) => None,
                })
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        if !values.iter().all(|v| usable(v)) {
            return None;
        }
        let mut hashes: Vec<Bson> = values.iter().map(|v| hashed_key(v, collation)).collect();
        hashes.sort_by(compare);
        hashes.dedup_by(|a, b| compare(a, b) == Ordering::Equal);
        Some(hashes.iter().map(Interval::point).collect())
    })
}

/// The most ranges one scan is given (a large `$in`, or the product of several).
pub(super) const MAX_RANGES: usize = 100_000;

/// What an index offers for a filter: byte ranges, how many leading fields are bound by
/// single points, and whether any field is bound at all.
pub(super) struct IndexBounds {
    pub(super) ranges: Vec<ByteRange>,
    /// Every bound field is fixed to points (equality or `$in`): each range is one value.
    pub(super) all_points: bool,
    pub(super) point_fields: usize,
    pub(super) bound_fields: usize,
    pub(super) bounds_doc: Document,
}

/// An index as the planner bounds it.
pub(super) struct Bounded<'a> {
    pub(super) fields: Vec<(&'a str, bool)>,
    pub(super) multikey: bool,
    pub(super) sparse: bool,
    /// The collation its keys are encoded under.
    pub(super) collation: Option<&'a Collator>,
    /// Whether that collation is the query's (strings may be bounded, and its order is
    /// the order the query sorts by).
    pub(super) same_collation: bool,
    /// The field indexed by its hash: equalities only, and no order.
    pub(super) hashed: Option<&'a str>,
}

impl<'a> Bounded<'a> {
    pub(super) fn index(index: &'a IndexMeta, query_collation: Option<&Collator>) -> Bounded<'a> {
        Bounded {
            fields: index.fields().collect(),
            multikey: index.multikey,
            sparse: index.sparse,
            collation: index.collation.as_ref(),
            same_collation: index.collation.as_ref() == query_collation,
            hashed: index.hashed_field(),
        }
    }

    /// The `_id` index: the documents table, keyed by `_id` bytes (no collation).
    pub(super) fn id(query_collation: Option<&Collator>) -> Bounded<'static> {
        Bounded {
            fields: vec![("_id", false)],
            multikey: false,
            sparse: false,
            collation: None,
            same_collation: query_collation.is_none(),
            hashed: None,
        }
    }
}

pub(super) fn bounds_for(index: &Bounded<'_>, conds: &[(&str, &Cond)]) -> Option<IndexBounds> {
    let Bounded {
        fields,
        multikey,
        sparse,
        collation,
        same_collation,
        hashed,
    } = index;
    let (multikey, sparse, same_collation) = (*multikey, *sparse, *same_collation);
    let mut prefixes: Vec<Vec<u8>> = vec![Vec::new()];
    let mut bounds_doc = Document::new();
    let mut point_fields = 0;
    let mut bound_fields = 0;
    // The byte ranges of the first field bound by a range rather than points.
    let mut range_part: Option<Vec<ComponentRange>> = None;
    for (path, descending) in fields {
        let on_field: Vec<&Cond> = conds
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, c)| *c)
            .collect();
        let intervals = if *hashed == Some(*path) {
            hashed_intervals(&on_field, sparse, *collation, same_collation)
        } else {
            field_intervals(&on_field, multikey, sparse, same_collation)
        };
        let Some(intervals) = intervals else {
            break;
        };
        // Points of several fields multiply: past a limit, leave this field unbounded
        // (the filter still checks it) rather than enumerate the product.
        if prefixes.len().saturating_mul(intervals.len().max(1)) > MAX_RANGES {
            break;
        }
        bound_fields += 1;
        bounds_doc.insert(
            *path,
            intervals
                .iter()
                .map(|i| Bson::String(i.describe()))
                .collect::<Vec<_>>(),
        );
        if intervals.iter().all(Interval::is_point) {
            if intervals.len() == 1 {
                point_fields += 1;
            }
            let mut next = Vec::with_capacity(prefixes.len() * intervals.len());
            for p in &prefixes {
                for i in &intervals {
                    let (start, _) = i.component_range(*descending, *collation);
                    let mut k = p.clone();
                    k.extend_from_slice(&start);
                    next.push(k);
                }
            }
            prefixes = next;
            continue;
        }
        range_part = Some(
            intervals
                .iter()
                .map(|i| i.component_range(*descending, *collation))
                .collect(),
        );
        break;
    }
    if bound_fields == 0 {
        return None;
    }
    let mut ranges = Vec::new();
    for p in &prefixes {
        match &range_part {
            None => ranges.push(ByteRange {
                start: p.clone(),
                end: prefix_successor(p),
            }),
            Some(parts) => {
                for (start, end) in parts {
                    let mut s = p.clone();
                    s.extend_from_slice(start);
                    let e = match end {
                        Some(e) => {
                            let mut k = p.clone();
                            k.extend_from_slice(e);
                            Some(k)
                        }
                        None => prefix_successor(p),
                    };
                    ranges.push(ByteRange { start: s, end: e });
                }
            }
        }
    }
    ranges.retain(|r| r.end.as_ref().is_none_or(|e| r.start < *e));
    ranges.sort_by(|a, b| a.start.cmp(&b.start));
    Some(IndexBounds {
        ranges,
        all_points: range_part.is_none(),
        point_fields,
        bound_fields,
        bounds_doc,
    })
}
