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
use crate::session::{SESSION_TIMEOUT_MINUTES, Session};

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
    let ended = ctx.state.sessions.end(ids);
    ctx.state.abort_transactions_of(&ended);
    Ok(doc! {})
}

/// Ends sessions: their transactions are aborted and their cursors killed.
fn end(ctx: &Ctx<'_>, sessions: Vec<std::sync::Arc<Session>>) {
    let ids: Vec<Bson> = sessions.iter().map(|s| s.lsid.clone()).collect();
    ctx.state.cursors.kill_sessions(&ids);
    ctx.state.abort_transactions_of(&sessions);
}

pub fn refresh_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    for id in session_list(ctx, "refreshSessions")? {
        ctx.state.sessions.get(id);
    }
    Ok(doc! {})
}

pub fn kill_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let ids = session_list(ctx, "killSessions")?;
    if ids.is_empty() {
        end(ctx, ctx.state.sessions.end_all());
    } else {
        ctx.state.cursors.kill_sessions(ids);
        let ended = ctx.state.sessions.end(ids);
        ctx.state.abort_transactions_of(&ended);
    }
    Ok(doc! {})
}

pub fn kill_all_sessions(ctx: &Ctx<'_>) -> CmdResult<Document> {
    if !matches!(ctx.body.get("killAllSessions"), Some(Bson::Array(_))) {
        return Err(CommandError::type_mismatch(
            "killAllSessions expects an array of users",
        ));
    }
    end(ctx, ctx.state.sessions.end_all());
    Ok(doc! {})
}
