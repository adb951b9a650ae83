//! Geospatial index keys: what `2dsphere` and `2d` indexes hold for a document, and the
//! key ranges that hold every document a region may contain.
//!
//! A `2dsphere` key is an S2 cell id: a point's leaf cell (level 30), or for a line or
//! polygon the cells of its covering (levels 2 to 16, at most 20 cells: mongod's
//! parameters for index version 3). A query covers its region with cells of the same
//! levels; a document can meet the region only if one of its cells lies inside a query
//! cell (a range of ids) or contains one (an ancestor of a query cell: one exact id).
//!
//! A `2d` key is the Z-order (Morton) code of a legacy pair on a grid of `2^bits` steps per
//! axis over `[min, max]`; a square of the grid aligned to a power of two is one range of
//! codes.
//!
//! Ids and codes are stored as `NumberLong` with the top bit flipped, so that the
//! signed order of the stored numbers is the unsigned order of the ids.

use bson::{Bson, Document};
use s2::cellid::CellID;
use s2::region::RegionCoverer;

use crate::engine::arith;
use crate::engine::geo::shape::{self, Geometry, Pair};
use crate::engine::geo::sphere::Area;
use crate::engine::path::for_each_value;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The coarsest and finest levels of cells covering a shape, and their number.
const COARSEST_LEVEL: u8 = 2;
const FINEST_LEVEL: u8 = 16;
const MAX_CELLS: usize = 20;

/// The index version mongod creates today, shown in the index's spec.
pub const SPHERE_INDEX_VERSION: i32 = 3;

/// Which geometry an index serves.
#[derive(Clone, Debug, PartialEq)]
pub enum GeoKind {
    /// `2dsphere`: GeoJSON and legacy pairs on the earth.
    Sphere,
    /// `2d`: legacy pairs on a plane grid.
    Flat(Grid),
}

/// A `2d` index's grid: `bits` per axis over `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub bits: u32,
    pub min: f64,
    pub max: f64,
}

/// A geospatial index's fields and kind.
#[derive(Clone, Debug, PartialEq)]
pub struct GeoSpec {
    pub kind: GeoKind,
    /// The fields holding geometries (several for a `2dsphere` index, one for `2d`).
    pub fields: Vec<String>,
}

fn kind_of(dir: &Bson) -> Option<&str> {
    match dir {
        Bson::String(k) if k == "2dsphere" || k == "2d" => Some(k),
        _ => None,
    }
}

fn number_option(options: &Document, name: &str) -> Option<f64> {
    options.get(name).and_then(arith::to_f64)
}

