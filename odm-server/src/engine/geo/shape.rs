//! Geometries as documents and queries give them: GeoJSON objects (`{type: "Point",
//! coordinates: [lng, lat]}` and the six other types) and legacy coordinate pairs (`[x, y]`
//! or `{x: .., y: ..}`), parsed and checked with mongod's messages.
//!
//! A GeoJSON geometry becomes points on the unit sphere; a legacy pair keeps its plain
//! coordinates too, for the flat (`2d`) operators. Rings must be closed, hold three
//! distinct vertices, not cross themselves, and a polygon's holes must lie in its shell.

use bson::{Bson, Document};
use s2::latlng::LatLng;
use s2::point::Point;

use super::sphere::{Loop, antipodal, arcs_meet};
use crate::engine::arith;

/// Rings with more vertices than this are not checked for self-crossings (the check
/// compares every pair of edges).
const MAX_CHECKED_RING: usize = 2_000;

/// Plain coordinates: a legacy pair, or a `2d` query's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub x: f64,
    pub y: f64,
}

impl Pair {
    /// The point on the sphere at longitude `x`, latitude `y`, when they are in range.
    pub fn on_sphere(self) -> Option<Point> {
        valid_lng_lat(self.x, self.y).then(|| sphere_point(self.x, self.y))
    }
}

/// A polygon on the sphere: its shell and holes.
#[derive(Clone, Debug)]
pub struct Polygon {
    pub shell: Loop,
    pub holes: Vec<Loop>,
}

/// A GeoJSON geometry (or a legacy pair read as a point), on the sphere.
#[derive(Clone, Debug)]
pub enum Geometry {
    Point(Point),
    LineString(Vec<Point>),
    Polygon(Polygon),
    MultiPoint(Vec<Point>),
    MultiLineString(Vec<Vec<Point>>),
    MultiPolygon(Vec<Polygon>),
    Collection(Vec<Geometry>),
}

impl Geometry {
    /// Whether it bounds an area (what `$geoWithin: {$geometry}` needs).
    pub fn has_area(&self) -> bool {
        match self {
            Geometry::Polygon(_) | Geometry::MultiPolygon(_) => true,
            Geometry::Collection(items) => items.iter().any(Geometry::has_area),
            _ => false,
        }
    }
}

fn valid_lng_lat(lng: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat)
}

pub fn sphere_point(lng: f64, lat: f64) -> Point {
    Point::from(LatLng::from_degrees(lat, lng))
}

fn type_name(v: &Bson) -> &'static str {
    crate::engine::types::type_name(v)
}

/// A number as coordinates are read (any numeric type).
fn number(v: &Bson) -> Option<f64> {
    match v {
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => arith::to_f64(v),
        _ => None,
    }
}

/// A legacy pair: an array or object whose first two values are numbers (more may follow
/// in stored documents; a query's point must have exactly two).
pub fn legacy_pair(value: &Bson, exactly_two: bool) -> Result<Pair, String> {
    let values: Vec<&Bson> = match value {
        Bson::Array(items) => items.iter().collect(),
        Bson::Document(d) => d.values().collect(),
        other => {
            return Err(format!(
                "Point must be an array or object, instead got type {}",
                type_name(other)
            ));
        }
    };
    let mut coords = [0.0; 2];
    for (i, slot) in coords.iter_mut().enumerate() {
        let Some(v) = values.get(i) else {
            return Err("Point must only contain numeric elements".into());
        };
        *slot = number(v).ok_or_else(|| {
            format!(
                "Point must only contain numeric elements, instead got type {}",
                type_name(v)
            )
        })?;
    }
    if exactly_two && values.len() > 2 {
        return Err("Point must only contain two numeric elements".into());
    }
    if coords.iter().any(|c| !c.is_finite()) {
        return Err("Point coordinates must be finite numbers".into());
    }
    Ok(Pair {
        x: coords[0],
        y: coords[1],
    })
}

