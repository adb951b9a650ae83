//! `local.oplog.rs`: the oplog read as a collection, the way mongod shows it to oplog
//! tailers, `mongosh` and backup tools.
//!
//! The log lives in its own table ([`crate::replset::oplog`]), keyed by timestamp, in
//! mongod's entry format. This module owns everything that makes it look like mongod's
//! capped collection `local.oplog.rs` on a replica-set member:
//!
//! - **Queries.** Entries come in `ts` order (the natural order). Conditions on `ts` in
//!   the filter's top-level conjunction (`$gt`, `$gte`, `$lt`, `$lte`, equality) bound
//!   the scan, which seeks to the first entry in range instead of reading the log from
//!   its start; the rest of the filter is checked on each entry. `sort: {$natural: ±1}`
//!   or `{ts: ±1}` scans in that direction; another sort reads the range and sorts it in
//!   memory (the log is bounded by its size). Projection, skip and limit as for any
//!   collection. The pre- and post-images stored beside an entry for change streams
//!   never appear.
//! - **Cursors.** An [`OplogCursor`] keeps the last entry it read, so each batch resumes
//!   after it in a fresh snapshot, and a tailable cursor finds the entries appended since.
//!   If the log dropped that entry (its size bound) the cursor dies with
//!   `CappedPositionLost` (136), as mongod's does. Waiting for new entries
//!   (`awaitData`) is the `getMore`'s business (`cmd/get_more.rs`).
//! - **Namespace rules.** The collection is listed as capped in `local`; writes to it
//!   are refused with mongod's errors ([`refuse_writes`]).
//!
//! Only a replica-set member has it: on a standalone, as on a standalone mongod,
//! `local.oplog.rs` is an ordinary collection that does not exist.

use std::ops::{Bound, ControlFlow};

use bson::{Bson, Document, doc};

use crate::engine::matcher::{CmpOp, Cond, Filter};
use crate::engine::projection::Projection;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Added, Batch, BatchLimit, CursorState, Query, encode_result, select};
use crate::planner::Hint;
use crate::raw_bson::RawBatch;
use crate::replset::clock;
use crate::replset::oplog::{self, OPLOG_NS};
use crate::state::ServerState;
use crate::storage::{Direction, ReadTxn};

/// The oplog's database and collection name.
pub const DB: &str = "local";
pub const COLL: &str = "oplog.rs";

/// Whether `db.coll` is the oplog of this server (a replica-set member only).
pub fn is_oplog(state: &ServerState, db: &str, coll: &str) -> bool {
    state.is_replica_set() && db == DB && coll == COLL
}

/// The oplog's `listCollections` entry: a capped collection without an `_id` index, its
/// size the log's bound, as mongod lists it.
pub fn list_entry(state: &ServerState, name_only: bool) -> Document {
    if name_only {
        return doc! {"name": COLL, "type": "collection"};
    }
    doc! {
        "name": COLL,
        "type": "collection",
        "options": {
            "capped": true,
            "size": i64::try_from(state.repl.oplog_max()).unwrap_or(i64::MAX),
            "autoIndexId": false,
        },
        "info": {"readOnly": false},
    }
}

