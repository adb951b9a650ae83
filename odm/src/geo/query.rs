//! The geospatial operators on a [`Spatial`] field (`near`, `near_sphere`, `geo_within`,
//! `geo_intersects`), what they take ([`Distance`], [`Shape`]) and what a query by
//! distance returns ([`Distanced`]).

use bson::{Bson, Document, doc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::find::with_metadata;

use super::{EARTH_RADIUS_METERS, Geometry, MultiPolygon, Point, Polygon, Spatial};
use crate::error::BuildError;
use crate::field::{Field, serialize};
use crate::filter::Filter;

/// The field a result by distance carries its distance in, between the server and
/// [`Distanced`].
pub(crate) const DISTANCE_FIELD: &str = "_odm_distance";

/// A result of a `near` query with its distance from the query's point, in meters
/// (MongoDB's `geoNearDistance`), from `Find::with_distance`.
#[derive(Clone, Debug, PartialEq)]
pub struct Distanced<M> {
    pub meters: f64,
    pub doc: M,
}

impl<'de, M: DeserializeOwned> Deserialize<'de> for Distanced<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (meters, doc) = with_metadata(
            deserializer,
            DISTANCE_FIELD,
            "a result carries no distance: `with_distance` needs a `near` or `near_sphere` filter",
        )?;
        Ok(Distanced { meters, doc })
    }
}

/// How far from the center `near` and `near_sphere` look, in meters (both bounds
/// included).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Distance {
    min: Option<f64>,
    max: Option<f64>,
}

impl Distance {
    /// No bound: every document, nearest first.
    pub const fn any() -> Self {
        Distance {
            min: None,
            max: None,
        }
    }

    /// At most `meters` away (`$maxDistance`).
    pub const fn at_most(meters: f64) -> Self {
        Distance {
            min: None,
            max: Some(meters),
        }
    }

    /// At least `meters` away (`$minDistance`).
    pub const fn at_least(meters: f64) -> Self {
        Distance {
            min: Some(meters),
            max: None,
        }
    }

    /// From `min_meters` to `max_meters` away.
    pub const fn between(min_meters: f64, max_meters: f64) -> Self {
        Distance {
            min: Some(min_meters),
            max: Some(max_meters),
        }
    }
}

/// An area `geo_within` looks inside: a GeoJSON polygon or multipolygon, a disk on the
/// sphere, or a box of longitudes and latitudes.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// `{$geometry: <Polygon>}`.
    Polygon(Polygon),
    /// `{$geometry: <MultiPolygon>}`.
    MultiPolygon(MultiPolygon),
    /// `{$centerSphere: [[lng, lat], radians]}`: the points at most `radians` (an angle
    /// at the Earth's center) from `center`, on the sphere.
    CenterSphere { center: Point, radians: f64 },
    /// `{$box: [[lng, lat], [lng, lat]]}`: between two corners, the longitudes and
    /// latitudes compared as flat coordinates (no 2dsphere index answers it: the server
    /// reads every document, or a `2d` index).
    BBox {
        bottom_left: Point,
        top_right: Point,
    },
}

impl Shape {
    /// The disk of `radians` around `center` on the sphere (`$centerSphere`).
    pub const fn center_sphere(center: Point, radians: f64) -> Self {
        Shape::CenterSphere { center, radians }
    }

    /// The disk of `meters` around `center` on the sphere: `$centerSphere` with the
    /// radius in radians, converted with [`EARTH_RADIUS_METERS`] as MongoDB does.
    pub fn center_sphere_meters(center: Point, meters: f64) -> Self {
        Shape::CenterSphere {
            center,
            radians: meters / EARTH_RADIUS_METERS,
        }
    }

    /// The box between `bottom_left` and `top_right` (`$box`).
    pub const fn bbox(bottom_left: Point, top_right: Point) -> Self {
        Shape::BBox {
            bottom_left,
            top_right,
        }
    }

    /// The operand of `$geoWithin`; `Err` for a radius MongoDB would refuse.
    fn to_operand(&self) -> Result<Document, String> {
        let position = |p: &Point| Bson::Array(vec![Bson::Double(p.lng), Bson::Double(p.lat)]);
        Ok(match self {
            Shape::Polygon(p) => doc! {"$geometry": serialize(p).map_err(|e| e.to_string())?},
            Shape::MultiPolygon(p) => {
                doc! {"$geometry": serialize(p).map_err(|e| e.to_string())?}
            }
            Shape::CenterSphere { center, radians } => {
                if !(radians.is_finite() && *radians >= 0.0) {
                    return Err(format!(
                        "the radius of a $centerSphere must be a number of radians, 0 or more (not {radians})"
                    ));
                }
                doc! {"$centerSphere": [position(center), Bson::Double(*radians)]}
            }
            Shape::BBox {
                bottom_left,
                top_right,
            } => doc! {"$box": [position(bottom_left), position(top_right)]},
        })
    }
}

