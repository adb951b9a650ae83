//! `profile`: reads and sets the database profiler (`crate::profiler`).
//!
//! ```text
//! request  {profile: -1 | 0 | 1 | 2, slowms?, sampleRate?, filter?}
//! reply    {was: <level before>, slowms, sampleRate, filter?, note?, ok: 1}
//! ```
//!
//! `-1` only reads. The reply reports the settings as they were before the command, as
//! mongod's does. `filter: "unset"` removes a filter; with a filter set, entries are the
//! operations it matches and `slowms`/`sampleRate` are not consulted (the `note` says so).

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use crate::engine::arith;
use crate::engine::matcher::Filter;
use crate::error::{CmdResult, CommandError};
use crate::profiler::Level;

const FILTER_NOTE: &str = "When a filter expression is set, slowms and sampleRate are not used for profiling and slow-query log lines.";

pub fn run(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let level = match ctx.body.get("profile").and_then(arith::to_i64_exact) {
        Some(n @ -1..=2) => n as i32,
        _ => {
            return Err(CommandError::bad_value(format!(
                "Invalid profiling level: {}",
                ctx.body.get("profile").cloned().unwrap_or(Bson::Null)
            )));
        }
    };
    let slow_ms = match ctx.body.get("slowms") {
        None => None,
        Some(v) => Some(arith::to_i64_exact(v).ok_or_else(|| f.wrong_type("slowms", v, "int"))?),
    };
    let sample_rate = match ctx.body.get("sampleRate") {
        None => None,
        Some(v) => match arith::to_f64(v) {
            Some(r) if (0.0..=1.0).contains(&r) => Some(r),
            Some(_) => {
                return Err(CommandError::bad_value(
                    "'sampleRate' must be between 0.0 and 1.0 inclusive",
                ));
            }
            None => return Err(f.wrong_type("sampleRate", v, "double")),
        },
    };
    let current = ctx.state.profiler.level(ctx.db);
    let filter = match ctx.body.get("filter") {
        None => current.filter.clone(),
        Some(Bson::String(s)) if s == "unset" => None,
        Some(Bson::Document(d)) => Some((d.clone(), Filter::parse(d)?)),
        Some(other) => return Err(f.wrong_type("filter", other, "object or \"unset\"")),
    };
    let new_level = (level >= 0).then_some(Level { level, filter });
    let previous = ctx
        .state
        .profiler
        .set(ctx.db, new_level, slow_ms, sample_rate);
    let mut reply = doc! {
        "was": previous.level.level,
        "slowms": previous.slow_ms,
        "sampleRate": previous.sample_rate,
    };
    if let Some((shown, _)) = previous.level.filter {
        reply.insert("filter", shown);
        reply.insert("note", FILTER_NOTE);
    }
    Ok(reply)
}
