//! `count`: how many documents match (what `estimated_document_count` sends, with no
//! query; `count_documents` goes through `aggregate` instead).
//!
//! ```text
//! request  {count: "coll", query?, skip?, limit?, hint?, collation?}
//! reply    {n: <count>, ok: 1}
//! ```
//!
//! `local.oplog.rs` counts the oplog's entries ([`crate::oplog_collection`]).

use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::engine::collation;
use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::exec::{Query, collect};
use crate::oplog_collection;
use crate::planner::Hint;
use crate::storage::{catalog, collection};

/// A count as mongod sends it: int32 when it fits.
pub fn count_value(n: u64) -> Bson {
    match i32::try_from(n) {
        Ok(v) => Bson::Int32(v),
        Err(_) => Bson::Int64(n as i64),
    }
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let empty = Document::new();
    let filter_doc = f.document("query")?.unwrap_or(&empty);
    let filter = Filter::parse(filter_doc)?;
    let skip = f.non_negative("skip")?.unwrap_or(0);
    let limit = f
        .integer("limit")?
        .map(|l| l.unsigned_abs())
        .filter(|l| *l > 0);
    let given_collation = f.collation()?;
    let hint = ctx.body.get("hint").map(Hint::parse).transpose()?.flatten();
    ctx.state.counters.query.fetch_add(1, Ordering::Relaxed);
    let txn = ctx.reader()?;
    if oplog_collection::is_oplog(ctx.state, ctx.db, coll) {
        let query = Query {
            skip,
            limit,
            hint,
            ..Query::matching(filter)
        };
        let n = oplog_collection::collect(&*txn, &query)?.len() as u64;
        return Ok(doc! {"n": count_value(n)});
    }
    if let Some(view) = super::views::resolve(&*txn, ctx.db, coll)? {
        super::views::check_collation(&given_collation)?;
        let query = Query {
            skip,
            limit,
            ..Query::matching(filter)
        };
        let n = super::views::read(ctx, &*txn, &view, super::views::find_stages(&query))?.len();
        return Ok(doc! {"n": count_value(n as u64)});
    }
    let Some(meta) = catalog::get(&*txn, ctx.db, coll)? else {
        return Ok(doc! {"n": 0});
    };
    let n = if filter_doc.is_empty() && hint.is_none() {
        // The whole collection: count entries without decoding documents.
        let (total, _) = collection::stats(&*txn, &meta)?;
        let after_skip = total.saturating_sub(skip);
        limit.map_or(after_skip, |l| after_skip.min(l))
    } else {
        let query = Query {
            skip,
            limit,
            hint,
            ..Query::matching(filter)
        };
        let collation = collation::effective(given_collation, Some(&meta.options))?;
        collation::with_collation(collation.as_ref(), || collect(&*txn, &meta, &query))?.len()
            as u64
    };
    Ok(doc! {"n": count_value(n)})
}
