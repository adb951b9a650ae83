//! Geospatial queries: `$geoWithin`, `$geoIntersects`, `$near` and `$nearSphere`, parsed
//! into a [`GeoCond`] and matched against stored values.
//!
//! Two geometries meet here, as in mongod. *Spherical* queries (`$geometry`,
//! `$centerSphere`, `$nearSphere`, `$near` from a GeoJSON point) see GeoJSON objects and
//! legacy pairs as points on the earth, with geodesic edges (`sphere`); *flat* queries
//! (`$box`, `$polygon`, `$center`, `$near` from a legacy pair) see legacy pairs as points
//! of a plane (`flat`). Distances are meters from a GeoJSON point, radians from a legacy
//! one on the sphere, and plane units on the plane.
//!
//! Matching a condition never needs an index; an index (`storage::geo`) only narrows the
//! candidates, and `$near` orders them (`exec::near`), so that indexed and unindexed
//! queries answer alike.

pub mod flat;
pub mod shape;
pub mod sphere;

use bson::{Bson, Document};
use s2::point::Point;

use crate::engine::arith::to_f64;
use crate::error::{CmdResult, CommandError, ErrorCode};
use shape::{Geometry, Pair};

/// mongod's radius of the earth, in meters: distances from GeoJSON points use it.
pub const EARTH_RADIUS_METERS: f64 = 6_378_100.0;

/// A region a query names.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A GeoJSON geometry (`$geometry`).
    Sphere(Geometry),
    /// `$centerSphere: [[lng, lat], radians]`.
    Cap { center: Point, radius: f64 },
    /// `$box`, `$polygon`, `$center`.
    Flat(flat::Region),
}

/// Where `$near` measures from.
#[derive(Clone, Debug, PartialEq)]
pub enum Center {
    Sphere(Point),
    Flat(Pair),
}

/// The unit of a `$near` query's distances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Meters,
    Radians,
    Plane,
}

/// `$near` / `$nearSphere`: documents by distance from a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Near {
    pub center: Center,
    /// The legacy pair as given, for a `2d` index (also for `$nearSphere`).
    pub pair: Pair,
    pub unit: Unit,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Near {
    /// The distance of a stored value in the query's unit; `None` when it is no geometry
    /// this query reads.
    pub fn distance(&self, value: &Bson) -> Option<f64> {
        match (&self.center, self.unit) {
            (Center::Flat(c), _) => shape::stored_pair(value).map(|p| flat::distance(*c, p)),
            (Center::Sphere(c), unit) => {
                let g = shape::stored_geometry(value)?;
                let radians = sphere::distance(c, &g);
                Some(if unit == Unit::Meters {
                    radians * EARTH_RADIUS_METERS
                } else {
                    radians
                })
            }
        }
    }

    /// The nearest location `path` holds in `doc` (a value, or an element of an array
    /// of locations) and its distance.
    pub fn nearest(&self, doc: &Document, path: &str) -> Option<(f64, Bson)> {
        let mut best: Option<(f64, Bson)> = None;
        let mut consider = |v: &Bson| {
            if let Some(d) = self.distance(v)
                && best.as_ref().is_none_or(|(b, _)| d < *b)
            {
                best = Some((d, v.clone()));
            }
        };
        crate::engine::path::for_each_value(doc, path, &mut |reached| match reached {
            Some(Bson::Array(items)) if self.distance(&Bson::Array(items.clone())).is_none() => {
                items.iter().for_each(&mut consider)
            }
            Some(v) => consider(v),
            None => {}
        });
        best
    }

    /// Whether a distance lies in `[$minDistance, $maxDistance]`.
    pub fn in_range(&self, d: f64) -> bool {
        self.min.is_none_or(|m| d >= m) && self.max.is_none_or(|m| d <= m)
    }

    /// A distance in the query's unit as radians on the sphere.
    pub fn to_radians(&self, d: f64) -> f64 {
        match self.unit {
            Unit::Meters => d / EARTH_RADIUS_METERS,
            _ => d,
        }
    }
}

