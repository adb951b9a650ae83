//! Write concerns (`writeConcern: {w, j, wtimeout, fsync}`) on a standalone server.
//!
//! `j: true`, `fsync: true` and `w: "majority"` (which implies journaling) make the write
//! durable before the reply, and `j: false` lets it be acknowledged once visible (the
//! journal flusher persists it within the commit interval). A write concern that does not
//! say follows the server's [`Journal`](crate::config::Journal) setting: on disk before
//! the reply by default, because an embedded server dies with its process. `w` above 1
//! cannot be satisfied without replicas and is refused, as mongod refuses it.

use bson::Bson;

use super::fields::Fields;
use crate::engine::arith;
use crate::error::{CmdResult, CommandError};

/// What a write must wait for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteConcern {
    /// On disk before the reply (`Some(true)`), not necessarily (`Some(false)`), or as the
    /// server's `Journal` setting says (`None`).
    pub journal: Option<bool>,
}

impl WriteConcern {
    pub fn parse(fields: &Fields<'_>) -> CmdResult<WriteConcern> {
        let Some(wc) = fields.document("writeConcern")? else {
            return Ok(WriteConcern::default());
        };
        let mut journal = None;
        for (k, v) in wc {
            match k.as_str() {
                "j" | "fsync" => {
                    let asked = crate::engine::agg::expr::truthy(Some(v));
                    journal = Some(journal.unwrap_or(false) || asked);
                }
                "w" => match v {
                    Bson::String(s) if s == "majority" => journal = Some(true),
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
        assert_eq!(parse(doc! {"w": 1}).unwrap().journal, None);
        assert_eq!(
            parse(doc! {"w": 1, "j": false}).unwrap().journal,
            Some(false)
        );
        assert_eq!(parse(doc! {"w": 1, "j": true}).unwrap().journal, Some(true));
        assert_eq!(parse(doc! {"w": "majority"}).unwrap().journal, Some(true));
        assert_eq!(
            parse(doc! {"w": "majority", "j": false}).unwrap().journal,
            Some(true)
        );
        assert!(parse(doc! {"w": 2}).is_err());
    }
}
