//! `$geoNear`: the documents nearest a point, with their distance, as a pipeline's first
//! stage.
//!
//! ```text
//! {$geoNear: {near: <GeoJSON point | [x, y]>, distanceField?: "dist", spherical?: false,
//!             key?: "loc", query?: {..}, minDistance?, maxDistance?,
//!             distanceMultiplier?: 1, includeLocs?: "loc"}}
//! ```
//!
//! It is a `$near` (`$nearSphere` when `spherical` or `near` is GeoJSON) on the `key`
//! field, or the collection's one geo index, with `query` as the rest of the filter; the
//! command runs it through the index (`exec::near`) and this stage's output fields are
//! then set on each result.

use bson::{Bson, Document, doc};

use super::metadata;
use crate::engine::geo::{self, GeoCond, Near};
use crate::engine::matcher::{Cond, Filter};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::catalog::CollectionMeta;
use crate::storage::geo::GeoKind;

/// A parsed `$geoNear` stage.
#[derive(Clone, Debug)]
pub struct GeoNear {
    near: Bson,
    spherical: bool,
    key: Option<String>,
    query: Document,
    distance_field: Option<String>,
    include_locs: Option<String>,
    multiplier: f64,
    min: Option<Bson>,
    max: Option<Bson>,
}

fn err(code: i32, msg: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::Location(code), msg)
}

fn number(name: &str, v: &Bson) -> CmdResult<f64> {
    crate::engine::arith::to_f64(v)
        .ok_or_else(|| CommandError::type_mismatch(format!("{name} must be a number")))
}

impl GeoNear {
    pub fn parse(arg: &Bson) -> CmdResult<GeoNear> {
        let Bson::Document(spec) = arg else {
            return Err(err(10065, "$geoNear requires an object as its argument"));
        };
        let mut stage = GeoNear {
            near: Bson::Null,
            spherical: false,
            key: None,
            query: Document::new(),
            distance_field: None,
            include_locs: None,
            multiplier: 1.0,
            min: None,
            max: None,
        };
        for (k, v) in spec {
            match k.as_str() {
                "near" => match v {
                    Bson::Document(_) | Bson::Array(_) => stage.near = v.clone(),
                    _ => {
                        return Err(err(
                            5860402,
                            "$geoNear requires near argument to be a GeoJSON object or a legacy point(array)",
                        ));
                    }
                },
                "distanceField" => match v {
                    Bson::String(s) => stage.distance_field = Some(s.clone()),
                    _ => {
                        return Err(err(
                            16606,
                            "$geoNear requires that the 'distanceField' option is a String",
                        ));
                    }
                },
                "includeLocs" => match v {
                    Bson::String(s) => stage.include_locs = Some(s.clone()),
                    _ => {
                        return Err(err(
                            16607,
                            "$geoNear requires that 'includeLocs' option is a String",
                        ));
                    }
                },
                "spherical" => stage.spherical = crate::engine::agg::expr::truthy(Some(v)),
                "key" => match v {
                    Bson::String(s) if s.is_empty() => {
                        return Err(CommandError::bad_value(
                            "$geoNear parameter 'key' cannot be the empty string",
                        ));
                    }
                    Bson::String(s) => stage.key = Some(s.clone()),
                    _ => {
                        return Err(CommandError::type_mismatch(
                            "$geoNear requires a 'key' option as a String",
                        ));
                    }
                },
                "query" => match v {
                    Bson::Document(q) => stage.query = q.clone(),
                    _ => return Err(CommandError::type_mismatch("query must be an object")),
                },
                "distanceMultiplier" => {
                    let m = number("distanceMultiplier", v)?;
                    if m < 0.0 {
                        return Err(CommandError::bad_value(
                            "distanceMultiplier must be nonnegative",
                        ));
                    }
                    stage.multiplier = m;
                }
                "minDistance" | "maxDistance" => {
                    if number(k, v)? < 0.0 {
                        return Err(CommandError::bad_value(format!("{k} must be nonnegative")));
                    }
                    if k == "minDistance" {
                        stage.min = Some(v.clone());
                    } else {
                        stage.max = Some(v.clone());
                    }
                }
                "collation" => {
                    return Err(err(
                        40227,
                        "$geoNear does not accept the collation option; use the command's",
                    ));
                }
                "limit" => {
                    return Err(err(
                        50858,
                        "$geoNear no longer supports the 'limit' parameter. Use a $limit stage instead.",
                    ));
                }
                "num" => {
                    return Err(err(
                        50857,
                        "$geoNear no longer supports the 'num' parameter. Use a $limit stage instead.",
                    ));
                }
                "start" => {
                    return Err(err(
                        50856,
                        "$geoNear no longer supports the 'start' parameter.",
                    ));
                }
                other => {
                    return Err(CommandError::bad_value(format!(
                        "Unknown argument to $geoNear: {other}"
                    )));
                }
            }
        }
        if stage.near == Bson::Null {
            return Err(err(5860400, "$geoNear requires a 'near' argument"));
        }
        if stage.distance_field.is_none() {
            return Err(err(
                16606,
                "$geoNear requires a 'distanceField' option as a String",
            ));
        }
        // The query is checked now, as mongod does at parse time.
        Filter::parse(&stage.query)?;
        Ok(stage)
    }

