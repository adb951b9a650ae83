//! `killCursors`: closes cursors before they are exhausted.
//!
//! ```text
//! request  {killCursors: "coll", cursors: [Int64, ...]}
//! reply    {cursorsKilled: [...], cursorsNotFound: [...], cursorsAlive: [], cursorsUnknown: [], ok: 1}
//! ```

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::error::{CmdResult, CommandError};

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    f.collection()?;
    let items = f.array("cursors")?.ok_or_else(|| f.missing("cursors"))?;
    let ids = items
        .iter()
        .map(|v| match v {
            Bson::Int64(id) => Ok(*id),
            Bson::Int32(id) => Ok(i64::from(*id)),
            other => Err(CommandError::type_mismatch(format!(
                "cursor ids must be Int64, got {other}"
            ))),
        })
        .collect::<CmdResult<Vec<i64>>>()?;
    for (id, owners) in ctx.state.cursors.owners(&ids) {
        ctx.check_cursor_owner(id, &owners)?;
    }
    let (killed, not_found) = ctx.state.cursors.kill(&ids);
    Ok(doc! {
        "cursorsKilled": killed,
        "cursorsNotFound": not_found,
        "cursorsAlive": Vec::<i64>::new(),
        "cursorsUnknown": Vec::<i64>::new(),
    })
}
