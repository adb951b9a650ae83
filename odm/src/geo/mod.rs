//! Geospatial fields and queries. This module owns the GeoJSON geometries a model may
//! hold ([`Point`], [`LineString`], [`Polygon`], their `Multi` forms,
//! [`GeometryCollection`], and [`Geometry`], any one of them) and the operators that query
//! them: `near`, `near_sphere`, `geo_within` and `geo_intersects` on a [`Spatial`] field.
//!
//! The geometries are stored exactly as GeoJSON (`{type: "Point", coordinates: [lng,
//! lat]}`, longitude first), which is what a `2dsphere` index reads and what other
//! programs reading the collection expect; and the operators exist only on fields of these
//! types, so a `near` on a string field is a compile error rather than a query the server
//! refuses. Distances are in meters and radii on the sphere in radians, as MongoDB takes
//! them with GeoJSON. The index is declared on the model
//! (`index(keys(location = "2dsphere"))`); `near` and `near_sphere` need one.
//!
//! ```no_run
//! use odm::prelude::*;
//!
//! #[odm::model]
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! #[odm(index(keys(location = "2dsphere")))]
//! struct Place {
//!     #[odm(id)]
//!     id: Option<ObjectId>,
//!     name: String,
//!     location: Point,
//! }
//!
//! # async fn run(db: Db) -> odm::Result<()> {
//! let places = db.collection::<Place>();
//! let f = Place::fields();
//! let paris = Point::new(2.3522, 48.8566);
//!
//! // Nearest first, at most 400 km away.
//! let close: Vec<Place> = places
//!     .find(f.location.near(paris, Distance::at_most(400_000.0)))
//!     .await?;
//! // Inside a polygon (its ring is closed for you), or within 50 km on the sphere.
//! let area = Polygon::new([
//!     Point::new(-5.0, 42.0),
//!     Point::new(15.0, 42.0),
//!     Point::new(15.0, 55.0),
//!     Point::new(-5.0, 55.0),
//! ]);
//! let inside: Vec<Place> = places.find(f.location.geo_within(area)).await?;
//! let around: Vec<Place> = places
//!     .find(f.location.geo_within(Shape::center_sphere_meters(paris, 50_000.0)))
//!     .await?;
//! # Ok(())
//! # }
//! ```

use bson::{Bson, Document, doc};
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::field::{Field, FieldType, serialize};

mod query;

pub(crate) use query::DISTANCE_FIELD;
pub use query::{Distance, Distanced, IntoShape, Shape};

/// The Earth's radius MongoDB converts distances on the sphere with (6378.1 km): a
/// distance in meters divided by it is the angle in radians `$centerSphere` takes.
pub const EARTH_RADIUS_METERS: f64 = 6_378_100.0;

/// A GeoJSON point: a longitude (−180 to 180) and a latitude (−90 to 90), in degrees.
/// Stored as `{type: "Point", coordinates: [lng, lat]}`. An altitude, which GeoJSON
/// allows as a third coordinate, is read and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub lng: f64,
    pub lat: f64,
}

impl Point {
    /// The point at longitude `lng` and latitude `lat`: longitude first, as GeoJSON and
    /// MongoDB write it.
    pub const fn new(lng: f64, lat: f64) -> Self {
        Point { lng, lat }
    }
}

/// A GeoJSON line through two or more points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineString {
    pub points: Vec<Point>,
}

impl LineString {
    pub fn new(points: impl IntoIterator<Item = Point>) -> Self {
        LineString {
            points: points.into_iter().collect(),
        }
    }
}

/// A GeoJSON polygon: an exterior ring and the holes cut in it, each ring closed (its
/// last point is its first) with at least four points. MongoDB wants the holes inside the
/// exterior ring and not crossing one another.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Polygon {
    pub exterior: Vec<Point>,
    pub holes: Vec<Vec<Point>>,
}

