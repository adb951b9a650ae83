//! Multi-document transactions: snapshot isolation over the storage's snapshots.
//!
//! A transaction reads one snapshot (taken by its first statement) with its own writes
//! layered on top ([`Overlay`]). Each statement's writes lock their keys when the
//! statement ends ([`ReplState::end_statement`]); a key another open transaction holds,
//! or that a commit changed since the snapshot, fails the statement with `WriteConflict`
//! (112, labelled `TransientTransactionError`) and aborts the transaction.
//!
//! [`ReplState::commit_transaction`] then replays the overlay into one storage
//! transaction, under the commit lock: it checks that the collections the transaction
//! wrote still have the catalog records (indexes, validators) its snapshot saw and that
//! no unique index ended up holding one value twice, appends one `applyOps` oplog entry
//! and the session's commit record, and commits: a crash leaves all of it or none. A
//! commit that cannot take the commit lock before its deadline (`maxTimeMS`, which
//! drivers send for `maxCommitTimeMS`) gives up with `MaxTimeMSExpired` (50) having done
//! nothing: the transaction stays open, so the driver's retry of the commit can succeed.

use std::collections::BTreeSet;
use std::ops::{Bound, ControlFlow};
use std::time::Instant;

use bson::{Bson, Timestamp};

use super::batch;
use super::locks::TxnId;
use super::oplog::{self, Change, SessionInfo};
use super::overlay::Overlay;
use super::retry::{self, Outcome, Record};
use super::{Published, ReplState};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::catalog::{self, CATALOG_TABLE};
use crate::storage::{Direction, Durability, ReadTxn, Store, keycodec};

/// The label drivers retry a whole transaction on.
pub const TRANSIENT: &str = "TransientTransactionError";

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Active,
    Committed(Timestamp),
    Aborted,
}

pub struct Transaction {
    pub id: TxnId,
    pub number: i64,
    pub lsid: Bson,
    pub overlay: Overlay,
    /// The cluster time of the snapshot the transaction reads.
    pub read_ts: Timestamp,
    pub changes: Vec<Change>,
    /// Catalog keys of the collections whose documents the transaction changed.
    pub touched: BTreeSet<Vec<u8>>,
    pub started: Instant,
    pub phase: Phase,
}

/// The error for a write that lost a conflict.
pub fn write_conflict() -> CommandError {
    CommandError::new(
        ErrorCode::WriteConflict,
        "WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction.",
    )
    .with_label(TRANSIENT)
}

impl ReplState {
    /// A new transaction reading `snapshot`.
    pub fn begin_transaction(&self, lsid: Bson, number: i64, snapshot: &Published) -> Transaction {
        Transaction {
            id: self
                .next_txn_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            number,
            lsid,
            overlay: Overlay::new(snapshot.snapshot.clone()),
            read_ts: snapshot.ts,
            changes: Vec::new(),
            touched: BTreeSet::new(),
            started: Instant::now(),
            phase: Phase::Active,
        }
    }

    /// Takes a finished statement's changes and locks the keys it wrote; on a conflict
    /// the transaction is aborted.
    pub fn end_statement(
        &self,
        store: &dyn Store,
        txn: &mut Transaction,
        changes: Vec<Change>,
        touched: Vec<(String, String)>,
    ) -> CmdResult<()> {
        txn.changes.extend(changes);
        txn.touched
            .extend(touched.iter().map(|(d, c)| catalog::ns_key(d, c)));
        let fresh = txn.overlay.take_fresh();
        if fresh.is_empty() {
            return Ok(());
        }
        let locked = {
            let _commits = self.commit_lock();
            let current = store.begin_read()?;
            let base = txn.overlay.base().clone();
            self.locks.lock_all(txn.id, fresh, |k| {
                let now = current.get(&k.table, &k.key).ok().flatten();
                let then = base.get(&k.table, &k.key).ok().flatten();
                now != then
            })
        };
        if locked.is_err() {
            self.abort_transaction(txn);
            return Err(write_conflict());
        }
        Ok(())
    }

