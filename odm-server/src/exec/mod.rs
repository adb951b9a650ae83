//! Query execution: runs a [`Plan`](crate::planner::Plan) against a storage snapshot.
//!
//! Results stream batch by batch. A query whose order the access path provides keeps
//! only a *position* between batches (the last key read, per range), and each `getMore`
//! resumes from it in a fresh snapshot, as mongod's yielding does: memory stays flat
//! however large the result. A query that needs a blocking sort reads every match once,
//! sorts (keeping only `skip + limit` documents when there is a limit), and serves the
//! batches from memory, within a memory limit like mongod's.

mod near;

use std::collections::{HashSet, VecDeque};
use std::ops::{Bound, ControlFlow};

use bson::{Bson, Document};

use crate::engine::agg::metadata;
use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::engine::projection::Projection;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::planner::{Access, Hint, Plan, plan};
use crate::raw_bson::RawBatch;
use crate::storage::catalog::{CollectionMeta, IndexMeta};
use crate::storage::collection::decode;
use crate::storage::{Direction, ReadTxn};

/// Where a scan stopped: the range it was in and the last key it read there.
#[derive(Clone, Debug, Default)]
pub struct ScanPosition {
    range: usize,
    after: Option<Vec<u8>>,
}

/// Everything a query asks for.
#[derive(Clone, Debug)]
pub struct Query {
    pub filter: Filter,
    /// The filter as sent, for `explain`.
    pub filter_doc: Document,
    pub sort: SortSpec,
    pub sort_doc: Document,
    pub projection: Option<Projection>,
    pub skip: u64,
    pub limit: Option<u64>,
    pub hint: Option<Hint>,
    /// Lifts the blocking-sort memory limit.
    pub allow_disk_use: bool,
    /// Bytes a blocking sort may hold (see `Config::sort_memory_limit`).
    pub sort_memory_limit: usize,
}

impl Query {
    /// A query for every document matching `filter`, in no particular order.
    pub fn matching(filter: Filter) -> Query {
        Query {
            filter,
            filter_doc: Document::new(),
            sort: SortSpec::default(),
            sort_doc: Document::new(),
            projection: None,
            skip: 0,
            limit: None,
            hint: None,
            allow_disk_use: false,
            sort_memory_limit: BLOCKING_SORT_LIMIT,
        }
    }
}

/// How much a blocking sort may hold (mongod's default `internalQueryMaxBlockingSortMemoryUsageBytes`).
pub const BLOCKING_SORT_LIMIT: usize = 100 * 1024 * 1024;

/// Visits the documents an access path yields after `pos`, advancing it. Repeats of one
/// document (a multikey index holds several entries for it) are skipped through `seen`.
/// Returns `true` when the access path is exhausted.
pub fn scan(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    access: &Access,
    pos: &mut ScanPosition,
    seen: &mut HashSet<Vec<u8>>,
    visit: &mut StoredVisitor<'_>,
) -> CmdResult<bool> {
    let docs_table = meta.documents_table();
    match access {
        Access::IdLookup { keys } => {
            while pos.range < keys.len() {
                let key = &keys[pos.range];
                pos.range += 1;
                crate::profiler::key_examined();
                if match txn.get(&docs_table, key)? {
                    Some(stored) => visit_stored(&stored, visit)?,
                    None => ControlFlow::Continue(()),
                }
                .is_break()
                {
                    return Ok(pos.range >= keys.len());
                }
            }
            Ok(true)
        }
        Access::CollScan { direction } => {
            let all = [crate::planner::ByteRange {
                start: Vec::new(),
                end: None,
            }];
            scan_ranges(
                txn,
                &docs_table,
                &all,
                *direction,
                pos,
                &mut |_key, value| visit_stored(value, visit),
            )
        }
        Access::NaturalScan { direction } => {
            // After the counters row (the empty key): every insertion number.
            let all = [crate::planner::ByteRange {
                start: vec![0],
                end: None,
            }];
            scan_ranges(
                txn,
                &meta.natural_table(),
                &all,
                *direction,
                pos,
                &mut |_key, id| match txn.get(&docs_table, id)? {
                    Some(stored) => visit_stored(&stored, visit),
                    None => Ok(ControlFlow::Continue(())),
                },
            )
        }
        Access::IdScan {
            ranges, direction, ..
        } => scan_ranges(
            txn,
            &docs_table,
            ranges,
            *direction,
            pos,
            &mut |_key, value| visit_stored(value, visit),
        ),
        Access::GeoNear(near_scan) => near::scan(txn, meta, near_scan, pos, visit),
        Access::IndexScan {
            index,
            ident,
            ranges,
            direction,
            multikey,
            ..
        } => {
            let index = live_index(meta, index, *ident)?;
            let table = index.table();
            // The index may have become multikey since the plan was made.
            let dedup = *multikey || index.multikey;
            scan_ranges(txn, &table, ranges, *direction, pos, &mut |_key, id| {
                crate::profiler::key_examined();
                if dedup && !seen.insert(id.to_vec()) {
                    return Ok(ControlFlow::Continue(()));
                }
                match txn.get(&docs_table, id)? {
                    Some(stored) => visit_stored(&stored, visit),
                    // An entry without its document cannot happen within one snapshot.
                    None => Ok(ControlFlow::Continue(())),
                }
            })
        }
    }
}

