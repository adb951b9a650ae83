//! `replSetGetStatus`, `replSetGetConfig`, `replSetInitiate`: the one-member replica
//! set as tools and init scripts expect to see it.
//!
//! ```text
//! {replSetGetStatus: 1} -> {set, date, myState: 1, term, optimes, members: [{_id: 0,
//!                           name, health: 1, state: 1, stateStr: "PRIMARY", self: true, ...}]}
//! {replSetGetConfig: 1} -> {config: {_id, version, term, members: [{_id: 0, host, ...}], settings}}
//! {replSetInitiate: ...} -> AlreadyInitialized (23): the set is initiated at start
//! ```
//!
//! On a standalone server they answer `NoReplicationEnabled` (76), as mongod does.

use bson::{DateTime, Document, doc};

use super::Ctx;
use crate::error::{CmdResult, CommandError, ErrorCode};

fn set_name<'a>(ctx: &'a Ctx<'_>) -> CmdResult<&'a str> {
    ctx.state.repl.topology.set_name.as_deref().ok_or_else(|| {
        CommandError::new(
            ErrorCode::Location(76),
            "not running with --replSet (this server was started with --standalone)",
        )
    })
}

fn last_write(ctx: &Ctx<'_>) -> (bson::Timestamp, DateTime) {
    let ts = ctx.state.repl.cluster_time();
    (ts, DateTime::from_millis(i64::from(ts.time) * 1000))
}

pub fn get_status(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let name = set_name(ctx)?;
    let (ts, wall) = last_write(ctx);
    let uptime = ctx.state.started.elapsed().as_secs() as i64;
    Ok(ctx.state.repl.topology.status(name, ts, wall, uptime))
}

pub fn get_config(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let name = set_name(ctx)?;
    Ok(doc! {"config": ctx.state.repl.topology.config(name)})
}

pub fn initiate(ctx: &Ctx<'_>) -> CmdResult<Document> {
    set_name(ctx)?;
    Err(CommandError::new(
        ErrorCode::AlreadyInitialized,
        "already initialized",
    ))
}
