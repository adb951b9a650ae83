//! `listIndexes`: a collection's indexes, `_id_` first, as a cursor.
//!
//! ```text
//! request  {listIndexes: "coll", cursor?: {batchSize}}
//! reply    {cursor: {firstBatch: [{v: 2, key, name, unique?, sparse?, expireAfterSeconds?}],
//!           id, ns: "db.$cmd.listIndexes.coll"}, ok: 1}
//! ```
//!
//! `NamespaceNotFound` (26) if the collection does not exist.

use bson::Document;

use super::Ctx;
use super::fields::Fields;
use super::find::computed_cursor;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::catalog::{self, CollectionMeta};

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let batch_size = match f.document("cursor")? {
        Some(c) => Fields {
            command: "listIndexes.cursor",
            doc: c,
        }
        .non_negative("batchSize")?
        .map(|n| n as usize),
        None => None,
    };
    let txn = ctx.reader()?;
    let meta = catalog::get_collection(&*txn, ctx.db, coll)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::NamespaceNotFound,
            format!("ns does not exist: {}.{coll}", ctx.db),
        )
    })?;
    drop(txn);
    let mut specs = vec![CollectionMeta::id_index_spec()];
    specs.extend(meta.indexes.iter().map(|i| i.spec()));
    computed_cursor(
        ctx,
        &format!("{}.$cmd.listIndexes.{coll}", ctx.db),
        specs,
        batch_size,
    )
}