/// One GeoJSON position `[lng, lat, ...]` on the sphere.
fn position(value: &Bson) -> Result<Point, String> {
    let Bson::Array(_) = value else {
        return Err(format!(
            "GeoJSON coordinates must be an array of coordinates, instead got type {}",
            type_name(value)
        ));
    };
    let pair = legacy_pair(value, false)?;
    pair.on_sphere().ok_or_else(|| {
        format!(
            "Longitude/latitude is out of bounds, lng: {} lat: {}",
            pair.x, pair.y
        )
    })
}

fn array<'a>(value: &'a Bson, what: &str) -> Result<&'a Vec<Bson>, String> {
    match value {
        Bson::Array(items) => Ok(items),
        other => Err(format!(
            "{what} must be an array, instead got type {}",
            type_name(other)
        )),
    }
}

fn positions(value: &Bson) -> Result<Vec<Point>, String> {
    array(value, "GeoJSON coordinates")?
        .iter()
        .map(position)
        .collect()
}

fn line(value: &Bson) -> Result<Vec<Point>, String> {
    let points = positions(value)?;
    if points.len() < 2 {
        return Err(format!(
            "GeoJSON LineString must have at least 2 vertices, instead got {} vertices",
            points.len()
        ));
    }
    if let Some(i) = points.windows(2).position(|w| antipodal(&w[0], &w[1])) {
        return Err(format!(
            "Invalid LineString: vertices {i} and {} are antipodal: {value}",
            i + 1
        ));
    }
    Ok(points)
}

/// A ring: closed, three distinct vertices or more, no edge crossing another.
fn ring(value: &Bson) -> Result<Loop, String> {
    let points = positions(value)?;
    let shown = || value.to_string();
    if points.is_empty() {
        return Err(format!("Loop has no vertices: {}", shown()));
    }
    if points.first() != points.last() {
        return Err(format!(
            "Loop is not closed, first vertex does not equal last vertex: {}",
            shown()
        ));
    }
    let mut vertices: Vec<Point> = Vec::with_capacity(points.len());
    for p in &points[..points.len() - 1] {
        if vertices.last() != Some(p) {
            vertices.push(*p);
        }
    }
    while vertices.len() > 1 && vertices.first() == vertices.last() {
        vertices.pop();
    }
    if vertices.len() < 3 {
        return Err(format!(
            "Loop must have at least 3 different vertices, {} unique vertices were provided: {}",
            vertices.len(),
            shown()
        ));
    }
    if vertices.len() <= MAX_CHECKED_RING {
        check_simple(&vertices).map_err(|why| format!("Loop is not valid: {} {why}", shown()))?;
    }
    Ok(Loop::new(vertices))
}

/// No vertex twice, and no two edges meeting except neighbours at their shared vertex.
fn check_simple(v: &[Point]) -> Result<(), String> {
    let n = v.len();
    if let Some(i) = (0..n).find(|&i| antipodal(&v[i], &v[(i + 1) % n])) {
        return Err(format!("Edge {i} is degenerate (antipodal vertices)"));
    }
    for i in 0..n {
        for j in i + 1..n {
            if v[i] == v[j] {
                return Err(format!("Duplicate vertices at {i} and {j}"));
            }
        }
    }
    for i in 0..n {
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue;
            }
            if arcs_meet(&v[i], &v[(i + 1) % n], &v[j], &v[(j + 1) % n]) {
                return Err(format!("Edges {i} and {j} cross"));
            }
        }
    }
    Ok(())
}

fn polygon(value: &Bson) -> Result<Polygon, String> {
    let rings = array(value, "Polygon coordinates")?;
    let Some((shell, holes)) = rings.split_first() else {
        return Err("Polygon has no loops.".into());
    };
    let shell = ring(shell)?;
    let holes = holes.iter().map(ring).collect::<Result<Vec<_>, _>>()?;
    for hole in &holes {
        if !hole.vertices().iter().all(|v| shell.contains(v)) {
            return Err(format!(
                "Secondary loops not contained by first exterior loop - secondary loops must be holes: {}",
                value
            ));
        }
    }
    Ok(Polygon { shell, holes })
}

