//! The durable store: every table in one redb file, `<dbpath>/odm.redb`.
//!
//! redb gives crash-safe copy-on-write B-trees with MVCC snapshots and one writer at a
//! time, which is exactly the [`Store`] contract. Durability is split in two steps so that
//! concurrent writers share flushes (group commit):
//!
//! - every transaction commits with redb's `Durability::None`: visible at once, not yet
//!   flushed;
//! - [`Store::sync`] makes all of them durable with one empty `Durability::Immediate`
//!   commit. A caller that finds its commit already covered by a flush another thread made
//!   returns without flushing. `j: true` writes call it before replying; the server calls it
//!   on a timer for the rest, as mongod flushes its journal every 100 ms.
//!
//! After a crash redb reopens at the last durable commit: writes acknowledged with
//! `j: true` are there, and no transaction is ever half applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::{
    Direction, Durability, KeyRange, ReadTxn, Snapshot, StorageError, StorageResult, Store,
    Visitor, WriteTxn, range_is_empty,
};

/// The file inside `--dbpath` that holds every table.
pub const DATA_FILE: &str = "odm.redb";

type Guard<'a> = redb::AccessGuard<'a, &'static [u8]>;
type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

fn def(name: &str) -> Def<'_> {
    TableDefinition::new(name)
}

/// The data files this process has open, each with whether its server is shutting down.
/// A file stays locked until the store and every snapshot read from it are gone, which
/// happens on the server's tasks some time after its handle is dropped; opening it again
/// meanwhile waits for that instead of failing.
static IN_PROCESS: Mutex<BTreeMap<PathBuf, bool>> = Mutex::new(BTreeMap::new());
static RELEASED: Condvar = Condvar::new();

/// How long an open waits for a server of this process that is shutting down.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// This process's hold on a data file; the last one dropped releases it.
struct FileClaim {
    path: PathBuf,
}

impl FileClaim {
    fn take(path: &Path) -> StorageResult<Arc<FileClaim>> {
        let deadline = Instant::now() + RELEASE_WAIT;
        let mut open = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match open.get(path) {
                None => {
                    open.insert(path.to_path_buf(), false);
                    return Ok(Arc::new(FileClaim {
                        path: path.to_path_buf(),
                    }));
                }
                Some(false) => {
                    return Err(StorageError(format!(
                        "cannot open {}: this process already has it open (close the other Db or server first)",
                        path.display()
                    )));
                }
                Some(true) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(StorageError(format!(
                            "cannot open {}: the server of this process that had it open is still shutting down",
                            path.display()
                        )));
                    }
                    open = RELEASED
                        .wait_timeout(open, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

impl Drop for FileClaim {
    fn drop(&mut self) {
        IN_PROCESS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.path);
        RELEASED.notify_all();
    }
}

/// Says that the server holding the store under `dir` is shutting down: an open of the
/// same directory in this process waits for the file to be released.
pub fn closing(dir: &Path) {
    let Ok(path) = dir.join(DATA_FILE).canonicalize() else {
        return;
    };
    if let Some(state) = IN_PROCESS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&path)
    {
        *state = true;
    }
}

/// A store in one redb file.
pub struct RedbStore {
    db: Database,
    /// Held by every snapshot too: the file is released when the last of them goes.
    claim: Option<Arc<FileClaim>>,
    path: PathBuf,
    /// Transactions committed so far (each one buffered until a sync).
    committed: AtomicU64,
    /// How many of those are durable (made so by a sync or a durable commit).
    synced: AtomicU64,
    /// Serialises flushes. Never held by a commit: a flush waits for the write lock
    /// while holding it, and a durable commit holds the write lock.
    flushing: Mutex<()>,
    /// A write transaction left open for the next writer (see [`WriteTxn::park`]).
    parked: Mutex<Option<redb::WriteTransaction>>,
}

impl RedbStore {
    /// Opens (or creates) the store under `dir`, creating the directory if needed, with
    /// a page cache of `cache_size` bytes.
    pub fn open(dir: &Path, cache_size: usize) -> StorageResult<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DATA_FILE);
        // The claim is keyed by the file's canonical path, so it must exist first.
        let canonical = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|_| path.canonicalize())
            .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))?;
        let claim = FileClaim::take(&canonical)?;
        let db = Database::builder()
            .set_cache_size(cache_size)
            .create(&path)
            .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))?;
        Ok(RedbStore::new(db, Some(claim), path))
    }

    /// A store on a redb storage backend instead of a file: the power-loss tests give
    /// it a simulated disk.
    #[cfg(test)]
    pub(crate) fn on_backend(backend: impl redb::StorageBackend) -> StorageResult<Self> {
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(|e| StorageError(format!("cannot open the simulated disk: {e}")))?;
        Ok(RedbStore::new(db, None, PathBuf::new()))
    }

    fn new(db: Database, claim: Option<Arc<FileClaim>>, path: PathBuf) -> Self {
        RedbStore {
            db,
            claim,
            path,
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            flushing: Mutex::new(()),
            parked: Mutex::new(None),
        }
    }
}

impl Store for RedbStore {
    fn begin_read(&self) -> StorageResult<Snapshot> {
        let txn = self.db.begin_read().map_err(StorageError::new)?;
        Ok(Arc::new(RedbRead {
            txn,
            _claim: self.claim.clone(),
        }))
    }

