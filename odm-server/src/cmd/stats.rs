//! `dbStats` and `collStats`: sizes and counts.
//!
//! ```text
//! {dbStats: 1, scale?}       -> {db, collections, views, objects, avgObjSize, dataSize,
//!                               storageSize, indexes, indexSize, totalSize, scaleFactor, ok}
//! {collStats: "coll", scale?} -> {ns, count, size, avgObjSize, storageSize, nindexes,
//!                               totalIndexSize, indexSizes: {name: bytes}, capped, scaleFactor, ok}
//! ```
//!
//! Sizes are the bytes of stored documents and index entries, divided by `scale`. The
//! `$collStats` and `$indexStats` stages start their pipelines with documents made here.

use bson::{DateTime, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::catalog::{self, CollectionMeta};
use crate::storage::{ReadTxn, collection};

fn scale(f: &Fields<'_>) -> CmdResult<u64> {
    match f.integer("scale")? {
        None => Ok(1),
        Some(n) if n >= 1 => Ok(n as u64),
        Some(_) => Err(CommandError::bad_value("scale has to be >= 1")),
    }
}

struct Sizes {
    count: u64,
    data: u64,
    index_sizes: Vec<(String, u64)>,
}

fn sizes(txn: &dyn ReadTxn, meta: &CollectionMeta) -> CmdResult<Sizes> {
    let (count, data) = collection::stats(txn, meta)?;
    // The _id index is the documents table's keys: count their bytes as its size.
    let mut index_sizes = vec![(catalog::ID_INDEX_NAME.to_string(), count * 16)];
    for index in &meta.indexes {
        index_sizes.push((index.name.clone(), collection::index_size(txn, index)?));
    }
    Ok(Sizes {
        count,
        data,
        index_sizes,
    })
}

pub fn db_stats(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let scale = scale(&f)?;
    let txn = ctx.reader()?;
    let collections = catalog::list(&*txn, ctx.db)?;
    let (mut objects, mut data, mut indexes, mut index_size) = (0u64, 0u64, 0u64, 0u64);
    for meta in &collections {
        let s = sizes(&*txn, meta)?;
        objects += s.count;
        data += s.data;
        indexes += s.index_sizes.len() as u64;
        index_size += s.index_sizes.iter().map(|(_, b)| b).sum::<u64>();
    }
    Ok(doc! {
        "db": ctx.db,
        "collections": collections.len() as i64,
        "views": 0i64,
        "objects": objects as i64,
        "avgObjSize": if objects == 0 { 0.0 } else { data as f64 / objects as f64 },
        "dataSize": (data / scale) as f64,
        "storageSize": (data / scale) as f64,
        "indexes": indexes as i64,
        "indexSize": (index_size / scale) as f64,
        "totalSize": ((data + index_size) / scale) as f64,
        "scaleFactor": scale as i64,
        "fsUsedSize": ctx.state.store.size_on_disk() as f64,
        "fsTotalSize": ctx.state.store.size_on_disk() as f64,
    })
}

pub fn coll_stats(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let scale = scale(&f)?;
    let txn = ctx.reader()?;
    let meta = existing(&*txn, ctx.db, coll)?;
    storage_stats(&*txn, &meta, scale)
}

fn existing(txn: &dyn ReadTxn, db: &str, coll: &str) -> CmdResult<CollectionMeta> {
    catalog::get_collection(txn, db, coll)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::NamespaceNotFound,
            format!("Collection [{db}.{coll}] not found."),
        )
    })
}

/// What `collStats` answers, and `$collStats`' `storageStats`.
fn storage_stats(txn: &dyn ReadTxn, meta: &CollectionMeta, scale: u64) -> CmdResult<Document> {
    let s = sizes(txn, meta)?;
    let mut index_sizes = Document::new();
    for (name, bytes) in &s.index_sizes {
        index_sizes.insert(name.clone(), (bytes / scale) as i64);
    }
    let total_index: u64 = s.index_sizes.iter().map(|(_, b)| b).sum();
    Ok(doc! {
        "ns": meta.ns(),
        "count": s.count as i64,
        "size": (s.data / scale) as i64,
        "avgObjSize": s.data.checked_div(s.count).unwrap_or(0) as i64,
        "storageSize": (s.data / scale) as i64,
        "nindexes": s.index_sizes.len() as i32,
        "totalIndexSize": (total_index / scale) as i64,
        "totalSize": ((s.data + total_index) / scale) as i64,
        "indexSizes": index_sizes,
        "capped": false,
        "scaleFactor": scale as i64,
    })
}

/// The document `$collStats` starts a pipeline with: the sections `spec` asks for.
/// Latencies and query counts are not measured per collection: they read as zero.
pub fn coll_stats_stage(
    ctx: &Ctx<'_>,
    txn: &dyn ReadTxn,
    coll: &str,
    spec: &Document,
) -> CmdResult<Document> {
    let meta = existing(txn, ctx.db, coll)?;
    let mut out = doc! {
        "ns": meta.ns(),
        "host": super::server_info::host(ctx.state),
        "localTime": DateTime::now(),
    };
    if spec.contains_key("latencyStats") {
        let zero = doc! {"latency": 0_i64, "ops": 0_i64};
        out.insert(
            "latencyStats",
            doc! {"reads": zero.clone(), "writes": zero.clone(), "commands": zero.clone(), "transactions": zero},
        );
    }
    if let Ok(storage) = spec.get_document("storageStats") {
        let scale = match storage.get("scale") {
            None => 1,
            Some(v) => match crate::engine::arith::to_i64_exact(v) {
                Some(n) if n >= 1 => n as u64,
                _ => return Err(CommandError::bad_value("scale has to be >= 1")),
            },
        };
        out.insert("storageStats", storage_stats(txn, &meta, scale)?);
    }
    if spec.contains_key("count") {
        out.insert("count", collection::stats(txn, &meta)?.0 as i64);
    }
    if spec.contains_key("queryExecStats") {
        out.insert(
            "queryExecStats",
            doc! {"collectionScans": {"total": 0_i64, "nonTailable": 0_i64}},
        );
    }
    Ok(out)
}

/// The documents `$indexStats` starts a pipeline with: one per index. Accesses are not
/// counted per index: `accesses.ops` reads as zero since the server started.
pub fn index_stats_stage(ctx: &Ctx<'_>, txn: &dyn ReadTxn, coll: &str) -> CmdResult<Vec<Document>> {
    let Some(meta) = catalog::get_collection(txn, ctx.db, coll)? else {
        return Ok(Vec::new());
    };
    let host = super::server_info::host(ctx.state);
    let since = super::server_info::start_time(ctx.state);
    let accesses = doc! {"ops": 0_i64, "since": since};
    let mut out = vec![doc! {
        "name": catalog::ID_INDEX_NAME,
        "key": {"_id": 1},
        "host": &host,
        "accesses": accesses.clone(),
        "spec": CollectionMeta::id_index_spec(),
    }];
    for index in &meta.indexes {
        out.push(doc! {
            "name": &index.name,
            "key": index.key.clone(),
            "host": &host,
            "accesses": accesses.clone(),
            "spec": index.spec(),
        });
    }
    Ok(out)
}
