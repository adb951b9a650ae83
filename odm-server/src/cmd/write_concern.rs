//! Write concerns (`writeConcern: {w, j, wtimeout, fsync}`) on a standalone server.
//!
//! `j: true`, `fsync: true` and `w: "majority"` (which implies journaling) make the write
//! durable before the reply; plain `w: 1` acknowledges once the write is visible and the
//! journal flusher persists it within the commit interval, as mongod does. `w` above 1
//! cannot be satisfied without replicas and is refused, as mongod refuses it.

use bson::Bson;

use super::fields::Fields;
use crate::engine::arith;
use crate::error::{CmdResult, CommandError};

/// What a write must wait for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteConcern {
    /// On disk before the reply.
    pub journal: bool,
}

impl WriteConcern {
    pub fn parse(fields: &Fields<'_>) -> CmdResult<WriteConcern> {
        let Some(wc) = fields.document("writeConcern")? else {
            return Ok(WriteConcern::default());
        };
        let mut journal = false;
        for (k, v) in wc {
            match k.as_str() {
                "j" | "fsync" => journal |= crate::engine::agg::expr::truthy(Some(v)),
                "w" => match v {
                    Bson::String(s) if s == "majority" => journal = true,
                    Bson::String(tag) => {
                        return Err(CommandError::new(
                            crate::error::ErrorCode::Location(79),
                            format!(
                                "No write concern mode named '{tag}' found in replica set configuration"
                            ),
                        ));
                    }
                    n if arith::is_number(n) => match arith::to_i64_exact(n) {
                        Some(0 | 1) => {}
                        Some(w) if w > 1 => {
                            return Err(CommandError::bad_value(format!(
                                "cannot use 'w' > 1 when a host is not replicated (w: {w})"
                            )));
                        }
                        _ => {
                            return Err(CommandError::failed_to_parse(format!(
                                "w has to be a non-negative number, not {n}"
                            )));
                        }
                    },
                    other => {
                        return Err(CommandError::failed_to_parse(format!(
                            "w has to be a number or a string, not {other}"
                        )));
                    }
                },
                "wtimeout" | "wtimeoutMS" | "provenance" => {}
                other => {
                    return Err(CommandError::failed_to_parse(format!(
                        "unrecognized write concern field: {other}"
                    )));
                }
            }
        }
        Ok(WriteConcern { journal })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn parse(wc: bson::Document) -> CmdResult<WriteConcern> {
        let d = doc! {"insert": "c", "writeConcern": wc};
        WriteConcern::parse(&Fields::new(&d))
    }

    #[test]
    fn journal_when_asked() {
        assert!(!parse(doc! {"w": 1}).unwrap().journal);
        assert!(parse(doc! {"w": 1, "j": true}).unwrap().journal);
        assert!(parse(doc! {"w": "majority"}).unwrap().journal);
        assert!(parse(doc! {"w": 2}).is_err());
    }
}
