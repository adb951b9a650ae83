//! A transaction's private writes, layered over the snapshot it reads.
//!
//! Reads see the snapshot with the transaction's own writes on top; nobody else sees
//! them until the commit replays them into one storage transaction. Every key written is
//! remembered so that the transaction can lock it (see [`super::locks`]) and so that the
//! commit can check unique indexes against what others committed meanwhile.

use std::collections::BTreeMap;
#[cfg(test)]
use std::ops::Bound;
use std::ops::ControlFlow;

use super::locks::LockKey;
use crate::storage::{
    Direction, Durability, KeyRange, ReadTxn, Snapshot, StorageError, StorageResult, Visitor,
    WriteTxn, range_is_empty,
};

/// Per table: key to new value (`None`: deleted).
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;
/// The writes of one table in a range, in scan order.
type WritesIn<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

pub struct Overlay {
    base: Snapshot,
    tables: BTreeMap<String, Writes>,
    /// Keys written since [`Overlay::take_fresh`] last ran, in the order written.
    fresh: Vec<LockKey>,
}

impl Overlay {
    pub fn new(base: Snapshot) -> Overlay {
        Overlay {
            base,
            tables: BTreeMap::new(),
            fresh: Vec::new(),
        }
    }

    /// The snapshot under the writes.
    pub fn base(&self) -> &Snapshot {
        &self.base
    }

    /// Keys written since the last call.
    pub fn take_fresh(&mut self) -> Vec<LockKey> {
        std::mem::take(&mut self.fresh)
    }

    /// Every write, in key order per table.
    pub fn writes(&self) -> impl Iterator<Item = (&str, &[u8], Option<&[u8]>)> {
        self.tables.iter().flat_map(|(t, w)| {
            w.iter()
                .map(move |(k, v)| (t.as_str(), k.as_slice(), v.as_deref()))
        })
    }

    /// Applies every write to `txn`.
    pub fn replay(&self, txn: &mut dyn WriteTxn) -> StorageResult<()> {
        for (table, key, value) in self.writes() {
            match value {
                Some(v) => txn.put(table, key, v)?,
                None => {
                    txn.delete(table, key)?;
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

impl ReadTxn for Overlay {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        match self.tables.get(table).and_then(|w| w.get(key)) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(table, key),
        }
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        let Some(writes) = self.tables.get(table) else {
            return self.base.scan(table, range, direction, visit);
        };
        if range_is_empty(range) {
            return Ok(());
        }
        let mut mine: WritesIn<'_> = match direction {
            Direction::Forward => Box::new(writes.range::<[u8], _>(range)),
            Direction::Reverse => Box::new(writes.range::<[u8], _>(range).rev()),
        };
        let mut next_mine = mine.next();
        // Whether `a` comes before `b` in the scan's direction.
        let before = |a: &[u8], b: &[u8]| match direction {
            Direction::Forward => a < b,
            Direction::Reverse => a > b,
        };
        let mut stopped = false;
        self.base.scan(table, range, direction, &mut |k, v| {
            while let Some((mk, mv)) = next_mine {
                if !before(mk, k) {
                    break;
                }
                next_mine = mine.next();
                if let Some(mv) = mv
                    && visit(mk, mv).is_break()
                {
                    stopped = true;
                    return ControlFlow::Break(());
                }
            }
            let flow = match next_mine {
                Some((mk, mv)) if mk.as_slice() == k => {
                    next_mine = mine.next();
                    match mv {
                        Some(mv) => visit(k, mv),
                        None => ControlFlow::Continue(()),
                    }
                }
                _ => visit(k, v),
            };
            if flow.is_break() {
                stopped = true;
            }
            flow
        })?;
        while !stopped && let Some((mk, mv)) = next_mine {
            next_mine = mine.next();
            if let Some(mv) = mv
                && visit(mk, mv).is_break()
            {
                break;
            }
        }
        Ok(())
    }
}

impl WriteTxn for Overlay {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()> {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(key.to_vec(), Some(value.to_vec()));
        self.fresh.push(LockKey::new(table, key));
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        if self.get(table, key)?.is_none() {
            return Ok(false);
        }
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(key.to_vec(), None);
        self.fresh.push(LockKey::new(table, key));
        Ok(true)
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        Err(StorageError(format!(
            "cannot drop table {table} inside a transaction"
        )))
    }

    fn commit(self: Box<Self>, _durability: Durability) -> StorageResult<()> {
        Err(StorageError(
            "a transaction's writes are committed by replaying them".into(),
        ))
    }
}

/// Whether `range` holds `key` (for tests and checks).
#[cfg(test)]
fn in_range(range: KeyRange<'_>, key: &[u8]) -> bool {
    let lower = match range.0 {
        Bound::Included(s) => key >= s,
        Bound::Excluded(s) => key > s,
        Bound::Unbounded => true,
    };
    let upper = match range.1 {
        Bound::Included(e) => key <= e,
        Bound::Excluded(e) => key < e,
        Bound::Unbounded => true,
    };
    lower && upper
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;
    use crate::storage::memory::MemoryStore;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn collect(
        txn: &dyn ReadTxn,
        range: KeyRange<'_>,
        direction: Direction,
        stop_after: usize,
    ) -> Vec<(u8, u8)> {
        let mut out = Vec::new();
        txn.scan("t", range, direction, &mut |k, v| {
            out.push((k[0], v[0]));
            if out.len() == stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        out
    }

    proptest! {
        /// The overlay reads exactly like the base with the writes applied.
        #[test]
        fn reads_like_the_writes_applied(
            base in proptest::collection::btree_map(0u8..40, any::<u8>(), 0..20),
            writes in proptest::collection::vec((0u8..40, proptest::option::of(any::<u8>())), 0..20),
            lo in 0u8..40, hi in 0u8..40, reverse in any::<bool>(), stop in 1usize..30,
        ) {
            let store = MemoryStore::new();
            let mut w = store.begin_write().unwrap();
            for (k, v) in &base {
                w.put("t", &[*k], &[*v]).unwrap();
            }
            w.commit(Durability::Buffered).unwrap();
            let mut overlay = Overlay::new(store.begin_read().unwrap());
            let mut model: BTreeMap<u8, u8> = base.clone();
            for (k, v) in &writes {
                match v {
                    Some(v) => { overlay.put("t", &[*k], &[*v]).unwrap(); model.insert(*k, *v); }
                    None => { overlay.delete("t", &[*k]).unwrap(); model.remove(k); }
                }
            }
            let (l, h) = ([lo], [hi]);
            let range: KeyRange<'_> = (Bound::Included(&l[..]), Bound::Excluded(&h[..]));
            let direction = if reverse { Direction::Reverse } else { Direction::Forward };
            let mut expected: Vec<(u8, u8)> = model.iter().filter(|(k, _)| in_range(range, &[**k])).map(|(k, v)| (*k, *v)).collect();
            if reverse { expected.reverse(); }
            expected.truncate(stop);
            prop_assert_eq!(collect(&overlay, range, direction, stop), expected);
            for k in 0u8..40 {
                prop_assert_eq!(overlay.get("t", &[k]).unwrap(), model.get(&k).map(|v| vec![*v]));
            }
        }
    }
}