/// The index a plan was made for, not another one that took its name since (a cursor's
/// plan outlives its snapshot).
fn live_index<'m>(meta: &'m CollectionMeta, name: &str, ident: u64) -> CmdResult<&'m IndexMeta> {
    meta.index(name)
        .filter(|i| i.ident == ident)
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::Location(175),
                format!("query plan killed: index '{name}' was dropped"),
            )
        })
}

/// Receives a table entry (key, value) during a scan; may fail or stop the scan.
type EntryVisitor<'v> = dyn FnMut(&[u8], &[u8]) -> CmdResult<ControlFlow<()>> + 'v;

/// Receives a stored document's bytes during a scan; may fail or stop it.
pub type StoredVisitor<'v> = dyn FnMut(&[u8]) -> CmdResult<ControlFlow<()>> + 'v;

/// Visits a stored document. A visitor that decodes it, matches or projects it recurses
/// through its nesting (at most `depth::MAX_STORAGE_DEPTH` levels), hence the guard
/// per document.
fn visit_stored(value: &[u8], visit: &mut StoredVisitor<'_>) -> CmdResult<ControlFlow<()>> {
    crate::profiler::doc_examined();
    crate::depth::guard(|| visit(value))
}

/// A result as the reply carries it.
pub(crate) fn encode_result(doc: &Document) -> CmdResult<Vec<u8>> {
    crate::depth::guard(|| doc.to_vec())
        .map_err(|e| CommandError::internal(format!("a result could not be encoded: {e}")))
}

