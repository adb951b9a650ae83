//! Views: a name for a pipeline over another collection (or view), read-only.
//!
//! ```text
//! {create: "v", viewOn: "source", pipeline?: [stage, ...]}
//! {collMod: "v", viewOn?, pipeline?}
//! ```
//!
//! A view is a catalog record whose options hold `viewOn` and `pipeline`; it has no
//! documents or indexes of its own. Reading it (`find`, `aggregate`, `count`,
//! `distinct`) runs its pipeline, and those of the views under it, over the collection
//! at the bottom, followed by what the command asks (a `find`'s filter, sort, skip,
//! limit and projection become stages). Writes and index commands answer
//! `CommandNotSupportedOnView` (166): see `catalog::get_collection`.

use bson::{Bson, Document, doc};

use super::Ctx;
use super::aggregate::Snapshot;
use crate::engine::agg::pipeline::{Pipeline, Stage};
use crate::engine::collation::Collator;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::Query;
use crate::storage::{ReadTxn, catalog};

/// How many views may stand on one another (mongod's limit).
const MAX_DEPTH: usize = 20;

/// What a view reads: the collection at the bottom and the stages, outermost view
/// last, that make the view's documents from it.
pub struct Resolved {
    pub source: String,
    pub stages: Vec<Bson>,
}

/// `coll` resolved when it is a view; `None` for a collection or nothing.
/// A view compares with the simple collation (views with a collation of their own are
/// not supported yet), and an operation cannot ask for another, as in mongod (167).
pub fn check_collation(given: &Option<Option<Collator>>) -> CmdResult<()> {
    match given {
        Some(Some(_)) => Err(CommandError::new(
            ErrorCode::OptionNotSupportedOnView,
            "Cannot override a view's default collation",
        )),
        _ => Ok(()),
    }
}

pub fn resolve(txn: &dyn ReadTxn, db: &str, coll: &str) -> CmdResult<Option<Resolved>> {
    let mut name = coll.to_string();
    let mut layers: Vec<Vec<Bson>> = Vec::new();
    loop {
        let Some((on, pipeline)) = catalog::get(txn, db, &name)?
            .and_then(|meta| meta.view().map(|(on, p)| (on.to_string(), p.to_vec())))
        else {
            break;
        };
        if layers.len() == MAX_DEPTH {
            return Err(CommandError::new(
                ErrorCode::ViewDepthLimitExceeded,
                format!("View depth too deep or view cycle detected; maximum depth is {MAX_DEPTH}"),
            ));
        }
        layers.push(pipeline);
        name = on;
    }
    if layers.is_empty() {
        return Ok(None);
    }
    // The innermost view's stages run first.
    Ok(Some(Resolved {
        source: name,
        stages: layers.into_iter().rev().flatten().collect(),
    }))
}

/// The documents of a view, with `then` run after its stages.
pub fn read(
    ctx: &Ctx<'_>,
    txn: &dyn ReadTxn,
    view: &Resolved,
    then: Vec<Stage>,
) -> CmdResult<Vec<Document>> {
    let mut pipeline = Pipeline::parse(&view.stages)?;
    pipeline.stages.extend(then);
    Snapshot::new(ctx, txn).run(&view.source, pipeline, None, false)
}

/// A `find`'s query as stages after a view's: filter, sort, skip, limit, projection.
pub fn find_stages(query: &Query) -> Vec<Stage> {
    let mut stages = vec![Stage::Match(query.filter.clone())];
    if !query.sort.is_empty() {
        stages.push(Stage::Sort(query.sort.clone()));
    }
    if query.skip > 0 {
        stages.push(Stage::Skip(query.skip));
    }
    if let Some(limit) = query.limit {
        stages.push(Stage::Limit(limit));
    }
    if let Some(p) = &query.projection {
        stages.push(Stage::Project(p.clone()));
    }
    stages
}

/// Checks a view definition: `viewOn` a name in the same database, a pipeline that
/// parses and writes nothing, no other option; and that it would not stand on itself.
pub fn check_definition(
    txn: &dyn ReadTxn,
    db: &str,
    name: &str,
    body: &Document,
) -> CmdResult<Document> {
    let on = match body.get("viewOn") {
        Some(Bson::String(s)) if !s.is_empty() => s.clone(),
        Some(Bson::String(_)) => {
            return Err(CommandError::bad_value("'viewOn' cannot be empty"));
        }
        Some(other) => {
            return Err(CommandError::type_mismatch(format!(
                "'viewOn' must be a string, not {}",
                crate::engine::types::type_name(other)
            )));
        }
        None => {
            return Err(CommandError::bad_value(
                "'pipeline' requires 'viewOn' to also be specified",
            ));
        }
    };
    catalog::validate_collection_name(db, &on)?;
    let pipeline = match body.get("pipeline") {
        None => Vec::new(),
        Some(Bson::Array(stages)) => stages.clone(),
        Some(other) => {
            return Err(CommandError::type_mismatch(format!(
                "'pipeline' must be an array, not {}",
                crate::engine::types::type_name(other)
            )));
        }
    };
    let parsed = Pipeline::parse(&pipeline)?;
    if parsed
        .stages
        .iter()
        .any(|s| matches!(s, Stage::Out(_) | Stage::Merge(_)))
    {
        return Err(CommandError::new(
            ErrorCode::OptionNotSupportedOnView,
            "$out and $merge cannot be used in a view definition",
        ));
    }
    // Following `viewOn` must not come back to this view.
    let mut next = on.clone();
    for _ in 0..=MAX_DEPTH {
        if next == name {
            return Err(CommandError::new(
                ErrorCode::GraphContainsCycle,
                format!("View cycle detected: {db}.{name} would read itself"),
            ));
        }
        match catalog::get(txn, db, &next)?.and_then(|m| m.view().map(|(on, _)| on.to_string())) {
            Some(below) => next = below,
            None => break,
        }
    }
    Ok(doc! {"viewOn": on, "pipeline": pipeline})
}
