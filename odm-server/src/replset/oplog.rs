//! The oplog: one ordered, durable log of every write, keyed by its cluster time.
//!
//! Every commit appends its changes in the same storage transaction as the writes
//! themselves, so the log and the data never disagree, even after a crash. Entries have
//! mongod's format (what `local.oplog.rs` shows and oplog tailers read):
//!
//! ```text
//! {lsid?, txnNumber?, op: "i" | "u" | "d" | "c" | "n", ns: "db.coll", ui?: UUID,
//!  o: {...}, o2?: {_id}, stmtId?, ts: Timestamp, t: Long(1), v: Long(2), wall: Date,
//!  prevOpTime?: {ts, t}}
//! ```
//!
//! in mongod's field order. An insert's `o` is the document (and `o2` its `_id`); an
//! update's is `{$v: 2, diff}` (see [`super::diff`]) or the new document for a
//! replacement, with `o2: {_id}`; a delete's is `{_id}`; commands (`op: "c"`) carry
//! `create`, `drop`, `renameCollection`, `dropDatabase`, ...; a committed transaction is
//! one `applyOps` entry on `admin.$cmd` holding its operations in order. The session
//! fields are those of a retryable write (`stmtId` its statement, `prevOpTime` the
//! previous entry of the same write) or of a transaction (no `stmtId`).
//!
//! Storage: the table `oplog`, key = the timestamp as 8 big-endian bytes, value =
//! `{e: <entry>, img?: [{pre?, post?} | null, ...]}`. `img` holds the documents before
//! and after each operation (by position; one for a plain entry, one per operation of an
//! `applyOps`) for collections with `changeStreamPreAndPostImages`, which change
//! streams need and mongod keeps in a side collection. The log is bounded by size: the
//! running total is kept in the `meta` table, and the oldest entries are dropped first
//! once it passes `--oplogSizeMB`.

use std::ops::{Bound, ControlFlow};

use bson::raw::{RawDocument, RawDocumentBuf, cstr};
use bson::{Binary, Bson, DateTime, Document, Timestamp, doc};

use super::clock;
use super::diff::document_diff;
use crate::error::CmdResult;
use crate::raw_bson::RawWriter;
use crate::storage::catalog::{CollectionMeta, META_TABLE};
use crate::storage::{Direction, ReadTxn, StorageError, StorageResult, WriteTxn};

/// The table holding the log.
pub const OPLOG_TABLE: &str = "oplog";
/// The running byte total of the log, in the `meta` table.
const OPLOG_BYTES_KEY: &[u8] = b"oplog_bytes";
/// The namespace under which the log is readable.
pub const OPLOG_NS: &str = "local.oplog.rs";

/// One change a write made, recorded by the [`Writer`](super::writer::Writer) as it is
/// made and turned into oplog entries at commit.
#[derive(Clone, Debug)]
pub enum Change {
    Insert {
        coll: Target,
        /// The document as stored: the entry embeds these bytes as they are.
        doc: RawDocumentBuf,
    },
    Update {
        coll: Target,
        before: Document,
        after: Document,
        /// A whole-document replacement (`o` is the new document), not a modification.
        replace: bool,
    },
    Delete {
        coll: Target,
        before: Document,
    },
    /// A command on a database: `o` is what mongod logs (`{create: "c"}`, `{drop: "c"}`,
    /// `{renameCollection: "db.a", to: "db.b", ...}`, `{dropDatabase: 1}`, ...).
    Command {
        db: String,
        uuid: Option<Binary>,
        o: Document,
    },
    /// Marks a point in time without changing anything (server start).
    Noop {
        msg: String,
    },
}

/// The collection a document change applies to.
#[derive(Clone, Debug)]
pub struct Target {
    pub ns: String,
    pub uuid: Binary,
    /// Whether change streams may see the documents before and after
    /// (`changeStreamPreAndPostImages: {enabled: true}`).
    pub images: bool,
}

impl Target {
    pub fn of(meta: &CollectionMeta) -> Target {
        Target {
            ns: meta.ns(),
            uuid: meta.uuid.clone(),
            images: pre_and_post_images(&meta.options),
        }
    }
}

/// Whether collection options ask for pre- and post-images.
pub fn pre_and_post_images(options: &Document) -> bool {
    options
        .get_document("changeStreamPreAndPostImages")
        .ok()
        .and_then(|o| o.get_bool("enabled").ok())
        .unwrap_or(false)
}

/// A document as an entry embeds it.
fn raw(doc: &Document) -> StorageResult<RawDocumentBuf> {
    RawDocumentBuf::try_from(doc).map_err(StorageError::new)
}

/// `{_id}` of a document (`o2`, a delete's `o`).
fn id_of(doc: &Document) -> StorageResult<RawDocumentBuf> {
    raw(&doc! {"_id": doc.get("_id").cloned().unwrap_or(Bson::Null)})
}

