//! The query planner: which index (if any) answers a filter and a sort.
//!
//! The candidates are the `_id` index (the documents table itself, keyed by `_id`) and
//! each secondary index. From the filter's top-level conjunction the planner takes, per
//! indexed field, the conditions an index can bound: equality, `$in` and the comparisons
//! `$gt`/`$gte`/`$lt`/`$lte`. Bounds are built on the index's leading fields: points for
//! equality fields, then one range, as MongoDB does. The plan only narrows the candidates:
//! every document it yields is checked against the whole filter again, so the bounds need
//! to be a superset of the answer, never exact.
//!
//! On a *multikey* index each condition may hold on a different array element, so bounds
//! on one field are not intersected there (the first usable condition is used alone).
//!
//! The choice is rule-based: an exact `_id` lookup first, then the index with the most
//! equality fields, then with a range; with none, an index that yields the requested sort
//! order saves a blocking sort; otherwise a collection scan.
//!
//! The bounds themselves are built in `bounds`; what `explain` shows of a plan in
//! `explain`; the index kinds with plans of their own in `text`, `wildcard` and `geo`,
//! and a partial index's implication test in `partial`.

mod bounds;
mod explain;
mod geo;
mod partial;
mod text;
mod wildcard;

pub use geo::{NearScan, has_near, id_ranges};

use bounds::{Bounded, IndexBounds, bounds_for, conjuncts};

use std::ops::Bound;

use bson::{Bson, Document, doc};

use crate::engine::collation;
use crate::engine::matcher::{Cond, Filter};
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError};
use crate::storage::Direction;
use crate::storage::catalog::{CollectionMeta, ID_INDEX_NAME, IndexMeta};

/// A byte range of a table: `[start, end)`, `end` unbounded when `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: Vec<u8>,
    pub end: Option<Vec<u8>>,
}

impl ByteRange {
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (
            Bound::Included(self.start.as_slice()),
            match &self.end {
                Some(e) => Bound::Excluded(e.as_slice()),
                None => Bound::Unbounded,
            },
        )
    }

    fn all() -> ByteRange {
        ByteRange {
            start: Vec::new(),
            end: None,
        }
    }
}

/// How documents are found.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// Every document, in `_id` order.
    CollScan { direction: Direction },
    /// Every document of a capped collection, in insertion order (`$natural`).
    NaturalScan { direction: Direction },
    /// Documents looked up by exact `_id` (keys in ascending order).
    IdLookup { keys: Vec<Vec<u8>> },
    /// Ranges of the documents table (the `_id` index).
    IdScan {
        ranges: Vec<ByteRange>,
        direction: Direction,
        bounds: Document,
    },
    /// Ranges of a secondary index (identified by name and ident, so that a cursor
    /// notices when the index is dropped and another one takes its name).
    IndexScan {
        ident: u64,
        index: String,
        ranges: Vec<ByteRange>,
        direction: Direction,
        bounds: Document,
        multikey: bool,
    },
    /// Documents by distance from a point, through a geo index (`$near`).
    GeoNear(Box<NearScan>),
}

/// A chosen plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub access: Access,
    /// Whether the access path already returns documents in the requested sort order.
    pub provides_sort: bool,
}

/// An index hint given by the client.
#[derive(Clone, Debug)]
pub enum Hint {
    Name(String),
    KeyPattern(Document),
    Natural(Direction),
}

impl Hint {
    /// Parses a `hint` field (`"name"`, `{a: 1}`, `{$natural: 1}`); an empty one is none.
    pub fn parse(value: &Bson) -> CmdResult<Option<Hint>> {
        match value {
            Bson::String(s) if s.is_empty() => Ok(None),
            Bson::String(s) => Ok(Some(Hint::Name(s.clone()))),
            Bson::Document(d) if d.is_empty() => Ok(None),
            Bson::Document(d) => match d.get("$natural") {
                Some(dir) => Ok(Some(Hint::Natural(
                    if crate::storage::catalog::is_descending(dir) {
                        Direction::Reverse
                    } else {
                        Direction::Forward
                    },
                ))),
                None => Ok(Some(Hint::KeyPattern(d.clone()))),
            },
            _ => Err(CommandError::failed_to_parse(
                "hint must be a string or an object",
            )),
        }
    }
}

/// Whether scanning `index` yields documents in `sort` order after `points` leading
/// fields fixed by equality; `Some(direction)` says which way to scan.
fn sort_direction(
    index_fields: &[(&str, bool)],
    points: usize,
    sort: &SortSpec,
) -> Option<Direction> {
    if sort.is_empty() {
        return Some(Direction::Forward);
    }
    let rest = &index_fields[points.min(index_fields.len())..];
    if rest.len() < sort.fields.len() {
        return None;
    }
    let mut direction = None;
    for ((path, idx_desc), (sort_path, sort_desc)) in rest.iter().zip(&sort.fields) {
        if path != sort_path {
            return None;
        }
        let d = if idx_desc == sort_desc {
            Direction::Forward
        } else {
            Direction::Reverse
        };
        match direction {
            None => direction = Some(d),
            Some(prev) if prev != d => return None,
            _ => {}
        }
    }
    direction
}