/// A geospatial condition on one path.
#[derive(Clone, Debug)]
pub enum GeoCond {
    Within(Shape),
    Intersects(Shape),
    Near(Box<Near>),
}

impl GeoCond {
    /// Whether one value (a GeoJSON object or a legacy pair) satisfies the condition.
    pub fn matches(&self, value: &Bson) -> bool {
        match self {
            GeoCond::Within(Shape::Flat(region)) => {
                shape::stored_pair(value).is_some_and(|p| region.holds(p))
            }
            GeoCond::Within(Shape::Sphere(region)) => {
                shape::stored_geometry(value).is_some_and(|g| sphere::within(&g, region))
            }
            GeoCond::Within(Shape::Cap { center, radius }) => shape::stored_geometry(value)
                .is_some_and(|g| sphere::within_cap(&g, center, *radius)),
            GeoCond::Intersects(Shape::Sphere(other)) => {
                shape::stored_geometry(value).is_some_and(|g| sphere::intersects(&g, other))
            }
            GeoCond::Intersects(Shape::Cap { center, radius }) => shape::stored_geometry(value)
                .is_some_and(|g| sphere::distance(center, &g) <= *radius),
            GeoCond::Intersects(Shape::Flat(_)) => false,
            GeoCond::Near(near) => near.distance(value).is_some_and(|d| near.in_range(d)),
        }
    }

    pub fn near(&self) -> Option<&Near> {
        match self {
            GeoCond::Near(n) => Some(n),
            _ => None,
        }
    }

    /// Whether only a `2d` index can serve it (its shapes are on the plane).
    pub fn is_flat(&self) -> bool {
        match self {
            GeoCond::Within(Shape::Flat(_)) => true,
            GeoCond::Near(n) => matches!(n.center, Center::Flat(_)),
            _ => false,
        }
    }
}

/// The operators that make an operator object a geo condition.
pub const OPERATORS: [&str; 5] = [
    "$geoWithin",
    "$within",
    "$geoIntersects",
    "$near",
    "$nearSphere",
];

fn bad(msg: impl Into<String>) -> CommandError {
    CommandError::bad_value(msg)
}

/// Parses an operator object holding a geo operator (`{$near: .., $maxDistance: ..}`).
pub fn parse(ops: &Document) -> CmdResult<GeoCond> {
    let near = ops
        .iter()
        .find(|(k, _)| matches!(k.as_str(), "$near" | "$nearSphere"));
    if let Some((op, operand)) = near {
        return parse_near(op == "$nearSphere", operand, ops).map(|n| GeoCond::Near(Box::new(n)));
    }
    let mut found = None;
    for (op, operand) in ops {
        match op.as_str() {
            "$geoWithin" | "$within" | "$geoIntersects" if found.is_none() => {
                found = Some((op.as_str(), operand))
            }
            _ => return Err(bad(format!("can't parse extra field: {op}: {operand}"))),
        }
    }
    let (op, operand) = found.expect("called with a geo operator");
    let Bson::Document(spec) = operand else {
        return Err(bad(format!("{op} must be an object")));
    };
    if spec.is_empty() {
        return Err(bad("geo query doesn't have any geometry"));
    }
    if spec.len() > 1 && op != "$geoIntersects" {
        return Err(bad(format!(
            "$geoWithin doesn't accept multiple shapes {spec}"
        )));
    }
    let (kind, value) = spec.iter().next().expect("not empty");
    let shape = parse_shape(kind, value)?;
    if op == "$geoIntersects" {
        if spec.len() > 1 {
            let (extra, v) = spec.iter().nth(1).expect("two fields");
            return Err(bad(format!("can't parse extra field: {extra}: {v}")));
        }
        if matches!(shape, Shape::Flat(_)) {
            return Err(bad(format!(
                "$geoIntersect not supported with provided geometry: {spec}"
            )));
        }
        return Ok(GeoCond::Intersects(shape));
    }
    if let Shape::Sphere(g) = &shape
        && !g.has_area()
    {
        return Err(bad(format!(
            "$within not supported with provided geometry: {spec}"
        )));
    }
    Ok(GeoCond::Within(shape))
}

