//! `dbStats` and `collStats`: sizes and counts.
//!
//! ```text
//! {dbStats: 1, scale?}       -> {db, collections, views, objects, avgObjSize, dataSize,
//!                               storageSize, indexes, indexSize, totalSize, scaleFactor, ok}
//! {collStats: "coll", scale?} -> {ns, count, size, avgObjSize, storageSize, nindexes,
//!                               totalIndexSize, indexSizes: {name: bytes}, capped, scaleFactor, ok}
//! ```
//!
//! Sizes are the bytes of stored documents and index entries, divided by `scale`.

use bson::{Document, doc};

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
    let meta = catalog::get_collection(&*txn, ctx.db, coll)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::NamespaceNotFound,
            format!("Collection [{}.{coll}] not found.", ctx.db),
        )
    })?;
    let s = sizes(&*txn, &meta)?;
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