impl GeoSpec {
    /// The spec of a geospatial index, from its key pattern and options.
    pub fn from_index(key: &Document, options: &Document) -> Option<GeoSpec> {
        let fields: Vec<String> = key
            .iter()
            .filter(|(_, d)| kind_of(d).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let first = fields.first()?;
        let kind = match kind_of(&key[first.as_str()]) {
            Some("2d") => GeoKind::Flat(Grid {
                bits: number_option(options, "bits").map_or(26, |b| b as u32),
                min: number_option(options, "min").unwrap_or(-180.0),
                max: number_option(options, "max").unwrap_or(180.0),
            }),
            _ => GeoKind::Sphere,
        };
        Some(GeoSpec { kind, fields })
    }

    /// Checks a key pattern with geo fields and its options, as `createIndexes` must.
    pub fn check(key: &Document, options: &Document) -> CmdResult<()> {
        let kinds: Vec<(&str, &str)> = key
            .iter()
            .filter_map(|(k, d)| kind_of(d).map(|kind| (k.as_str(), kind)))
            .collect();
        let Some((_, first)) = kinds.first() else {
            return Ok(());
        };
        let other_special = key
            .values()
            .any(|d| matches!(d, Bson::String(k) if k != "2d" && k != "2dsphere"));
        if kinds.iter().any(|(_, k)| k != first) || other_special {
            return Err(CommandError::new(
                ErrorCode::CannotCreateIndex,
                "Can't use more than one index plugin for a single index.",
            ));
        }
        if *first == "2d" {
            if kinds.len() > 1 {
                return Err(CommandError::new(
                    ErrorCode::Location(16800),
                    "can't have 2 geo fields",
                ));
            }
            if key.keys().next().map(String::as_str) != Some(kinds[0].0) {
                return Err(CommandError::new(
                    ErrorCode::Location(16801),
                    "2d has to be first in index",
                ));
            }
            let grid = match Self::from_index(key, options).map(|s| s.kind) {
                Some(GeoKind::Flat(g)) => g,
                _ => unreachable!("a 2d key"),
            };
            if !(1..=32).contains(&grid.bits)
                || number_option(options, "bits").is_some_and(|b| b.fract() != 0.0)
            {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!(
                        "bits for hash must be > 0 and <= 32, but {} bits were specified",
                        options
                            .get("bits")
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ),
                ));
            }
            if grid.min >= grid.max || !grid.min.is_finite() || !grid.max.is_finite() {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!(
                        "region for hash must be valid and have positive area, but [{}, {}] was specified",
                        grid.min, grid.max
                    ),
                ));
            }
        } else if let Some(v) = options.get("2dsphereIndexVersion")
            && !matches!(arith::to_i64_exact(v), Some(1..=3))
        {
            return Err(CommandError::new(
                ErrorCode::CannotCreateIndex,
                format!(
                    "unsupported geo index version {{ 2dsphereIndexVersion : {v} }}, only versions: [1,2,3] are supported"
                ),
            ));
        }
        Ok(())
    }

    /// What the index holds for one geo field of `doc`: its cells (or grid codes) as
    /// stored numbers; `None` when the field holds no geometry (missing, null, empty).
    pub fn field_keys(&self, doc: &Document, path: &str) -> CmdResult<Option<Vec<Bson>>> {
        let mut values = Vec::new();
        for_each_value(doc, path, &mut |v| {
            if let Some(v) = v {
                values.push(v.clone());
            }
        });
        let mut ids: Vec<u64> = Vec::new();
        for value in values {
            match &self.kind {
                GeoKind::Sphere => {
                    for g in sphere_geometries(doc, &value)? {
                        ids.extend(sphere_cells(&g));
                    }
                }
                GeoKind::Flat(grid) => {
                    for p in flat_points(doc, &value)? {
                        ids.push(grid.code(doc, p)?);
                    }
                }
            }
        }
        if ids.is_empty() {
            return Ok(None);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(Some(ids.into_iter().map(stored_id).collect()))
    }
}

/// An id as the index stores it (top bit flipped: signed order is unsigned order).
pub fn stored_id(id: u64) -> Bson {
    Bson::Int64((id ^ (1 << 63)) as i64)
}

fn is_absent(value: &Bson) -> bool {
    match value {
        Bson::Null | Bson::Undefined => true,
        Bson::Array(items) => items.is_empty(),
        Bson::Document(d) => d.is_empty(),
        _ => false,
    }
}

/// The geometries a `2dsphere` field holds: one GeoJSON object or legacy pair, or an
/// array of them.
fn sphere_geometries(doc: &Document, value: &Bson) -> CmdResult<Vec<Geometry>> {
    if is_absent(value) {
        return Ok(Vec::new());
    }
    let fail = |why: String| {
        CommandError::new(
            ErrorCode::Location(16755),
            format!("Can't extract geo keys: {doc}  {why}"),
        )
    };
    let one = |v: &Bson| -> CmdResult<Geometry> {
        match v {
            Bson::Document(d) if d.contains_key("type") => shape::geojson(d).map_err(fail),
            Bson::Document(_) | Bson::Array(_) => {
                let pair = shape::legacy_pair(v, false).map_err(fail)?;
                pair.on_sphere().map(Geometry::Point).ok_or_else(|| {
                    fail(format!(
                        "Longitude/latitude is out of bounds, lng: {} lat: {}",
                        pair.x, pair.y
                    ))
                })
            }
            other => Err(fail(format!(
                "geo element must be an array or object: {other}"
            ))),
        }
    };
    match value {
        // An array of geometries (its first element is one), not a pair of numbers.
        Bson::Array(items) if matches!(items[0], Bson::Array(_) | Bson::Document(_)) => {
            items.iter().map(one).collect()
        }
        other => one(other).map(|g| vec![g]),
    }
}

