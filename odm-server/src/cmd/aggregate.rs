//! `aggregate`: runs a pipeline over a collection and returns a cursor.
//!
//! ```text
//! request  {aggregate: "coll", pipeline: [stage, ...], cursor: {batchSize?},
//!           explain?, allowDiskUse?, hint?, collation?, comment?, maxTimeMS?}
//! reply    {cursor: {firstBatch: [...], id: Int64, ns}, ok: 1}
//! ```
//!
//! Leading `$match` stages (and a `$sort`, `$skip`, `$limit` right after them) become the
//! query the planner sees, so indexes narrow the input; the remaining stages run over the
//! documents it yields. `count_documents` arrives here as
//! `[$match, $skip?, $limit?, $group: {_id: 1, n: {$sum: 1}}]`. On `local.oplog.rs` the
//! leading stages select the oplog's entries ([`crate::oplog_collection`]).

use bson::{Bson, Document, doc};

use super::Ctx;
use super::explain::query_planner;
use super::fields::{Fields, namespace};
use super::find::computed_cursor;
use super::writes::check_collation;
use crate::engine::agg::pipeline::{Pipeline, Stage};
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Query, collect};
use crate::oplog_collection;
use crate::planner::Hint;
use crate::storage::catalog;

/// Moves the stages an index can serve from the front of the pipeline into a query.
pub fn split_leading(
    pipeline: Pipeline,
    hint: Option<Hint>,
    allow_disk_use: bool,
) -> (Query, Pipeline) {
    let mut filters = Vec::new();
    let mut query = Query {
        hint,
        allow_disk_use,
        ..Query::matching(Filter::And(Vec::new()))
    };
    let mut stages = pipeline.stages.into_iter().peekable();
    let mut sorted = false;
    while let Some(stage) = stages.peek() {
        match stage {
            Stage::Match(f) if !sorted && query.skip == 0 && query.limit.is_none() => {
                filters.push(f.clone())
            }
            Stage::Sort(s) if !sorted && query.skip == 0 && query.limit.is_none() => {
                query.sort = s.clone();
                sorted = true;
            }
            Stage::Skip(n) if query.limit.is_none() => query.skip = query.skip.saturating_add(*n),
            Stage::Limit(n) => query.limit = Some(query.limit.map_or(*n, |l| l.min(*n))),
            _ => break,
        }
        stages.next();
    }
    query.filter = if filters.len() == 1 {
        filters.pop().expect("one filter")
    } else {
        Filter::And(filters)
    };
    (
        query,
        Pipeline {
            stages: stages.collect(),
        },
    )
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    if let Some(stages) = f.array("pipeline")?
        && let Some(spec) = stages
            .first()
            .and_then(Bson::as_document)
            .and_then(|d| d.get_document("$changeStream").ok())
    {
        return super::change_stream::open(ctx, &f, spec, &stages[1..]);
    }
    let coll = match ctx.body.get("aggregate") {
        Some(Bson::String(s)) => s.as_str(),
        Some(Bson::Int32(1)) | Some(Bson::Int64(1)) | Some(Bson::Double(1.0)) => {
            return Err(CommandError::bad_value(
                "database-level aggregation ({aggregate: 1}) is not supported by this server yet",
            ));
        }
        _ => {
            return Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                "aggregate needs a collection name or 1",
            ));
        }
    };
    catalog::validate_collection_name(ctx.db, coll)?;
    let stages = f.array("pipeline")?.ok_or_else(|| f.missing("pipeline"))?;
    let explain = f.bool("explain")?.unwrap_or(false);
    let cursor = f.document("cursor")?;
    if cursor.is_none() && !explain {
        return Err(CommandError::failed_to_parse(
            "The 'cursor' option is required, except for aggregate with the explain argument",
        ));
    }
    let batch_size = match cursor {
        Some(c) => Fields {
            command: "aggregate.cursor",
            doc: c,
        }
        .non_negative("batchSize")?
        .map(|n| n as usize),
        None => None,
    };
    check_collation(f.document("collation")?)?;
    if let Some(vars) = f.document("let")?
        && !vars.is_empty()
    {
        return Err(CommandError::bad_value(
            "'let' variables are not supported by this server yet",
        ));
    }
    let hint = ctx.body.get("hint").map(Hint::parse).transpose()?.flatten();
    let pipeline = Pipeline::parse(stages)?;
    let (mut query, rest) = split_leading(pipeline, hint, f.bool("allowDiskUse")?.unwrap_or(false));
    query.sort_memory_limit = ctx.state.config.sort_memory_limit;
    let ns = namespace(ctx.db, coll);
    let txn = ctx.reader()?;
    if oplog_collection::is_oplog(ctx.state, ctx.db, coll) && !explain {
        let input = oplog_collection::collect(&*txn, &query)?;
        drop(txn);
        return computed_cursor(ctx, &ns, rest.run(input)?, batch_size);
    }
    let meta = catalog::get(&*txn, ctx.db, coll)?;
    if explain {
        let planner = match &meta {
            Some(m) => query_planner(m, &query)?,
            None => doc! {"namespace": &ns, "winningPlan": {"stage": "EOF"}},
        };
        return Ok(doc! {"queryPlanner": planner, "remainingStages": rest.stages.len() as i32});
    }
    let input = match &meta {
        Some(m) => collect(&*txn, m, &query)?,
        None => Vec::new(),
    };
    drop(txn);
    let results = rest.run(input)?;
    computed_cursor(ctx, &ns, results, batch_size)
}