    fn begin_write(&self) -> StorageResult<Box<dyn WriteTxn + '_>> {
        let parked = self.parked.lock().unwrap_or_else(|p| p.into_inner()).take();
        let txn = match parked {
            Some(txn) => txn,
            None => self.db.begin_write().map_err(StorageError::new)?,
        };
        Ok(Box::new(RedbWrite { txn, store: self }))
    }

    fn sync(&self) -> StorageResult<()> {
        let wanted = self.committed.load(Ordering::SeqCst);
        if self.synced.load(Ordering::SeqCst) >= wanted {
            return Ok(());
        }
        let _flushing = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if self.synced.load(Ordering::SeqCst) >= wanted {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(StorageError::new)?;
        // Read under the write lock: every commit counted so far has finished (each is
        // counted while its transaction holds the lock), so the flush below covers all
        // of them, including those that committed while this call waited for the lock.
        // Writers that arrive during the flush find their commit covered: one fsync
        // serves them all (group commit).
        let covered = self.committed.load(Ordering::SeqCst);
        txn.set_durability(redb::Durability::Immediate)
            .map_err(StorageError::new)?;
        txn.commit().map_err(StorageError::new)?;
        self.synced.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }

    fn is_durable(&self) -> bool {
        self.synced.load(Ordering::SeqCst) >= self.committed.load(Ordering::SeqCst)
    }

    fn size_on_disk(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for RedbStore {
    /// Whatever way the server goes away, buffered commits become durable first.
    fn drop(&mut self) {
        // A batch left open has no one left to commit it, and none of its writes was
        // acknowledged: it is dropped, or the flush would wait for it forever.
        drop(self.parked.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Err(e) = self.sync() {
            tracing::error!("could not flush {} on close: {e}", self.path.display());
        }
    }
}

fn get_in(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> StorageResult<Option<Vec<u8>>> {
    Ok(table
        .get(key)
        .map_err(StorageError::new)?
        .map(|v| v.value().to_vec()))
}

fn scan_in(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    range: KeyRange<'_>,
    direction: Direction,
    visit: &mut Visitor<'_>,
) -> StorageResult<()> {
    if range_is_empty(range) {
        return Ok(());
    }
    let iter = table.range::<&[u8]>(range).map_err(StorageError::new)?;
    match direction {
        Direction::Forward => visit_entries(iter, visit),
        Direction::Reverse => visit_entries(iter.rev(), visit),
    }
}

fn visit_entries<'a>(
    entries: impl Iterator<Item = Result<(Guard<'a>, Guard<'a>), redb::StorageError>>,
    visit: &mut Visitor<'_>,
) -> StorageResult<()> {
    for entry in entries {
        let (k, v) = entry.map_err(StorageError::new)?;
        if visit(k.value(), v.value()).is_break() {
            break;
        }
    }
    Ok(())
}

struct RedbRead {
    txn: redb::ReadTransaction,
    _claim: Option<Arc<FileClaim>>,
}

impl ReadTxn for RedbRead {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        match self.txn.open_table(def(table)) {
            Ok(t) => get_in(&t, key),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(StorageError::new(e)),
        }
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        match self.txn.open_table(def(table)) {
            Ok(t) => scan_in(&t, range, direction, visit),
            Err(TableError::TableDoesNotExist(_)) => Ok(()),
            Err(e) => Err(StorageError::new(e)),
        }
    }
}

struct RedbWrite<'s> {
    txn: redb::WriteTransaction,
    store: &'s RedbStore,
}

impl ReadTxn for RedbWrite<'_> {
    // Opening a table in a write transaction creates it: an empty table is
    // indistinguishable from a missing one, and this avoids listing every table per call.
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        let t = self.txn.open_table(def(table)).map_err(StorageError::new)?;
        get_in(&t, key)
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        let t = self.txn.open_table(def(table)).map_err(StorageError::new)?;
        scan_in(&t, range, direction, visit)
    }
}

impl WriteTxn for RedbWrite<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()> {
        let mut t = self.txn.open_table(def(table)).map_err(StorageError::new)?;
        t.insert(key, value).map_err(StorageError::new)?;
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        let mut t = self.txn.open_table(def(table)).map_err(StorageError::new)?;
        Ok(t.remove(key).map_err(StorageError::new)?.is_some())
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        self.txn
            .delete_table(def(table))
            .map_err(StorageError::new)?;
        Ok(())
    }

    fn can_park(&self) -> bool {
        true
    }

    fn park(self: Box<Self>) -> StorageResult<()> {
        let RedbWrite { txn, store } = *self;
        *store.parked.lock().unwrap_or_else(|p| p.into_inner()) = Some(txn);
        Ok(())
    }

    fn commit(self: Box<Self>, durability: Durability) -> StorageResult<()> {
        let RedbWrite { mut txn, store } = *self;
        let level = match durability {
            Durability::Buffered => redb::Durability::None,
            Durability::Immediate => redb::Durability::Immediate,
        };
        txn.set_durability(level).map_err(StorageError::new)?;
        // Counted while the transaction still holds the write lock, so that a count
        // read under that lock only ever includes finished commits (see `sync`).
        let count = store.committed.fetch_add(1, Ordering::SeqCst) + 1;
        txn.commit().map_err(StorageError::new)?;
        if durability == Durability::Immediate {
            // Everything counted before this commit is durable now too.
            store.synced.fetch_max(count, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfies_the_store_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path(), crate::config::DEFAULT_CACHE_SIZE).unwrap();
        super::super::contract::check(&store);
    }

    #[test]
    fn synced_writes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = RedbStore::open(dir.path(), crate::config::DEFAULT_CACHE_SIZE).unwrap();
            let mut w = store.begin_write().unwrap();
            w.put("t", b"k", b"v").unwrap();
            w.commit(Durability::Buffered).unwrap();
            store.sync().unwrap();
        }
        let store = RedbStore::open(dir.path(), crate::config::DEFAULT_CACHE_SIZE).unwrap();
        assert_eq!(
            store.begin_read().unwrap().get("t", b"k").unwrap(),
            Some(b"v".to_vec())
        );
        assert!(store.size_on_disk() > 0);
    }
}