fn scan_ranges(
    txn: &dyn ReadTxn,
    table: &str,
    ranges: &[crate::planner::ByteRange],
    direction: Direction,
    pos: &mut ScanPosition,
    visit: &mut EntryVisitor<'_>,
) -> CmdResult<bool> {
    let order: Vec<usize> = match direction {
        Direction::Forward => (0..ranges.len()).collect(),
        Direction::Reverse => (0..ranges.len()).rev().collect(),
    };
    while pos.range < order.len() {
        let range = &ranges[order[pos.range]];
        let (mut start, mut end) = range.bounds();
        if let Some(after) = &pos.after {
            match direction {
                Direction::Forward => start = Bound::Excluded(after.as_slice()),
                Direction::Reverse => end = Bound::Excluded(after.as_slice()),
            }
        }
        let mut failure = None;
        let mut stopped = false;
        let mut last = None;
        txn.scan(table, (start, end), direction, &mut |k, v| {
            last = Some(k.to_vec());
            match visit(k, v) {
                Ok(ControlFlow::Continue(())) => ControlFlow::Continue(()),
                Ok(ControlFlow::Break(())) => {
                    stopped = true;
                    ControlFlow::Break(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if stopped {
            pos.after = last;
            return Ok(false);
        }
        pos.range += 1;
        pos.after = None;
    }
    Ok(true)
}

/// Every document matching a query, sorted, skipped and limited (not projected): what
/// writes, `count` and `distinct` work from.
pub fn collect(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    query: &Query,
) -> CmdResult<Vec<Document>> {
    let plan = plan(meta, &query.filter, &query.sort, query.hint.as_ref())?;
    crate::profiler::plan_used(plan.summary(meta));
    let mut out = Vec::new();
    let keep = query
        .limit
        .map(|l| l.saturating_add(query.skip).min(usize::MAX as u64) as usize);
    let mut skip = if plan.provides_sort { query.skip } else { 0 };
    let mut seen = HashSet::new();
    let mut bytes = 0usize;
    scan(
        txn,
        meta,
        &plan.access,
        &mut ScanPosition::default(),
        &mut seen,
        &mut |stored| {
            let doc = decode(stored)?;
            if !query.filter.matches_checked(&doc)? {
                return Ok(ControlFlow::Continue(()));
            }
            if plan.provides_sort {
                if skip > 0 {
                    skip -= 1;
                    return Ok(ControlFlow::Continue(()));
                }
                out.push(doc);
                let full = query.limit.is_some_and(|l| out.len() as u64 >= l);
                return Ok(if full {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                });
            }
            bytes += approximate_size(&doc);
            out.push(doc);
            if let Some(k) = keep {
                // Top-k: sort and cut whenever twice as many as needed have piled up.
                if out.len() >= k.max(1).saturating_mul(2) {
                    query
                        .sort
                        .sort_scored(&mut out, &|d| query.filter.text_score(d));
                    out.truncate(k);
                    bytes = out.iter().map(approximate_size).sum();
                }
            }
            if !query.allow_disk_use && bytes > query.sort_memory_limit && !query.sort.is_empty() {
                return Err(CommandError::new(
                    ErrorCode::QueryExceededMemoryLimitNoDiskUseAllowed,
                    format!(
                        "Sort exceeded memory limit of {} bytes, but did not opt in to external sorting.",
                        query.sort_memory_limit
                    ),
                ));
            }
            Ok(ControlFlow::Continue(()))
        },
    )?;
    if !plan.provides_sort {
        query
            .sort
            .sort_scored(&mut out, &|d| query.filter.text_score(d));
        let skip = query.skip.min(out.len() as u64) as usize;
        out.drain(..skip);
        if let Some(l) = query.limit {
            out.truncate(l as usize);
        }
    }
    Ok(out)
}

fn approximate_size(doc: &Document) -> usize {
    crate::engine::types::encoded_len(doc)
}

/// What a cursor holds between batches.
#[derive(Debug)]
pub enum CursorState {
    /// Results computed up front (blocking sort, aggregation), projected already.
    Buffered(VecDeque<Document>),
    /// A scan in the order the access path gives, resumed batch by batch.
    Streaming(Box<Stream>),
}

#[derive(Debug)]
pub struct Stream {
    plan: Plan,
    pos: ScanPosition,
    seen: HashSet<Vec<u8>>,
    filter: Filter,
    projection: Option<Projection>,
    skip: u64,
    remaining: Option<u64>,
    /// A result read by the previous batch that did not fit in it, encoded.
    carry: Option<Vec<u8>>,
    exhausted: bool,
    /// The collation the query was opened under; each batch (each `getMore`) filters
    /// under it again.
    collation: Option<Collator>,
}

/// How much one batch may hold.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimit {
    pub docs: Option<usize>,
    pub bytes: usize,
}

/// The byte budget of one batch: a reply must stay within 16 MiB plus headroom.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

impl CursorState {
    /// Starts a query: plans it, and either prepares a stream or (for a blocking sort)
    /// computes every result. Returns the state and the plan chosen.
    pub fn open(
        txn: &dyn ReadTxn,
        meta: &CollectionMeta,
        query: &Query,
    ) -> CmdResult<(CursorState, Plan)> {
        let plan = plan(meta, &query.filter, &query.sort, query.hint.as_ref())?;
        crate::profiler::plan_used(plan.summary(meta));
        if plan.provides_sort {
            let stream = Stream {
                plan: plan.clone(),
                pos: ScanPosition::default(),
                seen: HashSet::new(),
                filter: query.filter.clone(),
                projection: query.projection.clone(),
                skip: query.skip,
                remaining: query.limit,
                carry: None,
                exhausted: false,
                collation: collation::current(),
            };
            return Ok((CursorState::Streaming(Box::new(stream)), plan));
        }
        let docs = collect(txn, meta, query)?;
        let projected = match &query.projection {
            Some(p) => docs
                .iter()
                .map(|d| project(p, d, &query.filter))
                .collect::<CmdResult<VecDeque<_>>>()?,
            None => docs.into(),
        };
        Ok((CursorState::Buffered(projected), plan))
    }

    /// The next batch, and whether the cursor is exhausted after it. A streaming cursor
    /// reads through `source` (a fresh snapshot and the collection's current record);
    /// a buffered one needs none.
    pub fn next_batch(
        &mut self,
        source: Option<(&dyn ReadTxn, &CollectionMeta)>,
        limit: BatchLimit,
    ) -> CmdResult<(RawBatch, bool)> {
        match self {
            CursorState::Buffered(docs) => {
                let mut out = RawBatch::default();
                while let Some(d) = docs.front() {
                    if limit.docs.is_some_and(|n| out.len() >= n) {
                        break;
                    }
                    // Encoded once: its bytes are both its size and what the batch holds.
                    let encoded = encode_result(d)?;
                    if !out.is_empty() && out.bytes() + encoded.len() > limit.bytes {
                        break;
                    }
                    out.push(&encoded);
                    docs.pop_front();
                }
                let done = docs.is_empty();
                Ok((out, done))
            }
            CursorState::Streaming(s) => match source {
                Some((txn, meta)) => {
                    let collation = s.collation.clone();
                    collation::with_collation(collation.as_ref(), || s.next_batch(txn, meta, limit))
                }
                None => Err(CommandError::internal(
                    "a streaming cursor needs a storage snapshot",
                )),
            },
        }
    }
}

/// A matched document projected. A projection with computed fields may read what the
/// query knows of the document (`{$meta: "textScore"}`, `"geoNearDistance"`...): those
/// see a copy that carries it.
fn project(p: &Projection, doc: &Document, filter: &Filter) -> CmdResult<Document> {
    if !p.computes() || !metadata::attaches(filter) {
        return p.apply_matched(doc, filter);
    }
    let mut with_meta = doc.clone();
    metadata::attach(filter, &mut with_meta);
    let mut out = p.apply_matched(&with_meta, filter)?;
    metadata::strip(&mut out);
    Ok(out)
}

/// A batch being filled, within its document and byte limits and the query's limit.
/// A document as a query returns it: `None` when the filter rejects it or `skip` still
/// drops it (counting down), else projected.
pub(crate) fn select(
    doc: Document,
    filter: &Filter,
    skip: &mut u64,
    projection: Option<&Projection>,
) -> CmdResult<Option<Document>> {
    if !filter.matches_checked(&doc)? {
        return Ok(None);
    }
    if *skip > 0 {
        *skip -= 1;
        return Ok(None);
    }
    Ok(Some(match projection {
        Some(p) => project(p, &doc, filter)?,
        None => doc,
    }))
}

pub(crate) struct Batch<'a> {
    pub(crate) docs: RawBatch,
    limit: BatchLimit,
    /// How many more results the query's `limit` allows (`None`: no limit).
    pub(crate) remaining: &'a mut Option<u64>,
}

pub(crate) enum Added {
    /// Room for more.
    More,
    /// The batch (or the query's limit) is full.
    Full,
    /// The document does not fit; it opens the next batch.
    Overflow(Vec<u8>),
}

impl<'a> Batch<'a> {
    pub(crate) fn new(limit: BatchLimit, remaining: &'a mut Option<u64>) -> Batch<'a> {
        Batch {
            docs: RawBatch::default(),
            limit,
            remaining,
        }
    }

    /// Adds an encoded result.
    pub(crate) fn add(&mut self, doc: &[u8]) -> Added {
        if !self.docs.is_empty() && self.docs.bytes() + doc.len() > self.limit.bytes {
            return Added::Overflow(doc.to_vec());
        }
        self.docs.push(doc);
        if let Some(r) = self.remaining.as_mut() {
            *r -= 1;
            if *r == 0 {
                return Added::Full;
            }
        }
        if self.limit.docs.is_some_and(|n| self.docs.len() >= n) {
            Added::Full
        } else {
            Added::More
        }
    }
}

impl Stream {
    fn next_batch(
        &mut self,
        txn: &dyn ReadTxn,
        meta: &CollectionMeta,
        limit: BatchLimit,
    ) -> CmdResult<(RawBatch, bool)> {
        let Stream {
            plan,
            pos,
            seen,
            filter,
            projection,
            skip,
            remaining,
            carry,
            exhausted,
            collation: _,
        } = self;
        let mut batch = Batch::new(limit, remaining);
        if limit.docs == Some(0) {
            return Ok((RawBatch::default(), false));
        }
        if let Some(doc) = carry.take() {
            match batch.add(&doc) {
                Added::More => {}
                Added::Full => {
                    let done = *exhausted || *batch.remaining == Some(0);
                    return Ok((batch.docs, done));
                }
                Added::Overflow(_) => unreachable!("an empty batch takes any document"),
            }
        }
        if *exhausted || *batch.remaining == Some(0) {
            return Ok((batch.docs, true));
        }
        // Nothing to match or project: stored documents go to the reply as they are,
        // never decoded.
        let as_stored = projection.is_none()
            && (filter.matches_everything() || access_implies(&plan.access, filter));
        let mut overflow = None;
        let scanned_all = scan(txn, meta, &plan.access, pos, seen, &mut |stored| {
            let selected;
            let result = if as_stored {
                if *skip > 0 {
                    *skip -= 1;
                    return Ok(ControlFlow::Continue(()));
                }
                stored
            } else {
                let doc = decode(stored)?;
                let Some(doc) = select(doc, filter, skip, projection.as_ref())? else {
                    return Ok(ControlFlow::Continue(()));
                };
                selected = encode_result(&doc)?;
                &selected
            };
            Ok(match batch.add(result) {
                Added::More => ControlFlow::Continue(()),
                Added::Full => ControlFlow::Break(()),
                Added::Overflow(doc) => {
                    overflow = Some(doc);
                    ControlFlow::Break(())
                }
            })
        })?;
        *exhausted = scanned_all;
        let limit_reached = *batch.remaining == Some(0);
        *carry = overflow;
        let done = limit_reached || (scanned_all && carry.is_none());
        Ok((batch.docs, done))
    }
}

/// Whether every document `access` finds matches `filter`: an `_id` lookup for a filter
/// that is only that `_id`'s equality, on a value whose key holds exactly the values it
/// equals (numbers of every type compare by value in keys as in filters; `_id` is never
/// an array, so no element matching is lost).
fn access_implies(access: &Access, filter: &Filter) -> bool {
    matches!(access, Access::IdLookup { .. })
        && match filter.id_equality() {
            Some(Bson::Double(d)) => d.is_finite(),
            Some(
                Bson::Int32(_)
                | Bson::Int64(_)
                | Bson::String(_)
                | Bson::ObjectId(_)
                | Bson::Boolean(_)
                | Bson::DateTime(_),
            ) => true,
            _ => false,
        }
}