/// An operation's fields in mongod's order: `op ns ui o o2?`.
fn operation(
    w: &mut RawWriter,
    op: &str,
    coll: &Target,
    o: &RawDocument,
    o2: Option<&RawDocument>,
) {
    w.str("op", op);
    w.str("ns", &coll.ns);
    w.binary("ui", &coll.uuid);
    w.document("o", o);
    if let Some(o2) = o2 {
        w.document("o2", o2);
    }
}

impl Change {
    /// Writes the entry's operation fields (without `ts`, `t` and `wall`: what an
    /// `applyOps` element holds) into the open document, and returns its images. An
    /// insert's document is copied in as stored, never decoded.
    fn write_entry(&self, w: &mut RawWriter) -> StorageResult<Bson> {
        let images = |pre: Option<&Document>, post: Option<&Document>| {
            let mut img = Document::new();
            if let Some(p) = pre {
                img.insert("pre", p.clone());
            }
            if let Some(p) = post {
                img.insert("post", p.clone());
            }
            Bson::Document(img)
        };
        Ok(match self {
            Change::Insert { coll, doc } => {
                let id = doc
                    .get("_id")
                    .map_err(StorageError::new)?
                    .ok_or_else(|| StorageError::new("an inserted document has no _id"))?;
                let mut o2 = RawDocumentBuf::new();
                o2.append(cstr!("_id"), id);
                operation(w, "i", coll, doc, Some(&o2));
                Bson::Null
            }
            Change::Update {
                coll,
                before,
                after,
                replace,
            } => {
                let o = if *replace {
                    raw(after)?
                } else {
                    raw(&doc! {"$v": 2, "diff": document_diff(before, after)})?
                };
                operation(w, "u", coll, &o, Some(&id_of(after)?));
                if coll.images {
                    images(Some(before), Some(after))
                } else {
                    Bson::Null
                }
            }
            Change::Delete { coll, before } => {
                operation(w, "d", coll, &id_of(before)?, None);
                if coll.images {
                    images(Some(before), None)
                } else {
                    Bson::Null
                }
            }
            Change::Command { db, uuid, o } => {
                w.str("op", "c");
                w.str("ns", &format!("{db}.$cmd"));
                if let Some(u) = uuid {
                    w.binary("ui", u);
                }
                w.document("o", &raw(o)?);
                Bson::Null
            }
            Change::Noop { msg } => {
                w.str("op", "n");
                w.str("ns", "");
                w.open_document("o");
                w.str("msg", msg);
                w.close();
                Bson::Null
            }
        })
    }

    /// Roughly how many bytes its entry takes, to size the buffer once.
    fn size_hint(&self) -> usize {
        match self {
            Change::Insert { doc, .. } => 160 + doc.as_bytes().len() + 32,
            _ => 512,
        }
    }
}

/// Session fields of entries written for a session (`lsid`, `txnNumber`).
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub lsid: Bson,
    pub txn_number: i64,
}

/// The term of every entry: the set never holds an election.
const TERM: i64 = 1;

/// Where an entry stands in its session's write: its statement, and the entry written
/// before it for the same transaction number (`None`: the first). `lsid` is the
/// session's, encoded once per append.
struct SessionPlace<'a> {
    session: &'a SessionInfo,
    lsid: &'a RawDocument,
    stmt: Option<i32>,
    prev: Option<Timestamp>,
}

/// Writes a whole entry in mongod's field order into the open document:
/// `lsid? txnNumber?`, the operation (`write_op`), `stmtId? ts t v wall prevOpTime?`.
/// Returns what `write_op` returns.
fn stamp<T>(
    w: &mut RawWriter,
    place: Option<&SessionPlace<'_>>,
    ts: Timestamp,
    wall: DateTime,
    write_op: impl FnOnce(&mut RawWriter) -> StorageResult<T>,
) -> StorageResult<T> {
    if let Some(p) = place {
        w.document("lsid", p.lsid);
        w.i64("txnNumber", p.session.txn_number);
    }
    let out = write_op(w)?;
    if let Some(stmt) = place.and_then(|p| p.stmt) {
        w.i32("stmtId", stmt);
    }
    w.timestamp("ts", ts);
    w.i64("t", TERM);
    w.i64("v", 2);
    w.datetime("wall", wall);
    if let Some(p) = place {
        let (ts, t) = match p.prev {
            Some(prev) => (prev, TERM),
            None => (
                Timestamp {
                    time: 0,
                    increment: 0,
                },
                -1,
            ),
        };
        w.open_document("prevOpTime");
        w.timestamp("ts", ts);
        w.i64("t", t);
        w.close();
    }
    Ok(out)
}

