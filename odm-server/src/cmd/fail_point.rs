//! `configureFailPoint`: see [`crate::failpoint`] for what a fail point does.
//!
//! ```text
//! request  {configureFailPoint: "failCommand", mode, data}   (admin database)
//! reply    {count: Long, ok: 1}
//! ```
//!
//! Without test commands enabled (`--enable-test-commands`; on for `Db::memory()`)
//! the command does not exist, as in mongod.

use bson::Document;

use super::Ctx;
use crate::error::{CmdResult, CommandError, ErrorCode};

pub fn configure(ctx: &Ctx<'_>) -> CmdResult<Document> {
    if !ctx.state.config.enable_test_commands {
        return Err(CommandError::new(
            ErrorCode::CommandNotFound,
            "no such command: 'configureFailPoint' (start the server with --enable-test-commands to use fail points)",
        ));
    }
    ctx.state.fail_points.configure(ctx.body)
}
