//! The locks of the commit path: the commit lock, which serialises commits, and the
//! write locks that open transactions hold on the keys they wrote.
//!
//! The commit lock is held by one commit at a time (a plain write's whole run, or a
//! transaction's replay). Waiting for it can give up at a deadline (the command's
//! `maxTimeMS`), so it is a flag under a mutex and a condition variable rather than a
//! plain mutex, whose `lock` cannot time out.
//!
//! A transaction writes into its own overlay; at the end of each statement it locks the
//! keys that statement wrote. Locking fails, and the transaction gets `WriteConflict`,
//! when another open transaction holds one of the keys or a commit changed it since the
//! transaction's snapshot; this is snapshot isolation's "first writer wins", detected as
//! early as mongod detects it. Locks are released when the transaction commits or
//! aborts.
//!
//! A plain write (outside a transaction) that touches a locked key does not fail: its
//! storage transaction is dropped, it waits until the holder ends, and it runs again, as
//! mongod's writes retry a write conflict. It never waits while it holds the commit
//! lock, so it cannot block the holder's commit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// The commit lock; see the module documentation.
#[derive(Default)]
pub struct CommitLock {
    held: Mutex<bool>,
    released: Condvar,
}

/// Holds the commit lock until dropped.
pub struct CommitGuard<'a>(&'a CommitLock);

impl Drop for CommitGuard<'_> {
    fn drop(&mut self) {
        *self.0.flag() = false;
        self.0.released.notify_one();
    }
}

impl CommitLock {
    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lock, waiting as long as it takes.
    pub fn lock(&self) -> CommitGuard<'_> {
        let mut held = self
            .released
            .wait_while(self.flag(), |held| *held)
            .unwrap_or_else(|p| p.into_inner());
        *held = true;
        CommitGuard(self)
    }

    /// Takes the lock if it is free or becomes free before `deadline`.
    pub fn lock_until(&self, deadline: Instant) -> Option<CommitGuard<'_>> {
        let wait = deadline.saturating_duration_since(Instant::now());
        let (mut held, _) = self
            .released
            .wait_timeout_while(self.flag(), wait, |held| *held)
            .unwrap_or_else(|p| p.into_inner());
        if *held {
            return None;
        }
        *held = true;
        Some(CommitGuard(self))
    }
}

/// Identifies one transaction for the lock table (never reused).
pub type TxnId = u64;

/// A key of a storage table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LockKey {
    pub table: String,
    pub key: Vec<u8>,
}

impl LockKey {
    pub fn new(table: &str, key: &[u8]) -> LockKey {
        LockKey {
            table: table.to_owned(),
            key: key.to_vec(),
        }
    }
}

#[derive(Default)]
struct Held {
    by_key: HashMap<LockKey, TxnId>,
    /// How many keys each transaction holds.
    by_txn: HashMap<TxnId, usize>,
}

#[derive(Default)]
pub struct LockTable {
    held: Mutex<Held>,
    /// How many keys are locked: plain writes skip the table while it is 0.
    count: AtomicUsize,
    released: Condvar,
}

impl LockTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The transaction holding `key` of `table`, if any.
    pub fn holder(&self, table: &str, key: &[u8]) -> Option<TxnId> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock().by_key.get(&LockKey::new(table, key)).copied()
    }

    /// A transaction holding any key of `table` (before the table is dropped).
    pub fn holder_in_table(&self, table: &str) -> Option<TxnId> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock()
            .by_key
            .iter()
            .find(|(k, _)| k.table == table)
            .map(|(_, owner)| *owner)
    }

    /// Locks `keys` for `txn`, all or none. Fails when another transaction holds one,
    /// or when `changed` says a commit changed it since `txn`'s snapshot.
    pub fn lock_all(
        &self,
        txn: TxnId,
        keys: Vec<LockKey>,
        mut changed: impl FnMut(&LockKey) -> bool,
    ) -> Result<(), LockKey> {
        let mut held = self.lock();
        for k in &keys {
            match held.by_key.get(k) {
                Some(owner) if *owner == txn => {}
                Some(_) => return Err(k.clone()),
                None if changed(k) => return Err(k.clone()),
                None => {}
            }
        }
        let mut added = 0;
        for k in keys {
            if let std::collections::hash_map::Entry::Vacant(slot) = held.by_key.entry(k) {
                slot.insert(txn);
                added += 1;
            }
        }
        if added > 0 {
            *held.by_txn.entry(txn).or_default() += added;
            self.count.fetch_add(added, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Releases every key `txn` holds and wakes the writes waiting for them.
    pub fn release(&self, txn: TxnId) {
        let mut held = self.lock();
        let Some(n) = held.by_txn.remove(&txn) else {
            return;
        };
        held.by_key.retain(|_, owner| *owner != txn);
        self.count.fetch_sub(n, Ordering::AcqRel);
        drop(held);
        self.released.notify_all();
    }

    /// Waits until `txn` holds no lock, or `deadline` passes; returns whether it ended.
    pub fn wait_released(&self, txn: TxnId, deadline: Instant) -> bool {
        let mut held = self.lock();
        while held.by_txn.contains_key(&txn) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            held = self
                .released
                .wait_timeout(held, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// How many keys are locked.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_commit_lock_is_exclusive_and_a_wait_for_it_can_give_up() {
        let lock = std::sync::Arc::new(CommitLock::default());
        let held = lock.lock();
        let soon = Instant::now() + Duration::from_millis(30);
        assert!(lock.lock_until(soon).is_none());
        assert!(Instant::now() >= soon);
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                lock.lock_until(Instant::now() + Duration::from_secs(10))
                    .is_some()
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        assert!(waiter.join().unwrap());
        assert!(lock.lock_until(Instant::now()).is_some());
    }

    #[test]
    fn first_locker_wins_and_release_wakes_waiters() {
        let table = std::sync::Arc::new(LockTable::default());
        let k = LockKey::new("d1", b"a");
        table.lock_all(1, vec![k.clone()], |_| false).unwrap();
        assert_eq!(
            table.lock_all(2, vec![k.clone()], |_| false),
            Err(k.clone())
        );
        assert_eq!(table.holder("d1", b"a"), Some(1));
        // A key changed since the snapshot cannot be locked either.
        let other = LockKey::new("d1", b"b");
        assert_eq!(table.lock_all(2, vec![other.clone()], |_| true), Err(other));
        let waiter = {
            let table = table.clone();
            std::thread::spawn(move || {
                table.wait_released(1, Instant::now() + Duration::from_secs(10))
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        table.release(1);
        assert!(waiter.join().unwrap());
        assert_eq!(table.count(), 0);
        assert!(!table.wait_released(1, Instant::now()) || table.holder("d1", b"a").is_none());
        table.lock_all(2, vec![k], |_| false).unwrap();
    }
}