/// Whether an index is hidden from the planner (`hidden: true`): it is still maintained
/// and enforces uniqueness and TTL, but no query uses it.
fn is_hidden(index: &IndexMeta) -> bool {
    index.options.get_bool("hidden").unwrap_or(false)
}

/// Whether an index holds every document the query can match: any index but a partial
/// one, whose filter the query must imply (under the index's own collation).
fn holds_every_match(index: &IndexMeta, bounded: &Bounded<'_>, conds: &[(&str, &Cond)]) -> bool {
    // A text index holds words, not values: only `$text` uses it. A wildcard index
    // holds only documents with the queried path (`wildcard_plan` decides).
    if index.text.is_some() || index.wildcard.is_some() || index.geo.is_some() {
        return false;
    }
    match &index.partial {
        None => true,
        Some(p) => bounded.same_collation && partial::implies(conds, &p.filter),
    }
}

/// Picks a plan for `filter` and `sort` on a collection, under the command's collation:
/// an index under another collation bounds no strings and provides no order.
pub fn plan(
    meta: &CollectionMeta,
    filter: &Filter,
    sort: &SortSpec,
    hint: Option<&Hint>,
) -> CmdResult<Plan> {
    let conds = conjuncts(filter);
    if let Some(text) = filter.text() {
        return text::text_plan(meta, filter, text, &conds, sort);
    }
    if let Some(p) = geo::near_plan(meta, filter, &conds, sort)? {
        return Ok(p);
    }
    let query_collation = collation::current();
    let query_collation = query_collation.as_ref();
    let id = Bounded::id(query_collation);
    let id_bounds = || bounds_for(&id, &conds);

    if let Some(hint) = hint {
        return match hint {
            Hint::Natural(direction) => Ok(Plan {
                access: full_scan(meta, *direction),
                provides_sort: sort.is_empty(),
            }),
            Hint::Name(name) if name == ID_INDEX_NAME => Ok(id_plan(&id, id_bounds(), sort)),
            Hint::KeyPattern(k) if *k == doc! {"_id": 1} || *k == doc! {"_id": -1} => {
                Ok(id_plan(&id, id_bounds(), sort))
            }
            _ => {
                let index = meta
                    .indexes
                    .iter()
                    .filter(|i| !is_hidden(i))
                    .find(|i| match hint {
                        Hint::Name(n) => &i.name == n,
                        Hint::KeyPattern(k) => &i.key == k,
                        Hint::Natural(_) => false,
                    })
                    .ok_or_else(|| {
                        CommandError::bad_value(
                            "hint provided does not correspond to an existing index",
                        )
                    })?;
                if index.geo.is_some() {
                    return geo::region_plans(meta, &conds, sort, Some(index))
                        .into_iter()
                        .next()
                        .ok_or_else(|| {
                            CommandError::bad_value(
                                "hint provided does not correspond to an existing index: a geo index serves only geo queries on its field",
                            )
                        });
                }
                let bounded = Bounded::index(index, query_collation);
                if let Some(spec) = &index.wildcard
                    && let Some((p, _)) =
                        wildcard::wildcard_plan(index, spec, &bounded, &conds, sort)
                {
                    return Ok(p);
                }
                // A partial index that may miss matches would answer wrongly: mongod
                // refuses the hint.
                if !holds_every_match(index, &bounded, &conds) {
                    return Err(CommandError::bad_value(
                        "hint provided does not correspond to an existing index: it cannot hold every match (a partial index whose filter the query does not imply, or a text index without $text)",
                    ));
                }
                let bounds = bounds_for(&bounded, &conds);
                Ok(index_plan(index, &bounded, bounds, sort))
            }
        };
    }

    let mut best: Option<(Plan, (usize, usize, bool))> = None;
    let mut consider = |p: Plan, score: (usize, usize, bool)| {
        if best.as_ref().is_none_or(|(_, s)| score > *s) {
            best = Some((p, score));
        }
    };
    if let Some(b) = id_bounds() {
        let score = (b.point_fields, b.bound_fields, false);
        let p = id_plan(&id, Some(b), sort);
        // An exact _id lookup beats everything.
        if matches!(p.access, Access::IdLookup { .. }) {
            return Ok(p);
        }
        let score = (score.0, score.1, p.provides_sort);
        consider(p, score);
    }
    for index in meta.indexes.iter().filter(|i| !is_hidden(i)) {
        if index.geo.is_some() {
            for p in geo::region_plans(meta, &conds, sort, Some(index)) {
                let provides = p.provides_sort;
                consider(p, (0, 1, provides));
            }
            continue;
        }
        let bounded = Bounded::index(index, query_collation);
        if let Some(spec) = &index.wildcard {
            if let Some((p, score)) = wildcard::wildcard_plan(index, spec, &bounded, &conds, sort) {
                consider(p, score);
            }
            continue;
        }
        if !holds_every_match(index, &bounded, &conds) {
            continue;
        }
        if let Some(b) = bounds_for(&bounded, &conds) {
            let score = (b.point_fields, b.bound_fields, false);
            let p = index_plan(index, &bounded, Some(b), sort);
            let score = (score.0, score.1, p.provides_sort);
            consider(p, score);
        }
    }
    if let Some((p, _)) = best {
        return Ok(p);
    }
    // No index bounds the filter: an index in sort order still avoids a blocking sort.
    if !sort.is_empty() {
        if id.same_collation
            && meta.capped().is_none()
            && sort_direction(&id.fields, 0, sort).is_some()
        {
            return Ok(id_plan(&id, None, sort));
        }
        for index in meta.indexes.iter().filter(|i| !is_hidden(i)) {
            let bounded = Bounded::index(index, query_collation);
            if !index.multikey
                && !index.sparse
                && index.partial.is_none()
                && index.text.is_none()
                && index.wildcard.is_none()
                && index.geo.is_none()
                && bounded.hashed.is_none()
                && bounded.same_collation
                && sort_direction(&bounded.fields, 0, sort).is_some()
            {
                return Ok(index_plan(index, &bounded, None, sort));
            }
        }
    }
    Ok(Plan {
        access: full_scan(meta, Direction::Forward),
        provides_sort: sort.is_empty(),
    })
}

