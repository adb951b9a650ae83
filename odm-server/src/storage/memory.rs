//! The in-memory twin of the durable store: one `BTreeMap` per table behind a lock.
//!
//! It is deliberately the simplest thing that satisfies the [`Store`] contract, so it can
//! serve as the model the redb store is compared against. A write transaction takes the
//! write lock for its whole life and applies changes in place, keeping an undo log that
//! restores the tables if it is dropped without a commit. Readers hold the read lock for
//! their snapshot's life, which is why snapshots must be short and a thread must not open
//! a write transaction while it holds a snapshot.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{Direction, Durability, KeyRange, ReadTxn, StorageResult, Store, Visitor, WriteTxn};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;
type Tables = BTreeMap<String, Table>;

/// Tables kept in memory only; gone when the process exits.
#[derive(Default)]
pub struct MemoryStore {
    tables: RwLock<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn begin_read(&self) -> StorageResult<Box<dyn ReadTxn + '_>> {
        let guard = self
            .tables
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Box::new(MemoryRead { tables: guard }))
    }

    fn begin_write(&self) -> StorageResult<Box<dyn WriteTxn + '_>> {
        let guard = self
            .tables
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Box::new(MemoryWrite {
            tables: guard,
            undo: Vec::new(),
            committed: false,
        }))
    }

    fn sync(&self) -> StorageResult<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        0
    }
}

fn get(tables: &Tables, table: &str, key: &[u8]) -> Option<Vec<u8>> {
    tables.get(table)?.get(key).cloned()
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
    let iter = t.range::<[u8], _>(range);
    let step = |(k, v): (&Vec<u8>, &Vec<u8>)| visit(k, v);
    let _ = match direction {
        Direction::Forward => iter.map(step).find(|c| c.is_break()),
        Direction::Reverse => iter.rev().map(step).find(|c| c.is_break()),
    };
}

struct MemoryRead<'a> {
    tables: RwLockReadGuard<'a, Tables>,
}

impl ReadTxn for MemoryRead<'_> {
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

/// What it takes to put a table back as it was before the transaction.
enum Undo {
    /// Restore `key` to `previous` (or remove it when `None`).
    Entry {
        table: String,
        key: Vec<u8>,
        previous: Option<Vec<u8>>,
    },
    /// Put back a whole dropped table.
    Table { table: String, contents: Table },
}

struct MemoryWrite<'a> {
    tables: RwLockWriteGuard<'a, Tables>,
    undo: Vec<Undo>,
    committed: bool,
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
        let previous = self
            .tables
            .entry(table.to_owned())
            .or_default()
            .insert(key.to_vec(), value.to_vec());
        self.undo.push(Undo::Entry {
            table: table.to_owned(),
            key: key.to_vec(),
            previous,
        });
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        let previous = self.tables.get_mut(table).and_then(|t| t.remove(key));
        let existed = previous.is_some();
        if existed {
            self.undo.push(Undo::Entry {
                table: table.to_owned(),
                key: key.to_vec(),
                previous,
            });
        }
        Ok(existed)
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        if let Some(contents) = self.tables.remove(table) {
            self.undo.push(Undo::Table {
                table: table.to_owned(),
                contents,
            });
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>, _durability: Durability) -> StorageResult<()> {
        self.committed = true;
        Ok(())
    }
}

impl Drop for MemoryWrite<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Entry {
                    table,
                    key,
                    previous,
                } => {
                    let t = self.tables.entry(table).or_default();
                    match previous {
                        Some(v) => {
                            t.insert(key, v);
                        }
                        None => {
                            t.remove(&key);
                        }
                    }
                }
                Undo::Table { table, contents } => {
                    self.tables.insert(table, contents);
                }
            }
        }
        self.tables.retain(|_, t| !t.is_empty());
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
    fn rollback_restores_dropped_tables_and_overwritten_values() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        w.put("t", b"k", b"old").unwrap();
        w.commit(Durability::Immediate).unwrap();
        {
            let mut w = store.begin_write().unwrap();
            w.put("t", b"k", b"new").unwrap();
            w.drop_table("t").unwrap();
            w.put("t", b"other", b"x").unwrap();
        }
        let r = store.begin_read().unwrap();
        assert_eq!(r.get("t", b"k").unwrap(), Some(b"old".to_vec()));
        assert_eq!(r.get("t", b"other").unwrap(), None);
    }
}
