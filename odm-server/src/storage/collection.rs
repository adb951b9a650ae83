//! The record layer: a collection's documents and index entries, kept in step.
//!
//! Documents are stored as raw BSON in the table `d<ident>`, keyed by the
//! order-preserving encoding of their `_id` (`keycodec`), so the primary key is the `_id`
//! index and a collection scan returns documents in `_id` order (as a clustered
//! collection does in MongoDB).
//!
//! Each secondary index is the table `x<ident>`. An entry's key is the encoded values of
//! the indexed fields (each complemented when the field is descending) followed by the
//! encoded `_id`, which makes every entry unique even in a non-unique index; its value is
//! the encoded `_id` alone, to fetch the document. A unique index forbids two *documents*
//! from sharing the value part, which is checked before anything is written, so a
//! rejected write leaves no trace.

use std::ops::{Bound, ControlFlow};

use bson::{Bson, Document, RawDocument};

use super::capped;
use super::catalog::{self, CollectionMeta, ID_INDEX_NAME, IndexMeta};
use super::keycodec;
use super::{Direction, ReadTxn, WriteTxn};
use crate::engine::collation::Collator;
use crate::engine::hashed;
use crate::engine::path::index_values;
use crate::engine::text::TextSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The encoded `_id` of a document: its key in the documents table.
pub fn id_key(doc: &Document) -> CmdResult<Vec<u8>> {
    match doc.get("_id") {
        Some(id) => Ok(keycodec::encode(id)),
        None => Err(CommandError::internal("document has no _id")),
    }
}

/// Decodes a stored document.
pub fn decode(bytes: &[u8]) -> CmdResult<Document> {
    Document::from_reader(bytes)
        .map_err(|e| CommandError::internal(format!("stored document is unreadable: {e}")))
}

/// The document with this `_id`, if any.
#[cfg(test)]
fn get(txn: &dyn ReadTxn, meta: &CollectionMeta, id: &Bson) -> CmdResult<Option<Document>> {
    get_by_key(txn, meta, &keycodec::encode(id))
}

/// The document stored under an encoded `_id`, if any.
pub fn get_by_key(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    key: &[u8],
) -> CmdResult<Option<Document>> {
    txn.get(&meta.documents_table(), key)?
        .map(|b| decode(&b))
        .transpose()
}

/// The entries an index holds for a document: the value part of each key (without the
/// `_id` suffix), and whether the document makes the index multikey. `None` when a
/// sparse index skips the document, or a partial index's filter does not match it.
pub fn index_keys(
    meta: &CollectionMeta,
    index: &IndexMeta,
    doc: &Document,
) -> CmdResult<Option<(Vec<Vec<u8>>, bool)>> {
    if !index.covers(doc) {
        return Ok(None);
    }
    if let Some(spec) = &index.text {
        return text_keys(index, spec, doc).map(Some);
    }
    if let Some(spec) = &index.wildcard {
        let descending = index.fields().next().is_some_and(|(_, d)| d);
        let mut keys: Vec<Vec<u8>> = spec
            .entries(doc)
            .into_iter()
            .map(|(path, value)| {
                let mut k = Vec::new();
                keycodec::encode_component_collated(&Bson::String(path), false, None, &mut k);
                keycodec::encode_component_collated(
                    &value,
                    descending,
                    index.collation.as_ref(),
                    &mut k,
                );
                k
            })
            .collect();
        keys.sort();
        keys.dedup();
        // Several entries per document: scans remove repeats.
        return Ok(Some((keys, true)));
    }
    let mut per_field = Vec::with_capacity(index.key.len());
    let mut any_present = false;
    let mut array_path: Option<(String, &str)> = None;
    let hashed = index.hashed_field();
    // A geo field may give several cells; a document without any geometry has no entry.
    let mut geo_fields = 0;
    let mut geo_absent = 0;
    let mut geo_multi = false;
    for (path, descending) in index.fields() {
        if let Some(geo) = index
            .geo
            .as_ref()
            .filter(|g| g.fields.iter().any(|f| f == path))
        {
            geo_fields += 1;
            let cells = geo.field_keys(doc, path)?;
            geo_multi |= cells.as_ref().is_some_and(|c| c.len() > 1);
            match cells {
                Some(cells) => per_field.push((cells, descending)),
                None => {
                    geo_absent += 1;
                    per_field.push((vec![Bson::Null], descending));
                }
            }
            continue;
        }
        let mut iv = index_values(doc, path);
        if hashed == Some(path) {
            if iv.array_path.is_some() {
                return Err(CommandError::new(
                    ErrorCode::Location(16766),
                    format!(
                        "Error: hashed indexes do not currently support array values. Found array at path: {path}"
                    ),
                ));
            }
            iv.values = iv
                .values
                .iter()
                .map(|v| hashed_key(v, index.collation.as_ref()))
                .collect();
        }
        any_present |= iv.present;
        if let Some(arr) = iv.array_path {
            match &array_path {
                Some((seen, seen_field)) if *seen != arr => {
                    return Err(CommandError::new(
                        ErrorCode::CannotIndexParallelArrays,
                        format!(
                            "cannot index parallel arrays [{path}] [{seen_field}] (index {} of {})",
                            index.name,
                            meta.ns()
                        ),
                    ));
                }
                Some(_) => {}
                None => array_path = Some((arr, path)),
            }
        }
        per_field.push((iv.values, descending));
    }
    if (index.sparse && !any_present) || (geo_fields > 0 && geo_absent == geo_fields) {
        return Ok(None);
    }
    // The cartesian product of the fields' values; at most one field has several, unless
    // two fields go through the same array.
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for (values, descending) in &per_field {
        let mut next = Vec::with_capacity(keys.len() * values.len());
        for prefix in &keys {
            for v in values {
                let mut k = prefix.clone();
                keycodec::encode_component_collated(
                    v,
                    *descending,
                    index.collation.as_ref(),
                    &mut k,
                );
                next.push(k);
            }
        }
        keys = next;
    }
    keys.sort();
    keys.dedup();
    Ok(Some((keys, array_path.is_some() || geo_multi)))
}