/// A session's `lsid`, encoded for the entries of one append.
fn raw_lsid(session: &SessionInfo) -> StorageResult<RawDocumentBuf> {
    match &session.lsid {
        Bson::Document(d) => raw(d),
        other => Err(StorageError::new(format!(
            "an lsid is a document, not {other}"
        ))),
    }
}

fn key(ts: Timestamp) -> [u8; 8] {
    clock::to_u64(ts).to_be_bytes()
}

/// The stored value `{e: <entry>, img?: [...]}`: `entry` writes the entry's fields and
/// returns the images, kept only when one is not null.
fn stored(
    capacity: usize,
    entry: impl FnOnce(&mut RawWriter) -> StorageResult<Vec<Bson>>,
) -> StorageResult<Vec<u8>> {
    let mut w = RawWriter::with_capacity(capacity);
    w.open_document("e");
    let images = entry(&mut w)?;
    w.close();
    if images.iter().any(|i| !matches!(i, Bson::Null)) {
        w.bson("img", &Bson::Array(images))
            .map_err(StorageError::new)?;
    }
    Ok(w.finish())
}

/// Appends one entry per change, with consecutive timestamps from `tick`; returns the
/// last timestamp used (the commit's).
pub fn append(
    txn: &mut dyn WriteTxn,
    changes: &[Change],
    session: Option<&SessionInfo>,
    mut tick: impl FnMut() -> Timestamp,
    max_bytes: u64,
) -> StorageResult<Option<Timestamp>> {
    let wall = DateTime::now();
    let mut last = None;
    let mut added = 0u64;
    let lsid = session.map(raw_lsid).transpose()?;
    for (stmt, change) in changes.iter().enumerate() {
        let ts = tick();
        let place = session
            .zip(lsid.as_deref())
            .map(|(session, lsid)| SessionPlace {
                session,
                lsid,
                stmt: Some(stmt as i32),
                prev: last,
            });
        let bytes = stored(change.size_hint(), |w| {
            stamp(w, place.as_ref(), ts, wall, |w| {
                Ok(vec![change.write_entry(w)?])
            })
        })?;
        added += bytes.len() as u64;
        txn.put(OPLOG_TABLE, &key(ts), &bytes)?;
        last = Some(ts);
    }
    if added > 0 {
        grow(txn, added, max_bytes)?;
    }
    Ok(last)
}

/// Appends a committed transaction's operations as one `applyOps` entry at `ts`.
pub fn append_transaction(
    txn: &mut dyn WriteTxn,
    changes: &[Change],
    session: &SessionInfo,
    ts: Timestamp,
    max_bytes: u64,
) -> StorageResult<()> {
    let lsid = raw_lsid(session)?;
    let place = SessionPlace {
        session,
        lsid: &lsid,
        stmt: None,
        prev: None,
    };
    let capacity = changes.iter().map(Change::size_hint).sum::<usize>() + 256;
    let bytes = stored(capacity, |w| {
        stamp(w, Some(&place), ts, DateTime::now(), |w| {
            w.str("op", "c");
            w.str("ns", "admin.$cmd");
            w.open_document("o");
            w.open_array("applyOps");
            let mut images = Vec::with_capacity(changes.len());
            for (i, change) in changes.iter().enumerate() {
                w.open_document(&i.to_string());
                images.push(change.write_entry(w)?);
                w.close();
            }
            w.close();
            w.close();
            Ok(images)
        })
    })?;
    txn.put(OPLOG_TABLE, &key(ts), &bytes)?;
    grow(txn, bytes.len() as u64, max_bytes)
}

fn read_total(txn: &dyn ReadTxn) -> StorageResult<u64> {
    Ok(match txn.get(META_TABLE, OPLOG_BYTES_KEY)? {
        Some(b) if b.len() == 8 => u64::from_be_bytes(b.try_into().expect("length checked")),
        _ => 0,
    })
}

/// Adds `added` bytes to the total and drops the oldest entries while it is over `max`
/// (always keeping the newest entry).
fn grow(txn: &mut dyn WriteTxn, added: u64, max: u64) -> StorageResult<()> {
    let mut total = read_total(txn)? + added;
    if total > max {
        // The oldest entries to drop, with their sizes.
        let mut oldest: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut freed = 0u64;
        txn.scan(
            OPLOG_TABLE,
            (Bound::Unbounded, Bound::Unbounded),
            Direction::Forward,
            &mut |k, v| {
                if total - freed <= max {
                    return ControlFlow::Break(());
                }
                freed += v.len() as u64;
                oldest.push((k.to_vec(), v.len() as u64));
                ControlFlow::Continue(())
            },
        )?;
        // The newest entry stays, whatever its size: it is the current cluster time.
        if let Some(last) = last_key(txn)?
            && oldest.last().is_some_and(|(k, _)| *k == last)
        {
            oldest.pop();
        }
        for (k, size) in &oldest {
            txn.delete(OPLOG_TABLE, k)?;
            total -= size;
        }
    }
    txn.put(META_TABLE, OPLOG_BYTES_KEY, &total.to_be_bytes())
}