    /// The `$near` condition the stage runs.
    fn near(&self) -> CmdResult<Near> {
        let geojson = matches!(&self.near, Bson::Document(d) if d.contains_key("type"));
        let op = if self.spherical || geojson {
            "$nearSphere"
        } else {
            "$near"
        };
        let mut ops = doc! {op: self.near.clone()};
        if let Some(m) = &self.min {
            ops.insert("$minDistance", m.clone());
        }
        if let Some(m) = &self.max {
            ops.insert("$maxDistance", m.clone());
        }
        match geo::parse(&ops)? {
            GeoCond::Near(n) => Ok(*n),
            _ => unreachable!("a $near operator"),
        }
    }

    /// The field searched: `key`, or the collection's one geo index (a `2d` one first).
    fn key(&self, meta: &CollectionMeta) -> CmdResult<String> {
        if let Some(k) = &self.key {
            return Ok(k.clone());
        }
        let ns = meta.ns();
        let of_kind = |flat: bool| -> Vec<&str> {
            meta.indexes
                .iter()
                .filter_map(|i| i.geo.as_ref())
                .filter(|g| matches!(g.kind, GeoKind::Flat(_)) == flat)
                .flat_map(|g| g.fields.iter().map(String::as_str))
                .collect()
        };
        let not_found = |msg: String| CommandError::new(ErrorCode::IndexNotFound, msg);
        match (of_kind(true).as_slice(), of_kind(false).as_slice()) {
            ([one], _) => Ok((*one).to_owned()),
            ([_, _, ..], _) => Err(not_found(format!(
                "There is more than one 2d index on {ns}; unsure which to use for $geoNear"
            ))),
            ([], [one]) => Ok((*one).to_owned()),
            ([], []) => Err(not_found(
                "$geoNear requires a 2d or 2dsphere index, but none were found".into(),
            )),
            ([], _) => Err(not_found(format!(
                "There is more than one 2dsphere index on {ns}; unsure which to use for $geoNear"
            ))),
        }
    }

    /// The filter the stage's query runs with: its `query` and the `$near`.
    pub fn filter(&self, meta: &CollectionMeta) -> CmdResult<(Filter, String, Near)> {
        let key = self.key(meta)?;
        let near = self.near()?;
        let filter = Filter::And(vec![
            Filter::parse(&self.query)?,
            Filter::Field {
                path: key.clone(),
                cond: Cond::Geo(Box::new(GeoCond::Near(Box::new(near.clone())))),
            },
        ]);
        Ok((filter, key, near))
    }

    /// Sets the output fields on a result: its distance (times the multiplier) and the
    /// location it was measured to, also as the document's metadata.
    pub fn annotate(&self, doc: &mut Document, key: &str, near: &Near) -> CmdResult<()> {
        let Some((distance, location)) = near.nearest(doc, key) else {
            return Ok(());
        };
        let set = |doc: &mut Document, path: &str, value: Bson| {
            crate::engine::path::set_path(doc, path, value).map_err(|e| {
                CommandError::bad_value(format!("$geoNear cannot set '{path}': {e:?}"))
            })
        };
        let distance = Bson::Double(distance * self.multiplier);
        if let Some(field) = &self.distance_field {
            set(doc, field, distance.clone())?;
        }
        if let Some(field) = &self.include_locs {
            set(doc, field, location.clone())?;
        }
        // What `{$meta: "geoNearDistance"}` and `"geoNearPoint"` read in later stages.
        metadata::set(doc, "geoNearDistance", distance);
        metadata::set(doc, "geoNearPoint", location);
        Ok(())
    }
}