/// Refuses, before it runs, a command that would change the oplog, with mongod's error
/// for it on a replica-set member.
pub fn refuse_writes(
    state: &ServerState,
    command: &str,
    db: &str,
    body: &Document,
) -> CmdResult<()> {
    if !state.is_replica_set() {
        return Ok(());
    }
    let names_oplog = |field: &str| body.get_str(field).is_ok_and(|c| c == COLL) && db == DB;
    let full_name = |field: &str| body.get_str(field).is_ok_and(|ns| ns == OPLOG_NS);
    let refusal = match command {
        "insert" | "update" | "delete" | "findAndModify" | "findandmodify"
            if names_oplog(command) =>
        {
            CommandError::new(
                ErrorCode::InvalidNamespace,
                format!("cannot write to {OPLOG_NS}"),
            )
        }
        "drop" if names_oplog(command) => CommandError::new(
            ErrorCode::Location(5255000),
            "can't drop live oplog while replicating",
        ),
        "dropDatabase" if db == DB => CommandError::new(
            ErrorCode::IllegalOperation,
            "Cannot drop 'local' database while replication is active",
        ),
        "renameCollection" if full_name("renameCollection") => CommandError::new(
            ErrorCode::IllegalOperation,
            "can't rename live oplog while replicating",
        ),
        "renameCollection" if full_name("to") => CommandError::new(
            ErrorCode::IllegalOperation,
            "can't rename to live oplog while replicating",
        ),
        "create" if names_oplog(command) => CommandError::new(
            ErrorCode::NamespaceExists,
            format!("Collection {OPLOG_NS} already exists."),
        ),
        "createIndexes" | "dropIndexes" | "deleteIndexes" | "collMod" if names_oplog(command) => {
            CommandError::new(
                ErrorCode::IllegalOperation,
                format!("{command} is not allowed on the oplog ({OPLOG_NS}) of this server"),
            )
        }
        _ => return Ok(()),
    };
    Err(refusal)
}

/// A range of timestamps, as the `u64`s they sort as.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Range {
    low: Bound<u64>,
    high: Bound<u64>,
}

impl Range {
    const ALL: Range = Range {
        low: Bound::Unbounded,
        high: Bound::Unbounded,
    };

    /// The tighter of two bounds on one side of a range (`lower`: the low side, where
    /// the greater value is tighter); at one value, the excluding bound.
    fn tighter(a: Bound<u64>, b: Bound<u64>, lower: bool) -> Bound<u64> {
        let value = |x: &Bound<u64>| match x {
            Bound::Included(v) | Bound::Excluded(v) => Some(*v),
            Bound::Unbounded => None,
        };
        match (value(&a), value(&b)) {
            (None, _) => b,
            (_, None) => a,
            (Some(x), Some(y)) if x == y => {
                if matches!(a, Bound::Excluded(_)) {
                    a
                } else {
                    b
                }
            }
            (Some(x), Some(y)) => {
                if (x > y) == lower {
                    a
                } else {
                    b
                }
            }
        }
    }

    fn intersect(self, other: Range) -> Range {
        Range {
            low: Self::tighter(self.low, other.low, true),
            high: Self::tighter(self.high, other.high, false),
        }
    }

    fn above_low(&self, ts: u64) -> bool {
        match self.low {
            Bound::Unbounded => true,
            Bound::Included(l) => ts >= l,
            Bound::Excluded(l) => ts > l,
        }
    }

    fn below_high(&self, ts: u64) -> bool {
        match self.high {
            Bound::Unbounded => true,
            Bound::Included(h) => ts <= h,
            Bound::Excluded(h) => ts < h,
        }
    }

    /// The timestamps a filter allows for `ts`, from the conditions every match must
    /// meet (its top-level conjunction); a superset, since the filter is checked too.
    fn of_filter(filter: &Filter) -> Range {
        match filter {
            Filter::And(items) => items
                .iter()
                .fold(Range::ALL, |r, f| r.intersect(Range::of_filter(f))),
            Filter::Field { path, cond } if path == "ts" => Range::of_cond(cond),
            _ => Range::ALL,
        }
    }

    fn of_cond(cond: &Cond) -> Range {
        let ts = |v: &Bson| match v {
            Bson::Timestamp(t) => Some(clock::to_u64(*t)),
            _ => None,
        };
        match cond {
            Cond::Eq(v) => match ts(v) {
                Some(t) => Range {
                    low: Bound::Included(t),
                    high: Bound::Included(t),
                },
                None => Range::ALL,
            },
            Cond::Cmp(op, v) => match ts(v) {
                Some(t) => {
                    let (bound, low) = match op {
                        CmpOp::Gt => (Bound::Excluded(t), true),
                        CmpOp::Gte => (Bound::Included(t), true),
                        CmpOp::Lt => (Bound::Excluded(t), false),
                        CmpOp::Lte => (Bound::Included(t), false),
                    };
                    if low {
                        Range {
                            low: bound,
                            ..Range::ALL
                        }
                    } else {
                        Range {
                            high: bound,
                            ..Range::ALL
                        }
                    }
                }
                None => Range::ALL,
            },
            Cond::And(conds) => conds
                .iter()
                .fold(Range::ALL, |r, c| r.intersect(Range::of_cond(c))),
            _ => Range::ALL,
        }
    }
}

