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
use super::writes::in_transaction;
use crate::error::CmdResult;
use crate::storage::catalog;

pub fn drop_collection(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let wc = WriteConcern::parse(&f)?;
    let dropped = in_transaction(ctx, wc, |txn| match catalog::get(txn, ctx.db, coll)? {
        Some(meta) => {
            catalog::remove(txn, &meta)?;
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
    let any = in_transaction(ctx, wc, |txn| {
        let collections = catalog::list(txn, ctx.db)?;
        for meta in &collections {
            catalog::remove(txn, meta)?;
        }
        Ok(!collections.is_empty())
    })?;
    Ok(if any {
        doc! {"dropped": ctx.db}
    } else {
        doc! {}
    })
}
