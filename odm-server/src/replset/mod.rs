//! The server as the primary of a one-member replica set: cluster time, the oplog,
//! published snapshots, retryable writes and transactions.
//!
//! Every write goes through [`ReplState::write`] (plain writes) or a [`txn::Transaction`]
//! (multi-document transactions), which serialise their commits under one *commit lock*:
//! inside it a commit takes the next cluster time(s) from the [`clock`], appends its
//! oplog entries and retry record to the same storage transaction as its data, commits,
//! and publishes a snapshot of the result tagged with that time. Readers take the
//! published snapshot (no storage call, never blocked by writers); recent snapshots stay
//! available for a while for reads `atClusterTime` and snapshot reads that continue in a
//! `getMore`.
//!
//! # Layout
//! - [`clock`] hands out timestamps.
//! - [`oplog`] holds the log's entries and storage; [`diff`] the `$v: 2` update diff.
//! - [`writer`] is a write in progress, recording its changes; [`batch`] commits the
//!   plain writes that arrive together as one (group commit), [`pending`] counts the
//!   writes under way.
//! - [`locks`], [`overlay`] and [`txn`] make transactions.
//! - [`retry`] keeps the retry records of retryable writes and committed transactions.
//! - [`topology`] says what `hello` and the `replSet*` commands report about the set.

pub mod batch;
pub mod clock;
pub mod diff;
pub mod locks;
pub mod oplog;
pub mod overlay;
pub mod pending;
pub mod retry;
pub mod topology;
pub mod txn;
pub mod writer;

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use bson::Timestamp;

use self::clock::Clock;
use self::locks::{CommitGuard, CommitLock, LockTable};
use self::oplog::{Change, SessionInfo};
use self::retry::{Outcome, Record};
use self::writer::Writer;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::{Durability, Snapshot, StorageResult, Store, WriteTxn};

/// A snapshot of every table as of a commit, and that commit's cluster time.
pub struct Published {
    pub ts: Timestamp,
    pub snapshot: Snapshot,
    at: Instant,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published").field("ts", &self.ts).finish()
    }
}

/// How many past snapshots are kept at most, whatever the history window.
const MAX_HISTORY: usize = 1000;

pub struct ReplState {
    pub topology: topology::Topology,
    clock: Clock,
    commit_lock: CommitLock,
    current: RwLock<Arc<Published>>,
    history: Mutex<VecDeque<Arc<Published>>>,
    history_window: Duration,
    pub locks: LockTable,
    /// The cluster time of the last commit, for what waits for new writes (a change
    /// stream's `getMore`).
    last_commit: (Mutex<Timestamp>, Condvar),
    oplog_max: u64,
    next_txn_id: AtomicU64,
    /// Writes between their start and their commit (see [`pending`]).
    pub pending: pending::PendingWrites,
    /// Plain writes committed together (see [`batch`]).
    batches: batch::Batches,
}

impl ReplState {
    /// Opens the replica-set state over `store`: the clock resumes after the oplog's last
    /// entry, and a no-op entry marks the start, as a new primary's does.
    pub fn open(
        store: &dyn Store,
        topology: topology::Topology,
        oplog_max: u64,
        history_window: Duration,
    ) -> StorageResult<ReplState> {
        let clock = Clock::default();
        if let Some((_, last)) = oplog::bounds(&*store.begin_read()?)? {
            clock.advance_past(last);
        }
        let start = clock.last();
        let state = ReplState {
            topology,
            clock,
            commit_lock: CommitLock::default(),
            current: RwLock::new(Arc::new(Published {
                ts: start,
                snapshot: store.begin_read()?,
                at: Instant::now(),
            })),
            history: Mutex::new(VecDeque::new()),
            history_window,
            locks: LockTable::default(),
            last_commit: (Mutex::new(start), Condvar::new()),
            oplog_max,
            next_txn_id: AtomicU64::new(1),
            pending: Default::default(),
            batches: Default::default(),
        };
        state
            .write(
                store,
                None,
                false,
                Instant::now(),
                |w| {
                    w.record(Change::Noop {
                        msg: "new primary".into(),
                    });
                    Ok(())
                },
                |_| None,
            )
            .map_err(|e| crate::storage::StorageError(e.message))?;
        Ok(state)
    }