impl Polygon {
    /// The polygon inside `exterior`, closed if its last point is not its first.
    pub fn new(exterior: impl IntoIterator<Item = Point>) -> Self {
        Polygon {
            exterior: closed(exterior),
            holes: Vec::new(),
        }
    }

    /// The same polygon with a hole inside `ring` (closed as the exterior is).
    pub fn with_hole(mut self, ring: impl IntoIterator<Item = Point>) -> Self {
        self.holes.push(closed(ring));
        self
    }
}

/// A ring whose last point is its first.
fn closed(ring: impl IntoIterator<Item = Point>) -> Vec<Point> {
    let mut ring: Vec<Point> = ring.into_iter().collect();
    if let (Some(first), Some(last)) = (ring.first(), ring.last())
        && first != last
    {
        ring.push(*first);
    }
    ring
}

/// Several GeoJSON points as one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiPoint {
    pub points: Vec<Point>,
}

impl MultiPoint {
    pub fn new(points: impl IntoIterator<Item = Point>) -> Self {
        MultiPoint {
            points: points.into_iter().collect(),
        }
    }
}

/// Several GeoJSON lines as one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiLineString {
    pub lines: Vec<LineString>,
}

impl MultiLineString {
    pub fn new(lines: impl IntoIterator<Item = LineString>) -> Self {
        MultiLineString {
            lines: lines.into_iter().collect(),
        }
    }
}

/// Several GeoJSON polygons as one value (a country and its islands).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiPolygon {
    pub polygons: Vec<Polygon>,
}

impl MultiPolygon {
    pub fn new(polygons: impl IntoIterator<Item = Polygon>) -> Self {
        MultiPolygon {
            polygons: polygons.into_iter().collect(),
        }
    }
}

/// Geometries of any kinds as one value: `{type: "GeometryCollection", geometries:
/// [...]}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeometryCollection {
    pub geometries: Vec<Geometry>,
}

impl GeometryCollection {
    pub fn new(geometries: impl IntoIterator<Item = Geometry>) -> Self {
        GeometryCollection {
            geometries: geometries.into_iter().collect(),
        }
    }
}

/// Any GeoJSON geometry, told apart by its `type`: a field that holds points in some
/// documents and polygons in others, or what `geo_intersects` is given.
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry {
    Point(Point),
    LineString(LineString),
    Polygon(Polygon),
    MultiPoint(MultiPoint),
    MultiLineString(MultiLineString),
    MultiPolygon(MultiPolygon),
    GeometryCollection(GeometryCollection),
}

impl Geometry {
    /// The GeoJSON `type`: `"Point"`, `"Polygon"`...
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Point(_) => "Point",
            Geometry::LineString(_) => "LineString",
            Geometry::Polygon(_) => "Polygon",
            Geometry::MultiPoint(_) => "MultiPoint",
            Geometry::MultiLineString(_) => "MultiLineString",
            Geometry::MultiPolygon(_) => "MultiPolygon",
            Geometry::GeometryCollection(_) => "GeometryCollection",
        }
    }
}

// ---- serde: exactly GeoJSON ----

/// Points written as GeoJSON positions (`[lng, lat]`), without copying them.
struct Positions<'a>(&'a [Point]);

impl Serialize for Positions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|p| [p.lng, p.lat]))
    }
}

/// A polygon's rings: the exterior first, then the holes.
struct Rings<'a>(&'a Polygon);

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1 + self.0.holes.len()))?;
        seq.serialize_element(&Positions(&self.0.exterior))?;
        for hole in &self.0.holes {
            seq.serialize_element(&Positions(hole))?;
        }
        seq.end()
    }
}

/// What a geometry is written as: its `type`, then its `coordinates` (or `geometries`).
#[derive(Serialize)]
#[serde(tag = "type")]
enum Written<'a> {
    Point {
        coordinates: [f64; 2],
    },
    LineString {
        coordinates: Positions<'a>,
    },
    Polygon {
        coordinates: Rings<'a>,
    },
    MultiPoint {
        coordinates: Positions<'a>,
    },
    MultiLineString {
        #[serde(serialize_with = "lines")]
        coordinates: &'a [LineString],
    },
    MultiPolygon {
        #[serde(serialize_with = "polygons")]
        coordinates: &'a [Polygon],
    },
    GeometryCollection {
        geometries: &'a [Geometry],
    },
}