/// A query on the oplog between batches; see the module documentation.
#[derive(Debug)]
pub struct OplogCursor {
    filter: Filter,
    projection: Option<Projection>,
    range: Range,
    direction: Direction,
    skip: u64,
    /// How many more results the query's `limit` allows.
    remaining: Option<u64>,
    /// The timestamp of the last entry read: the next batch starts after it.
    last: Option<u64>,
    tailable: bool,
    /// Results of a sort other than the natural order, computed up front.
    sorted: Option<CursorState>,
}

impl OplogCursor {
    /// Starts a query on the log as `view` has it.
    pub fn open(view: &dyn ReadTxn, query: &Query, tailable: bool) -> CmdResult<OplogCursor> {
        let mut direction = match &query.hint {
            None => Direction::Forward,
            Some(Hint::Natural(d)) => *d,
            Some(_) => {
                return Err(CommandError::bad_value(
                    "error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index",
                ));
            }
        };
        let mut sorted = false;
        match query.sort_doc.iter().collect::<Vec<_>>().as_slice() {
            [] => {}
            [(field, order)] if field.as_str() == "ts" => {
                direction = if crate::storage::catalog::is_descending(order) {
                    Direction::Reverse
                } else {
                    Direction::Forward
                };
            }
            _ => sorted = true,
        }
        let mut cursor = OplogCursor {
            filter: query.filter.clone(),
            projection: query.projection.clone(),
            range: Range::of_filter(&query.filter),
            direction,
            skip: query.skip,
            remaining: query.limit,
            last: None,
            tailable,
            sorted: None,
        };
        if sorted {
            let mut docs = cursor.matching(view)?;
            query.sort.sort(&mut docs);
            let docs = cut(docs, query.skip, query.limit);
            let docs = match &cursor.projection {
                Some(p) => docs
                    .iter()
                    .map(|d| p.apply_matched(d, &cursor.filter))
                    .collect::<CmdResult<_>>()?,
                None => docs,
            };
            cursor.sorted = Some(CursorState::Buffered(docs.into()));
        }
        Ok(cursor)
    }

