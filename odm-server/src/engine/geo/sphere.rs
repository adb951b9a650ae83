//! Geometry on the sphere, as `2dsphere` queries see it: which shapes contain, meet or
//! lie near others, and the cells that cover a shape in the index.
//!
//! Edges are geodesics (great-circle arcs), as in GeoJSON under MongoDB's default
//! reference system. The hard numerical parts (robust edge crossings, the orientation
//! of three points, distance to an arc, cell coverings) come from the `s2` crate, a port of
//! the S2 library mongod itself uses; this module combines them into GeoJSON's shapes.
//! A polygon's ring encloses the smaller of the two regions it bounds, whatever its
//! winding, as mongod reads polygons that declare no reference system.

use s2::cap::Cap;
use s2::cell::Cell;
use s2::edge_crossings::{
    Crossing, EdgeCrosser, angle_contains_vertex, crossing_sign, get_intersection,
};
use s2::edgeutil::distance_from_segment as s2_distance_from_segment;
use s2::point::{Point, point_area};
use s2::predicates::sign;
use s2::region::Region;
use s2::s1::{Angle, Rad};

use super::shape::{Geometry, Polygon};

/// How close (in radians, about 6 µm on the earth) a point must be to a line to lie on it:
/// arcs through computed points rarely hold a vertex exactly.
const ON_LINE: f64 = 1e-12;

/// A closed ring of distinct vertices, oriented so that its interior (on the left of each
/// edge) is the smaller region it bounds.
#[derive(Clone, Debug)]
pub struct Loop {
    vertices: Vec<Point>,
    /// Whether the reference point `Point::origin()` lies inside: containment of any
    /// point is the parity of crossings on the arc from the origin to it.
    origin_inside: bool,
}

impl Loop {
    /// A loop through `vertices` (at least three, without the closing repeat).
    pub fn new(mut vertices: Vec<Point>) -> Loop {
        if fan_area(&vertices) < 0.0 {
            vertices.reverse();
        }
        let mut ring = Loop {
            vertices,
            origin_inside: false,
        };
        // The second vertex is inside exactly when the angle at it opens to the interior;
        // comparing with the parity count fixes the origin's side.
        let v = &ring.vertices;
        let v1_inside = angle_contains_vertex(&v[0], &v[1], &v[2]);
        if v1_inside != ring.contains(&v[1]) {
            ring.origin_inside = true;
        }
        ring
    }

    pub fn vertices(&self) -> &[Point] {
        &self.vertices
    }

    /// The ring's edges, the closing one included.
    pub fn edges(&self) -> impl Iterator<Item = (&Point, &Point)> {
        let n = self.vertices.len();
        (0..n).map(move |i| (&self.vertices[i], &self.vertices[(i + 1) % n]))
    }

    /// Whether `p` lies inside (its own vertices count as inside or not by S2's rule
    /// that shares each vertex out to exactly one of the loops around it).
    pub fn contains(&self, p: &Point) -> bool {
        let origin = Point::origin();
        let mut crosser = EdgeCrosser::new_with_c(&origin, p, &self.vertices[0]);
        let mut inside = self.origin_inside;
        for i in 1..=self.vertices.len() {
            inside ^=
                crosser.chain_edge_or_vertex_crossing(&self.vertices[i % self.vertices.len()]);
        }
        inside
    }
}

/// Twice the signed area of the fan from the first vertex: positive when the ring turns
/// counter-clockwise around the smaller region it bounds.
fn fan_area(vertices: &[Point]) -> f64 {
    let a = &vertices[0];
    vertices
        .windows(2)
        .skip(1)
        .map(|w| {
            let area = point_area(a, &w[0], &w[1]);
            if sign(a, &w[0], &w[1]) { area } else { -area }
        })
        .sum()
}

/// How much wider than [`ON_LINE`] an index covering reaches, so that every document a
/// predicate finds within `ON_LINE` of a shape lies in a covered cell.
const COVERING_MARGIN: f64 = 4.0 * ON_LINE;