fn lines<S: Serializer>(lines: &&[LineString], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(lines.iter().map(|l| Positions(&l.points)))
}

fn polygons<S: Serializer>(polygons: &&[Polygon], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(polygons.iter().map(Rings))
}

/// How each geometry type is written.
trait Write {
    fn written(&self) -> Written<'_>;
}

impl Write for Point {
    fn written(&self) -> Written<'_> {
        Written::Point {
            coordinates: [self.lng, self.lat],
        }
    }
}

impl Write for LineString {
    fn written(&self) -> Written<'_> {
        Written::LineString {
            coordinates: Positions(&self.points),
        }
    }
}

impl Write for Polygon {
    fn written(&self) -> Written<'_> {
        Written::Polygon {
            coordinates: Rings(self),
        }
    }
}

impl Write for MultiPoint {
    fn written(&self) -> Written<'_> {
        Written::MultiPoint {
            coordinates: Positions(&self.points),
        }
    }
}

impl Write for MultiLineString {
    fn written(&self) -> Written<'_> {
        Written::MultiLineString {
            coordinates: &self.lines,
        }
    }
}

impl Write for MultiPolygon {
    fn written(&self) -> Written<'_> {
        Written::MultiPolygon {
            coordinates: &self.polygons,
        }
    }
}

impl Write for GeometryCollection {
    fn written(&self) -> Written<'_> {
        Written::GeometryCollection {
            geometries: &self.geometries,
        }
    }
}

/// A `Geometry` is written as the geometry it holds.
impl Write for Geometry {
    fn written(&self) -> Written<'_> {
        match self {
            Geometry::Point(g) => g.written(),
            Geometry::LineString(g) => g.written(),
            Geometry::Polygon(g) => g.written(),
            Geometry::MultiPoint(g) => g.written(),
            Geometry::MultiLineString(g) => g.written(),
            Geometry::MultiPolygon(g) => g.written(),
            Geometry::GeometryCollection(g) => g.written(),
        }
    }
}

/// A position as read: `[lng, lat]`, or `[lng, lat, altitude, ...]` (the rest dropped,
/// as MongoDB ignores it).
struct Position(Point);

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PositionVisitor;
        impl<'de> Visitor<'de> for PositionVisitor {
            type Value = Position;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a GeoJSON position, [longitude, latitude]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Position, A::Error> {
                let lng: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let lat: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Position(Point { lng, lat }))
            }
        }
        deserializer.deserialize_seq(PositionVisitor)
    }
}

fn points(positions: Vec<Position>) -> Vec<Point> {
    positions.into_iter().map(|p| p.0).collect()
}

fn polygon(rings: Vec<Vec<Position>>) -> Result<Polygon, String> {
    let mut rings = rings.into_iter().map(points);
    let exterior = rings
        .next()
        .ok_or("a GeoJSON Polygon needs an exterior ring")?;
    Ok(Polygon {
        exterior,
        holes: rings.collect(),
    })
}

/// What a geometry is read from.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Read {
    Point {
        coordinates: Position,
    },
    LineString {
        coordinates: Vec<Position>,
    },
    Polygon {
        coordinates: Vec<Vec<Position>>,
    },
    MultiPoint {
        coordinates: Vec<Position>,
    },
    MultiLineString {
        coordinates: Vec<Vec<Position>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<Position>>>,
    },
    GeometryCollection {
        geometries: Vec<Geometry>,
    },
}

