//! What time-series and clustered collections ask of the storage layer: the date field
//! `expireAfterSeconds` expires documents by, and the date every measurement of a
//! time-series collection must hold (`cmd::collection_kinds` parses their options).

use super::catalog::CollectionMeta;
use crate::engine::arith;
use crate::error::{CmdResult, CommandError};

impl CollectionMeta {
    /// A time-series collection's `timeField`.
    pub fn time_field(&self) -> Option<&str> {
        self.options
            .get_document("timeseries")
            .ok()?
            .get_str("timeField")
            .ok()
    }

    /// The date field `expireAfterSeconds` (a collection option) expires documents by,
    /// with the seconds: a time-series collection's `timeField`, a clustered one's `_id`.
    pub fn expiry(&self) -> Option<(&str, i64)> {
        let seconds = arith::to_i64_exact(self.options.get("expireAfterSeconds")?)?;
        let field = match self.time_field() {
            Some(f) => f,
            None if self.options.contains_key("clusteredIndex") => "_id",
            None => return None,
        };
        Some((field, seconds))
    }
}

/// What an insert into a time-series collection must hold: a date in `timeField`.
pub fn check_measurement(meta: &CollectionMeta, doc: &bson::RawDocument) -> CmdResult<()> {
    let Some(field) = meta.time_field() else {
        return Ok(());
    };
    match doc.get(field) {
        Ok(Some(bson::RawBsonRef::DateTime(_))) => Ok(()),
        _ => Err(CommandError::bad_value(format!(
            "'{field}' must be present and contain a valid BSON UTC datetime value"
        ))),
    }
}