    /// Ends a transaction without applying anything.
    pub fn abort_transaction(&self, txn: &mut Transaction) {
        if txn.phase == Phase::Active {
            txn.phase = Phase::Aborted;
        }
        txn.overlay = Overlay::new(txn.overlay.base().clone());
        txn.changes.clear();
        self.locks.release(txn.id);
    }

    /// Applies a transaction atomically, unless the commit lock stays taken past
    /// `deadline`; see the module documentation.
    pub fn commit_transaction(
        &self,
        store: &dyn Store,
        txn: &mut Transaction,
        deadline: Instant,
    ) -> CmdResult<Timestamp> {
        if let Phase::Committed(ts) = txn.phase {
            return Ok(ts);
        }
        let _pending = self.pending.enter();
        if txn.overlay.is_empty() {
            // Nothing to write: the commit is the snapshot's time.
            txn.phase = Phase::Committed(txn.read_ts);
            self.locks.release(txn.id);
            return Ok(txn.read_ts);
        }
        let commits = self.commit_lock_until(deadline)?;
        // Plain writes may have left a batch open: this commit continues and ends it.
        let (generation, inherited) = self.batches.current();
        let result = (|| {
            let mut w = store.begin_write()?;
            let base = txn.overlay.base().clone();
            // First committer wins. A key the transaction wrote that someone else
            // committed since the snapshot (a collection both created, the next ident,
            // an index's multikey flag) would be overwritten on replay; a collection it
            // wrote documents of may have been dropped, renamed or given other indexes.
            let written = txn.overlay.writes().map(|(table, key, _)| (table, key));
            let collections = txn.touched.iter().map(|k| (CATALOG_TABLE, k.as_slice()));
            for (table, key) in written.chain(collections) {
                if w.get(table, key)? != base.get(table, key)? {
                    return Err(write_conflict());
                }
            }
            txn.overlay.replay(&mut *w)?;
            check_unique(&*w, &txn.overlay)?;
            let session = SessionInfo {
                lsid: txn.lsid.clone(),
                txn_number: txn.number,
            };
            let ts = self.clock.tick();
            oplog::append_transaction(&mut *w, &txn.changes, &session, ts, self.oplog_max)?;
            retry::put(
                &mut *w,
                &txn.lsid,
                &Record {
                    txn_number: txn.number,
                    outcome: Outcome::Committed,
                },
            )?;
            w.commit(Durability::Buffered)?;
            self.publish(store, ts)?;
            Ok(ts)
        })();
        match &result {
            Ok(ts) => self.batches.end(generation, batch::Outcome::Committed(*ts)),
            Err(_) if inherited => self.batches.end(generation, batch::Outcome::Aborted),
            Err(_) => {}
        }
        drop(commits);
        match result {
            Ok(ts) => {
                txn.phase = Phase::Committed(ts);
                self.locks.release(txn.id);
                self.notify(ts);
                Ok(ts)
            }
            Err(e) => {
                self.abort_transaction(txn);
                Err(e)
            }
        }
    }
}

/// After the replay: every unique index value the transaction wrote is held by one
/// document only. Another commit may have taken the value since the snapshot; the
/// transaction then lost a write conflict.
fn check_unique(w: &dyn ReadTxn, overlay: &Overlay) -> CmdResult<()> {
    let mut unique_tables = BTreeSet::new();
    for meta in catalog::list_all(w)? {
        for index in meta.indexes.iter().filter(|i| i.unique) {
            unique_tables.insert(index.table());
        }
    }
    for (table, key, value) in overlay.writes() {
        let Some(id) = value else { continue };
        if !unique_tables.contains(table) || key.len() < id.len() {
            continue;
        }
        let value_part = &key[..key.len() - id.len()];
        let end = keycodec::prefix_successor(value_part);
        let end = match &end {
            Some(e) => Bound::Excluded(e.as_slice()),
            None => Bound::Unbounded,
        };
        let mut holders = 0;
        w.scan(
            table,
            (Bound::Included(value_part), end),
            Direction::Forward,
            &mut |_, _| {
                holders += 1;
                if holders > 1 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )?;
        if holders > 1 {
            return Err(write_conflict());
        }
    }
    Ok(())
}
