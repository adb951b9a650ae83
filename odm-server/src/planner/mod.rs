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

mod geo;
mod partial;
mod text;
mod wildcard;

pub use geo::{NearScan, has_near, id_ranges};

use std::cmp::Ordering;
use std::ops::Bound;

use bson::{Bson, Document, doc};

use crate::engine::collation::{self, Collator};
use crate::engine::compare::{TypeRank, compare, type_rank};
use crate::engine::matcher::{CmpOp, Cond, Filter, InItem};
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError};
use crate::storage::catalog::{CollectionMeta, ID_INDEX_NAME, IndexMeta};
use crate::storage::collection::hashed_key;
use crate::storage::keycodec::{self, prefix_successor};
use crate::storage::{Direction, keycodec::encode_component_collated};

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

/// The bytes one field's component of a key may take: `[start, end)`, `end` unbounded
/// when `None`.
type ComponentRange = (Vec<u8>, Option<Vec<u8>>);

/// One end of an interval of values of one field.
#[derive(Clone, Debug)]
enum End {
    /// The first (or last) value of a whole type bracket.
    Bracket(TypeRank),
    Value(Bson, bool),
}

#[derive(Clone, Debug)]
struct Interval {
    lower: End,
    upper: End,
}

impl Interval {
    fn point(v: &Bson) -> Interval {
        Interval {
            lower: End::Value(v.clone(), true),
            upper: End::Value(v.clone(), true),
        }
    }

    fn is_point(&self) -> bool {
        matches!((&self.lower, &self.upper), (End::Value(a, true), End::Value(b, true)) if collation::compare(a, b) == Ordering::Equal)
    }