fn last_key(txn: &dyn ReadTxn) -> StorageResult<Option<Vec<u8>>> {
    let mut last = None;
    txn.scan(
        OPLOG_TABLE,
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Reverse,
        &mut |k, _| {
            last = Some(k.to_vec());
            ControlFlow::Break(())
        },
    )?;
    Ok(last)
}

/// A stored entry: the entry as mongod shows it, and its images.
#[derive(Clone, Debug)]
pub struct Stored {
    pub ts: Timestamp,
    pub entry: Document,
    pub images: Vec<Bson>,
}

fn decode(k: &[u8], v: &[u8]) -> CmdResult<Stored> {
    let ts = clock::from_u64(u64::from_be_bytes(
        k.try_into()
            .map_err(|_| crate::error::CommandError::internal("bad oplog key"))?,
    ));
    let mut d = crate::storage::collection::decode(v)?;
    let entry = match d.remove("e") {
        Some(Bson::Document(e)) => e,
        _ => return Err(crate::error::CommandError::internal("bad oplog entry")),
    };
    let images = match d.remove("img") {
        Some(Bson::Array(a)) => a,
        _ => Vec::new(),
    };
    Ok(Stored { ts, entry, images })
}

/// The timestamps of the oldest and newest entries, if the log has any.
pub fn bounds(txn: &dyn ReadTxn) -> StorageResult<Option<(Timestamp, Timestamp)>> {
    let mut first = None;
    txn.scan(
        OPLOG_TABLE,
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |k, _| {
            first = Some(k.to_vec());
            ControlFlow::Break(())
        },
    )?;
    let to_ts = |k: Vec<u8>| {
        k.try_into()
            .ok()
            .map(|b: [u8; 8]| clock::from_u64(u64::from_be_bytes(b)))
    };
    Ok(
        match (first.and_then(to_ts), last_key(txn)?.and_then(to_ts)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        },
    )
}

/// Visits entries from `start` (inclusive or not) in `direction`, until `visit` breaks.
pub fn scan(
    txn: &dyn ReadTxn,
    from: Bound<Timestamp>,
    direction: Direction,
    visit: &mut dyn FnMut(Stored) -> CmdResult<ControlFlow<()>>,
) -> CmdResult<()> {
    let from_key = |ts: Timestamp| key(ts).to_vec();
    let bound = match from {
        Bound::Included(ts) => Bound::Included(from_key(ts)),
        Bound::Excluded(ts) => Bound::Excluded(from_key(ts)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let bound = match &bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    };
    let range = match direction {
        Direction::Forward => (bound, Bound::Unbounded),
        Direction::Reverse => (Bound::Unbounded, bound),
    };
    let mut failure = None;
    txn.scan(
        OPLOG_TABLE,
        range,
        direction,
        &mut |k, v| match decode(k, v).and_then(&mut *visit) {
            Ok(flow) => flow,
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        },
    )?;
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;
    use crate::storage::memory::MemoryStore;

    fn target() -> Target {
        Target {
            ns: "db.c".into(),
            uuid: Binary {
                subtype: bson::spec::BinarySubtype::Uuid,
                bytes: vec![0; 16],
            },
            images: false,
        }
    }

    #[test]
    fn entries_are_ordered_and_the_log_stays_under_its_size() {
        let store = MemoryStore::new();
        let clock = clock::Clock::default();
        for n in 0..50 {
            let mut w = store.begin_write().unwrap();
            let changes = [Change::Insert {
                coll: target(),
                doc: RawDocumentBuf::try_from(&doc! {"_id": n, "pad": "x".repeat(100)}).unwrap(),
            }];
            append(&mut *w, &changes, None, || clock.tick(), 2_000).unwrap();
            w.commit(crate::storage::Durability::Buffered).unwrap();
        }
        let r = store.begin_read().unwrap();
        let mut seen = Vec::new();
        scan(&*r, Bound::Unbounded, Direction::Forward, &mut |s| {
            assert_eq!(s.entry.get_str("op").unwrap(), "i");
            seen.push(s.entry.get_document("o").unwrap().get_i32("_id").unwrap());
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
        assert!(seen.len() < 50 && seen.len() > 5, "{seen:?}");
        assert_eq!(*seen.last().unwrap(), 49);
        assert!(seen.windows(2).all(|w| w[1] == w[0] + 1));
        assert!(read_total(&*r).unwrap() <= 2_000);
        let (first, last) = bounds(&*r).unwrap().unwrap();
        assert!(clock::to_u64(first) < clock::to_u64(last));
    }
}