/// A text index's entries for a document: one per term, each the prefix fields' values,
/// the term, its score in the document, then the suffix fields' values. A document with
/// no term has none. Always "multikey": a document has several entries.
fn text_keys(
    index: &IndexMeta,
    spec: &TextSpec,
    doc: &Document,
) -> CmdResult<(Vec<Vec<u8>>, bool)> {
    let single = |path: &str, descending: bool, out: &mut Vec<u8>| {
        let iv = index_values(doc, path);
        if iv.array_path.is_some() {
            return Err(CommandError::new(
                ErrorCode::Location(133),
                format!("Field '{path}' of text index contains an array in document: {doc}"),
            ));
        }
        let value = iv.values.into_iter().next().unwrap_or(Bson::Null);
        keycodec::encode_component_collated(&value, descending, index.collation.as_ref(), out);
        Ok(())
    };
    let mut prefix = Vec::new();
    for (path, descending) in &spec.prefix {
        single(path, *descending, &mut prefix)?;
    }
    let mut suffix = Vec::new();
    for (path, descending) in &spec.suffix {
        single(path, *descending, &mut suffix)?;
    }
    let mut keys = Vec::new();
    for (term, score) in spec.term_scores(doc)? {
        let mut k = prefix.clone();
        keycodec::encode_component_collated(&Bson::String(term), false, None, &mut k);
        keycodec::encode_component_collated(&Bson::Double(score), false, None, &mut k);
        k.extend_from_slice(&suffix);
        keys.push(k);
    }
    Ok((keys, true))
}

/// What a hashed field holds for a value: its 64-bit hash (under a collation, the hash of
/// a string's sort key, so that strings the collation holds equal hash alike).
pub fn hashed_key(value: &Bson, collation: Option<&Collator>) -> Bson {
    let hash = match (value, collation) {
        (Bson::String(s) | Bson::Symbol(s), Some(c)) => {
            let mut key = Vec::new();
            c.sort_key(s, &mut key);
            hashed::hash64(&Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: key,
            }))
        }
        _ => hashed::hash64(value),
    };
    Bson::Int64(hash)
}

fn entry_key(value_part: &[u8], id_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(value_part.len() + id_key.len());
    k.extend_from_slice(value_part);
    k.extend_from_slice(id_key);
    k
}

