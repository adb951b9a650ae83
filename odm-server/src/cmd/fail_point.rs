//! `configureFailPoint`: see [`crate::failpoint`] for what a fail point does.
//!
//! ```text
//! request  {configureFailPoint: "failCommand" | "hangWithLockDuringBatchInsert", mode, data?}
//!          (admin database)
//! reply    {count: Long, ok: 1}
//! request  {waitForFailPoint: "hangWithLockDuringBatchInsert", timesEntered: Long,
//!           maxTimeMS: n}   (admin database)
//! reply    {ok: 1}
//! ```
//!
//! Without test commands enabled (`--enable-test-commands`; on for `Db::memory()`)
//! the command does not exist, as in mongod.

use bson::Document;

use super::Ctx;
use super::fields::Fields;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// `CommandNotFound` unless test commands are enabled.
fn test_commands_enabled(ctx: &Ctx<'_>, name: &str) -> CmdResult<()> {
    if ctx.state.config.enable_test_commands {
        return Ok(());
    }
    Err(CommandError::new(
        ErrorCode::CommandNotFound,
        format!(
            "no such command: '{name}' (start the server with --enable-test-commands to use fail points)"
        ),
    ))
}

pub fn configure(ctx: &Ctx<'_>) -> CmdResult<Document> {
    test_commands_enabled(ctx, "configureFailPoint")?;
    ctx.state.fail_points.configure(ctx.body)
}

/// Parses `waitForFailPoint` (`maxTimeMS` is required, as in mongod).
fn parse_wait(f: &Fields<'_>) -> CmdResult<(String, u64)> {
    let name = f
        .string("waitForFailPoint")?
        .ok_or_else(|| f.missing("waitForFailPoint"))?;
    let times = f
        .non_negative("timesEntered")?
        .ok_or_else(|| f.missing("timesEntered"))?;
    if f.integer("maxTimeMS")?.is_none() {
        return Err(f.missing("maxTimeMS"));
    }
    Ok((name.to_owned(), times))
}

pub fn wait_for(ctx: &Ctx<'_>) -> CmdResult<Document> {
    test_commands_enabled(ctx, "waitForFailPoint")?;
    let (name, times) = parse_wait(&Fields::new(ctx.body))?;
    ctx.state.fail_points.wait_for(&name, times, ctx.deadline)?;
    Ok(Document::new())
}
