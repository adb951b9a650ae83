//! `explain`: how a query would run: which index (IXSCAN) or a collection scan (COLLSCAN).
//!
//! ```text
//! request  {explain: {find: "coll", filter, sort, ...} | {count: ...} | {distinct: ...}
//!           | {aggregate: ...}, verbosity?: "queryPlanner" | "executionStats" | "allPlansExecution"}
//! reply    {queryPlanner: {namespace, parsedQuery, winningPlan: {stage, inputStage?: {stage:
//!           "IXSCAN", indexName, keyPattern, indexBounds, direction}}, rejectedPlans: []},
//!           executionStats?: {nReturned, executionTimeMillis, totalKeysExamined,
//!           totalDocsExamined}, ok: 1}
//! ```
//!
//! A command on a view is explained as the aggregation it becomes: the view's pipeline
//! over the collection underneath, then the command's own stages.

use std::time::Instant;

use bson::{Bson, Document, doc};

use super::Ctx;
use super::aggregate::split_leading;
use super::fields::{Fields, namespace};
use crate::engine::agg::pipeline::Pipeline;
use crate::engine::collation;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError};
use crate::exec::{Query, collect};
use crate::planner::{Hint, plan};
use crate::storage::ReadTxn;
use crate::storage::catalog::{self, CollectionMeta};

/// The `queryPlanner` section for a query on a collection.
pub fn query_planner(meta: &CollectionMeta, query: &Query) -> CmdResult<Document> {
    let chosen = plan(meta, &query.filter, &query.sort, query.hint.as_ref())?;
    let blocking_sort = (!chosen.provides_sort)
        .then_some(&query.sort_doc)
        .filter(|s| !s.is_empty());
    let mut planner = doc! {
        "namespace": meta.ns(),
        "parsedQuery": query.filter_doc.clone(),
        "indexFilterSet": false,
    };
    // The query's collation, as mongod shows it (absent for the simple one).
    if let Some(c) = collation::current() {
        planner.insert("collation", c.spec().to_document());
    }
    planner.insert(
        "winningPlan",
        chosen.explain(meta, &query.filter_doc, blocking_sort),
    );
    planner.insert("rejectedPlans", Vec::<Bson>::new());
    Ok(planner)
}

fn query_of(inner: &Document) -> CmdResult<(String, Query)> {
    let name = inner.keys().next().map(String::as_str).unwrap_or("");
    let f = Fields::new(inner);
    let empty = Document::new();
    match name {
        "find" => {
            let args = super::find::parse(inner)?;
            Ok((args.collection.to_string(), args.query))
        }
        "count" | "distinct" => {
            let coll = f.collection()?.to_string();
            let filter_doc = f.document("query")?.unwrap_or(&empty).clone();
            let hint = inner.get("hint").map(Hint::parse).transpose()?.flatten();
            Ok((
                coll,
                Query {
                    hint,
                    filter_doc: filter_doc.clone(),
                    ..Query::matching(Filter::parse(&filter_doc)?)
                },
            ))
        }
        "aggregate" => {
            let coll = f.collection()?.to_string();
            let stages = f.array("pipeline")?.ok_or_else(|| f.missing("pipeline"))?;
            let (mut query, _) = split_leading(
                Pipeline::parse(stages)?,
                inner.get("hint").map(Hint::parse).transpose()?.flatten(),
                false,
            );
            if let Some(Bson::Document(m)) = stages
                .first()
                .and_then(|s| s.as_document())
                .and_then(|s| s.get("$match"))
            {
                query.filter_doc = m.clone();
            }
            Ok((coll, query))
        }
        other => Err(CommandError::bad_value(format!(
            "explain of '{other}' is not supported by this server yet"
        ))),
    }
}

