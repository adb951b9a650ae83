//! `aggregate`: runs a pipeline over a collection and returns a cursor.
//!
//! ```text
//! request  {aggregate: "coll" | 1, pipeline: [stage, ...], cursor: {batchSize?},
//!           explain?, allowDiskUse?, hint?, collation?, let?, writeConcern?, comment?,
//!           maxTimeMS?}
//! reply    {cursor: {firstBatch: [...], id: Int64, ns}, ok: 1}
//! ```
//!
//! Leading `$match` stages (and a `$sort`, `$skip`, `$limit` right after them) become the
//! query the planner sees, so indexes narrow the input; the remaining stages run over the
//! documents it yields. `count_documents` arrives here as
//! `[$match, $skip?, $limit?, $group: {_id: 1, n: {$sum: 1}}]`. On `local.oplog.rs` the
//! leading stages select the oplog's entries ([`crate::oplog_collection`]).
//!
//! `$lookup` and `$unionWith` read the database through the command's snapshot
//! ([`Snapshot`]); `let` variables are bound into the pipeline once, before it runs.
//! `{aggregate: 1}` runs a pipeline whose first stage, `$documents`, makes the input.
//! A last `$out` or `$merge` stage writes the results ([`super::out_merge`]) and the
//! reply's cursor is empty.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::current_op;
use super::explain::query_planner;
use super::fields::{Fields, namespace};
use super::find::computed_cursor;
use super::out_merge;
use super::stats;
use super::views;
use super::write_concern::WriteConcern;
use crate::engine::agg::bind::command_let;
use crate::engine::agg::join::Collections;
use crate::engine::agg::metadata;
use crate::engine::agg::pipeline::{Pipeline, Stage};
use crate::engine::collation;
use crate::engine::matcher::Filter;
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::{Query, collect};
use crate::oplog_collection;
use crate::planner::{Hint, plan};
use crate::storage::{ReadTxn, catalog};

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
    run_body(ctx, ctx.body)
}

