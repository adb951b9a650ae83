//! `renameCollection` (admin): moves a collection to a new name, in the same or another
//! database. Only the catalog record moves: data stays in its tables.
//!
//! ```text
//! request  {renameCollection: "db.from", to: "db2.to", dropTarget?: false, writeConcern?}
//! reply    {ok: 1}
//! ```
//!
//! Errors: `NamespaceNotFound` (26) for a missing source, `NamespaceExists` (48) for an
//! existing target without `dropTarget`, `IllegalOperation` (20) to rename onto itself,
//! `InvalidNamespace` (73) for malformed names.

use bson::{Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::oplog::Change;
use crate::storage::catalog;

fn split_namespace(ns: &str) -> CmdResult<(&str, &str)> {
    ns.split_once('.')
        .filter(|(db, coll)| !db.is_empty() && !coll.is_empty())
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::InvalidNamespace,
                format!("Invalid namespace specified '{ns}'"),
            )
        })
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let from = f
        .string("renameCollection")?
        .ok_or_else(|| f.missing("renameCollection"))?;
    let to = f.string("to")?.ok_or_else(|| f.missing("to"))?;
    let drop_target = f.bool("dropTarget")?.unwrap_or(false);
    let wc = WriteConcern::parse(&f)?;
    let (from_db, from_coll) = split_namespace(from)?;
    let (to_db, to_coll) = split_namespace(to)?;
    catalog::validate_writable(to_db, to_coll)?;
    if from == to {
        return Err(CommandError::new(
            ErrorCode::IllegalOperation,
            "Can't rename a collection to itself",
        ));
    }
    write(ctx, wc, |txn| {
        let source = catalog::get_collection(txn, from_db, from_coll)?.ok_or_else(|| {
            CommandError::new(
                ErrorCode::NamespaceNotFound,
                format!("Source collection {from} does not exist"),
            )
        })?;
        if let Some(target) = catalog::get(txn, to_db, to_coll)? {
            if !drop_target {
                return Err(CommandError::new(
                    ErrorCode::NamespaceExists,
                    "target namespace exists",
                ));
            }
            catalog::remove(txn, &target)?;
            txn.record(Change::Command {
                db: to_db.to_owned(),
                uuid: Some(target.uuid.clone()),
                o: doc! {"drop": to_coll},
            });
        }
        catalog::rename(txn, &source, to_db, to_coll)?;
        txn.record(Change::Command {
            db: from_db.to_owned(),
            uuid: Some(source.uuid.clone()),
            o: doc! {"renameCollection": from, "to": to, "stayTemp": false, "dropTarget": drop_target},
        });
        Ok(())
    })?;
    Ok(doc! {})
}