    fn commit_lock(&self) -> CommitGuard<'_> {
        self.commit_lock.lock()
    }

    /// The commit lock, unless `deadline` passes first: `MaxTimeMSExpired` (50).
    fn commit_lock_until(&self, deadline: Instant) -> CmdResult<CommitGuard<'_>> {
        self.commit_lock
            .lock_until(deadline)
            .ok_or_else(time_limit_exceeded)
    }

    /// The oplog's size limit in bytes (what `local.oplog.rs` reports as its `size`).
    pub fn oplog_max(&self) -> u64 {
        self.oplog_max
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Published> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The cluster time of the last commit.
    pub fn cluster_time(&self) -> Timestamp {
        self.snapshot().ts
    }

    /// The snapshot as of cluster time `ts`: `SnapshotTooOld` (239) when the server no
    /// longer keeps it.
    pub fn snapshot_at(&self, ts: Timestamp) -> CmdResult<Arc<Published>> {
        let current = self.snapshot();
        if clock::to_u64(ts) >= clock::to_u64(current.ts) {
            return Ok(current);
        }
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        // The newest kept snapshot at or before `ts` is the state at `ts` only if no
        // commit between them was forgotten: history is contiguous from its oldest.
        let found = history
            .iter()
            .rev()
            .find(|p| clock::to_u64(p.ts) <= clock::to_u64(ts));
        match found {
            Some(p) => Ok(p.clone()),
            None => Err(CommandError::new(
                ErrorCode::SnapshotTooOld,
                format!(
                    "Read timestamp {ts} is older than the oldest available timestamp{}",
                    history
                        .front()
                        .map(|p| format!(" {}", p.ts))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    /// Makes the store's state as of now the published snapshot for `ts`. Called with
    /// the commit lock held, right after a commit.
    fn publish(&self, store: &dyn Store, ts: Timestamp) -> StorageResult<()> {
        let next = Arc::new(Published {
            ts,
            snapshot: store.begin_read()?,
            at: Instant::now(),
        });
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|p| p.into_inner()),
            next,
        );
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        history.push_back(previous);
        while history.len() > MAX_HISTORY
            || history
                .front()
                .is_some_and(|p| p.at.elapsed() > self.history_window)
        {
            history.pop_front();
        }
        Ok(())
    }

    fn notify(&self, ts: Timestamp) {
        let (last, changed) = &self.last_commit;
        *last.lock().unwrap_or_else(|p| p.into_inner()) = ts;
        changed.notify_all();
    }

    /// Blocks until a commit later than `after` happens or `deadline` passes; returns
    /// whether one did.
    pub fn wait_for_commit_after(&self, after: Timestamp, deadline: Instant) -> bool {
        let (last, changed) = &self.last_commit;
        let mut seen = last.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if clock::to_u64(*seen) > clock::to_u64(after) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            seen = changed
                .wait_timeout(seen, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Runs a plain write: `work` writes through a [`Writer`] into one storage
    /// transaction, which is committed with its oplog entries (and, for a retryable
    /// write of `session`, the retry record `retry_reply` makes of the result). When the
    /// write touches a key an open transaction holds, everything is dropped, the write
    /// waits for that transaction to end (until `deadline`) and runs again.
    pub fn write<T>(
        &self,
        store: &dyn Store,
        session: Option<&SessionInfo>,
        durable: bool,
        deadline: Instant,
        mut work: impl FnMut(&mut Writer<'_>) -> CmdResult<T>,
        retry_reply: impl Fn(&T) -> Option<bson::Document>,
    ) -> CmdResult<(T, Timestamp)> {
        let _pending = self.pending.enter();
        loop {
            let commit = self.commit_lock_until(deadline)?;
            // A batch other commands left open is continued (see [`batch`]).
            let mut txn = store.begin_write()?;
            let (generation, inherited) = self.batches.current();
            let mut writer = Writer::plain(&mut *txn, &self.locks);
            let result = work(&mut writer);
            let blocked = writer.blocked_by();
            let (changes, _) = writer.into_changes();
            let out = match (result, blocked) {
                (_, Some(holder)) => {
                    self.abandon(txn, generation, inherited);
                    drop(commit);
                    if !self.locks.wait_released(holder, deadline) {
                        return Err(CommandError::new(
                            ErrorCode::MaxTimeMSExpired,
                            "operation exceeded time limit while waiting for a transaction holding the document to end",
                        ));
                    }
                    continue;
                }
                (Err(e), None) => {
                    self.abandon(txn, generation, inherited);
                    return Err(e);
                }
                (Ok(out), None) => out,
            };
            let recorded = self.record(&mut *txn, &changes, session, retry_reply(&out));
            let ts = match recorded {
                Ok(ts) => ts.unwrap_or_else(|| self.cluster_time()),
                Err(e) => {
                    self.abandon(txn, generation, inherited);
                    return Err(e.into());
                }
            };
            let members = self.batches.join(ts, durable);
            // Writers behind this one (every write under way that is not in the batch):
            // the next of them continues the batch, and the last commits it.
            let behind = self.pending.count() > members;
            if behind && members < batch::MAX_MEMBERS && txn.can_park() {
                txn.park()?;
                drop(commit);
                match self.await_batch(store, generation)? {
                    batch::Outcome::Committed(at) => return Ok((out, at)),
                    batch::Outcome::Aborted => continue,
                }
            }
            let ts = self.commit_batch(store, txn, generation)?;
            drop(commit);
            self.notify(ts);
            return Ok((out, ts));
        }
    }

    /// Appends a write's oplog entries and, for a retryable write, its retry record;
    /// returns the last entry's time.
    fn record(
        &self,
        txn: &mut dyn WriteTxn,
        changes: &[Change],
        session: Option<&SessionInfo>,
        reply: Option<bson::Document>,
    ) -> StorageResult<Option<Timestamp>> {
        let ts = oplog::append(txn, changes, session, || self.clock.tick(), self.oplog_max)?;
        if let Some(s) = session
            && let Some(reply) = reply
        {
            retry::put(
                txn,
                &s.lsid,
                &Record {
                    txn_number: s.txn_number,
                    outcome: Outcome::Write(reply),
                },
            )?;
        }
        Ok(ts)
    }

    /// Drops a write's transaction: the batch it continued, if it did, ends with it.
    fn abandon(&self, txn: Box<dyn WriteTxn + '_>, generation: u64, inherited: bool) {
        drop(txn);
        if inherited {
            self.batches.end(generation, batch::Outcome::Aborted);
        }
    }

    /// Commits the batch `txn` holds (under the commit lock) at its latest member's
    /// time, publishes it and wakes its members.
    fn commit_batch(
        &self,
        store: &dyn Store,
        txn: Box<dyn WriteTxn + '_>,
        generation: u64,
    ) -> CmdResult<Timestamp> {
        let (last, durable) = self.batches.to_commit();
        let ts = last.unwrap_or_else(|| self.cluster_time());
        // A member that answers only once its write is on disk makes the commit durable:
        // one flush for the batch, instead of one more commit to flush it.
        let durability = match durable {
            true => Durability::Immediate,
            false => Durability::Buffered,
        };
        let committed = txn
            .commit(durability)
            .and_then(|()| self.publish(store, ts));
        match committed {
            Ok(()) => {
                self.batches.end(generation, batch::Outcome::Committed(ts));
                Ok(ts)
            }
            Err(e) => {
                self.batches.end(generation, batch::Outcome::Aborted);
                Err(e.into())
            }
        }
    }

    /// Waits for the batch a write left open to be committed; commits it itself when
    /// no one has after [`batch::MEMBER_WAIT`] (the writer it was left to went another
    /// way: blocked by a transaction's lock, or failed before writing).
    fn await_batch(&self, store: &dyn Store, generation: u64) -> CmdResult<batch::Outcome> {
        if let Some(outcome) = self.batches.wait(generation, batch::MEMBER_WAIT) {
            return Ok(outcome);
        }
        let commit = self.commit_lock();
        if let Some(outcome) = self.batches.outcome(generation) {
            return Ok(outcome);
        }
        // Still open with the commit lock free: it is parked, and this continues it.
        let txn = store.begin_write()?;
        let ts = self.commit_batch(store, txn, generation)?;
        drop(commit);
        self.notify(ts);
        Ok(batch::Outcome::Committed(ts))
    }

    /// Removes the retry records of sessions idle longer than the session timeout.
    pub fn forget_retry_records(&self, store: &dyn Store) -> CmdResult<()> {
        let timeout = i64::from(crate::session::SESSION_TIMEOUT_MINUTES) * 60_000;
        let cutoff =
            bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - timeout);
        let old = retry::older_than(&*self.snapshot().snapshot, cutoff)?;
        if old.is_empty() {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        self.write(
            store,
            None,
            false,
            deadline,
            |w| {
                for k in &old {
                    WriteTxn::delete(w, retry::RECORDS_TABLE, k)?;
                }
                Ok(())
            },
            |_| None,
        )?;
        Ok(())
    }
}

/// What a command gets when its `maxTimeMS` passes while it waits (mongod's words).
pub fn time_limit_exceeded() -> CommandError {
    CommandError::new(ErrorCode::MaxTimeMSExpired, "operation exceeded time limit")
}