/// The angle (radians) from `x` to the arc `ab`. An arc of (nearly) no length is its
/// endpoint: the great circle through two (nearly) equal points is numerical noise, and
/// passes through every point's antipode.
fn arc_distance(x: &Point, a: &Point, b: &Point) -> f64 {
    if a.distance(b).rad() < 1e-13 {
        x.distance(a).rad()
    } else {
        s2_distance_from_segment(x, a, b).rad()
    }
}

/// Whether two vertices are (nearly) antipodal: no single arc joins them.
pub fn antipodal(a: &Point, b: &Point) -> bool {
    a.distance(b).rad() > std::f64::consts::PI - 1e-9
}

/// Whether arcs `ab` and `cd` share a point (a crossing, or a shared vertex).
pub fn arcs_meet(a: &Point, b: &Point, c: &Point, d: &Point) -> bool {
    arcs_within(a, b, c, d, ON_LINE)
}

/// Whether arcs `ab` and `cd` cross or come within `tolerance` radians of each other
/// (two arcs that do not cross are closest at an endpoint of one of them).
fn arcs_within(a: &Point, b: &Point, c: &Point, d: &Point, tolerance: f64) -> bool {
    // "Maybe" means a shared vertex or a degenerate (zero-length) arc: the endpoint
    // distances decide both (two points at the poles are not one point).
    arcs_cross(a, b, c, d)
        || arc_distance(c, a, b) < tolerance
        || arc_distance(d, a, b) < tolerance
        || arc_distance(a, c, d) < tolerance
        || arc_distance(b, c, d) < tolerance
}

/// Whether arcs `ab` and `cd` cross at a point interior to both. The crossing test is
/// only trusted where it is well defined: not for a zero-length arc, and a crossing
/// must have its point on both arcs (the test's answer for two arcs of one great circle
/// depends on their order).
fn arcs_cross(a: &Point, b: &Point, c: &Point, d: &Point) -> bool {
    let degenerate = |p: &Point, q: &Point| p.distance(q).rad() < 1e-13;
    if degenerate(a, b) || degenerate(c, d) || crossing_sign(a, b, c, d) != Crossing::Cross {
        return false;
    }
    let x = get_intersection(a, b, c, d);
    arc_distance(&x, a, b) < 1e-9 && arc_distance(&x, c, d) < 1e-9
}

impl Polygon {
    /// Inside the shell and outside every hole.
    pub fn contains(&self, p: &Point) -> bool {
        self.shell.contains(p) && !self.holes.iter().any(|h| h.contains(p))
    }

    fn rings(&self) -> impl Iterator<Item = &Loop> {
        std::iter::once(&self.shell).chain(self.holes.iter())
    }

    fn edges(&self) -> impl Iterator<Item = (&Point, &Point)> {
        self.rings().flat_map(Loop::edges)
    }
}

/// A geometry taken apart into what predicates test: points, polylines and polygons.
#[derive(Default)]
struct Parts<'a> {
    points: Vec<&'a Point>,
    lines: Vec<&'a [Point]>,
    polygons: Vec<&'a Polygon>,
}