/// Every document, in the order a scan without an index gives: insertion order for a
/// capped collection, `_id` order for another.
fn full_scan(meta: &CollectionMeta, direction: Direction) -> Access {
    if meta.capped().is_some() {
        Access::NaturalScan { direction }
    } else {
        Access::CollScan { direction }
    }
}

/// The scan direction that yields `sort` on an index, if any. With no sort, any order
/// does; a multikey index provides no order (a document has several keys), nor does an
/// index whose strings are ordered by another collation than the query's.
fn scan_direction(index: &Bounded<'_>, points: usize, sort: &SortSpec) -> Option<Direction> {
    if sort.is_empty() {
        Some(Direction::Forward)
    } else if index.multikey || !index.same_collation || index.hashed.is_some() {
        None
    } else {
        sort_direction(&index.fields, points, sort)
    }
}

/// A plan on the `_id` index (the documents table): lookups for points, ranges
/// otherwise, or a scan of the whole table in `_id` order without bounds.
fn id_plan(id: &Bounded<'_>, bounds: Option<IndexBounds>, sort: &SortSpec) -> Plan {
    let direction = scan_direction(id, 0, sort);
    match bounds {
        Some(b) if b.all_points => {
            // The documents table holds one entry per _id: each point is one lookup, and
            // the keys come back in _id order.
            let keys: Vec<Vec<u8>> = b.ranges.iter().map(|r| r.start.clone()).collect();
            Plan {
                access: Access::IdLookup { keys },
                provides_sort: direction == Some(Direction::Forward),
            }
        }
        Some(b) => Plan {
            access: Access::IdScan {
                ranges: b.ranges,
                direction: direction.unwrap_or(Direction::Forward),
                bounds: b.bounds_doc,
            },
            provides_sort: direction.is_some(),
        },
        None => Plan {
            access: Access::CollScan {
                direction: direction.unwrap_or(Direction::Forward),
            },
            provides_sort: direction.is_some(),
        },
    }
}

