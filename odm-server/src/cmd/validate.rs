//! `validate`: checks a collection's documents and indexes against each other.
//!
//! ```text
//! {validate: "coll", full?: bool, background?: bool}
//!   -> {ns, nInvalidDocuments, nNonCompliantDocuments, nrecords, nIndexes,
//!       keysPerIndex: {name: n}, indexDetails: {name: {valid}}, valid, repaired: false,
//!       warnings, errors, extraIndexEntries, missingIndexEntries, corruptRecords, ok}
//! ```
//!
//! Every document must decode and be stored under its `_id`; every index must hold
//! exactly the entries its documents give it (`storage::collection::check`). `full` is
//! accepted and changes nothing: the check is always the full one. Nothing is repaired.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::{catalog, collection};

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    f.bool("full")?;
    f.bool("background")?;
    let txn = ctx.reader()?;
    let ns = format!("{}.{coll}", ctx.db);
    let meta = catalog::get_collection(&*txn, ctx.db, coll)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::NamespaceNotFound,
            format!("Collection '{ns}' does not exist to validate."),
        )
    })?;
    let found = collection::check(&*txn, &meta)?;
    // The _id index is the documents table's own keys: it holds one entry per record.
    let mut keys_per_index = doc! {catalog::ID_INDEX_NAME: found.records as i64};
    let mut index_details =
        doc! {catalog::ID_INDEX_NAME: {"valid": found.corrupt_records.is_empty()}};
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    for (name, entries, lacks, surplus) in &found.indexes {
        keys_per_index.insert(name.clone(), *entries as i64);
        index_details.insert(name.clone(), doc! {"valid": *lacks == 0 && *surplus == 0});
        if *lacks > 0 {
            missing.push(Bson::Document(
                doc! {"indexName": name.clone(), "count": *lacks as i64},
            ));
        }
        if *surplus > 0 {
            extra.push(Bson::Document(
                doc! {"indexName": name.clone(), "count": *surplus as i64},
            ));
        }
    }
    Ok(doc! {
        "ns": ns,
        "nInvalidDocuments": found.corrupt_records.len() as i64,
        "nNonCompliantDocuments": 0i64,
        "nrecords": found.records as i64,
        "nIndexes": (found.indexes.len() + 1) as i32,
        "keysPerIndex": keys_per_index,
        "indexDetails": index_details,
        "valid": found.is_valid(),
        "repaired": false,
        "warnings": [],
        "errors": found.errors.clone(),
        "extraIndexEntries": extra,
        "missingIndexEntries": missing,
        "corruptRecords": found.corrupt_records.clone(),
    })
}