/// [`run`] for an aggregate command other than the one received: `explain` of a find,
/// count or distinct on a view runs as the aggregation the view makes of it.
pub(super) fn run_body(ctx: &Ctx<'_>, body: &Document) -> CmdResult<Document> {
    let f = Fields::new(body);
    if let Some(stages) = f.array("pipeline")?
        && let Some(spec) = stages
            .first()
            .and_then(Bson::as_document)
            .and_then(|d| d.get_document("$changeStream").ok())
    {
        return super::change_stream::open(ctx, &f, spec, &stages[1..]);
    }
    // `None`: a database-level aggregation (`{aggregate: 1}`), whose first stage makes
    // the input.
    let coll = match body.get("aggregate") {
        Some(Bson::String(s)) => Some(s.as_str()),
        Some(Bson::Int32(1)) | Some(Bson::Int64(1)) | Some(Bson::Double(1.0)) => None,
        _ => {
            return Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                "aggregate needs a collection name or 1",
            ));
        }
    };
    if let Some(coll) = coll {
        catalog::validate_collection_name(ctx.db, coll)?;
    }
    let stages = f.array("pipeline")?.ok_or_else(|| f.missing("pipeline"))?;
    // One snapshot for the whole command: the views it resolves, the collections it
    // reads and the stats it reports all come from it.
    let txn = ctx.reader()?;
    // A view: its pipeline runs first, over the collection at the bottom.
    let view = match coll {
        Some(c) => views::resolve(&*txn, ctx.db, c)?,
        None => None,
    };
    // Every stage compares strings under the command's collation: its own, else the
    // collection's default (a view's is the simple one).
    let given_collation = f.collation()?;
    let collation = match (&view, coll) {
        (Some(_), _) => {
            views::check_collation(&given_collation)?;
            None
        }
        (None, Some(c)) => {
            let meta = catalog::get(&*txn, ctx.db, c)?;
            collation::effective(given_collation, meta.as_ref().map(|m| &m.options))?
        }
        (None, None) => given_collation.flatten(),
    };
    collation::with_collation(collation.as_ref(), || {
        let snapshot = Snapshot::new(ctx, &*txn);
        let combined: Vec<Bson>;
        let stages = match &view {
            Some(v) => {
                combined = v.stages.iter().chain(stages).cloned().collect();
                &combined
            }
            None => stages,
        };
        let source = view.as_ref().map(|v| v.source.as_str()).or(coll);
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
        let vars = command_let(body)?;
        let hint = body.get("hint").map(Hint::parse).transpose()?.flatten();
        let mut pipeline = Pipeline::parse(stages)?;
        pipeline.bind(&vars);
        // `$out` / `$merge` (always last): the stages before it run, then the command writes.
        let output = match pipeline.stages.last() {
            Some(Stage::Out(_) | Stage::Merge(_)) if !explain => pipeline.stages.pop(),
            _ => None,
        };
        let finish = Finish {
            output,
            wc: WriteConcern::parse(&f)?,
            batch_size,
        };
        for foreign in pipeline.foreign_collections() {
            catalog::validate_collection_name(ctx.db, foreign)?;
        }
        let starts_with_documents = matches!(pipeline.stages.first(), Some(Stage::Documents(_)));
        let server_source = matches!(
            pipeline.stages.first(),
            Some(Stage::CurrentOp(_) | Stage::ListLocalSessions)
        );
        let Some(coll) = coll else {
            let ns = format!("{}.$cmd.aggregate", ctx.db);
            if server_source {
                let input = match pipeline.stages.remove(0) {
                    Stage::CurrentOp(options) => current_op::current_op(ctx, &options)?,
                    _ => current_op::list_local_sessions(ctx),
                };
                if explain {
                    return Ok(doc! {
                        "queryPlanner": {"namespace": &ns, "winningPlan": {"stage": "SERVER_STATE"}},
                        "remainingStages": pipeline.stages.len() as i32,
                    });
                }
                let results = pipeline.run_with(input, &snapshot)?;
                drop(txn);
                return finish.reply(ctx, &ns, results);
            }
            let first_stage = stages
                .first()
                .and_then(Bson::as_document)
                .and_then(|d| d.keys().next())
                .map_or("an empty pipeline", String::as_str);
            if !starts_with_documents {
                return Err(CommandError::new(
                    ErrorCode::InvalidNamespace,
                    format!(
                        "{{aggregate: 1}} is not valid for '{first_stage}'; a collection is required (this server starts a database-level aggregation with $documents, $currentOp or $listLocalSessions only)"
                    ),
                ));
            }
            if explain {
                return Ok(doc! {
                    "queryPlanner": {"namespace": &ns, "winningPlan": {"stage": "DOCUMENTS"}},
                    "remainingStages": pipeline.stages.len() as i32 - 1,
                });
            }
            let results = pipeline.run_with(Vec::new(), &snapshot)?;
            drop(txn);
            return finish.reply(ctx, &ns, results);
        };
        if starts_with_documents || server_source {
            return Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                "$documents, $currentOp and $listLocalSessions can only be the first stage of a database-level aggregation ({aggregate: 1})",
            ));
        }
        let source = source.unwrap_or(coll);
        let ns = namespace(ctx.db, coll);
        if matches!(
            pipeline.stages.first(),
            Some(Stage::CollStats(_) | Stage::IndexStats)
        ) && !explain
        {
            let first = pipeline.stages.remove(0);
            let input = match &first {
                Stage::CollStats(spec) => vec![stats::coll_stats_stage(ctx, &*txn, coll, spec)?],
                _ => stats::index_stats_stage(ctx, &*txn, coll)?,
            };
            let results = pipeline.run_with(input, &snapshot)?;
            drop(txn);
            return finish.reply(ctx, &ns, results);
        }
        if let Some(Stage::GeoNear(_)) = pipeline.stages.first() {
            let Stage::GeoNear(stage) = pipeline.stages.remove(0) else {
                unreachable!("checked");
            };
            // The stage is a `$near` query; the stages after it run over its results.
            let Some(m) = catalog::get(&*txn, ctx.db, source)? else {
                return Err(CommandError::new(
                    ErrorCode::IndexNotFound,
                    "$geoNear requires a 2d or 2dsphere index, but none were found",
                ));
            };
            let (filter, key, near) = stage.filter(&m)?;
            let near_query = Query {
                hint,
                sort_memory_limit: snapshot.sort_memory_limit,
                ..Query::matching(filter)
            };
            if explain {
                return Ok(doc! {
                    "queryPlanner": query_planner(&m, &near_query)?,
                    "remainingStages": pipeline.stages.len() as i32,
                });
            }
            let mut input = collect(&*txn, &m, &near_query)?;
            for doc in &mut input {
                stage.annotate(doc, &key, &near)?;
            }
            let results = pipeline.run_with(input, &snapshot)?;
            drop(txn);
            return finish.reply(ctx, &ns, results);
        }
        let (mut query, rest) =
            split_leading(pipeline, hint, f.bool("allowDiskUse")?.unwrap_or(false));
        query.sort_memory_limit = snapshot.sort_memory_limit;
        if oplog_collection::is_oplog(ctx.state, ctx.db, source) && !explain {
            let input = oplog_collection::collect(&*txn, &query)?;
            let results = rest.run_with(input, &snapshot)?;
            drop(txn);
            return finish.reply(ctx, &ns, results);
        }
        let meta = catalog::get(&*txn, ctx.db, source)?;
        if explain {
            let planner = match &meta {
                Some(m) => query_planner(m, &query)?,
                None => doc! {"namespace": &ns, "winningPlan": {"stage": "EOF"}},
            };
            return Ok(doc! {
                "queryPlanner": planner,
                "remainingStages": rest.stages.len() as i32,
                "stages": joins_explained(&snapshot, &rest)?,
            });
        }
        let mut input = match &meta {
            Some(m) => collect(&*txn, m, &query)?,
            None => Vec::new(),
        };
        metadata::attach_all(&query.filter, &mut input);
        let results = rest.run_with(input, &snapshot)?;
        drop(txn);
        finish.reply(ctx, &ns, results)
    })
}