impl From<Polygon> for Shape {
    fn from(p: Polygon) -> Self {
        Shape::Polygon(p)
    }
}

impl From<MultiPolygon> for Shape {
    fn from(p: MultiPolygon) -> Self {
        Shape::MultiPolygon(p)
    }
}

/// What `geo_within` looks inside: a [`Shape`], or a [`Polygon`] or [`MultiPolygon`]
/// (the only geometries `$geoWithin` takes: other geometries enclose no area).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an area: `geo_within` takes a `Polygon`, a `MultiPolygon` or a `Shape`",
    label = "not an area",
    note = "for the points around a point, `Shape::center_sphere_meters(point, meters)`; for the geometries a line or point touches, `geo_intersects`"
)]
pub trait IntoShape {
    fn into_shape(self) -> Shape;
}

impl IntoShape for Shape {
    fn into_shape(self) -> Shape {
        self
    }
}

impl IntoShape for Polygon {
    fn into_shape(self) -> Shape {
        Shape::Polygon(self)
    }
}

impl IntoShape for MultiPolygon {
    fn into_shape(self) -> Shape {
        Shape::MultiPolygon(self)
    }
}

/// `{path: {op: operand}}`, or the filter's error (at the path) when the operand could
/// not be built.
fn geo_condition<M>(path: &str, op: &str, operand: Result<Document, String>) -> Filter<M> {
    match operand {
        Ok(operand) => Filter::condition(path, Ok(Bson::Document(doc! {op: operand}))),
        Err(message) => Filter::from_parts(
            Document::new(),
            Some(BuildError::Value {
                path: path.to_string(),
                message,
            }),
        ),
    }
}

/// `{$geometry: <point>, $maxDistance: m, $minDistance: m}`.
fn near_operand(point: Point, distance: Distance) -> Result<Document, String> {
    let mut operand = doc! {"$geometry": serialize(&point).map_err(|e| e.to_string())?};
    for (key, meters) in [
        ("$maxDistance", distance.max),
        ("$minDistance", distance.min),
    ] {
        if let Some(m) = meters {
            if !(m.is_finite() && m >= 0.0) {
                return Err(format!(
                    "{key} must be a number of meters, 0 or more (not {m})"
                ));
            }
            operand.insert(key, m);
        }
    }
    Ok(operand)
}

impl<M, T> Field<M, T> {
    /// The documents `distance` from `point`, nearest first (`$near` with a GeoJSON
    /// point: distances in meters, on the sphere). It needs a `2dsphere` index on the
    /// field; it sorts the results itself (a `sort` replaces that order), and MongoDB
    /// refuses it where documents are counted (`count`, `exists`) and under `|` or `!`:
    /// count with `geo_within` instead.
    pub fn near(&self, point: Point, distance: Distance) -> Filter<M>
    where
        T: Spatial,
    {
        geo_condition(self.path(), "$near", near_operand(point, distance))
    }

    /// `near` as `$nearSphere` (with a GeoJSON point the two answer alike: distances on
    /// the sphere, in meters).
    pub fn near_sphere(&self, point: Point, distance: Distance) -> Filter<M>
    where
        T: Spatial,
    {
        geo_condition(self.path(), "$nearSphere", near_operand(point, distance))
    }

    /// Geometries entirely inside `shape` (`$geoWithin`): a [`Polygon`] or
    /// [`MultiPolygon`], or a [`Shape`] (`Shape::center_sphere_meters(point, m)`,
    /// `Shape::bbox(..)`). No index is needed; a `2dsphere` index makes it faster.
    pub fn geo_within(&self, shape: impl IntoShape) -> Filter<M>
    where
        T: Spatial,
    {
        geo_condition(self.path(), "$geoWithin", shape.into_shape().to_operand())
    }

    /// Geometries that share at least one point with `geometry` (`$geoIntersects`): any
    /// geometry, a [`Point`] or [`Polygon`] as well as a [`Geometry`].
    pub fn geo_intersects(&self, geometry: impl Into<Geometry>) -> Filter<M>
    where
        T: Spatial,
    {
        let operand = serialize(&geometry.into())
            .map(|g| doc! {"$geometry": g})
            .map_err(|e| e.to_string());
        geo_condition(self.path(), "$geoIntersects", operand)
    }
}
