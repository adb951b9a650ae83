//! `mapReduce`: refused, as a mongod without its JavaScript engine refuses it.
//!
//! ```text
//! request  {mapReduce: "coll", map: <js>, reduce: <js>, out, ...}
//! reply    {ok: 0, code: 31264, errmsg: "Cannot run server-side javascript ..."}
//! ```
//!
//! Its map and reduce functions are JavaScript, which this server has no engine for
//! (like `$where`, `$function` and `$accumulator`); an aggregation pipeline does the same
//! work (`docs/compatibility.md`).

use bson::Document;

use super::Ctx;
use super::fields::Fields;
use crate::error::CmdResult;

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    Fields::new(ctx.body).collection()?;
    Err(crate::engine::agg::expr::no_javascript())
}