/// The legacy pairs a `2d` field holds: one pair, or an array of them.
fn flat_points(doc: &Document, value: &Bson) -> CmdResult<Vec<Pair>> {
    let one = |v: &Bson| -> CmdResult<Pair> {
        match v {
            Bson::Array(items) if items.is_empty() => Err(CommandError::new(
                ErrorCode::Location(13067),
                "geo field is empty",
            )),
            Bson::Array(items) if items.len() == 1 => Err(CommandError::new(
                ErrorCode::Location(13068),
                "geo field only has 1 element",
            )),
            _ => shape::legacy_pair(v, false).map_err(|_| {
                CommandError::new(
                    ErrorCode::Location(13026),
                    format!(
                        "geo values must be 'legacy coordinate pairs' for 2d indexes :: caused by :: {doc}"
                    ),
                )
            }),
        }
    };
    match value {
        Bson::Document(d) if d.is_empty() => Ok(Vec::new()),
        Bson::Array(items) if matches!(items.first(), Some(Bson::Array(_) | Bson::Document(_))) => {
            items.iter().map(one).collect()
        }
        Bson::Array(_) | Bson::Document(_) => one(value).map(|p| vec![p]),
        // Anything else is no location: the document is not indexed.
        _ => Ok(Vec::new()),
    }
}

fn coverer(max_level: u8) -> RegionCoverer {
    RegionCoverer {
        min_level: COARSEST_LEVEL,
        max_level,
        level_mod: 1,
        max_cells: MAX_CELLS,
    }
}

/// The cells a geometry is indexed under.
pub fn sphere_cells(g: &Geometry) -> Vec<u64> {
    match g {
        Geometry::Point(p) => vec![CellID::from(p).0],
        Geometry::MultiPoint(ps) => ps.iter().map(|p| CellID::from(p).0).collect(),
        Geometry::Collection(items) => items.iter().flat_map(sphere_cells).collect(),
        other => coverer(FINEST_LEVEL)
            .covering(&Area::Shape(other.clone()))
            .0
            .iter()
            .map(|c| c.0)
            .collect(),
    }
}

/// Inclusive ranges of ids holding every document that may meet `area`: each query
/// cell's descendants, and each of its ancestors down to the coarsest indexed level.
pub fn sphere_ranges(area: &Area) -> Vec<(u64, u64)> {
    let covering = coverer(FINEST_LEVEL).covering(area);
    let mut ranges = Vec::new();
    for cell in &covering.0 {
        ranges.push((cell.range_min().0, cell.range_max().0));
        for level in u64::from(COARSEST_LEVEL)..cell.level() {
            let parent = cell.parent(level).0;
            ranges.push((parent, parent));
        }
    }
    merge(ranges)
}

