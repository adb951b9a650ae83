//! Tailable cursors on capped collections: a cursor that stays open at the end of the
//! collection and returns, at each `getMore`, the documents inserted since (in insertion
//! order), as a log reader follows a file.
//!
//! The cursor remembers the insertion number of the last document it read
//! (`storage::capped`), not a storage position: each batch reads a fresh snapshot from
//! just after it. A document the collection dropped (it is capped) before the cursor got
//! to it is simply not seen, as in mongod when the cursor does not fall behind by more
//! than the collection holds.

use std::ops::{Bound, ControlFlow};

use crate::engine::collation::{self, Collator};
use crate::engine::matcher::Filter;
use crate::engine::projection::Projection;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Added, Batch, BatchLimit, encode_result, select};
use crate::raw_bson::RawBatch;
use crate::storage::catalog::CollectionMeta;
use crate::storage::collection::decode;
use crate::storage::{Direction, ReadTxn};

/// A tailable query on a capped collection.
#[derive(Debug)]
pub struct CappedTail {
    /// The collection it follows (a dropped and recreated one is another).
    ident: u64,
    filter: Filter,
    projection: Option<Projection>,
    skip: u64,
    remaining: Option<u64>,
    /// The insertion number (8 bytes) of the last document read.
    after: Option<Vec<u8>>,
    /// The query's collation, which every batch filters under.
    collation: Option<Collator>,
}

impl CappedTail {
    pub fn new(
        meta: &CollectionMeta,
        filter: Filter,
        projection: Option<Projection>,
        skip: u64,
        limit: Option<u64>,
        collation: Option<Collator>,
    ) -> Self {
        CappedTail {
            collation,
            ident: meta.ident,
            filter,
            projection,
            skip,
            remaining: limit,
            after: None,
        }
    }

    /// The documents inserted after the last one read, within `limit`; `true` when the
    /// query's own limit is reached (the cursor is done).
    pub fn next_batch(
        &mut self,
        txn: &dyn ReadTxn,
        meta: &CollectionMeta,
        limit: BatchLimit,
    ) -> CmdResult<(RawBatch, bool)> {
        let collation = self.collation.clone();
        collation::with_collation(collation.as_ref(), || self.read(txn, meta, limit))
    }

    fn read(
        &mut self,
        txn: &dyn ReadTxn,
        meta: &CollectionMeta,
        limit: BatchLimit,
    ) -> CmdResult<(RawBatch, bool)> {
        if meta.ident != self.ident {
            return Err(CommandError::new(
                ErrorCode::Location(175),
                format!(
                    "capped collection {} was dropped while a tailable cursor followed it",
                    meta.ns()
                ),
            ));
        }
        let mut batch = Batch::new(limit, &mut self.remaining);
        if limit.docs == Some(0) {
            return Ok((batch.docs, false));
        }
        let start = match &self.after {
            Some(k) => Bound::Excluded(k.as_slice()),
            // After the counters row, whose key is empty.
            None => Bound::Excluded(&[][..]),
        };
        let docs_table = meta.documents_table();
        let mut failure = None;
        let mut last = None;
        let (filter, projection, skip) = (&self.filter, self.projection.as_ref(), &mut self.skip);
        txn.scan(
            &meta.natural_table(),
            (start, Bound::Unbounded),
            Direction::Forward,
            &mut |key, id| {
                // (what the scan does next, whether this entry was consumed)
                let step = (|| -> CmdResult<(ControlFlow<()>, bool)> {
                    let Some(stored) = txn.get(&docs_table, id)? else {
                        return Ok((ControlFlow::Continue(()), true));
                    };
                    let Some(doc) = select(decode(&stored)?, filter, skip, projection)? else {
                        return Ok((ControlFlow::Continue(()), true));
                    };
                    Ok(match batch.add(&encode_result(&doc)?) {
                        Added::More => (ControlFlow::Continue(()), true),
                        Added::Full => (ControlFlow::Break(()), true),
                        // Too big for this batch: it opens the next one.
                        Added::Overflow(_) => (ControlFlow::Break(()), false),
                    })
                })();
                match step {
                    Ok((flow, consumed)) => {
                        if consumed {
                            last = Some(key.to_vec());
                        }
                        flow
                    }
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            },
        )?;
        if let Some(e) = failure {
            return Err(e);
        }
        if last.is_some() {
            self.after = last;
        }
        let done = *batch.remaining == Some(0);
        Ok((batch.docs, done))
    }
}
