//! The options of `create` that make a time-series or a clustered collection, checked as
//! mongod checks them, and what they ask of inserts.
//!
//! A time-series collection (`timeseries: {timeField, metaField?, granularity? |
//! bucketMaxSpanSeconds + bucketRoundingSeconds}`) keeps its measurements as plain
//! documents here: clients read, query and aggregate them as mongod shows them (one
//! document per measurement), `listCollections` reports `type: "timeseries"` with the
//! options mongod stores, every insert needs a date in `timeField`, and
//! `expireAfterSeconds` expires measurements by that date (`ttl`). mongod packs them into
//! buckets in `system.buckets.<name>`, which does not exist here.
//!
//! A clustered collection (`clusteredIndex: {key: {_id: 1}, unique: true}`) is what every
//! collection here is (documents keyed by `_id`); the option is kept for
//! `listCollections`, and `expireAfterSeconds` expires documents by their `_id` date.

use bson::{Bson, Document, doc};

use super::fields::Fields;
use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// Default bucket spans by granularity (seconds), as mongod's.
const GRANULARITIES: &[(&str, i64)] =
    &[("seconds", 3600), ("minutes", 86_400), ("hours", 2_592_000)];

fn invalid(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::InvalidOptions, message)
}

/// The `timeseries`, `clusteredIndex` and `expireAfterSeconds` options of `create`, as
/// stored (`None` for an ordinary collection).
pub fn parse(f: &Fields<'_>, capped: bool) -> CmdResult<Document> {
    let mut options = Document::new();
    if let Some(ts) = f.doc.get("timeseries") {
        let Bson::Document(ts) = ts else {
            return Err(f.wrong_type("timeseries", ts, "object"));
        };
        if capped {
            return Err(invalid("A time-series collection cannot be capped"));
        }
        options.insert("timeseries", timeseries(ts)?);
    }
    if let Some(ci) = f.doc.get("clusteredIndex") {
        if options.contains_key("timeseries") {
            return Err(invalid(
                "A time-series collection is clustered by the server: 'clusteredIndex' is not allowed",
            ));
        }
        options.insert("clusteredIndex", clustered(f, ci)?);
    }
    if let Some(ttl) = f.doc.get("expireAfterSeconds") {
        if options.is_empty() {
            return Err(invalid(
                "'expireAfterSeconds' is only supported on time-series collections or when the 'clusteredIndex' option is specified",
            ));
        }
        match arith::to_i64_exact(ttl) {
            Some(n) if n >= 0 => {
                options.insert("expireAfterSeconds", n);
            }
            Some(_) => {
                return Err(invalid(
                    "'expireAfterSeconds' must be a non-negative number",
                ));
            }
            None => return Err(f.wrong_type("expireAfterSeconds", ttl, "long")),
        }
    }
    Ok(options)
}

fn field_name(ts: &Fields<'_>, key: &str) -> CmdResult<Option<String>> {
    let Some(name) = ts.string(key)? else {
        return Ok(None);
    };
    if name.is_empty() || name.starts_with('$') || name.contains('.') {
        return Err(invalid(format!(
            "The '{key}' field must be a top-level field name: not empty, no '$' prefix and no '.'"
        )));
    }
    Ok(Some(name.to_owned()))
}

fn timeseries(spec: &Document) -> CmdResult<Document> {
    let ts = Fields {
        command: "create.timeseries",
        doc: spec,
    };
    for key in spec.keys() {
        if !matches!(
            key.as_str(),
            "timeField"
                | "metaField"
                | "granularity"
                | "bucketMaxSpanSeconds"
                | "bucketRoundingSeconds"
        ) {
            return Err(CommandError::new(
                ErrorCode::Location(40415),
                format!("BSON field 'create.timeseries.{key}' is an unknown field."),
            ));
        }
    }
    let time_field = field_name(&ts, "timeField")?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::Location(40414),
            "BSON field 'create.timeseries.timeField' is missing but a required field",
        )
    })?;
    let meta_field = field_name(&ts, "metaField")?;
    if meta_field.as_deref() == Some(time_field.as_str()) {
        return Err(invalid(
            "The 'metaField' cannot be the same as the 'timeField'",
        ));
    }
    if meta_field.as_deref() == Some("_id") {
        return Err(invalid("The 'metaField' cannot be '_id'"));
    }
    let number = |key: &str| -> CmdResult<Option<i64>> {
        match spec.get(key) {
            None => Ok(None),
            Some(v) => arith::to_i64_exact(v)
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| invalid(format!("Timeseries '{key}' must be a positive integer"))),
        }
    };
    let span = number("bucketMaxSpanSeconds")?;
    let rounding = number("bucketRoundingSeconds")?;
    let mut out = doc! {"timeField": time_field};
    if let Some(m) = meta_field {
        out.insert("metaField", m);
    }
    match (ts.string("granularity")?, span, rounding) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(invalid(
                "Timeseries 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' cannot be set with 'granularity'",
            ));
        }
        (None, Some(s), Some(r)) => {
            if s != r {
                return Err(invalid(
                    "Timeseries 'bucketMaxSpanSeconds' needs to be equal to 'bucketRoundingSeconds'",
                ));
            }
            out.insert("bucketRoundingSeconds", r);
            out.insert("bucketMaxSpanSeconds", s);
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(invalid(
                "Timeseries 'bucketMaxSpanSeconds' and 'bucketRoundingSeconds' need to be set alongside each other",
            ));
        }
        (granularity, None, None) => {
            let name = granularity.unwrap_or("seconds");
            let Some((_, span)) = GRANULARITIES.iter().find(|(g, _)| *g == name) else {
                return Err(CommandError::bad_value(format!(
                    "Enumeration value '{name}' for field 'create.timeseries.granularity' is not a valid value."
                )));
            };
            out.insert("granularity", name);
            out.insert("bucketMaxSpanSeconds", *span);
        }
    }
    Ok(out)
}

fn clustered(f: &Fields<'_>, spec: &Bson) -> CmdResult<Document> {
    let Bson::Document(spec) = spec else {
        return Err(f.wrong_type("clusteredIndex", spec, "object"));
    };
    if spec.get_document("key").ok() != Some(&doc! {"_id": 1}) {
        return Err(invalid(
            "The clusteredIndex 'key' must be {_id: 1}: collections are clustered by _id",
        ));
    }
    if spec.get_bool("unique").ok() != Some(true) {
        return Err(invalid("The clusteredIndex option requires 'unique: true'"));
    }
    let mut out = doc! {"v": 2, "key": {"_id": 1}, "name": "_id_", "unique": true};
    if let Ok(name) = spec.get_str("name") {
        out.insert("name", name);
    }
    Ok(out)
}