impl<'a> Parts<'a> {
    fn of(geometry: &'a Geometry) -> Parts<'a> {
        let mut parts = Parts::default();
        parts.add(geometry);
        parts
    }

    fn add(&mut self, geometry: &'a Geometry) {
        match geometry {
            Geometry::Point(p) => self.points.push(p),
            Geometry::MultiPoint(ps) => self.points.extend(ps.iter()),
            Geometry::LineString(l) => self.lines.push(l),
            Geometry::MultiLineString(ls) => self.lines.extend(ls.iter().map(Vec::as_slice)),
            Geometry::Polygon(p) => self.polygons.push(p),
            Geometry::MultiPolygon(ps) => self.polygons.extend(ps.iter()),
            Geometry::Collection(items) => items.iter().for_each(|g| self.add(g)),
        }
    }

    fn vertices(&self) -> impl Iterator<Item = &'a Point> + '_ {
        self.points
            .iter()
            .copied()
            .chain(self.lines.iter().flat_map(|l| l.iter()))
            .chain(self.polygons.iter().flat_map(|p| p.shell.vertices().iter()))
    }

    fn edges(&self) -> Vec<(&'a Point, &'a Point)> {
        let mut out: Vec<(&Point, &Point)> = self
            .lines
            .iter()
            .flat_map(|l| l.windows(2).map(|w| (&w[0], &w[1])))
            .collect();
        for p in &self.polygons {
            out.extend(p.edges());
        }
        out
    }

    /// Whether a point lies in or on this geometry.
    fn touches_point(&self, p: &Point) -> bool {
        self.points.iter().any(|q| q.distance(p).rad() < ON_LINE)
            || self.lines.iter().any(|l| {
                l.windows(2)
                    .any(|w| arc_distance(p, &w[0], &w[1]) < ON_LINE)
            })
            || self.polygons.iter().any(|poly| {
                poly.contains(p) || poly.edges().any(|(a, b)| arc_distance(p, a, b) < ON_LINE)
            })
    }
}

/// `$geoIntersects`: whether two geometries share a point.
pub fn intersects(a: &Geometry, b: &Geometry) -> bool {
    let (pa, pb) = (Parts::of(a), Parts::of(b));
    if pa.vertices().any(|v| pb.touches_point(v)) || pb.vertices().any(|v| pa.touches_point(v)) {
        return true;
    }
    let eb = pb.edges();
    pa.edges()
        .iter()
        .any(|(a0, a1)| eb.iter().any(|(b0, b1)| arcs_meet(a0, a1, b0, b1)))
}

/// `$geoWithin` a polygon or multipolygon: every part of `inner` lies inside `region`.
pub fn within(inner: &Geometry, region: &Geometry) -> bool {
    let parts = Parts::of(inner);
    let outer = Parts::of(region);
    if outer.polygons.is_empty() {
        return false;
    }
    let inside = |p: &Point| outer.polygons.iter().any(|poly| poly.contains(p));
    if !parts.vertices().all(inside) {
        return false;
    }
    // With every vertex inside, a part leaves the region only by crossing its boundary.
    let boundary = outer.edges();
    parts
        .edges()
        .iter()
        .all(|(a, b)| !boundary.iter().any(|(c, d)| arcs_cross(a, b, c, d)))
}

/// `$geoWithin: {$centerSphere}`: every vertex within `radius` of `center` (a cap under a
/// quarter of the sphere holds every arc between its points).
pub fn within_cap(inner: &Geometry, center: &Point, radius: f64) -> bool {
    let parts = Parts::of(inner);
    let mut vertices = parts.vertices().peekable();
    vertices.peek().is_some() && vertices.all(|v| center.distance(v).rad() <= radius)
}

/// The angle (radians) from `center` to the nearest point of a geometry.
pub fn distance(center: &Point, geometry: &Geometry) -> f64 {
    let parts = Parts::of(geometry);
    let mut best = f64::INFINITY;
    for p in &parts.points {
        best = best.min(center.distance(p).rad());
    }
    for poly in &parts.polygons {
        if poly.contains(center) {
            return 0.0;
        }
    }
    for (a, b) in parts.edges() {
        best = best.min(arc_distance(center, a, b));
    }
    best
}

/// The region a query covers with index cells.
#[derive(Clone, Debug)]
pub enum Area {
    Shape(Geometry),
    Cap(Cap),
}

impl Area {
    /// The disc of `radius` radians around `center`, a little wider for its covering so
    /// that a document exactly at `radius` (as distances round) is never left out.
    pub fn disc(center: Point, radius: f64) -> Area {
        let radius = radius * (1.0 + 1e-9) + COVERING_MARGIN;
        Area::Cap(Cap::from_center_angle(&center, &Angle::from(Rad(radius))))
    }
}

impl Region for Area {
    fn cap_bound(&self) -> Cap {
        match self {
            Area::Cap(cap) => cap.clone(),
            Area::Shape(g) => {
                let parts = Parts::of(g);
                let vertices: Vec<&Point> = parts.vertices().collect();
                let sum = vertices
                    .iter()
                    .fold(Point::from_coords(0.0, 0.0, 0.0), |acc, v| acc + **v);
                if sum.norm() < 1e-9 {
                    return Cap::full();
                }
                let center = sum.normalize();
                let radius = vertices
                    .iter()
                    .map(|v| center.distance(v).rad())
                    .fold(0.0, f64::max);
                // Past a quarter of the sphere a cap no longer holds the arcs between its
                // points; such shapes are covered whole.
                if radius >= std::f64::consts::FRAC_PI_2 {
                    return Cap::full();
                }
                Cap::from_center_angle(&center, &Angle::from(Rad(radius * (1.0 + 1e-9) + 1e-12)))
            }
        }
    }