/// What happens to a pipeline's results: a cursor over them, or (after `$out` or
/// `$merge`) a write and an empty cursor.
struct Finish {
    output: Option<Stage>,
    wc: WriteConcern,
    batch_size: Option<usize>,
}

impl Finish {
    fn reply(self, ctx: &Ctx<'_>, ns: &str, results: Vec<Document>) -> CmdResult<Document> {
        match &self.output {
            Some(Stage::Out(target)) => out_merge::out(ctx, self.wc, target, results)?,
            Some(Stage::Merge(spec)) => out_merge::merge(ctx, self.wc, spec, results)?,
            _ => return computed_cursor(ctx, ns, results, self.batch_size),
        }
        computed_cursor(ctx, ns, Vec::new(), self.batch_size)
    }
}

/// Each `$lookup` and `$graphLookup` of the stages after the leading query, with the
/// index its equality uses on the foreign collection (`indexesUsed`, empty for a
/// collection scan).
fn joins_explained(snapshot: &Snapshot<'_>, rest: &Pipeline) -> CmdResult<Vec<Bson>> {
    let mut out = Vec::new();
    for stage in &rest.stages {
        let (name, mut shown, filter, from) = match stage {
            Stage::Lookup(lookup) => {
                let (shown, filter) = lookup.explain()?;
                ("$lookup", shown, filter, lookup.from())
            }
            Stage::GraphLookup(graph) => {
                let (shown, filter) = graph.explain()?;
                ("$graphLookup", shown, Some(filter), Some(graph.from()))
            }
            _ => continue,
        };
        let meta = match from {
            Some(from) => catalog::get(snapshot.txn, snapshot.db, from)?,
            None => None,
        };
        if let (Some(filter), Some(meta)) = (filter, meta) {
            let chosen = plan(&meta, &filter, &SortSpec::default(), None)?;
            shown.insert(
                "indexesUsed",
                chosen.index_name().into_iter().collect::<Vec<_>>(),
            );
        }
        let mut entry = Document::new();
        entry.insert(name, shown);
        out.push(Bson::Document(entry));
    }
    Ok(out)
}

/// The command's database as of its snapshot, for the stages that read other
/// collections (`$lookup`, `$unionWith`): each query goes through the planner, so an
/// index on the foreign field serves a join.
pub(super) struct Snapshot<'a> {
    pub txn: &'a dyn ReadTxn,
    pub db: &'a str,
    pub sort_memory_limit: usize,
}

impl<'a> Snapshot<'a> {
    /// The command's database in `txn`, with the server's sort memory limit.
    pub fn new(ctx: &'a Ctx<'_>, txn: &'a dyn ReadTxn) -> Self {
        Snapshot {
            txn,
            db: ctx.db,
            sort_memory_limit: ctx.state.config.sort_memory_limit,
        }
    }

    /// Runs `pipeline` over `coll`: its leading stages become the query the planner
    /// sees, the rest run over what it yields.
    pub fn run(
        &self,
        coll: &str,
        pipeline: Pipeline,
        hint: Option<Hint>,
        allow_disk_use: bool,
    ) -> CmdResult<Vec<Document>> {
        let (mut query, rest) = split_leading(pipeline, hint, allow_disk_use);
        query.sort_memory_limit = self.sort_memory_limit;
        let mut input = match catalog::get(self.txn, self.db, coll)? {
            Some(meta) => collect(self.txn, &meta, &query)?,
            None => Vec::new(),
        };
        metadata::attach_all(&query.filter, &mut input);
        rest.run_with(input, self)
    }
}

impl Collections for Snapshot<'_> {
    fn find(&self, coll: &str, filter: &Filter) -> CmdResult<Vec<Document>> {
        match catalog::get(self.txn, self.db, coll)? {
            Some(meta) => collect(
                self.txn,
                &meta,
                &Query {
                    sort_memory_limit: self.sort_memory_limit,
                    ..Query::matching(filter.clone())
                },
            ),
            None => Ok(Vec::new()),
        }
    }
}