    fn from_cmp(op: CmpOp, v: &Bson) -> Interval {
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
    fn intersect(&self, other: &Interval) -> Option<Interval> {
        let lower = max_lower(&self.lower, &other.lower);
        let upper = min_upper(&self.upper, &other.upper);
        let i = Interval { lower, upper };
        (!i.is_empty()).then_some(i)
    }

    fn is_empty(&self) -> bool {
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
    fn component_range(&self, descending: bool, collation: Option<&Collator>) -> ComponentRange {
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

    fn describe(&self) -> String {
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

fn bracket_name(rank: TypeRank, low: bool) -> &'static str {
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
fn lower_key(e: &End) -> ((TypeRank, i8, Option<&Bson>), bool) {
    match e {
        End::Bracket(r) => ((*r, -1, None), true),
        End::Value(v, incl) => ((type_rank(v), 0, Some(v)), *incl),
    }
}

fn upper_key(e: &End) -> ((TypeRank, i8, Option<&Bson>), bool) {
    match e {
        End::Bracket(r) => ((*r, 1, None), true),
        End::Value(v, incl) => ((type_rank(v), 0, Some(v)), *incl),
    }
}

fn compare_keys(a: &(TypeRank, i8, Option<&Bson>), b: &(TypeRank, i8, Option<&Bson>)) -> Ordering {
    a.0.cmp(&b.0)
        .then(a.1.cmp(&b.1))
        // Strings are bounded only through an index under the query's collation, so the
        // query's collation orders the ends as the index's keys do.
        .then_with(|| match (a.2, b.2) {
            (Some(x), Some(y)) => collation::compare(x, y),
            _ => Ordering::Equal,
        })
}

fn max_lower(a: &End, b: &End) -> End {
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

fn min_upper(a: &End, b: &End) -> End {
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
fn conjuncts(filter: &Filter) -> Vec<(&str, &Cond)> {
    let mut out = Vec::new();
    fn walk<'a>(f: &'a Filter, out: &mut Vec<(&'a str, &'a Cond)>) {
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
fn boundable(v: &Bson) -> bool {
    !matches!(
        v,
        Bson::Array(_) | Bson::MinKey | Bson::MaxKey | Bson::Undefined
    )
}

/// Whether a value's place in an index depends on the collation: an index whose
/// collation is not the query's cannot bound conditions on such values.
fn collation_sensitive(v: &Bson) -> bool {
    matches!(
        v,
        Bson::String(_) | Bson::Symbol(_) | Bson::Document(_) | Bson::Array(_)
    )
}

/// The intervals a field's conditions allow, or `None` when they cannot bound it.
/// `sparse` indexes hold no entry for missing fields, so conditions that match a missing
/// field (equality to null) cannot use them. Without `same_collation` (the index's
/// collation is not the query's), conditions on strings and documents cannot either.
fn field_intervals(
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
fn hashed_intervals(
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
const MAX_RANGES: usize = 100_000;

/// What an index offers for a filter: byte ranges, how many leading fields are bound by
/// single points, and whether any field is bound at all.
struct IndexBounds {
    ranges: Vec<ByteRange>,
    /// Every bound field is fixed to points (equality or `$in`): each range is one value.
    all_points: bool,
    point_fields: usize,
    bound_fields: usize,
    bounds_doc: Document,
}

/// An index as the planner bounds it.
struct Bounded<'a> {
    fields: Vec<(&'a str, bool)>,
    multikey: bool,
    sparse: bool,
    /// The collation its keys are encoded under.
    collation: Option<&'a Collator>,
    /// Whether that collation is the query's (strings may be bounded, and its order is
    /// the order the query sorts by).
    same_collation: bool,
    /// The field indexed by its hash: equalities only, and no order.
    hashed: Option<&'a str>,
}

impl<'a> Bounded<'a> {
    fn index(index: &'a IndexMeta, query_collation: Option<&Collator>) -> Bounded<'a> {
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
    fn id(query_collation: Option<&Collator>) -> Bounded<'static> {
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

fn bounds_for(index: &Bounded<'_>, conds: &[(&str, &Cond)]) -> Option<IndexBounds> {
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

impl Plan {
    /// The stage tree `explain` shows, in mongod's vocabulary.
    pub fn explain(
        &self,
        meta: &CollectionMeta,
        filter: &Document,
        blocking_sort: Option<&Document>,
    ) -> Document {
        let direction_name = |d: &Direction| match d {
            Direction::Forward => "forward",
            Direction::Reverse => "backward",
        };
        let mut stage = match &self.access {
            Access::CollScan { direction } | Access::NaturalScan { direction } => {
                doc! {"stage": "COLLSCAN", "filter": filter.clone(), "direction": direction_name(direction)}
            }
            Access::IdLookup { keys } => {
                doc! {"stage": "IDHACK", "keysExamined": keys.len() as i64}
            }
            Access::IdScan {
                direction, bounds, ..
            } => doc! {
                "stage": "FETCH",
                "filter": filter.clone(),
                "inputStage": {
                    "stage": "IXSCAN",
                    "keyPattern": {"_id": 1},
                    "indexName": ID_INDEX_NAME,
                    "isMultiKey": false,
                    "isUnique": true,
                    "direction": direction_name(direction),
                    "indexBounds": bounds.clone(),
                },
            },
            Access::IndexScan {
                index,
                direction,
                bounds,
                multikey,
                ..
            } => {
                let meta_index = meta.index(index);
                let mut stage = doc! {
                    "stage": "FETCH",
                    "filter": filter.clone(),
                    "inputStage": {
                        "stage": "IXSCAN",
                        "keyPattern": meta_index.map(|i| i.key.clone()).unwrap_or_default(),
                        "indexName": index.clone(),
                        "isMultiKey": *multikey,
                        "isUnique": meta_index.is_some_and(|i| i.unique),
                        "isSparse": meta_index.is_some_and(|i| i.sparse),
                        "isPartial": meta_index.is_some_and(|i| i.partial.is_some()),
                        "direction": direction_name(direction),
                        "indexBounds": bounds.clone(),
                    },
                };
                // mongod shows the index's collation on its scan.
                if let Some(c) = meta_index.and_then(|i| i.collation.as_ref())
                    && let Ok(scan) = stage.get_document_mut("inputStage")
                {
                    scan.insert("collation", c.spec().to_document());
                }
                if meta_index.is_some_and(|i| i.text.is_some()) {
                    stage = doc! {
                        "stage": "TEXT_MATCH",
                        "indexName": index.clone(),
                        "textIndexVersion": crate::engine::text::spec::TEXT_INDEX_VERSION,
                        "inputStage": stage,
                    };
                }
                stage
            }
            Access::GeoNear(scan) => geo::near_stage(scan, meta, filter),
        };
        if let Some(sort) = blocking_sort {
            stage = doc! {"stage": "SORT", "sortPattern": sort.clone(), "inputStage": stage};
        }
        stage
    }
}

impl Plan {
    /// The plan in one line, as mongod's profiler and slow-query log show it:
    /// `COLLSCAN`, `IDHACK`, `IXSCAN { a: 1, b: -1 }`.
    pub fn summary(&self, meta: &CollectionMeta) -> String {
        let ixscan = |key: &Document| {
            let fields: Vec<String> = key.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("IXSCAN {{ {} }}", fields.join(", "))
        };
        match &self.access {
            Access::CollScan { .. } | Access::NaturalScan { .. } => "COLLSCAN".to_owned(),
            Access::IdLookup { .. } => "IDHACK".to_owned(),
            Access::IdScan { .. } => ixscan(&doc! {"_id": 1}),
            Access::IndexScan { index, .. } => match meta.index(index) {
                Some(i) => ixscan(&i.key),
                None => format!("IXSCAN {index}"),
            },
            Access::GeoNear(scan) => {
                let key = meta
                    .index(&scan.index)
                    .map(|i| i.key.clone())
                    .unwrap_or_default();
                ixscan(&key).replacen("IXSCAN", geo::stage_name(&scan.kind), 1)
            }
        }
    }

    /// The name of the index used, if any.
    pub fn index_name(&self) -> Option<&str> {
        match &self.access {
            Access::CollScan { .. } | Access::NaturalScan { .. } => None,
            Access::IdLookup { .. } | Access::IdScan { .. } => Some(ID_INDEX_NAME),
            Access::IndexScan { index, .. } => Some(index),
            Access::GeoNear(scan) => Some(&scan.index),
        }
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