impl TryFrom<Read> for Geometry {
    type Error = String;
    fn try_from(read: Read) -> Result<Self, String> {
        Ok(match read {
            Read::Point { coordinates } => Geometry::Point(coordinates.0),
            Read::LineString { coordinates } => Geometry::LineString(LineString {
                points: points(coordinates),
            }),
            Read::Polygon { coordinates } => Geometry::Polygon(polygon(coordinates)?),
            Read::MultiPoint { coordinates } => Geometry::MultiPoint(MultiPoint {
                points: points(coordinates),
            }),
            Read::MultiLineString { coordinates } => Geometry::MultiLineString(MultiLineString {
                lines: coordinates
                    .into_iter()
                    .map(|l| LineString { points: points(l) })
                    .collect(),
            }),
            Read::MultiPolygon { coordinates } => Geometry::MultiPolygon(MultiPolygon {
                polygons: coordinates
                    .into_iter()
                    .map(polygon)
                    .collect::<Result<_, _>>()?,
            }),
            Read::GeometryCollection { geometries } => {
                Geometry::GeometryCollection(GeometryCollection { geometries })
            }
        })
    }
}

impl<'de> Deserialize<'de> for Geometry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Read::deserialize(deserializer)?
            .try_into()
            .map_err(de::Error::custom)
    }
}

/// The GeoJSON schema of a stored geometry of these `types`; a point's coordinates in
/// full (two or three numbers), the others' only as an array.
fn geometry_schema(types: &[&str]) -> Document {
    let mut properties = doc! {"type": {"enum": types}};
    let required = match types {
        ["GeometryCollection"] => {
            properties.insert("geometries", doc! {"bsonType": "array"});
            vec!["type", "geometries"]
        }
        ["Point"] => {
            properties.insert(
                "coordinates",
                doc! {
                    "bsonType": "array",
                    "minItems": 2,
                    "maxItems": 3,
                    "items": {"bsonType": ["double", "int", "long"]},
                },
            );
            vec!["type", "coordinates"]
        }
        [_] => {
            properties.insert("coordinates", doc! {"bsonType": "array"});
            vec!["type", "coordinates"]
        }
        // Any geometry: a collection has no coordinates.
        _ => vec!["type"],
    };
    doc! {"bsonType": "object", "required": required, "properties": properties}
}

const ALL_TYPES: [&str; 7] = [
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
];

/// Field types whose values are geometries (a GeoJSON object each), the `Option` of one
/// and arrays of them: the geospatial operators exist on these fields only, and a
/// `"2dsphere"` index key on a model's field must be one. (A key given as a path,
/// `keys("loc" = "2dsphere")`, is not checked: legacy `[lng, lat]` pairs, which a
/// `2dsphere` index also reads, are indexed that way.)
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a geometry: `near`, `near_sphere`, `geo_within`, `geo_intersects` and \"2dsphere\" index keys need a field of a GeoJSON type",
    label = "not a geometry type",
    note = "store locations as `odm::geo::Point` (or `Polygon`, `LineString`, the `Multi` types, `GeometryCollection`, `Geometry`), an `Option` or a `Vec` of one"
)]
pub trait Spatial {}

impl<T: Spatial> Spatial for Option<T> {}

/// An array of geometries: a condition holds when it holds for one of them.
impl<T: Spatial> Spatial for Vec<T> {}

/// `FieldType`, `Spatial`, serde (read through [`Geometry`], so that a stored geometry
/// of another type is an error naming both) and the conversion into a `Geometry`.
macro_rules! geometry_types {
    ($($t:ident),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.written().serialize(serializer)
            }
        }

        impl FieldType for $t {
            type Scalar = $t;
            type Item = $t;
            type Paths<M: 'static> = Field<M, $t>;
            fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
                serialize(value)
            }
            fn json_schema() -> Document {
                geometry_schema(&[stringify!($t)])
            }
        }

        impl Spatial for $t {}

        impl From<$t> for Geometry {
            fn from(g: $t) -> Self {
                Geometry::$t(g)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match Geometry::deserialize(deserializer)? {
                    Geometry::$t(g) => Ok(g),
                    other => Err(de::Error::custom(format!(
                        concat!("expected a GeoJSON ", stringify!($t), ", found a {}"),
                        other.type_name()
                    ))),
                }
            }
        }
    )*};
}