/// Documents that share a key in an index: what keeps it from becoming unique (each
/// group the `_id`s of one key, at most `limit` groups).
pub fn duplicates(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    index: &IndexMeta,
    limit: usize,
) -> CmdResult<Vec<Vec<Bson>>> {
    // Entries are the value part then the `_id` key, and their value is that `_id` key:
    // entries of one value are adjacent.
    let mut groups: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut previous: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut in_group = false;
    txn.scan(
        &index.table(),
        (Bound::Unbounded, Bound::Unbounded),
        super::Direction::Forward,
        &mut |key, id| {
            let value_part = key[..key.len().saturating_sub(id.len())].to_vec();
            match &previous {
                Some((v, first)) if *v == value_part => {
                    if !in_group {
                        groups.push(vec![first.clone()]);
                        in_group = true;
                    }
                    groups.last_mut().expect("a group").push(id.to_vec());
                }
                _ => in_group = false,
            }
            previous = Some((value_part, id.to_vec()));
            if groups.len() > limit {
                groups.pop();
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    groups
        .into_iter()
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    Ok(get_by_key(txn, meta, id)?
                        .and_then(|d| d.get("_id").cloned())
                        .unwrap_or(Bson::Null))
                })
                .collect()
        })
        .collect()
}

/// The `_id` key of another document that already holds `value_part` in a unique index.
fn holder_of(
    txn: &dyn ReadTxn,
    index: &IndexMeta,
    value_part: &[u8],
    own_id: &[u8],
) -> CmdResult<Option<Vec<u8>>> {
    let end = keycodec::prefix_successor(value_part);
    let end_bound = match &end {
        Some(e) => Bound::Excluded(e.as_slice()),
        None => Bound::Unbounded,
    };
    let mut other = None;
    txn.scan(
        &index.table(),
        (Bound::Included(value_part), end_bound),
        Direction::Forward,
        &mut |_, id| {
            if id != own_id {
                other = Some(id.to_vec());
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )?;
    Ok(other)
}

/// The `E11000` error for a value that an index already holds.
pub fn duplicate_key_error(
    meta: &CollectionMeta,
    index_name: &str,
    key_pattern: &Document,
    doc: &Document,
) -> CommandError {
    let mut key_value = Document::new();
    for (path, _) in key_pattern {
        let v = crate::engine::path::get_path(doc, path)
            .cloned()
            .unwrap_or(Bson::Null);
        key_value.insert(path.clone(), v);
    }
    let shown: Vec<String> = key_value.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    CommandError::new(
        ErrorCode::DuplicateKey,
        format!(
            "E11000 duplicate key error collection: {} index: {} dup key: {{ {} }}",
            meta.ns(),
            index_name,
            shown.join(", ")
        ),
    )
    .with_info(bson::doc! {"keyPattern": key_pattern.clone(), "keyValue": key_value})
}

/// Index entries to write for a document, computed and checked before any write.
#[derive(Default)]
struct Planned {
    /// Per index: (position in `meta.indexes`, value parts).
    keys: Vec<(usize, Vec<Vec<u8>>)>,
    /// Indexes this document turns multikey.
    newly_multikey: Vec<usize>,
}

fn plan_entries(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    doc: &Document,
    id: &[u8],
) -> CmdResult<Planned> {
    let mut planned = Planned {
        keys: Vec::new(),
        newly_multikey: Vec::new(),
    };
    for (i, index) in meta.indexes.iter().enumerate() {
        let Some((keys, multikey)) = index_keys(meta, index, doc)? else {
            continue;
        };
        if index.refuses_duplicates() {
            for k in &keys {
                if holder_of(txn, index, k, id)?.is_some() {
                    return Err(duplicate_key_error(meta, &index.name, &index.key, doc));
                }
            }
        }
        if multikey && !index.multikey {
            planned.newly_multikey.push(i);
        }
        planned.keys.push((i, keys));
    }
    Ok(planned)
}

fn mark_multikey(
    txn: &mut dyn WriteTxn,
    meta: &mut CollectionMeta,
    which: &[usize],
) -> CmdResult<()> {
    if which.is_empty() {
        return Ok(());
    }
    for &i in which {
        meta.indexes[i].multikey = true;
    }
    catalog::put(txn, meta)?;
    Ok(())
}

fn encode_document(doc: &Document) -> CmdResult<bson::RawDocumentBuf> {
    bson::RawDocumentBuf::try_from(doc)
        .map_err(|e| CommandError::bad_value(format!("cannot encode document: {e}")))
}

/// Inserts a document that has an `_id` and returns it as stored (the oplog embeds
/// those bytes). Fails with `DuplicateKey` (on `_id_` or a unique index) before writing
/// anything.
pub fn insert(
    txn: &mut dyn WriteTxn,
    meta: &mut CollectionMeta,
    doc: &Document,
) -> CmdResult<bson::RawDocumentBuf> {
    let stored = encode_document(doc)?;
    insert_raw(txn, meta, &stored)?;
    Ok(stored)
}

/// [`insert`] of a document as bytes, stored as they are. The document is decoded only
/// when a secondary index needs its keys or a duplicate needs naming.
pub fn insert_raw(
    txn: &mut dyn WriteTxn,
    meta: &mut CollectionMeta,
    doc: &RawDocument,
) -> CmdResult<()> {
    let id = match doc.get("_id") {
        Ok(Some(id)) => keycodec::encode(&raw_value(id)?),
        Ok(None) => return Err(CommandError::internal("document has no _id")),
        Err(e) => return Err(CommandError::unreadable_document(e)),
    };
    let table = meta.documents_table();
    if txn.get(&table, &id)?.is_some() {
        return Err(duplicate_key_error(
            meta,
            ID_INDEX_NAME,
            &bson::doc! {"_id": 1},
            &decode(doc.as_bytes())?,
        ));
    }
    let planned = if meta.indexes.is_empty() {
        Planned::default()
    } else {
        plan_entries(txn, meta, &decode(doc.as_bytes())?, &id)?
    };
    txn.put(&table, &id, doc.as_bytes())?;
    if meta.capped().is_some() {
        capped::inserted(txn, meta, &id, doc.as_bytes().len())?;
    }
    for (i, keys) in &planned.keys {
        let index_table = meta.indexes[*i].table();
        for k in keys {
            txn.put(&index_table, &entry_key(k, &id), &id)?;
        }
    }
    mark_multikey(txn, meta, &planned.newly_multikey)?;
    Ok(())
}

fn raw_value(value: bson::RawBsonRef<'_>) -> CmdResult<Bson> {
    Bson::try_from(value).map_err(CommandError::unreadable_document)
}

/// Replaces `old` by `new` (same `_id`), moving only the index entries that change.
/// Fails with `DuplicateKey` before writing anything.
pub fn update(
    txn: &mut dyn WriteTxn,
    meta: &mut CollectionMeta,
    old: &Document,
    new: &Document,
) -> CmdResult<()> {
    let id = id_key(new)?;
    debug_assert_eq!(Some(&id), id_key(old).ok().as_ref());
    let planned = plan_entries(txn, meta, new, &id)?;
    let stored = encode_document(new)?;
    txn.put(&meta.documents_table(), &id, stored.as_bytes())?;
    if meta.capped().is_some() {
        capped::resized(txn, meta, &id, stored.as_bytes().len())?;
    }
    for (i, index) in meta.indexes.iter().enumerate() {
        let before = index_keys(meta, index, old)?
            .map(|(k, _)| k)
            .unwrap_or_default();
        let after: &[Vec<u8>] = planned
            .keys
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[]);
        let table = index.table();
        for k in before.iter().filter(|k| !after.contains(k)) {
            txn.delete(&table, &entry_key(k, &id))?;
        }
        for k in after.iter().filter(|k| !before.contains(k)) {
            txn.put(&table, &entry_key(k, &id), &id)?;
        }
    }
    mark_multikey(txn, meta, &planned.newly_multikey)
}

/// Deletes a stored document and its index entries.
pub fn delete(txn: &mut dyn WriteTxn, meta: &CollectionMeta, doc: &Document) -> CmdResult<()> {
    let id = id_key(doc)?;
    for index in &meta.indexes {
        if let Some((keys, _)) = index_keys(meta, index, doc)? {
            let table = index.table();
            for k in keys {
                txn.delete(&table, &entry_key(&k, &id))?;
            }
        }
    }
    txn.delete(&meta.documents_table(), &id)?;
    if meta.capped().is_some() {
        capped::deleted(txn, meta, &id)?;
    }
    Ok(())
}

/// Fills a new index from the documents already stored; `DuplicateKey` if a unique
/// index finds two documents with one value. The index must already be in
/// `meta.indexes` at position `position` (its multikey flag is set as found).
pub fn build_index(
    txn: &mut dyn WriteTxn,
    meta: &mut CollectionMeta,
    position: usize,
) -> CmdResult<()> {
    let mut docs = Vec::new();
    txn.scan(
        &meta.documents_table(),
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |k, v| {
            docs.push((k.to_vec(), v.to_vec()));
            ControlFlow::Continue(())
        },
    )?;
    let index = meta.indexes[position].clone();
    let table = index.table();
    let mut multikey = false;
    for (id, bytes) in docs {
        let doc = decode(&bytes)?;
        let Some((keys, mk)) = index_keys(meta, &index, &doc)? else {
            continue;
        };
        multikey |= mk;
        for k in keys {
            if index.unique && holder_of(txn, &index, &k, &id)?.is_some() {
                return Err(duplicate_key_error(meta, &index.name, &index.key, &doc));
            }
            txn.put(&table, &entry_key(&k, &id), &id)?;
        }
    }
    meta.indexes[position].multikey = multikey;
    Ok(())
}

/// Number of documents and their total size in bytes.
pub fn stats(txn: &dyn ReadTxn, meta: &CollectionMeta) -> CmdResult<(u64, u64)> {
    let (mut count, mut bytes) = (0u64, 0u64);
    txn.scan(
        &meta.documents_table(),
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |_, v| {
            count += 1;
            bytes += v.len() as u64;
            ControlFlow::Continue(())
        },
    )?;
    Ok((count, bytes))
}

/// Total bytes of an index's entries (keys and values).
pub fn index_size(txn: &dyn ReadTxn, index: &IndexMeta) -> CmdResult<u64> {
    let mut bytes = 0u64;
    txn.scan(
        &index.table(),
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |k, v| {
            bytes += (k.len() + v.len()) as u64;
            ControlFlow::Continue(())
        },
    )?;
    Ok(bytes)
}

/// What [`check`] found: the documents, and per index its entries and the entries it
/// should have but lacks or has but should not.
#[derive(Debug, Default)]
pub struct Consistency {
    pub records: u64,
    /// Documents that do not decode, or are stored under another key than their `_id`.
    pub corrupt_records: Vec<String>,
    /// Per secondary index: (name, entries, missing, extra).
    pub indexes: Vec<(String, u64, u64, u64)>,
    /// What was wrong, in words, at most a hundred lines.
    pub errors: Vec<String>,
}

impl Consistency {
    pub fn is_valid(&self) -> bool {
        self.corrupt_records.is_empty() && self.indexes.iter().all(|i| i.2 == 0 && i.3 == 0)
    }

    fn error(&mut self, line: String) {
        if self.errors.len() < 100 {
            self.errors.push(line);
        }
    }
}

/// Checks that every document is readable and stored under its `_id`, and that every
/// index holds exactly the entries its documents give it, each pointing back at its
/// document: what `validate` reports and the crash tests require after every restart.
pub fn check(txn: &dyn ReadTxn, meta: &CollectionMeta) -> CmdResult<Consistency> {
    let mut out = Consistency::default();
    let mut expected: Vec<std::collections::BTreeSet<Vec<u8>>> =
        vec![Default::default(); meta.indexes.len()];
    let mut failure = None;
    txn.scan(
        &meta.documents_table(),
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |key, bytes| {
            out.records += 1;
            let doc = match decode(bytes) {
                Ok(doc) => doc,
                Err(e) => {
                    out.corrupt_records.push(hex::encode(key));
                    out.error(format!("record {}: {}", hex::encode(key), e.message));
                    return ControlFlow::Continue(());
                }
            };
            if id_key(&doc).ok().as_deref() != Some(key) {
                out.corrupt_records.push(hex::encode(key));
                out.error(format!(
                    "record {} is stored under another key than its _id",
                    hex::encode(key)
                ));
                return ControlFlow::Continue(());
            }
            for (index, set) in meta.indexes.iter().zip(&mut expected) {
                match index_keys(meta, index, &doc) {
                    Ok(Some((parts, _))) => set.extend(parts.iter().map(|p| entry_key(p, key))),
                    Ok(None) => {}
                    Err(e) => {
                        failure = Some(e);
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    for (index, mut wanted) in meta.indexes.iter().zip(expected) {
        let (mut entries, mut extra) = (0u64, 0u64);
        let mut lines = Vec::new();
        txn.scan(
            &index.table(),
            (Bound::Unbounded, Bound::Unbounded),
            Direction::Forward,
            &mut |key, id| {
                entries += 1;
                if !wanted.remove(key) || !key.ends_with(id) {
                    extra += 1;
                    lines.push(format!(
                        "index {} has an entry no document gives it: {}",
                        index.name,
                        hex::encode(key)
                    ));
                }
                ControlFlow::Continue(())
            },
        )?;
        let missing = wanted.len() as u64;
        for key in wanted.iter().take(10) {
            lines.push(format!(
                "index {} lacks the entry {}",
                index.name,
                hex::encode(key)
            ));
        }
        for line in lines {
            out.error(line);
        }
        out.indexes
            .push((index.name.clone(), entries, missing, extra));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::memory::MemoryStore;
    use crate::storage::{Durability, Store};
    use bson::doc;

    fn index(name: &str, key: Document, unique: bool, sparse: bool, ident: u64) -> IndexMeta {
        let mut options = Document::new();
        if unique {
            options.insert("unique", true);
        }
        if sparse {
            options.insert("sparse", true);
        }
        IndexMeta::new(name.into(), key, ident, options).unwrap()
    }

    fn entries(store: &MemoryStore, index: &IndexMeta) -> usize {
        let r = store.begin_read().unwrap();
        crate::storage::scan_all(&*r, &index.table(), (Bound::Unbounded, Bound::Unbounded))
            .unwrap()
            .len()
    }

    #[test]
    fn unique_index_refuses_second_document_and_writes_nothing() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        let (mut meta, _) = catalog::get_or_create(&mut *w, "db", "c").unwrap();
        meta.indexes
            .push(index("email_1", doc! {"email": 1}, true, false, 100));
        insert(&mut *w, &mut meta, &doc! {"_id": 1, "email": "a"}).unwrap();
        let err = insert(&mut *w, &mut meta, &doc! {"_id": 2, "email": "a"}).unwrap_err();
        assert_eq!(err.code, ErrorCode::DuplicateKey);
        assert_eq!(
            *err.info.unwrap(),
            doc! {"keyPattern": {"email": 1}, "keyValue": {"email": "a"}}
        );
        assert!(get(&*w, &meta, &Bson::Int32(2)).unwrap().is_none());
        let err = insert(&mut *w, &mut meta, &doc! {"_id": 1.0, "email": "b"}).unwrap_err();
        assert!(err.message.contains("index: _id_"), "{}", err.message);
        w.commit(Durability::Immediate).unwrap();
        assert_eq!(entries(&store, &meta.indexes[0]), 1);
    }

    #[test]
    fn update_moves_entries_and_keeps_unique() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        let (mut meta, _) = catalog::get_or_create(&mut *w, "db", "c").unwrap();
        meta.indexes
            .push(index("tags_1", doc! {"tags": 1}, true, false, 100));
        let a = doc! {"_id": 1, "tags": ["x", "y"]};
        insert(&mut *w, &mut meta, &a).unwrap();
        assert!(meta.indexes[0].multikey);
        let b = doc! {"_id": 2, "tags": "z"};
        insert(&mut *w, &mut meta, &b).unwrap();
        let err = update(&mut *w, &mut meta, &b, &doc! {"_id": 2, "tags": ["y"]}).unwrap_err();
        assert_eq!(err.code, ErrorCode::DuplicateKey);
        // One document may repeat its own value.
        update(
            &mut *w,
            &mut meta,
            &a,
            &doc! {"_id": 1, "tags": ["y", "y", "w"]},
        )
        .unwrap();
        w.commit(Durability::Immediate).unwrap();
        assert_eq!(entries(&store, &meta.indexes[0]), 3);
        let mut w = store.begin_write().unwrap();
        delete(&mut *w, &meta, &doc! {"_id": 1, "tags": ["y", "y", "w"]}).unwrap();
        w.commit(Durability::Immediate).unwrap();
        assert_eq!(entries(&store, &meta.indexes[0]), 1);
    }

    #[test]
    fn sparse_skips_missing_and_parallel_arrays_are_refused() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        let (mut meta, _) = catalog::get_or_create(&mut *w, "db", "c").unwrap();
        meta.indexes
            .push(index("s", doc! {"s": 1}, true, true, 100));
        meta.indexes
            .push(index("ab", doc! {"a": 1, "b": -1}, false, false, 101));
        insert(&mut *w, &mut meta, &doc! {"_id": 1}).unwrap();
        insert(&mut *w, &mut meta, &doc! {"_id": 2}).unwrap();
        let err = insert(&mut *w, &mut meta, &doc! {"_id": 3, "a": [1], "b": [2]}).unwrap_err();
        assert_eq!(err.code, ErrorCode::CannotIndexParallelArrays);
        w.commit(Durability::Immediate).unwrap();
        assert_eq!(entries(&store, &meta.indexes[0]), 0);
        assert_eq!(entries(&store, &meta.indexes[1]), 2);
    }
}
