//! `delete`: removes documents matching filters.
//!
//! ```text
//! request  {delete: "coll", deletes: [{q: filter, limit: 0 | 1, hint?, collation?}, ...],
//!           ordered?: true, writeConcern?}
//! reply    {n: <deleted>, writeErrors?: [{index, code, errmsg}], ok: 1}
//! ```
//!
//! `limit: 1` deletes the first match, `limit: 0` every match.

use std::sync::atomic::Ordering;

use bson::{Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::insert::check_batch_size;
use super::write_concern::WriteConcern;
use super::writes::{run_batch, under_collation, with_write_errors, write_reply};
use crate::engine::agg::bind::command_let;
use crate::engine::collation::Collator;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError};
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::storage::catalog;

struct Statement {
    filter: Filter,
    limit_one: bool,
    hint: Option<Hint>,
    collation: Option<Option<Collator>>,
}

fn parse(spec: &Document) -> CmdResult<Statement> {
    let f = Fields {
        command: "delete.deletes",
        doc: spec,
    };
    let filter = Filter::parse(f.document("q")?.ok_or_else(|| f.missing("q"))?)?;
    let limit_one = match f.integer("limit")? {
        Some(0) => false,
        Some(1) => true,
        Some(n) => {
            return Err(CommandError::failed_to_parse(format!(
                "The limit field in delete objects must be 0 or 1. Got {n}"
            )));
        }
        None => return Err(f.missing("limit")),
    };
    Ok(Statement {
        filter,
        limit_one,
        hint: spec.get("hint").map(Hint::parse).transpose()?.flatten(),
        collation: f.collation()?,
    })
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let vars = command_let(ctx.body)?;
    let coll = f.collection()?;
    let specs = f.documents("deletes")?;
    check_batch_size(specs.len())?;
    let ordered = f.bool("ordered")?.unwrap_or(true);
    let wc = WriteConcern::parse(&f)?;
    catalog::validate_writable(ctx.db, coll)?;

    let reply = write_reply(ctx, wc, |w| {
        let meta = catalog::get_collection(w, ctx.db, coll)?;
        let (deleted, errors) = run_batch(specs.iter(), ordered, |spec| {
            let mut st = parse(spec)?;
            st.filter.bind(&vars);
            let Some(meta) = &meta else { return Ok(0) };
            let query = Query {
                limit: st.limit_one.then_some(1),
                hint: st.hint,
                ..Query::matching(st.filter)
            };
            let targets = under_collation(&st.collation, meta, || collect(w, meta, &query))?;
            for doc in &targets {
                w.delete(meta, doc)?;
            }
            Ok(targets.len())
        })?;
        let deleted: usize = deleted.iter().sum();
        Ok(with_write_errors(doc! {"n": deleted as i32}, errors))
    })?;
    ctx.state
        .counters
        .delete
        .fetch_add(reply.get_i32("n").unwrap_or(0) as u64, Ordering::Relaxed);
    Ok(reply)
}
