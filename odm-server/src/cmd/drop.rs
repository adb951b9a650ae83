//! `drop` and `dropDatabase`.
//!
//! ```text
//! {drop: "coll", writeConcern?}         -> {nIndexesWas, ns, ok: 1}  ({ok: 1} if absent, as in 7.0)
//! {dropDatabase: 1, writeConcern?}      -> {dropped: "db", ok: 1}
//! ```
//!
//! Open cursors on a dropped collection fail their next `getMore` with
//! `QueryPlanKilled`.

use bson::{Document, doc};

use super::Ctx;
use super::fields::{Fields, namespace};
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::error::CmdResult;
use crate::replset::oplog::Change;
use crate::replset::writer::Writer;
use crate::storage::catalog::{self, CollectionMeta};

pub fn drop_collection(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let wc = WriteConcern::parse(&f)?;
    let dropped = write(ctx, wc, |w| match catalog::get(w, ctx.db, coll)? {
        Some(meta) => {
            drop_one(w, &meta)?;
            Ok(Some(meta.indexes.len() + 1))
        }
        None => Ok(None),
    })?;
    Ok(match dropped {
        Some(n) => doc! {"nIndexesWas": n as i32, "ns": namespace(ctx.db, coll)},
        None => doc! {},
    })
}

pub fn drop_database(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let wc = WriteConcern::parse(&f)?;
    let any = write(ctx, wc, |w| {
        let collections = catalog::list(w, ctx.db)?;
        for meta in &collections {
            drop_one(w, meta)?;
        }
        if !collections.is_empty() {
            w.record(Change::Command {
                db: ctx.db.to_owned(),
                uuid: None,
                o: doc! {"dropDatabase": 1},
            });
        }
        Ok(!collections.is_empty())
    })?;
    Ok(if any {
        doc! {"dropped": ctx.db}
    } else {
        doc! {}
    })
}

/// Removes a collection and records the drop.
fn drop_one(w: &mut Writer<'_>, meta: &CollectionMeta) -> CmdResult<()> {
    catalog::remove(w, meta)?;
    w.record(Change::Command {
        db: meta.db.clone(),
        uuid: Some(meta.uuid.clone()),
        o: doc! {"drop": &meta.name},
    });
    Ok(())
}
