//! `findAndModify`: updates, replaces or removes one document and returns it.
//!
//! ```text
//! request  {findAndModify: "coll", query?: filter, sort?: {...}, remove?: false,
//!           update?: doc, new?: false, fields?: projection, upsert?: false,
//!           bypassDocumentValidation?, writeConcern?, arrayFilters?, hint?, collation?}
//! reply    {lastErrorObject: {n, updatedExisting, upserted?}, value: doc | null, ok: 1}
//! ```
//!
//! `new: true` returns the document after the update (or the inserted one on upsert);
//! otherwise the one before (null on upsert). `sort` picks which match is changed.

use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::update::{self, Statement, parse_array_filters, parse_update};
use super::write_concern::WriteConcern;
use super::writes::{Validator, under_collation, write_reply};
use crate::engine::agg::bind::command_let;
use crate::engine::matcher::Filter;
use crate::engine::projection::Projection;
use crate::engine::sort::SortSpec;
use crate::engine::update::Update;
use crate::error::{CmdResult, CommandError};
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::storage::catalog;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let coll = f.collection()?;
    let empty = Document::new();
    let vars = command_let(ctx.body)?;
    let mut filter = Filter::parse(f.document("query")?.unwrap_or(&empty))?;
    filter.bind(&vars);
    let sort = SortSpec::parse(f.document("sort")?.unwrap_or(&empty))?;
    let remove = f.bool("remove")?.unwrap_or(false);
    let return_new = f.bool("new")?.unwrap_or(false);
    let upsert = f.bool("upsert")?.unwrap_or(false);
    let mut projection = Projection::parse(f.document("fields")?.unwrap_or(&empty))?;
    if let Some(p) = &mut projection {
        p.bind(&vars);
    }
    let bypass = f.bool("bypassDocumentValidation")?.unwrap_or(false);
    let hint = ctx.body.get("hint").map(Hint::parse).transpose()?.flatten();
    let wc = WriteConcern::parse(&f)?;
    let collation = f.collation()?;
    let update = match (ctx.body.get("update"), remove) {
        (Some(_), true) => {
            return Err(CommandError::failed_to_parse(
                "Cannot specify both an update and remove=true",
            ));
        }
        (None, false) => {
            return Err(CommandError::failed_to_parse(
                "Either an update or remove=true must be specified",
            ));
        }
        (Some(u), false) => {
            let mut update = parse_update(u)?;
            update.bind(&vars);
            // findAndModify refuses this while parsing (the update command says 72).
            if matches!(update, Update::Pipeline(_))
                && f.array("arrayFilters")?.is_some_and(|a| !a.is_empty())
            {
                return Err(CommandError::failed_to_parse(
                    "Cannot specify arrayFilters and a pipeline update",
                ));
            }
            let array_filters = parse_array_filters(&f, &update, u)?;
            Some((update, array_filters))
        }
        (None, true) => None,
    };
    if remove && upsert {
        return Err(CommandError::failed_to_parse(
            "Cannot specify both upsert=true and remove=true",
        ));
    }
    if remove && return_new {
        return Err(CommandError::failed_to_parse(
            "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document",
        ));
    }
    catalog::validate_writable(ctx.db, coll)?;

    write_reply(ctx, wc, |w| {
        let existing = catalog::get_collection(w, ctx.db, coll)?;
        let (value, last_error) = match &update {
            None => {
                let Some(meta) = existing else {
                    return Ok(reply(None, doc! {"n": 0}));
                };
                let query = Query {
                    sort: sort.clone(),
                    limit: Some(1),
                    hint: hint.clone(),
                    ..Query::matching(filter.clone())
                };
                let found = under_collation(&collation, &meta, || collect(w, &meta, &query))?;
                let Some(doc) = found.into_iter().next() else {
                    return Ok(reply(None, doc! {"n": 0}));
                };
                w.delete(&meta, &doc)?;
                ctx.state.counters.delete.fetch_add(1, Ordering::Relaxed);
                (Some(doc), doc! {"n": 1})
            }
            Some((update, array_filters)) => {
                let mut meta = match existing {
                    Some(m) => m,
                    None if upsert => w.collection(ctx.db, coll)?,
                    None => return Ok(reply(None, doc! {"n": 0, "updatedExisting": false})),
                };
                let st = Statement {
                    filter: filter.clone(),
                    update: update.clone(),
                    upsert,
                    multi: false,
                    hint: hint.clone(),
                    sort: sort.clone(),
                    array_filters: array_filters.clone(),
                    collation: collation.clone(),
                };
                let validator = Validator::of(&meta, bypass)?;
                let outcome = update::apply(ctx, w, &mut meta, &st, &validator)?;
                ctx.state.counters.update.fetch_add(1, Ordering::Relaxed);
                let mut last_error = doc! {
                    "n": (outcome.matched + usize::from(outcome.upserted.is_some())) as i32,
                    "updatedExisting": outcome.matched > 0,
                };
                if let Some(id) = &outcome.upserted {
                    last_error.insert("upserted", id.clone());
                }
                let value = if return_new {
                    outcome.after
                } else {
                    outcome.before
                };
                (value, last_error)
            }
        };
        let value = match (value, &projection) {
            (Some(d), Some(p)) => Some(p.apply_matched(&d, &filter)?),
            (value, _) => value,
        };
        Ok(reply(value, last_error))
    })
}

fn reply(value: Option<Document>, last_error: Document) -> Document {
    doc! {
        "lastErrorObject": last_error,
        "value": value.map(Bson::Document).unwrap_or(Bson::Null),
    }
}
