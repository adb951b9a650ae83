//! Geometry on a plane, as `2d` queries see it: legacy points in `$box`, `$polygon` and
//! `$center` regions, and flat distances for `$near` on a `2d` index. The predicates are
//! georust's (`geo`), whose robust orientation tests decide points on a polygon's edge.

use geo::{Contains, Coord, Intersects, LineString, Polygon, Rect};

use super::shape::Pair;

/// A region of the plane.
#[derive(Clone, Debug)]
pub enum Region {
    /// `$box: [[x1, y1], [x2, y2]]` (any two opposite corners).
    Box(Rect<f64>),
    /// `$polygon: [[x, y], ...]`, closed implicitly.
    Polygon(Polygon<f64>),
    /// `$center: [[x, y], r]`.
    Circle { center: Pair, radius: f64 },
}

fn coord(p: Pair) -> Coord<f64> {
    Coord { x: p.x, y: p.y }
}

impl Region {
    pub fn rect(a: Pair, b: Pair) -> Region {
        Region::Box(Rect::new(coord(a), coord(b)))
    }

    pub fn polygon(vertices: &[Pair]) -> Region {
        let ring: LineString<f64> = vertices.iter().map(|p| coord(*p)).collect();
        Region::Polygon(Polygon::new(ring, Vec::new()))
    }

    /// Whether the region holds `p`, its boundary included (as mongod's `$geoWithin` on
    /// legacy shapes does).
    pub fn holds(&self, p: Pair) -> bool {
        let point = geo::Point::new(p.x, p.y);
        match self {
            Region::Box(rect) => rect.intersects(&point),
            Region::Polygon(poly) => poly.contains(&point) || poly.exterior().intersects(&point),
            Region::Circle { center, radius } => distance(*center, p) <= *radius,
        }
    }

    /// The box around the region: what its index covering starts from.
    pub fn bounds(&self) -> (Pair, Pair) {
        match self {
            Region::Box(rect) => (
                Pair {
                    x: rect.min().x,
                    y: rect.min().y,
                },
                Pair {
                    x: rect.max().x,
                    y: rect.max().y,
                },
            ),
            Region::Polygon(poly) => {
                let coords = poly.exterior().coords();
                let (mut lo, mut hi) = (
                    Pair {
                        x: f64::INFINITY,
                        y: f64::INFINITY,
                    },
                    Pair {
                        x: f64::NEG_INFINITY,
                        y: f64::NEG_INFINITY,
                    },
                );
                for c in coords {
                    lo.x = lo.x.min(c.x);
                    lo.y = lo.y.min(c.y);
                    hi.x = hi.x.max(c.x);
                    hi.y = hi.y.max(c.y);
                }
                (lo, hi)
            }
            Region::Circle { center, radius } => square(*center, *radius),
        }
    }
}

/// The square around a circle: its lower-left and upper-right corners.
pub fn square(center: Pair, radius: f64) -> (Pair, Pair) {
    (
        Pair {
            x: center.x - radius,
            y: center.y - radius,
        },
        Pair {
            x: center.x + radius,
            y: center.y + radius,
        },
    )
}

/// The straight-line distance between two points.
pub fn distance(a: Pair, b: Pair) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}
