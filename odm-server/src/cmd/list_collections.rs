//! `listCollections`: the collections of a database, as a cursor.
//!
//! ```text
//! request  {listCollections: 1, filter?, nameOnly?, authorizedCollections?, cursor?: {batchSize}}
//! reply    {cursor: {firstBatch: [{name, type: "collection", options, info: {readOnly: false,
//!           uuid}, idIndex: {v: 2, key: {_id: 1}, name: "_id_"}}], id, ns: "db.$cmd.listCollections"}, ok: 1}
//! ```
//!
//! A view is listed with `type: "view"`, its `viewOn` and `pipeline` as `options`, and
//! `info: {readOnly: true}`. On a replica-set member `local` also lists the oplog, `oplog.rs`, as a capped
//! collection ([`crate::oplog_collection::list_entry`]).

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::find::computed_cursor;
use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::oplog_collection;
use crate::storage::catalog::{self, CollectionMeta};

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name_only = f.bool("nameOnly")?.unwrap_or(false);
    let filter = f.document("filter")?.map(Filter::parse).transpose()?;
    let batch_size = match f.document("cursor")? {
        Some(c) => Fields {
            command: "listCollections.cursor",
            doc: c,
        }
        .non_negative("batchSize")?
        .map(|n| n as usize),
        None => None,
    };
    catalog::validate_db_name(ctx.db)?;
    let txn = ctx.reader()?;
    let collections = catalog::list(&*txn, ctx.db)?;
    drop(txn);
    let mut entries: Vec<Document> = collections
        .iter()
        .map(|meta| entry(meta, name_only))
        .collect();
    if oplog_collection::is_oplog(ctx.state, ctx.db, oplog_collection::COLL) {
        let at = entries
            .iter()
            .position(|e| e.get_str("name").is_ok_and(|n| n > oplog_collection::COLL))
            .unwrap_or(entries.len());
        entries.insert(at, oplog_collection::list_entry(ctx.state, name_only));
    }
    entries.retain(|e| filter.as_ref().is_none_or(|f| f.matches(e)));
    computed_cursor(
        ctx,
        &format!("{}.$cmd.listCollections", ctx.db),
        entries,
        batch_size,
    )
}

fn entry(meta: &CollectionMeta, name_only: bool) -> Document {
    let kind = if meta.view().is_some() {
        "view"
    } else {
        "collection"
    };
    if name_only {
        return doc! {"name": &meta.name, "type": kind};
    }
    if meta.view().is_some() {
        return doc! {
            "name": &meta.name,
            "type": kind,
            "options": meta.options.clone(),
            "info": {"readOnly": true},
        };
    }
    doc! {
        "name": &meta.name,
        "type": if meta.time_field().is_some() { "timeseries" } else { "collection" },
        "options": meta.options.clone(),
        "info": {"readOnly": false, "uuid": Bson::Binary(meta.uuid.clone())},
        "idIndex": CollectionMeta::id_index_spec(),
    }
}
