//! What runs on the server now: the `$currentOp` and `$listLocalSessions` stages (the
//! first stage of an `{aggregate: 1}`), and the `currentOp` command that mongosh's
//! `db.currentOp()` sends.
//!
//! ```text
//! {aggregate: 1, pipeline: [{$currentOp: {idleCursors?, allUsers?, ...}}, ...], $db: "admin"}
//!   -> one document per running command ({type: "op", opid, connectionId, client,
//!      appName, active, secs_running, microsecs_running, op, ns, command, lsid?}) and,
//!      with idleCursors, one per open cursor ({type: "idleCursor", cursor: {...}})
//! {currentOp: 1, $all?, <filter fields>...}      -> {inprog: [...the same documents...]}
//! {aggregate: 1, pipeline: [{$listLocalSessions: {} | {allUsers: true}}, ...]}
//!   -> {_id: <lsid>, lastUse: <date>} per session the server caches
//! ```
//!
//! There are no users, so `allUsers` and `users` change nothing.

use bson::{Bson, DateTime, Document, doc};

use super::Ctx;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError, ErrorCode};

fn host(ctx: &Ctx<'_>) -> String {
    format!("odm-server:{}", ctx.state.addr.port())
}

/// The documents `$currentOp` starts its pipeline with.
pub fn current_op(ctx: &Ctx<'_>, options: &Document) -> CmdResult<Vec<Document>> {
    if ctx.db != "admin" {
        return Err(CommandError::new(
            ErrorCode::InvalidNamespace,
            "$currentOp must be run against the 'admin' database with {aggregate: 1}",
        ));
    }
    let host = host(ctx);
    let mut out: Vec<Document> = ctx
        .state
        .operations
        .running()
        .iter()
        .map(|r| r.report(&host))
        .collect();
    if options.get_bool("idleCursors").unwrap_or(false) {
        for c in ctx.state.cursors.describe() {
            out.push(doc! {"type": "idleCursor", "host": &host, "cursor": c});
        }
    }
    Ok(out)
}

/// The documents `$listLocalSessions` starts its pipeline with.
pub fn list_local_sessions(ctx: &Ctx<'_>) -> Vec<Document> {
    ctx.state
        .sessions
        .all()
        .iter()
        .map(|s| doc! {"_id": s.lsid.clone(), "lastUse": s.last_use()})
        .collect()
}

/// `currentOp`: the same documents, filtered by the command's other fields as a query
/// (`{currentOp: 1, op: "query"}`); `$all` also lists idle cursors.
pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let mut filter = Document::new();
    let mut all = false;
    for (k, v) in ctx.body.iter().skip(1) {
        match k.as_str() {
            "$all" => all = matches!(v, Bson::Boolean(true)),
            "$ownOps" | "$truncateOps" | "comment" | "maxTimeMS" => {}
            k if k.starts_with('$') && !k.starts_with("$and") && !k.starts_with("$or") => {}
            _ => {
                filter.insert(k.clone(), v.clone());
            }
        }
    }
    let filter = Filter::parse(&filter)?;
    let inprog: Vec<Document> = current_op(ctx, &doc! {"idleCursors": all})?
        .into_iter()
        .filter(|d| filter.matches(d))
        .collect();
    Ok(doc! {"inprog": inprog})
}

/// A date `elapsed` before now.
pub fn before_now(elapsed: std::time::Duration) -> DateTime {
    DateTime::from_millis(
        DateTime::now()
            .timestamp_millis()
            .saturating_sub(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
    )
}
