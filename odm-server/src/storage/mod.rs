//! Storage: ordered byte tables behind the narrow [`Store`] trait, and the record layer
//! built on it once for every backend.
//!
//! A [`Store`] holds named tables of byte keys to byte values, read in snapshots and
//! written in transactions. It knows nothing of BSON or queries. Two implementations:
//!
//! - [`disk::RedbStore`]: durable, one redb file under `--dbpath`;
//! - [`memory::MemoryStore`]: the in-memory twin, a persistent B-tree per table, for tests and
//!   `--in-memory`; simple enough to serve as the model the durable store is checked
//!   against.
//!
//! On top of the trait, independent of the backend:
//!
//! - [`keycodec`]: the order-preserving encoding of BSON values used for every key;
//! - [`catalog`]: databases, collections (with options) and their index definitions;
//! - [`collection`]: documents keyed by their encoded `_id`, and index entries kept in
//!   step with them (unique constraints, sparse and multikey indexes).

pub mod capped;
pub mod catalog;
pub mod collection;
pub mod disk;
#[cfg(test)]
pub(crate) mod fault;
pub mod geo;
pub mod keycodec;
pub mod memory;
pub mod timeseries;
pub mod wildcard;

use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

/// A failure of the storage backend itself (I/O, corruption): never the client's fault.
#[derive(Debug, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StorageError(pub String);

impl StorageError {
    pub fn new(e: impl std::fmt::Display) -> Self {
        StorageError(e.to_string())
    }
}

impl From<StorageError> for crate::error::CommandError {
    fn from(e: StorageError) -> Self {
        crate::error::CommandError::internal(e.0)
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// When a committed write must reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Visible to every later reader at once; made durable by the next [`Store::sync`]
    /// (the server runs one at least every journal commit interval, as mongod does).
    Buffered,
    /// On disk when `commit` returns.
    Immediate,
}

/// The direction of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Reverse,
}

/// A range of keys: `(start, end)` bounds as in `BTreeMap::range`.
pub type KeyRange<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// Receives the entries of a scan in order; returning `ControlFlow::Break` stops it.
pub type Visitor<'v> = dyn FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'v;

/// A consistent, read-only view of every table as of one commit. It owns what it reads
/// (it may outlive the call that took it, be shared between threads, and be kept for a
/// transaction's life); while it lives, the store keeps the versions it sees.
pub type Snapshot = Arc<dyn ReadTxn + Send + Sync>;

/// An ordered key-value store with snapshot reads and one writer at a time.
pub trait Store: Send + Sync + 'static {
    /// A snapshot of every table as of the last commit. Never blocks writers.
    fn begin_read(&self) -> StorageResult<Snapshot>;

    /// The write transaction; callers wait while another one is open. Reads through it
    /// see its own writes. Dropped without `commit`, it changes nothing.
    fn begin_write(&self) -> StorageResult<Box<dyn WriteTxn + '_>>;

    /// Makes every write committed so far durable. Concurrent callers share one flush.
    fn sync(&self) -> StorageResult<()>;

    /// Whether every write committed so far is durable already (`sync` has nothing
    /// to do).
    fn is_durable(&self) -> bool;

    /// Bytes the store occupies on disk (0 in memory).
    fn size_on_disk(&self) -> u64;
}

/// Reads, inside a snapshot or a write transaction.
pub trait ReadTxn {
    /// The value stored under `key`, if the table and the key exist.
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>>;

    /// Visits the entries of `range` in key order (or reverse). A missing table is empty.
    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()>;
}

/// Writes, in one transaction.
pub trait WriteTxn: ReadTxn {
    /// Inserts or replaces; creates the table on first use.
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()>;

    /// Removes a key; returns whether it was there.
    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool>;

    /// Removes a whole table (no error if it does not exist).
    fn drop_table(&mut self, table: &str) -> StorageResult<()>;

    /// Makes every write of the transaction visible (and durable as asked).
    fn commit(self: Box<Self>, durability: Durability) -> StorageResult<()>;

    /// Whether [`WriteTxn::park`] can leave this transaction open for the next writer.
    fn can_park(&self) -> bool {
        false
    }

    /// Leaves the transaction open, uncommitted: the next `begin_write` continues it
    /// (group commit: one commit for the writes of several commands).
    fn park(self: Box<Self>) -> StorageResult<()> {
        Err(StorageError(
            "this store cannot leave a transaction open".into(),
        ))
    }
}

/// Whether a range can hold no key at all (inverted or empty bounds). Backends return an
/// empty scan for it rather than panicking, as `BTreeMap::range` would.
pub(crate) fn range_is_empty((start, end): KeyRange<'_>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

/// Everything under `range`, collected (for small tables such as the catalog).
pub fn scan_all(
    txn: &dyn ReadTxn,
    table: &str,
    range: KeyRange<'_>,
) -> StorageResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    txn.scan(table, range, Direction::Forward, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// The conformance suite both backends must pass: the in-memory twin defines the
/// behaviour, the durable store must match it.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;

    fn keys(txn: &dyn ReadTxn, table: &str, direction: Direction) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        txn.scan(
            table,
            (Bound::Unbounded, Bound::Unbounded),
            direction,
            &mut |k, _| {
                out.push(k.to_vec());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        out
    }

    pub fn check(store: &dyn Store) {
        // Writes are invisible until committed, and dropped transactions change nothing.
        {
            let mut w = store.begin_write().unwrap();
            w.put("t", b"b", b"2").unwrap();
            w.put("t", b"a", b"1").unwrap();
            assert_eq!(w.get("t", b"a").unwrap(), Some(b"1".to_vec()));
        }
        assert_eq!(store.begin_read().unwrap().get("t", b"a").unwrap(), None);

        let mut w = store.begin_write().unwrap();
        for k in [b"b", b"a", b"d", b"c"] {
            w.put("t", k, k).unwrap();
        }
        w.put("u", b"x", b"y").unwrap();
        w.commit(Durability::Immediate).unwrap();

        let r = store.begin_read().unwrap();
        assert_eq!(keys(&*r, "t", Direction::Forward), [b"a", b"b", b"c", b"d"]);
        assert_eq!(keys(&*r, "t", Direction::Reverse), [b"d", b"c", b"b", b"a"]);
        assert!(keys(&*r, "missing", Direction::Forward).is_empty());
        let mut ranged = Vec::new();
        r.scan(
            "t",
            (Bound::Excluded(&b"a"[..]), Bound::Included(&b"c"[..])),
            Direction::Reverse,
            &mut |k, _| {
                ranged.push(k.to_vec());
                if k == b"b" {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
        assert_eq!(ranged, [b"c".to_vec(), b"b".to_vec()]);
        drop(r);

        let mut w = store.begin_write().unwrap();
        assert!(w.delete("t", b"a").unwrap());
        assert!(!w.delete("t", b"zz").unwrap());
        w.drop_table("u").unwrap();
        w.drop_table("never-existed").unwrap();
        w.commit(Durability::Buffered).unwrap();
        store.sync().unwrap();

        let r = store.begin_read().unwrap();
        assert_eq!(keys(&*r, "t", Direction::Forward), [b"b", b"c", b"d"]);
        assert_eq!(r.get("u", b"x").unwrap(), None);
    }
}
