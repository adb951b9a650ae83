//! Logical sessions: `startSession`, `endSessions`, `refreshSessions`, `killSessions`,
//! `killAllSessions`.
//!
//! ```text
//! {startSession: 1}                  -> {id: {id: UUID}, timeoutMinutes: 30}
//! {endSessions: [lsid, ...]}         -> {}   (their cursors are killed)
//! {refreshSessions: [lsid, ...]}     -> {}
//! {killSessions: [lsid, ...] | []}   -> {}   ([] kills every session)
//! {killAllSessions: [users...]}      -> {}
//! ```

use bson::{Bson, Document, doc};

use super::Ctx;
use crate::error::{CmdResult, CommandError};
use crate::session::SESSION_TIMEOUT_MINUTES;

fn session_list<'a>(ctx: &'a Ctx<'_>, name: &str) -> CmdResult<&'a Vec<Bson>> {
    match ctx.body.get(name) {
        Some(Bson::Array(items)) => {
            if let Some(bad) = items.iter().find(|i| !matches!(i, Bson::Document(_))) {
                return Err(CommandError::type_mismatch(format!(
                    "{name} expects session ids as objects, got {bad}"
                )));
            }
            Ok(items)
        }
        _ => Err(CommandError::type_mismatch(format!(
            "{name} expects an array of session ids"
        ))),
    }
}

pub fn start_session(ctx: &Ctx<'_>) -> CmdResult<Document> {
    Ok(doc! {"id": ctx.state.sessions.start(), "timeoutMinutes": SESSION_TIMEOUT_MINUTES})
}

pub fn end_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let ids = session_list(ctx, "endSessions")?;
    ctx.state.cursors.kill_sessions(ids);
    ctx.state.sessions.end(ids);
    Ok(doc! {})
}

pub fn refresh_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    for id in session_list(ctx, "refreshSessions")? {
        ctx.state.sessions.touch(id);
    }
    Ok(doc! {})
}

pub fn kill_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let ids = session_list(ctx, "killSessions")?;
    if ids.is_empty() {
        let all = ctx.state.sessions.end_all();
        ctx.state.cursors.kill_sessions(&all);
    } else {
        ctx.state.cursors.kill_sessions(ids);
        ctx.state.sessions.end(ids);
    }
    Ok(doc! {})
}

pub fn kill_all_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    if !matches!(ctx.body.get("killAllSessions"), Some(Bson::Array(_))) {
        return Err(CommandError::type_mismatch(
            "killAllSessions expects an array of users",
        ));
    }
    let all = ctx.state.sessions.end_all();
    ctx.state.cursors.kill_sessions(&all);
    Ok(doc! {})
}
