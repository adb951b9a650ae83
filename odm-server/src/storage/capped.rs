//! Capped collections: insertion order and the limits (`size` in bytes, `max`
//! documents) that drop the oldest documents first.
//!
//! A capped collection's documents stay in the documents table, keyed by `_id`; two
//! more tables keep their order. `n<ident>` maps an insertion number (8 bytes, big-endian)
//! to the document's `_id` key, and holds one more row, under the empty key: the next
//! number, the document count and their total size (three big-endian u64). `r<ident>`
//! maps an `_id` key back to its number and size, for deletes and updates. A `$natural`
//! scan and a tailable cursor read `n<ident>` in order.

use std::ops::{Bound, ControlFlow};

use bson::Document;

use super::catalog::CollectionMeta;
use super::{Direction, ReadTxn, WriteTxn};
use crate::error::{CmdResult, CommandError};

/// mongod rounds a capped collection's size up to a multiple of this.
const SIZE_UNIT: i64 = 256;
/// Nor is it ever smaller than this.
const MIN_SIZE: i64 = 4096;
/// The key of the counters row.
const COUNTERS: &[u8] = &[];

/// A capped collection's limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub size: i64,
    pub max: Option<i64>,
}

/// The `size` mongod stores for a requested one.
pub fn rounded_size(size: i64) -> i64 {
    let rounded = size.saturating_add(SIZE_UNIT - 1) / SIZE_UNIT * SIZE_UNIT;
    rounded.max(MIN_SIZE)
}

impl CollectionMeta {
    /// The limits of a capped collection, `None` for another.
    pub fn capped(&self) -> Option<Limits> {
        if !self.options.get_bool("capped").unwrap_or(false) {
            return None;
        }
        let number = |k: &str| crate::engine::arith::to_i64_exact(self.options.get(k)?);
        Some(Limits {
            size: number("size").unwrap_or(MIN_SIZE),
            max: number("max").filter(|m| *m > 0),
        })
    }

    /// The table of insertion order (see the module doc).
    pub fn natural_table(&self) -> String {
        format!("n{}", self.ident)
    }

    fn reverse_table(&self) -> String {
        format!("r{}", self.ident)
    }
}

fn corrupt() -> CommandError {
    CommandError::internal("a capped collection's order table is unreadable")
}

fn u64s<const N: usize>(bytes: &[u8]) -> CmdResult<[u64; N]> {
    if bytes.len() != N * 8 {
        return Err(corrupt());
    }
    let mut out = [0u64; N];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        out[i] = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
    }
    Ok(out)
}

fn to_bytes(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// (next number, count, total bytes)
fn counters(txn: &dyn ReadTxn, meta: &CollectionMeta) -> CmdResult<[u64; 3]> {
    match txn.get(&meta.natural_table(), COUNTERS)? {
        Some(b) => u64s::<3>(&b),
        None => Ok([1, 0, 0]),
    }
}

/// Records an inserted document (its `_id` key and stored size) at the end of the order.
pub fn inserted(
    txn: &mut dyn WriteTxn,
    meta: &CollectionMeta,
    id: &[u8],
    size: usize,
) -> CmdResult<()> {
    let [next, count, bytes] = counters(txn, meta)?;
    let table = meta.natural_table();
    txn.put(&table, &next.to_be_bytes(), id)?;
    txn.put(&meta.reverse_table(), id, &to_bytes(&[next, size as u64]))?;
    txn.put(
        &table,
        COUNTERS,
        &to_bytes(&[next + 1, count + 1, bytes + size as u64]),
    )?;
    Ok(())
}

/// Records a deleted document.
pub fn deleted(txn: &mut dyn WriteTxn, meta: &CollectionMeta, id: &[u8]) -> CmdResult<()> {
    let Some(entry) = txn.get(&meta.reverse_table(), id)? else {
        return Ok(());
    };
    let [seq, size] = u64s::<2>(&entry)?;
    let [next, count, bytes] = counters(txn, meta)?;
    let table = meta.natural_table();
    txn.delete(&table, &seq.to_be_bytes())?;
    txn.delete(&meta.reverse_table(), id)?;
    txn.put(
        &table,
        COUNTERS,
        &to_bytes(&[next, count.saturating_sub(1), bytes.saturating_sub(size)]),
    )?;
    Ok(())
}

/// Records a document's new stored size after an update.
pub fn resized(
    txn: &mut dyn WriteTxn,
    meta: &CollectionMeta,
    id: &[u8],
    size: usize,
) -> CmdResult<()> {
    let Some(entry) = txn.get(&meta.reverse_table(), id)? else {
        return Ok(());
    };
    let [seq, old] = u64s::<2>(&entry)?;
    let [next, count, bytes] = counters(txn, meta)?;
    txn.put(&meta.reverse_table(), id, &to_bytes(&[seq, size as u64]))?;
    txn.put(
        &meta.natural_table(),
        COUNTERS,
        &to_bytes(&[next, count, bytes.saturating_sub(old) + size as u64]),
    )?;
    Ok(())
}

/// The oldest documents to remove so that the collection is within its limits again.
pub fn overflow(txn: &dyn ReadTxn, meta: &CollectionMeta) -> CmdResult<Vec<Document>> {
    let Some(limits) = meta.capped() else {
        return Ok(Vec::new());
    };
    let [_, mut count, mut bytes] = counters(txn, meta)?;
    let over = |count: u64, bytes: u64| {
        // The newest document always stays, even if it alone exceeds `size`.
        count > 1 && (bytes > limits.size as u64 || limits.max.is_some_and(|m| count > m as u64))
    };
    let mut ids = Vec::new();
    if over(count, bytes) {
        let mut failure = None;
        txn.scan(
            &meta.natural_table(),
            (Bound::Excluded(COUNTERS), Bound::Unbounded),
            Direction::Forward,
            &mut |_, id| match txn.get(&meta.reverse_table(), id) {
                Ok(Some(entry)) => match u64s::<2>(&entry) {
                    Ok([_, size]) => {
                        ids.push(id.to_vec());
                        count -= 1;
                        bytes = bytes.saturating_sub(size);
                        if over(count, bytes) {
                            ControlFlow::Continue(())
                        } else {
                            ControlFlow::Break(())
                        }
                    }
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                },
                Ok(None) => {
                    failure = Some(corrupt());
                    ControlFlow::Break(())
                }
                Err(e) => {
                    failure = Some(e.into());
                    ControlFlow::Break(())
                }
            },
        )?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    ids.iter()
        .filter_map(|id| super::collection::get_by_key(txn, meta, id).transpose())
        .collect()
}

/// Drops the order tables of a capped collection being dropped.
pub fn dropped(txn: &mut dyn WriteTxn, meta: &CollectionMeta) -> super::StorageResult<()> {
    if meta.capped().is_some() {
        txn.drop_table(&meta.natural_table())?;
        txn.drop_table(&meta.reverse_table())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_as_mongod_rounds_them() {
        assert_eq!(rounded_size(1), 4096);
        assert_eq!(rounded_size(5000), 5120);
        assert_eq!(rounded_size(8192), 8192);
    }
}