fn parse_shape(kind: &str, value: &Bson) -> CmdResult<Shape> {
    match kind {
        "$geometry" => match value {
            Bson::Document(d) if d.contains_key("type") => {
                shape::geojson(d).map(Shape::Sphere).map_err(bad)
            }
            // A legacy point given as `$geometry` is a point on the sphere.
            Bson::Document(_) | Bson::Array(_) => {
                let pair = shape::legacy_pair(value, true).map_err(bad)?;
                pair.on_sphere()
                    .map(|p| Shape::Sphere(Geometry::Point(p)))
                    .ok_or_else(|| out_of_bounds(pair))
            }
            _ => Err(bad("geometry must be an object")),
        },
        "$box" => {
            let corners = points(value, "$box")?;
            if corners.len() != 2 {
                return Err(bad(format!(
                    "Point must only contain numeric elements: {value}"
                )));
            }
            Ok(Shape::Flat(flat::Region::rect(corners[0], corners[1])))
        }
        "$polygon" => {
            let vertices = points(value, "$polygon")?;
            if vertices.len() < 3 {
                return Err(bad(format!(
                    "Polygon must have at least 3 points, instead got {} vertices",
                    vertices.len()
                )));
            }
            Ok(Shape::Flat(flat::Region::polygon(&vertices)))
        }
        "$center" | "$centerSphere" => {
            let Bson::Array(items) = value else {
                return Err(bad(format!("{kind} must be an array: {value}")));
            };
            if items.len() > 2 {
                return Err(bad(
                    "Only 2 fields allowed for circular region, but more were provided",
                ));
            }
            let center = items
                .first()
                .ok_or_else(|| bad(format!("{kind} needs a center: {value}")))
                .and_then(|c| shape::legacy_pair(c, true).map_err(bad))?;
            let radius = items
                .get(1)
                .and_then(to_f64)
                .filter(|r| *r >= 0.0 && !r.is_nan())
                .ok_or_else(|| bad(format!("Radius must be a non-negative number: {value}")))?;
            if kind == "$center" {
                return Ok(Shape::Flat(flat::Region::Circle { center, radius }));
            }
            let center = center.on_sphere().ok_or_else(|| out_of_bounds(center))?;
            Ok(Shape::Cap { center, radius })
        }
        other => Err(bad(format!("unknown geo specifier: {other}: {value}"))),
    }
}

fn out_of_bounds(p: Pair) -> CommandError {
    bad(format!(
        "Longitude/latitude is out of bounds, lng: {} lat: {}",
        p.x, p.y
    ))
}

fn points(value: &Bson, kind: &str) -> CmdResult<Vec<Pair>> {
    let Bson::Array(items) = value else {
        return Err(bad(format!("{kind} must be an array: {value}")));
    };
    items
        .iter()
        .map(|p| shape::legacy_pair(p, true).map_err(bad))
        .collect()
}

/// A distance operand: a finite, non-negative number (`code` and its successor are
/// mongod's codes for the legacy form's two complaints).
fn distance_operand(name: &str, v: &Bson, legacy_code: Option<i32>) -> CmdResult<f64> {
    let err = |code_offset: i32, msg: String| match legacy_code {
        Some(c) => CommandError::new(ErrorCode::Location(c + code_offset), msg),
        None => bad(msg),
    };
    let d = to_f64(v).ok_or_else(|| err(0, format!("{name} must be a number")))?;
    if d.is_nan() || d < 0.0 || d.is_infinite() {
        return Err(err(1, format!("{name} must be non-negative")));
    }
    Ok(d)
}