    fn contains_cell(&self, cell: &Cell) -> bool {
        match self {
            Area::Cap(cap) => cap.contains_cell(cell),
            Area::Shape(g) => {
                let parts = Parts::of(g);
                let corners = cell.vertices();
                !parts.polygons.is_empty()
                    && corners
                        .iter()
                        .all(|c| parts.polygons.iter().any(|p| p.contains(c)))
                    && !cell_edges(&corners)
                        .any(|(a, b)| parts.edges().iter().any(|(c, d)| arcs_meet(&a, &b, c, d)))
            }
        }
    }

    fn intersects_cell(&self, cell: &Cell) -> bool {
        match self {
            Area::Cap(cap) => cap.intersects_cell(cell),
            // Within the predicates' tolerance counts as meeting: a point a predicate
            // finds on a shape may lie in the cell next to it.
            Area::Shape(g) => {
                let parts = Parts::of(g);
                let corners = cell.vertices();
                let near_boundary = |v: &Point| {
                    cell_edges(&corners).any(|(a, b)| arc_distance(v, &a, &b) < COVERING_MARGIN)
                };
                if parts
                    .vertices()
                    .any(|v| cell.contains_point(v) || near_boundary(v))
                {
                    return true;
                }
                if parts.polygons.iter().any(|p| p.contains(&cell.center())) {
                    return true;
                }
                let edges = parts.edges();
                cell_edges(&corners).any(|(a, b)| {
                    edges
                        .iter()
                        .any(|(c, d)| arcs_within(&a, &b, c, d, COVERING_MARGIN))
                })
            }
        }
    }
}

fn cell_edges(corners: &[Point; 4]) -> impl Iterator<Item = (Point, Point)> + '_ {
    (0..4).map(move |i| (corners[i], corners[(i + 1) % 4]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::geo::shape::sphere_point;

    #[test]
    fn zero_length_arcs_at_opposite_poles_do_not_meet() {
        let south = Geometry::LineString(vec![
            sphere_point(180.0, -90.0),
            sphere_point(-180.0, -90.0),
        ]);
        let north = Geometry::LineString(vec![sphere_point(0.1, 90.0), sphere_point(180.0, 90.0)]);
        assert!(!intersects(&south, &north));
        assert!(!intersects(&north, &south));
        assert!(intersects(&north, &north));
    }

    #[test]
    fn arcs_of_one_great_circle_meet_only_where_they_overlap() {
        // A small square whose west edge lies on meridian 0, and a line down meridian
        // 180 from the pole: one great circle, far apart.
        let square = crate::engine::geo::shape::geojson(&bson::doc! {"type": "Polygon", "coordinates": [[[0.0, -19.0], [1.1875, -19.0], [1.1875, -17.8125], [0.0, -17.8125], [0.0, -19.0]]]}).unwrap();
        let line = Geometry::LineString(vec![
            sphere_point(0.0, 90.0),
            sphere_point(180.0, 0.6375),
            sphere_point(180.0, 90.0),
        ]);
        assert!(!intersects(&square, &line));
        assert!(!intersects(&line, &square));
        let along = Geometry::LineString(vec![sphere_point(0.0, -18.0), sphere_point(0.0, -30.0)]);
        assert!(intersects(&square, &along));
    }
}
