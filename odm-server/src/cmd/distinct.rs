//! `distinct`: the distinct values a field takes among matching documents.
//!
//! ```text
//! request  {distinct: "coll", key: "a.b", query?, hint?, collation?}
//! reply    {values: [...], ok: 1}
//! ```
//!
//! Arrays are looked through: `{tags: ["a", "b"]}` contributes `"a"` and `"b"`. Values
//! equal as numbers (`1` and `1.0`), or strings equal under the collation, count once.
//! The values come back in BSON order.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::engine::agg::pipeline::Stage;
use crate::engine::collation;
use crate::engine::compare::OrderedBson;
use crate::engine::matcher::Filter;
use crate::engine::path::for_each_value;
use crate::error::{CmdResult, CommandError};
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::storage::catalog;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let key = f.string("key")?.ok_or_else(|| f.missing("key"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(CommandError::bad_value(format!(
            "distinct key '{key}' is not a valid field path"
        )));
    }
    let empty = Document::new();
    let filter = Filter::parse(f.document("query")?.unwrap_or(&empty))?;
    let given_collation = f.collation()?;
    let hint = ctx.body.get("hint").map(Hint::parse).transpose()?.flatten();
    ctx.state.counters.query.fetch_add(1, Ordering::Relaxed);
    let txn = ctx.reader()?;
    let (docs, collation) = if let Some(view) = super::views::resolve(&*txn, ctx.db, coll)? {
        super::views::check_collation(&given_collation)?;
        (
            super::views::read(ctx, &*txn, &view, vec![Stage::Match(filter)])?,
            None,
        )
    } else {
        let Some(meta) = catalog::get(&*txn, ctx.db, coll)? else {
            return Ok(doc! {"values": Vec::<Bson>::new()});
        };
        let collation = collation::effective(given_collation, Some(&meta.options))?;
        let query = Query {
            hint,
            ..Query::matching(filter)
        };
        let docs = collation::with_collation(collation.as_ref(), || collect(&*txn, &meta, &query))?;
        (docs, collation)
    };
    drop(txn);
    // Values equal under the collation count once (the first one met stands for them).
    collation::with_collation(collation.as_ref(), || distinct_values(&docs, key))
}

fn distinct_values(docs: &[Document], key: &str) -> CmdResult<Document> {
    let mut values = BTreeSet::new();
    for d in docs {
        for_each_value(d, key, &mut |reached| match reached {
            Some(Bson::Array(items)) => values.extend(items.iter().cloned().map(OrderedBson)),
            Some(v) => {
                values.insert(OrderedBson(v.clone()));
            }
            None => {}
        });
    }
    Ok(doc! {"values": values.into_iter().map(|v| v.0).collect::<Vec<_>>()})
}