    /// Every entry of the range matching the filter, in scan order (not skipped,
    /// limited or projected).
    fn matching(&self, view: &dyn ReadTxn) -> CmdResult<Vec<Document>> {
        let mut out = Vec::new();
        scan(
            self.range,
            self.direction,
            view,
            self.start(),
            &mut |_, entry| {
                if self.filter.matches_checked(&entry)? {
                    out.push(entry);
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }

    /// Where a scan from the beginning starts.
    fn start(&self) -> Bound<u64> {
        match self.direction {
            Direction::Forward => self.range.low,
            Direction::Reverse => self.range.high,
        }
    }

    /// `CappedPositionLost` (136) when the entry the cursor would resume after is no
    /// longer in the log.
    fn check_position(&self, view: &dyn ReadTxn) -> CmdResult<()> {
        if let (Some(last), Direction::Forward, None) = (self.last, self.direction, &self.sorted)
            && let Some((first, _)) = oplog::bounds(view)?
            && clock::to_u64(first) > last
        {
            return Err(CommandError::new(
                ErrorCode::Location(136),
                format!(
                    "CollectionScan died due to position in capped collection being deleted. Last seen record id: RecordId({last})"
                ),
            ));
        }
        Ok(())
    }

    /// The next batch from `view`, and whether the cursor is exhausted after it (a
    /// tailable cursor only is when its `limit` is reached).
    pub fn next_batch(
        &mut self,
        view: &dyn ReadTxn,
        limit: BatchLimit,
    ) -> CmdResult<(RawBatch, bool)> {
        if let Some(sorted) = &mut self.sorted {
            return sorted.next_batch(None, limit);
        }
        self.check_position(view)?;
        let from = match self.last {
            Some(ts) => Bound::Excluded(ts),
            None => self.start(),
        };
        if limit.docs == Some(0) || self.remaining == Some(0) {
            return Ok((RawBatch::default(), self.remaining == Some(0)));
        }
        let (filter, projection) = (&self.filter, &self.projection);
        let (last, skip) = (&mut self.last, &mut self.skip);
        let mut batch = Batch::new(limit, &mut self.remaining);
        let mut at_end = true;
        scan(self.range, self.direction, view, from, &mut |ts, entry| {
            let Some(doc) = select(entry, filter, skip, projection.as_ref())? else {
                *last = Some(ts);
                return Ok(ControlFlow::Continue(()));
            };
            Ok(match batch.add(&encode_result(&doc)?) {
                Added::More => {
                    *last = Some(ts);
                    ControlFlow::Continue(())
                }
                Added::Full => {
                    *last = Some(ts);
                    at_end = false;
                    ControlFlow::Break(())
                }
                // Not taken: the next batch reads this entry again.
                Added::Overflow(_) => {
                    at_end = false;
                    ControlFlow::Break(())
                }
            })
        })?;
        let limit_reached = *batch.remaining == Some(0);
        let done = limit_reached || (at_end && !self.tailable);
        Ok((batch.docs, done))
    }
}

/// Visits the entries from `from` in `direction` while they are in `range`, with their
/// timestamps.
fn scan(
    range: Range,
    direction: Direction,
    view: &dyn ReadTxn,
    from: Bound<u64>,
    visit: &mut dyn FnMut(u64, Document) -> CmdResult<ControlFlow<()>>,
) -> CmdResult<()> {
    oplog::scan(view, from.map(clock::from_u64), direction, &mut |stored| {
        let ts = clock::to_u64(stored.ts);
        let inside = match direction {
            Direction::Forward => range.below_high(ts),
            Direction::Reverse => range.above_low(ts),
        };
        if !inside {
            return Ok(ControlFlow::Break(()));
        }
        crate::depth::guard(|| visit(ts, stored.entry))
    })
}

fn cut(mut docs: Vec<Document>, skip: u64, limit: Option<u64>) -> Vec<Document> {
    let skip = skip.min(docs.len() as u64) as usize;
    docs.drain(..skip);
    if let Some(l) = limit {
        docs.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    docs
}

/// Every entry matching a query, sorted, skipped and limited (not projected): what
/// `count` and `aggregate` read.
pub fn collect(view: &dyn ReadTxn, query: &Query) -> CmdResult<Vec<Document>> {
    let cursor = OplogCursor::open(
        view,
        &Query {
            projection: None,
            ..query.clone()
        },
        false,
    )?;
    if let Some(CursorState::Buffered(docs)) = cursor.sorted {
        return Ok(docs.into());
    }
    let docs = cursor.matching(view)?;
    Ok(cut(docs, query.skip, query.limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replset::oplog::{Change, append};
    use crate::storage::Store;
    use crate::storage::memory::MemoryStore;
    use bson::Timestamp;

    fn query(filter: Document) -> Query {
        Query {
            filter_doc: filter.clone(),
            ..Query::matching(Filter::parse(&filter).unwrap())
        }
    }

    #[test]
    fn ts_conditions_of_the_top_level_conjunction_bound_the_scan() {
        let t = |i| {
            Bson::Timestamp(Timestamp {
                time: 10,
                increment: i,
            })
        };
        let at = |i| {
            clock::to_u64(Timestamp {
                time: 10,
                increment: i,
            })
        };
        let range = |f: Document| Range::of_filter(&Filter::parse(&f).unwrap());
        assert_eq!(
            range(doc! {"ts": {"$gt": t(1)}, "op": "i"}),
            Range {
                low: Bound::Excluded(at(1)),
                high: Bound::Unbounded
            }
        );
        assert_eq!(
            range(doc! {"$and": [{"ts": {"$gte": t(2)}}, {"ts": {"$gt": t(1), "$lte": t(5)}}]}),
            Range {
                low: Bound::Included(at(2)),
                high: Bound::Included(at(5))
            }
        );
        assert_eq!(
            range(doc! {"ts": t(3)}),
            Range {
                low: Bound::Included(at(3)),
                high: Bound::Included(at(3))
            }
        );
        assert_eq!(
            range(doc! {"ts": {"$gte": t(2), "$gt": t(2), "$lt": t(4), "$lte": t(4)}}),
            Range {
                low: Bound::Excluded(at(2)),
                high: Bound::Excluded(at(4))
            }
        );
        // Not every match must meet these: no bound.
        assert_eq!(
            range(doc! {"$or": [{"ts": {"$gt": t(1)}}, {"op": "n"}]}),
            Range::ALL
        );
        assert_eq!(range(doc! {"ts": {"$gt": 5}}), Range::ALL);
    }

    #[test]
    fn a_tailable_cursor_resumes_after_its_last_entry_and_dies_when_it_is_dropped() {
        let store = MemoryStore::new();
        let clock = clock::Clock::default();
        let log = |n: u32, max: u64| {
            let mut w = store.begin_write().unwrap();
            let changes: Vec<Change> = (0..n)
                .map(|i| Change::Noop {
                    msg: format!("{i:0>100}"),
                })
                .collect();
            append(&mut *w, &changes, None, || clock.tick(), max).unwrap();
            w.commit(crate::storage::Durability::Buffered).unwrap();
        };
        log(3, u64::MAX);
        let limit = BatchLimit {
            docs: Some(2),
            bytes: usize::MAX,
        };
        let view = store.begin_read().unwrap();
        let mut cursor = OplogCursor::open(&*view, &query(doc! {}), true).unwrap();
        let (first, done) = cursor.next_batch(&*view, limit).unwrap();
        assert_eq!((first.len(), done), (2, false));
        let (rest, done) = cursor.next_batch(&*view, limit).unwrap();
        assert_eq!((rest.len(), done), (1, false));
        let (none, done) = cursor.next_batch(&*view, limit).unwrap();
        assert_eq!((none.len(), done), (0, false));
        log(1, u64::MAX);
        let view = store.begin_read().unwrap();
        assert_eq!(cursor.next_batch(&*view, limit).unwrap().0.len(), 1);
        // The log drops everything the cursor read: its position is lost.
        log(20, 1_000);
        let view = store.begin_read().unwrap();
        let err = cursor.next_batch(&*view, limit).unwrap_err();
        assert_eq!(err.code.code(), 136);
    }

    #[test]
    fn natural_order_backwards_with_a_limit_ends_the_cursor() {
        let store = MemoryStore::new();
        let clock = clock::Clock::default();
        let mut w = store.begin_write().unwrap();
        let changes: Vec<Change> = (0..5)
            .map(|i| Change::Noop { msg: i.to_string() })
            .collect();
        append(&mut *w, &changes, None, || clock.tick(), u64::MAX).unwrap();
        w.commit(crate::storage::Durability::Buffered).unwrap();
        let view = store.begin_read().unwrap();
        let q = Query {
            hint: Some(Hint::Natural(Direction::Reverse)),
            limit: Some(2),
            skip: 1,
            ..query(doc! {"op": "n"})
        };
        let mut cursor = OplogCursor::open(&*view, &q, false).unwrap();
        let all = BatchLimit {
            docs: None,
            bytes: usize::MAX,
        };
        let (batch, done) = cursor.next_batch(&*view, all).unwrap();
        let batch = batch.documents();
        let msgs: Vec<&str> = batch
            .iter()
            .map(|e| e.get_document("o").unwrap().get_str("msg").unwrap())
            .collect();
        assert_eq!((msgs, done), (vec!["3", "2"], true));
        assert_eq!(collect(&*view, &q).unwrap().len(), 2);
    }
}