/// Sorted, overlapping and adjacent ranges joined.
fn merge(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some((_, last)) if lo <= last.saturating_add(1) => *last = (*last).max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

impl Grid {
    fn steps(&self) -> f64 {
        (1u64 << self.bits) as f64
    }

    /// A coordinate's step on the grid, clamped into it.
    fn step(&self, v: f64) -> u64 {
        let s = ((v - self.min) / (self.max - self.min) * self.steps()).floor();
        s.clamp(0.0, self.steps() - 1.0) as u64
    }

    fn in_bounds(&self, p: Pair) -> bool {
        (self.min..=self.max).contains(&p.x) && (self.min..=self.max).contains(&p.y)
    }

    /// The Z-order code of a legacy pair; a pair off the grid is refused.
    fn code(&self, doc: &Document, p: Pair) -> CmdResult<u64> {
        if !self.in_bounds(p) {
            return Err(CommandError::new(
                ErrorCode::Location(13027),
                format!(
                    "point not in interval of [ {}, {} ] :: caused by :: {doc}",
                    self.min, self.max
                ),
            ));
        }
        Ok(interleave(self.step(p.x), self.step(p.y)))
    }

    /// Inclusive ranges of codes holding every point of the box `[lo, hi]`: the squares
    /// of the coarsest level at which the box spans at most two per axis.
    pub fn ranges(&self, lo: Pair, hi: Pair) -> Vec<(u64, u64)> {
        let width = (hi.x - lo.x).max(hi.y - lo.y).max(0.0);
        let full = self.max - self.min;
        let mut level = self.bits;
        while level > 0 && full / ((1u64 << level) as f64) < width {
            level -= 1;
        }
        let shift = self.bits - level;
        if 2 * shift >= 64 {
            return vec![(0, u64::MAX)];
        }
        let (x0, x1) = (self.step(lo.x) >> shift, self.step(hi.x) >> shift);
        let (y0, y1) = (self.step(lo.y) >> shift, self.step(hi.y) >> shift);
        let mut ranges = Vec::new();
        for x in x0..=x1 {
            for y in y0..=y1 {
                let base = interleave(x, y) << (2 * shift);
                ranges.push((base, base + ((1u64 << (2 * shift)) - 1)));
            }
        }
        merge(ranges)
    }

    /// The width of the whole grid, what a `$near` search grows to at most.
    pub fn extent(&self) -> f64 {
        self.max - self.min
    }
}

/// Interleaves the bits of two grid steps (x in the odd positions).
fn interleave(x: u64, y: u64) -> u64 {
    let mut code = 0;
    for i in 0..32 {
        code |= ((x >> i) & 1) << (2 * i + 1);
        code |= ((y >> i) & 1) << (2 * i);
    }
    code
}

/// The leaf cell of a point (a point's one key).
#[cfg(test)]
fn leaf(p: &s2::point::Point) -> u64 {
    CellID::from(p).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::geo::sphere::Area;

    #[test]
    fn a_point_lies_in_a_range_of_the_disc_around_it() {
        let p = shape::sphere_point(2.35, 48.85);
        let ranges = sphere_ranges(&Area::disc(p, 1e-4));
        let id = leaf(&p);
        assert!(ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&id)));
        let far = leaf(&shape::sphere_point(-0.12, 51.5));
        assert!(!ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&far)));
    }

    #[test]
    fn stored_ids_keep_their_order() {
        let ids = [0u64, 1, 1 << 62, (1 << 63) - 1, 1 << 63, u64::MAX];
        let stored: Vec<i64> = ids
            .iter()
            .map(|i| match stored_id(*i) {
                Bson::Int64(v) => v,
                _ => unreachable!(),
            })
            .collect();
        assert!(stored.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_grid_box_range_holds_its_points() {
        let grid = Grid {
            bits: 26,
            min: -180.0,
            max: 180.0,
        };
        let doc = Document::new();
        let inside = grid.code(&doc, Pair { x: 10.5, y: -3.25 }).unwrap();
        let ranges = grid.ranges(Pair { x: 10.0, y: -4.0 }, Pair { x: 11.0, y: -3.0 });
        assert!(ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&inside)));
        assert_eq!(
            grid.code(&doc, Pair { x: 181.0, y: 0.0 }).unwrap_err().code,
            ErrorCode::Location(13027)
        );
        // A 32-bit grid's whole box is every code.
        let fine = Grid { bits: 32, ..grid };
        assert_eq!(
            fine.ranges(
                Pair {
                    x: -180.0,
                    y: -180.0
                },
                Pair { x: 180.0, y: 180.0 }
            ),
            vec![(0, u64::MAX)]
        );
    }
}
