//! The in-memory twin of the durable store: one persistent B-tree per table.
//!
//! It is deliberately the simplest thing that satisfies the [`Store`] contract, so it can
//! serve as the model the redb store is compared against. The tables are `imbl` maps:
//! cloning them is one pointer copy, and a clone shares every node with the original
//! until one of them changes. So a snapshot is a clone of the committed tables (it never
//! holds a lock, and may live as long as a transaction), and a write transaction works
//! on its own clone and publishes it on commit; dropping it uncommitted discards the
//! clone. One writer at a time, as in redb.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use imbl::OrdMap;

use super::{
    Direction, Durability, KeyRange, ReadTxn, Snapshot, StorageResult, Store, Visitor, WriteTxn,
};

/// Keys and values are shared, so copying a tree node on write copies pointers, not bytes.
type Bytes = Arc<[u8]>;
type Table = OrdMap<Bytes, Bytes>;
type Tables = OrdMap<String, Table>;

/// Tables kept in memory only; gone when the process exits.
#[derive(Default)]
pub struct MemoryStore {
    committed: RwLock<Tables>,
    writer: Mutex<()>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn committed(&self) -> Tables {
        self.committed
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Store for MemoryStore {
    fn begin_read(&self) -> StorageResult<Snapshot> {
        Ok(Arc::new(MemoryRead {
            tables: self.committed(),
        }))
    }

    fn begin_write(&self) -> StorageResult<Box<dyn WriteTxn + '_>> {
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Box::new(MemoryWrite {
            _writer: writer,
            tables: self.committed(),
            store: self,
        }))
    }

    fn sync(&self) -> StorageResult<()> {
        Ok(())
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn size_on_disk(&self) -> u64 {
        0
    }
}

fn get(tables: &Tables, table: &str, key: &[u8]) -> Option<Vec<u8>> {
    tables.get(table)?.get(key).map(|v| v.to_vec())
}

fn scan(
    tables: &Tables,
    table: &str,
    range: KeyRange<'_>,
    direction: Direction,
    visit: &mut Visitor<'_>,
) {
    let Some(t) = tables.get(table) else { return };
    if super::range_is_empty(range) {
        return;
    }
    let iter = t.range::<_, [u8]>(range);
    let step = |(k, v): (&Bytes, &Bytes)| visit(k, v);
    let _ = match direction {
        Direction::Forward => iter.map(step).find(|c| c.is_break()),
        Direction::Reverse => iter.rev().map(step).find(|c| c.is_break()),
    };
}

struct MemoryRead {
    tables: Tables,
}

impl ReadTxn for MemoryRead {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        Ok(get(&self.tables, table, key))
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        scan(&self.tables, table, range, direction, visit);
        Ok(())
    }
}

struct MemoryWrite<'a> {
    _writer: MutexGuard<'a, ()>,
    tables: Tables,
    store: &'a MemoryStore,
}

impl ReadTxn for MemoryWrite<'_> {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        Ok(get(&self.tables, table, key))
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        scan(&self.tables, table, range, direction, visit);
        Ok(())
    }
}

impl WriteTxn for MemoryWrite<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()> {
        match self.tables.get_mut(table) {
            Some(t) => {
                t.insert(Bytes::from(key), Bytes::from(value));
            }
            None => {
                let mut t = Table::new();
                t.insert(Bytes::from(key), Bytes::from(value));
                self.tables.insert(table.to_owned(), t);
            }
        }
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        let Some(t) = self.tables.get_mut(table) else {
            return Ok(false);
        };
        let existed = t.remove(key).is_some();
        if t.is_empty() {
            self.tables.remove(table);
        }
        Ok(existed)
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        self.tables.remove(table);
        Ok(())
    }

    fn commit(self: Box<Self>, _durability: Durability) -> StorageResult<()> {
        let MemoryWrite {
            _writer,
            tables,
            store,
        } = *self;
        *store
            .committed
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = tables;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfies_the_store_contract() {
        super::super::contract::check(&MemoryStore::new());
    }

    #[test]
    fn dropped_transactions_change_nothing_and_snapshots_stay_put() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        w.put("t", b"k", b"old").unwrap();
        w.commit(Durability::Immediate).unwrap();
        let before = store.begin_read().unwrap();
        {
            let mut w = store.begin_write().unwrap();
            w.put("t", b"k", b"new").unwrap();
            w.drop_table("t").unwrap();
            w.put("t", b"other", b"x").unwrap();
        }
        let r = store.begin_read().unwrap();
        assert_eq!(r.get("t", b"k").unwrap(), Some(b"old".to_vec()));
        assert_eq!(r.get("t", b"other").unwrap(), None);
        // A snapshot taken before a commit keeps seeing what was there, and holds no
        // writer back.
        let mut w = store.begin_write().unwrap();
        w.put("t", b"k", b"newer").unwrap();
        w.commit(Durability::Immediate).unwrap();
        assert_eq!(before.get("t", b"k").unwrap(), Some(b"old".to_vec()));
        assert_eq!(
            store.begin_read().unwrap().get("t", b"k").unwrap(),
            Some(b"newer".to_vec())
        );
    }
}
