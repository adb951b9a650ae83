//! `dropIndexes`: removes indexes by name, key pattern, list of names, or all (`"*"`).
//!
//! ```text
//! request  {dropIndexes: "coll", index: "name" | {a: 1} | ["n1", "n2"] | "*", writeConcern?}
//! reply    {nIndexesWas, ok: 1}
//! ```
//!
//! `NamespaceNotFound` (26) for a missing collection, `IndexNotFound` (27) for a missing
//! index, `InvalidOptions` (72) for the `_id` index, which cannot be dropped.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::WriteTxn;
use crate::storage::catalog::{self, CollectionMeta, ID_INDEX_NAME};

fn not_found(what: impl std::fmt::Display) -> CommandError {
    CommandError::new(
        ErrorCode::IndexNotFound,
        format!("index not found with name [{what}]"),
    )
}

fn cannot_drop_id() -> CommandError {
    CommandError::new(ErrorCode::InvalidOptions, "cannot drop _id index")
}

/// The positions of the indexes a `dropIndexes` argument names.
fn targets(meta: &CollectionMeta, index: &Bson) -> CmdResult<Vec<usize>> {
    let by_name = |name: &str| -> CmdResult<usize> {
        if name == ID_INDEX_NAME {
            return Err(cannot_drop_id());
        }
        meta.indexes
            .iter()
            .position(|i| i.name == name)
            .ok_or_else(|| not_found(name))
    };
    match index {
        Bson::String(s) if s == "*" => Ok((0..meta.indexes.len()).collect()),
        Bson::String(name) => Ok(vec![by_name(name)?]),
        Bson::Array(names) => names
            .iter()
            .map(|n| match n {
                Bson::String(s) if s != "*" => by_name(s),
                other => Err(CommandError::type_mismatch(format!(
                    "dropIndexes names must be strings, got {other}"
                ))),
            })
            .collect(),
        Bson::Document(key) => {
            if *key == doc! {"_id": 1} {
                return Err(cannot_drop_id());
            }
            meta.indexes
                .iter()
                .position(|i| i.key == *key)
                .map(|p| vec![p])
                .ok_or_else(|| {
                    CommandError::new(
                        ErrorCode::IndexNotFound,
                        format!("can't find index with key: {key}"),
                    )
                })
        }
        other => Err(CommandError::type_mismatch(format!(
            "dropIndexes 'index' must be a string, an array or an object, not {other}"
        ))),
    }
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let index = ctx.body.get("index").ok_or_else(|| f.missing("index"))?;
    let wc = WriteConcern::parse(&f)?;
    let was = write(ctx, wc, |txn| {
        let mut meta = catalog::get_collection(txn, ctx.db, coll)?.ok_or_else(|| {
            CommandError::new(
                ErrorCode::NamespaceNotFound,
                format!("ns not found {}.{coll}", ctx.db),
            )
        })?;
        let was = meta.indexes.len() + 1;
        let mut doomed = targets(&meta, index)?;
        doomed.sort_unstable();
        doomed.dedup();
        for &i in doomed.iter().rev() {
            let removed = meta.indexes.remove(i);
            txn.drop_table(&removed.table())?;
        }
        catalog::put(txn, &meta)?;
        Ok(was)
    })?;
    Ok(doc! {"nIndexesWas": was as i32})
}