fn parse_near(sphere: bool, operand: &Bson, ops: &Document) -> CmdResult<Near> {
    let op = if sphere { "$nearSphere" } else { "$near" };
    let mut min = None;
    let mut max = None;
    // The form `{$near: {$geometry, $minDistance, $maxDistance}}`.
    let (center, pair, geojson) = match operand {
        Bson::Document(d) if d.contains_key("$geometry") => {
            for (k, v) in d {
                match k.as_str() {
                    "$geometry" => {}
                    "$minDistance" => min = Some(distance_operand(k, v, None)?),
                    "$maxDistance" => max = Some(distance_operand(k, v, None)?),
                    _ => {
                        return Err(bad(format!("invalid argument in geo near query: {k}")));
                    }
                }
            }
            let g = d.get("$geometry").expect("checked");
            let Bson::Document(point) = g else {
                return Err(bad(format!("$near requires geojson point, given {g}")));
            };
            if point.get_str("type").ok() != Some("Point") {
                return Err(bad(format!("$near requires geojson point, given {point}")));
            }
            let coords = point.get("coordinates").unwrap_or(&Bson::Null);
            let pair = shape::legacy_pair(coords, true).map_err(|e| {
                bad(format!(
                    "invalid point in geo near query $geometry argument: {point} {e}"
                ))
            })?;
            let p = pair.on_sphere().ok_or_else(|| out_of_bounds(pair))?;
            (Center::Sphere(p), pair, true)
        }
        Bson::Document(d) if d.contains_key("type") => {
            let coords = d.get("coordinates").unwrap_or(&Bson::Null);
            let pair = shape::legacy_pair(coords, true).map_err(bad)?;
            let p = pair.on_sphere().ok_or_else(|| out_of_bounds(pair))?;
            (Center::Sphere(p), pair, true)
        }
        Bson::Array(items) if items.len() == 3 => {
            let pair = shape::legacy_pair(&Bson::Array(items[..2].to_vec()), true).map_err(bad)?;
            let d = to_f64(&items[2]).unwrap_or(-1.0);
            if d.is_nan() || d < 0.0 {
                return Err(CommandError::new(
                    ErrorCode::Location(18522),
                    "max distance must be non-negative",
                ));
            }
            max = Some(d);
            legacy_center(sphere, pair)?
        }
        Bson::Array(_) | Bson::Document(_) => {
            let pair = shape::legacy_pair(operand, true).map_err(bad)?;
            legacy_center(sphere, pair)?
        }
        other => {
            return Err(bad(format!(
                "{op} must be a point, instead got type {}",
                crate::engine::types::type_name(other)
            )));
        }
    };
    for (k, v) in ops {
        match k.as_str() {
            "$near" | "$nearSphere" if k == op => {}
            "$minDistance" => min = Some(distance_operand(k, v, (!geojson).then_some(16893))?),
            "$maxDistance" => max = Some(distance_operand(k, v, (!geojson).then_some(16895))?),
            _ => {
                return Err(CommandError::new(
                    ErrorCode::Location(34413),
                    format!("invalid argument in geo near query: {k}"),
                ));
            }
        }
    }
    let unit = if geojson {
        Unit::Meters
    } else if sphere {
        Unit::Radians
    } else {
        Unit::Plane
    };
    Ok(Near {
        center,
        pair,
        unit,
        min,
        max,
    })
}

/// The center of a query from a legacy pair: on the sphere for `$nearSphere`.
fn legacy_center(sphere: bool, pair: Pair) -> CmdResult<(Center, Pair, bool)> {
    if !sphere {
        return Ok((Center::Flat(pair), pair, false));
    }
    let p = pair
        .on_sphere()
        .ok_or_else(|| bad("Legacy point is out of bounds for spherical query"))?;
    Ok((Center::Sphere(p), pair, false))
}