/// A GeoJSON object: `{type, coordinates}` or `{type: "GeometryCollection", geometries}`.
pub fn geojson(doc: &Document) -> Result<Geometry, String> {
    crate::depth::guard(|| {
        let kind = match doc.get("type") {
            Some(Bson::String(s)) => s.as_str(),
            _ => return Err(format!("unknown GeoJSON type: {doc}")),
        };
        if let Some(crs) = doc.get("crs") {
            check_crs(crs, kind)?;
        }
        if kind == "GeometryCollection" {
            let items = array(
                doc.get("geometries").unwrap_or(&Bson::Null),
                "GeometryCollection geometries",
            )?;
            return items
                .iter()
                .map(|g| match g {
                    Bson::Document(d) => geojson(d),
                    other => Err(format!(
                        "Element {other} of \"geometries\" is not an object"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Geometry::Collection);
        }
        let coordinates = doc.get("coordinates").unwrap_or(&Bson::Null);
        Ok(match kind {
            "Point" => Geometry::Point(position(coordinates).map_err(|e| {
                if matches!(coordinates, Bson::Array(_)) {
                    e
                } else {
                    format!(
                        "GeoJSON coordinates must be an array, instead got type {}",
                        type_name(coordinates)
                    )
                }
            })?),
            "LineString" => Geometry::LineString(line(coordinates)?),
            "Polygon" => Geometry::Polygon(polygon(coordinates)?),
            "MultiPoint" => {
                let points = positions(coordinates)?;
                if points.is_empty() {
                    return Err("MultiPoint coordinates must have at least 1 element".into());
                }
                Geometry::MultiPoint(points)
            }
            "MultiLineString" => Geometry::MultiLineString(
                array(coordinates, "MultiLineString coordinates")?
                    .iter()
                    .map(line)
                    .collect::<Result<_, _>>()?,
            ),
            "MultiPolygon" => Geometry::MultiPolygon(
                array(coordinates, "MultiPolygon coordinates")?
                    .iter()
                    .map(polygon)
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(format!("unknown GeoJSON type: {doc}")),
        })
    })
}

/// Only the default reference system (and its spellings) is read; mongod's "big polygon"
/// system is not supported.
fn check_crs(crs: &Bson, kind: &str) -> Result<(), String> {
    let name = match crs {
        Bson::Document(d) => d
            .get_document("properties")
            .ok()
            .and_then(|p| p.get_str("name").ok()),
        _ => None,
    };
    match name {
        Some("EPSG:4326" | "urn:ogc:def:crs:OGC:1.3:CRS84") => Ok(()),
        Some("urn:x-mongodb:crs:strictwinding:EPSG:4326") if kind != "Polygon" => {
            Err("Strict winding order CRS is only supported by polygon".into())
        }
        Some("urn:x-mongodb:crs:strictwinding:EPSG:4326") => {
            Err("the strict winding order reference system (big polygons) is not supported".into())
        }
        Some(other) => Err(format!("Unknown CRS name: {other}")),
        None => Err("CRS must be an object with properties.name".into()),
    }
}

/// What a stored value is as a geometry on the sphere: a GeoJSON object, or a legacy
/// pair in longitude/latitude range. `None` for anything else (it matches no geo query).
pub fn stored_geometry(value: &Bson) -> Option<Geometry> {
    match value {
        Bson::Document(d) if d.contains_key("type") => geojson(d).ok(),
        Bson::Document(_) | Bson::Array(_) => legacy_pair(value, false)
            .ok()
            .and_then(Pair::on_sphere)
            .map(Geometry::Point),
        _ => None,
    }
}

/// A stored value as a flat point: a legacy pair, or a GeoJSON point's coordinates.
pub fn stored_pair(value: &Bson) -> Option<Pair> {
    match value {
        Bson::Document(d) if d.contains_key("type") => {
            match (d.get_str("type"), d.get("coordinates")) {
                (Ok("Point"), Some(c)) => legacy_pair(c, false).ok(),
                _ => None,
            }
        }
        Bson::Document(_) | Bson::Array(_) => legacy_pair(value, false).ok(),
        _ => None,
    }
}