/// A plan on a secondary index: its bounds, or the whole index without them.
fn index_plan(
    index: &IndexMeta,
    bounded: &Bounded<'_>,
    bounds: Option<IndexBounds>,
    sort: &SortSpec,
) -> Plan {
    let (ranges, bounds_doc, points) = match bounds {
        Some(b) => (b.ranges, b.bounds_doc, Some(b.point_fields)),
        None => {
            let mut all = Document::new();
            for (path, _) in &bounded.fields {
                all.insert(*path, vec![Bson::String("[MinKey, MaxKey]".into())]);
            }
            (vec![ByteRange::all()], all, None)
        }
    };
    let direction = scan_direction(bounded, points.unwrap_or(0), sort);
    // One range keeps index order; several ranges (from $in) are scanned one after
    // another, which keeps order only within each. A sparse index without bounds misses
    // the documents it does not hold, so it cannot stand for the whole collection's order.
    let ordered = (ranges.len() <= 1 && (points.is_some() || !index.sparse)) || sort.is_empty();
    Plan {
        access: Access::IndexScan {
            index: index.name.clone(),
            ident: index.ident,
            ranges,
            direction: direction.unwrap_or(Direction::Forward),
            bounds: bounds_doc,
            multikey: index.multikey,
        },
        provides_sort: direction.is_some() && ordered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::storage::keycodec::encode;

    fn meta(indexes: Vec<(&str, Document, bool)>) -> CollectionMeta {
        CollectionMeta {
            db: "db".into(),
            name: "c".into(),
            ident: 1,
            uuid: bson::Binary {
                subtype: bson::spec::BinarySubtype::Uuid,
                bytes: vec![0; 16],
            },
            options: Document::new(),
            indexes: indexes
                .into_iter()
                .enumerate()
                .map(|(i, (name, key, multikey))| IndexMeta {
                    multikey,
                    ..IndexMeta::new(name.into(), key, 10 + i as u64, Document::new()).unwrap()
                })
                .collect(),
        }
    }

    fn plan_for(m: &CollectionMeta, filter: Document, sort: Document) -> Plan {
        plan(
            m,
            &Filter::parse(&filter).unwrap(),
            &SortSpec::parse(&sort).unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn id_equality_is_a_lookup() {
        let m = meta(vec![]);
        let p = plan_for(&m, doc! {"_id": 5}, doc! {});
        assert_eq!(
            p.access,
            Access::IdLookup {
                keys: vec![encode(&Bson::Int32(5))]
            }
        );
        let p = plan_for(&m, doc! {"_id": {"$in": [3, 1]}}, doc! {});
        assert_eq!(
            p.access,
            Access::IdLookup {
                keys: vec![encode(&Bson::Int32(1)), encode(&Bson::Int32(3))]
            }
        );
    }

    #[test]
    fn equality_prefers_the_index_with_more_equal_fields() {
        let m = meta(vec![
            ("a_1", doc! {"a": 1}, false),
            ("a_1_b_1", doc! {"a": 1, "b": 1}, false),
        ]);
        let p = plan_for(&m, doc! {"a": 1, "b": 2}, doc! {});
        assert_eq!(p.index_name(), Some("a_1_b_1"));
        let p = plan_for(&m, doc! {"c": 1}, doc! {});
        assert!(matches!(p.access, Access::CollScan { .. }));
    }

    #[test]
    fn sort_by_index_order_avoids_blocking_sort() {
        let m = meta(vec![("a_1_b_-1", doc! {"a": 1, "b": -1}, false)]);
        let p = plan_for(&m, doc! {"a": 1}, doc! {"b": 1});
        assert_eq!(p.index_name(), Some("a_1_b_-1"));
        assert!(p.provides_sort);
        assert!(matches!(
            p.access,
            Access::IndexScan {
                direction: Direction::Reverse,
                ..
            }
        ));
        let p = plan_for(&m, doc! {}, doc! {"a": -1, "b": 1});
        assert!(p.provides_sort);
        let p = plan_for(&m, doc! {}, doc! {"a": 1, "b": 1});
        assert!(!p.provides_sort);
    }

    #[test]
    fn ranges_intersect_except_on_multikey_indexes() {
        let m = meta(vec![("a_1", doc! {"a": 1}, false)]);
        let p = plan_for(&m, doc! {"a": {"$gt": 5, "$lt": 10}}, doc! {});
        let Access::IndexScan { ranges, .. } = p.access else {
            panic!()
        };
        assert_eq!(ranges.len(), 1);
        let mk = meta(vec![("a_1", doc! {"a": 1}, true)]);
        let p = plan_for(&mk, doc! {"a": {"$gt": 5, "$lt": 10}}, doc! {});
        let Access::IndexScan { bounds, .. } = p.access else {
            panic!()
        };
        assert_eq!(bounds.get_array("a").unwrap().len(), 1);
        assert_eq!(
            bounds.get_array("a").unwrap()[0].as_str().unwrap(),
            "(5, inf.0]"
        );
    }

    #[test]
    fn contradictory_ranges_give_no_ranges() {
        let m = meta(vec![("a_1", doc! {"a": 1}, false)]);
        let p = plan_for(&m, doc! {"a": {"$gt": 5, "$lt": "z"}}, doc! {});
        let Access::IndexScan { ranges, .. } = p.access else {
            panic!()
        };
        assert!(ranges.is_empty());
    }

    #[test]
    fn unknown_hint_is_bad_value() {
        let m = meta(vec![]);
        let err = plan(
            &m,
            &Filter::parse(&doc! {}).unwrap(),
            &SortSpec::default(),
            Some(&Hint::Name("nope".into())),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
    }
}