/// A command on a view is explained as the aggregation it runs: the view's stages over
/// the collection at the bottom, then the command's own as stages.
fn explain_on_view(ctx: &Ctx<'_>, inner: &Document, view: &str) -> CmdResult<Document> {
    let name = inner.keys().next().map(String::as_str).unwrap_or("");
    let get = |k: &str| inner.get(k).filter(|v| !matches!(v, Bson::Null));
    let mut stages: Vec<Bson> = Vec::new();
    let mut push = |stage: &str, value: Option<&Bson>| {
        if let Some(v) = value {
            stages.push(Bson::Document(doc! {stage: v.clone()}));
        }
    };
    match name {
        "find" => {
            push("$match", get("filter"));
            push("$sort", get("sort"));
            push("$skip", get("skip"));
            push("$limit", get("limit"));
            push("$project", get("projection"));
        }
        "count" => {
            push("$match", get("query"));
            push("$count", Some(&Bson::String("count".into())));
        }
        "distinct" => {
            push("$match", get("query"));
            let key = inner.get_str("key").unwrap_or("");
            push(
                "$group",
                Some(&Bson::Document(doc! {"_id": format!("${key}")})),
            );
        }
        "aggregate" => {
            if let Some(Bson::Array(pipeline)) = get("pipeline") {
                stages.extend(pipeline.iter().cloned());
            }
        }
        other => {
            return Err(CommandError::bad_value(format!(
                "explain of '{other}' is not supported by this server yet"
            )));
        }
    }
    let mut body = doc! {"aggregate": view, "pipeline": stages, "explain": true};
    if let Some(hint) = get("hint") {
        body.insert("hint", hint.clone());
    }
    super::aggregate::run_body(ctx, &body)
}

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let inner = f.document("explain")?.ok_or_else(|| f.missing("explain"))?;
    let verbosity = f.string("verbosity")?.unwrap_or("allPlansExecution");
    if !matches!(
        verbosity,
        "queryPlanner" | "executionStats" | "allPlansExecution"
    ) {
        return Err(CommandError::bad_value(format!(
            "verbosity string must be one of queryPlanner, executionStats, allPlansExecution, not '{verbosity}'"
        )));
    }
    let txn = ctx.reader()?;
    let target = inner.values().next().and_then(Bson::as_str).unwrap_or("");
    if super::views::resolve(&*txn, ctx.db, target)?.is_some() {
        drop(txn);
        return explain_on_view(ctx, inner, target);
    }
    let (coll, query) = query_of(inner)?;
    let Some(meta) = catalog::get(&*txn, ctx.db, &coll)? else {
        return Ok(
            doc! {"queryPlanner": {"namespace": namespace(ctx.db, &coll), "winningPlan": {"stage": "EOF"}, "rejectedPlans": []}},
        );
    };
    let given = Fields::new(inner).collation()?;
    let collation = collation::effective(given, Some(&meta.options))?;
    collation::with_collation(collation.as_ref(), || {
        explain_query(ctx, &*txn, &meta, &query, verbosity)
    })
}

/// `explain` of a query on a collection, under the query's collation.
fn explain_query(
    ctx: &Ctx<'_>,
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    query: &Query,
    verbosity: &str,
) -> CmdResult<Document> {
    let mut reply = doc! {"queryPlanner": query_planner(meta, query)?};
    if verbosity != "queryPlanner" {
        let started = Instant::now();
        let (keys_before, docs_before) = crate::profiler::examined();
        let returned = collect(txn, meta, query)?.len();
        let (keys, docs) = crate::profiler::examined();
        reply.insert(
            "executionStats",
            doc! {
                "executionSuccess": true,
                "nReturned": returned as i64,
                "executionTimeMillis": started.elapsed().as_millis() as i64,
                "totalKeysExamined": (keys - keys_before) as i64,
                "totalDocsExamined": (docs - docs_before) as i64,
            },
        );
    }
    reply.insert("serverInfo", doc! {"host": "odm-server", "port": ctx.state.addr.port() as i32, "version": super::server_info::MONGODB_VERSION});
    Ok(reply)
}