geometry_types!(
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection
);

impl Serialize for Geometry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.written().serialize(serializer)
    }
}

impl FieldType for Geometry {
    type Scalar = Geometry;
    type Item = Geometry;
    type Paths<M: 'static> = Field<M, Geometry>;
    fn to_bson(value: &Self) -> Result<Bson, bson::error::Error> {
        serialize(value)
    }
    fn json_schema() -> Document {
        geometry_schema(&ALL_TYPES)
    }
}

impl Spatial for Geometry {}

// ---- the operators ----

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;
    use crate::index::IndexSpec;

    struct Place;

    fn location() -> Field<Place, Point> {
        Field::new("location")
    }

    fn d(f: Filter<Place>) -> Document {
        f.to_document().unwrap()
    }

    fn paris() -> Point {
        Point::new(2.3522, 48.8566)
    }

    fn square() -> Polygon {
        Polygon::new([
            Point::new(0.0, 0.0),
            Point::new(1.0, 0.0),
            Point::new(1.0, 1.0),
            Point::new(0.0, 1.0),
        ])
    }

    #[test]
    fn geometries_are_stored_as_geojson() {
        assert_eq!(
            bson::serialize_to_bson(&paris()).unwrap(),
            Bson::Document(doc! {"type": "Point", "coordinates": [2.3522, 48.8566]})
        );
        let line = LineString::new([Point::new(0.0, 0.0), Point::new(1.0, 2.0)]);
        assert_eq!(
            bson::serialize_to_bson(&line).unwrap(),
            Bson::Document(doc! {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 2.0]]})
        );
        let holed = square().with_hole([
            Point::new(0.2, 0.2),
            Point::new(0.4, 0.2),
            Point::new(0.4, 0.4),
        ]);
        assert_eq!(
            bson::serialize_to_bson(&holed).unwrap(),
            Bson::Document(doc! {"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
                [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.2]],
            ]})
        );
        let multi_point = MultiPoint::new([Point::new(1.0, 2.0), Point::new(3.0, 4.0)]);
        assert_eq!(
            bson::serialize_to_bson(&multi_point).unwrap(),
            Bson::Document(doc! {"type": "MultiPoint", "coordinates": [[1.0, 2.0], [3.0, 4.0]]})
        );
        let multi_line = MultiLineString::new([line.clone()]);
        assert_eq!(
            bson::serialize_to_bson(&multi_line).unwrap(),
            Bson::Document(
                doc! {"type": "MultiLineString", "coordinates": [[[0.0, 0.0], [1.0, 2.0]]]}
            )
        );
        let multi_polygon = MultiPolygon::new([square()]);
        assert_eq!(
            bson::serialize_to_bson(&multi_polygon).unwrap(),
            Bson::Document(doc! {"type": "MultiPolygon", "coordinates": [[
                [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
            ]]})
        );
        let collection = GeometryCollection::new([paris().into(), line.into()]);
        assert_eq!(
            bson::serialize_to_bson(&collection).unwrap(),
            Bson::Document(doc! {"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [2.3522, 48.8566]},
                {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 2.0]]},
            ]})
        );
        // A `Geometry` is written as the geometry it holds.
        assert_eq!(
            bson::serialize_to_bson(&Geometry::from(paris())).unwrap(),
            bson::serialize_to_bson(&paris()).unwrap()
        );
    }

    #[test]
    fn geometries_read_back() {
        let all: Vec<Geometry> = vec![
            paris().into(),
            LineString::new([Point::new(0.0, 0.0), Point::new(1.0, 2.0)]).into(),
            square()
                .with_hole([
                    Point::new(0.2, 0.2),
                    Point::new(0.4, 0.2),
                    Point::new(0.4, 0.4),
                ])
                .into(),
            MultiPoint::new([paris()]).into(),
            MultiLineString::new([LineString::new([paris(), Point::new(0.0, 0.0)])]).into(),
            MultiPolygon::new([square(), square()]).into(),
            GeometryCollection::new([paris().into(), square().into()]).into(),
        ];
        for g in all {
            let stored = bson::serialize_to_bson(&g).unwrap();
            let back: Geometry = bson::deserialize_from_bson(stored.clone()).unwrap();
            assert_eq!(back, g, "{stored}");
        }
        // Integers, an altitude and members GeoJSON allows besides are read.
        let p: Point = bson::deserialize_from_bson(Bson::Document(
            doc! {"coordinates": [2, 48.5, 35.0], "type": "Point", "bbox": [0, 0, 1, 1]},
        ))
        .unwrap();
        assert_eq!(p, Point::new(2.0, 48.5));
        // A concrete type reads only its own kind.
        let err = bson::deserialize_from_bson::<Point>(bson::serialize_to_bson(&square()).unwrap())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a GeoJSON Point, found a Polygon"),
            "{err}"
        );
        assert!(
            bson::deserialize_from_bson::<Point>(Bson::Document(
                doc! {"type": "Point", "coordinates": [1.0]}
            ))
            .is_err()
        );
        assert!(
            bson::deserialize_from_bson::<Polygon>(Bson::Document(
                doc! {"type": "Polygon", "coordinates": []}
            ))
            .is_err()
        );
    }

    #[test]
    fn polygons_close_their_rings() {
        let open = Polygon::new([
            Point::new(0.0, 0.0),
            Point::new(1.0, 0.0),
            Point::new(1.0, 1.0),
        ]);
        assert_eq!(open.exterior.len(), 4);
        assert_eq!(open.exterior[0], open.exterior[3]);
        let already = Polygon::new(open.exterior.clone());
        assert_eq!(already, open);
        assert!(Polygon::new([]).exterior.is_empty());
    }

    #[test]
    fn near_and_near_sphere() {
        let point = doc! {"type": "Point", "coordinates": [2.3522, 48.8566]};
        assert_eq!(
            d(location().near(paris(), Distance::at_most(400_000.0))),
            doc! {"location": {"$near": {"$geometry": point.clone(), "$maxDistance": 400_000.0}}}
        );
        assert_eq!(
            d(location().near(paris(), Distance::between(1_000.0, 5_000.0))),
            doc! {"location": {"$near": {
                "$geometry": point.clone(), "$maxDistance": 5_000.0, "$minDistance": 1_000.0,
            }}}
        );
        assert_eq!(
            d(location().near_sphere(paris(), Distance::at_least(10.0))),
            doc! {"location": {"$nearSphere": {"$geometry": point.clone(), "$minDistance": 10.0}}}
        );
        assert_eq!(
            d(location().near_sphere(paris(), Distance::any())),
            doc! {"location": {"$nearSphere": {"$geometry": point}}}
        );
        // Combined with another condition, the $near stays on its path.
        let name: Field<Place, String> = Field::new("name");
        let both = d(location().near(paris(), Distance::any()) & name.eq("Paris"));
        assert_eq!(both.keys().collect::<Vec<_>>(), ["location", "name"]);
    }

    #[test]
    fn distances_and_radii_are_checked() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = location()
                .near(paris(), Distance::at_most(bad))
                .to_document()
                .unwrap_err();
            assert!(
                err.to_string().contains("location: $maxDistance must be"),
                "{err}"
            );
            let err = location()
                .geo_within(Shape::center_sphere(paris(), bad))
                .to_document()
                .unwrap_err();
            assert!(err.to_string().contains("$centerSphere"), "{err}");
        }
        assert!(
            location()
                .near_sphere(paris(), Distance::at_least(-5.0))
                .to_document()
                .unwrap_err()
                .to_string()
                .contains("$minDistance")
        );
    }

    #[test]
    fn geo_within_shapes() {
        assert_eq!(
            d(location().geo_within(square())),
            doc! {"location": {"$geoWithin": {"$geometry": {"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
            ]}}}}
        );
        assert_eq!(
            d(location().geo_within(MultiPolygon::new([square()]))),
            doc! {"location": {"$geoWithin": {"$geometry": {"type": "MultiPolygon", "coordinates": [[
                [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
            ]]}}}}
        );
        assert_eq!(
            d(location().geo_within(Shape::center_sphere(paris(), 0.01))),
            doc! {"location": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 0.01]}}}
        );
        assert_eq!(
            d(location().geo_within(Shape::center_sphere_meters(paris(), 6_378.1))),
            doc! {"location": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 0.001]}}}
        );
        assert_eq!(
            d(location().geo_within(Shape::bbox(Point::new(-5.0, 42.0), Point::new(8.0, 51.0)))),
            doc! {"location": {"$geoWithin": {"$box": [[-5.0, 42.0], [8.0, 51.0]]}}}
        );
    }

    #[test]
    fn geo_intersects_any_geometry() {
        let route: Field<Place, Option<LineString>> = Field::new("route");
        assert_eq!(
            d(route.geo_intersects(square())),
            doc! {"route": {"$geoIntersects": {"$geometry": {"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
            ]}}}}
        );
        let area: Field<Place, Geometry> = Field::new("area");
        assert_eq!(
            d(area.geo_intersects(paris())),
            doc! {"area": {"$geoIntersects": {"$geometry": {"type": "Point", "coordinates": [2.3522, 48.8566]}}}}
        );
        // Arrays of geometries: a condition on any of them.
        let stops: Field<Place, Vec<Point>> = Field::new("stops");
        assert_eq!(
            d(stops.geo_within(Shape::bbox(Point::new(0.0, 0.0), Point::new(1.0, 1.0)))),
            doc! {"stops": {"$geoWithin": {"$box": [[0.0, 0.0], [1.0, 1.0]]}}}
        );
    }

    #[test]
    fn geometries_are_field_values() {
        assert_eq!(
            <Option<Point> as FieldType>::to_bson(&Some(paris())).unwrap(),
            bson::serialize_to_bson(&paris()).unwrap()
        );
        assert_eq!(
            d(location().eq(paris())),
            doc! {"location": {"$eq": {"type": "Point", "coordinates": [2.3522, 48.8566]}}}
        );
        assert_eq!(
            <Point as FieldType>::json_schema(),
            doc! {"bsonType": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"enum": ["Point"]},
                "coordinates": {"bsonType": "array", "minItems": 2, "maxItems": 3,
                    "items": {"bsonType": ["double", "int", "long"]}},
            }}
        );
        assert_eq!(
            <Geometry as FieldType>::json_schema(),
            doc! {"bsonType": "object", "required": ["type"], "properties": {
                "type": {"enum": ALL_TYPES.as_slice()},
            }}
        );
    }

    #[test]
    fn geo_index_keys_and_names() {
        let sphere = IndexSpec::new(doc! {"location": "2dsphere"});
        assert_eq!(sphere.name(), "location_2dsphere");
        assert_eq!(sphere.to_model().keys, doc! {"location": "2dsphere"});
        // mongod lists a 2dsphere index with its version: still the declared index.
        assert!(sphere.matches(&doc! {
            "v": 2, "key": {"location": "2dsphere"}, "name": "location_2dsphere",
            "2dsphereIndexVersion": 3,
        }));
        assert!(!sphere.matches(&doc! {"v": 2, "key": {"location": "2d"}, "name": "location_2d"}));
        let compound = IndexSpec::new(doc! {"location": "2dsphere", "category": 1});
        assert_eq!(compound.name(), "location_2dsphere_category_1");
        let flat = IndexSpec::new(doc! {"loc": "2d"});
        assert_eq!(flat.name(), "loc_2d");
        assert!(flat.matches(&doc! {"v": 2, "key": {"loc": "2d"}, "name": "loc_2d"}));
    }
}
