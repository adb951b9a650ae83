//! `$near` execution: documents in order of distance, found through a geo index.
//!
//! The search grows a disc (a square on a `2d` grid) around the query point, doubling its
//! radius each round. Each round reads the index entries under the disc's covering and
//! fetches the documents not seen yet, with their distance. The covering holds every
//! document closer than the radius, so every candidate found within the radius is final:
//! those are handed out, nearest first, and the rest wait for a later round. A query with
//! a limit stops after its last result, having read only the rounds it needed.
//!
//! Between batches only the count of documents handed out is kept; a `getMore` repeats
//! the search in a fresh snapshot and skips them.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};
use std::f64::consts::PI;
use std::ops::ControlFlow;

use bson::Document;

use super::{ScanPosition, StoredVisitor, live_index, scan_ranges};
use crate::engine::geo::flat;
use crate::engine::geo::shape::Pair;
use crate::engine::geo::sphere::Area;
use crate::engine::geo::{Center, Near, Unit};
use crate::error::CmdResult;
use crate::planner::{NearScan, id_ranges};
use crate::storage::catalog::CollectionMeta;
use crate::storage::collection::decode;
use crate::storage::geo::{GeoKind, Grid, sphere_ranges};
use crate::storage::{Direction, ReadTxn};

/// A document found, waiting for its turn.
struct Candidate {
    distance: f64,
    /// Order of discovery: equal distances keep it.
    seq: u64,
    stored: Vec<u8>,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.seq.cmp(&other.seq))
    }
}

/// The first radius searched, in the query's unit.
fn first_radius(scan: &NearScan) -> f64 {
    match (&scan.kind, scan.near.unit) {
        (GeoKind::Sphere, Unit::Meters) => 500.0,
        (GeoKind::Sphere, _) => 1e-4,
        (GeoKind::Flat(grid), Unit::Plane) => grid.extent() / 65_536.0,
        (GeoKind::Flat(_), _) => 1e-4,
    }
}

/// The radius past which nothing more can be found, in the query's unit.
fn last_radius(scan: &NearScan) -> f64 {
    let whole = match (&scan.kind, scan.near.unit) {
        (_, Unit::Meters) => PI * crate::engine::geo::EARTH_RADIUS_METERS,
        (GeoKind::Flat(grid), Unit::Plane) => grid.extent() * 2.0,
        _ => PI,
    };
    scan.near.max.map_or(whole, |m| m.min(whole))
}

/// The index ranges holding every document within `radius` (query unit) of the center.
fn ranges_within(scan: &NearScan, radius: f64) -> Vec<(u64, u64)> {
    let near = &scan.near;
    match (&scan.kind, &near.center) {
        (GeoKind::Sphere, Center::Sphere(c)) => {
            sphere_ranges(&Area::disc(*c, near.to_radians(radius).min(PI)))
        }
        (GeoKind::Flat(grid), Center::Flat(c)) => {
            let (lo, hi) = flat::square(*c, radius);
            grid.ranges(lo, hi)
        }
        (GeoKind::Flat(grid), Center::Sphere(_)) => sphere_box(grid, near.pair, radius),
        (GeoKind::Sphere, Center::Flat(_)) => Vec::new(),
    }
}

/// On a `2d` grid of longitudes and latitudes, the box holding every point within
/// `radius` radians of `c`: wider in longitude away from the equator, the whole width
/// near a pole or across the antimeridian.
fn sphere_box(grid: &Grid, c: Pair, radius: f64) -> Vec<(u64, u64)> {
    let dlat = radius.to_degrees();
    let top = c.y.abs() + dlat;
    let (mut x0, mut x1) = if top >= 89.0 {
        (grid.min, grid.max)
    } else {
        let dlng = dlat / top.to_radians().cos();
        (c.x - dlng, c.x + dlng)
    };
    if x0 < grid.min || x1 > grid.max {
        (x0, x1) = (grid.min, grid.max);
    }
    grid.ranges(
        Pair {
            x: x0,
            y: c.y - dlat,
        },
        Pair {
            x: x1,
            y: c.y + dlat,
        },
    )
}

/// Visits the documents of a `$near` query nearest first, after the `pos.range` already
/// handed out. Returns `true` when none is left.
pub(super) fn scan(
    txn: &dyn ReadTxn,
    meta: &CollectionMeta,
    scan: &NearScan,
    pos: &mut ScanPosition,
    visit: &mut StoredVisitor<'_>,
) -> CmdResult<bool> {
    let table = live_index(meta, &scan.index, scan.ident)?.table();
    let docs = meta.documents_table();
    let mut skip = pos.range;
    let mut fetched: HashSet<Vec<u8>> = HashSet::new();
    let mut waiting: BinaryHeap<Reverse<Candidate>> = BinaryHeap::new();
    let mut seq = 0u64;
    let last = last_radius(scan);
    let mut radius = first_radius(scan).min(last);
    loop {
        let ranges = id_ranges(&scan.prefix, &ranges_within(scan, radius));
        scan_ranges(
            txn,
            &table,
            &ranges,
            Direction::Forward,
            &mut ScanPosition::default(),
            &mut |_k, id| {
                crate::profiler::key_examined();
                if fetched.insert(id.to_vec())
                    && let Some((distance, stored)) =
                        candidate(txn, &docs, id, &scan.path, &scan.near)?
                {
                    seq += 1;
                    waiting.push(Reverse(Candidate {
                        distance,
                        seq,
                        stored,
                    }));
                }
                Ok(ControlFlow::Continue(()))
            },
        )?;
        let done = radius >= last;
        while let Some(Reverse(next)) = waiting.peek() {
            if !done && next.distance > radius {
                break;
            }
            let Reverse(next) = waiting.pop().expect("peeked");
            if skip > 0 {
                skip -= 1;
                continue;
            }
            pos.range += 1;
            if crate::depth::guard(|| visit(&next.stored))?.is_break() {
                return Ok(waiting.is_empty() && done);
            }
        }
        if done {
            return Ok(true);
        }
        radius = (radius * 2.0).min(last);
    }
}

/// A document of the index with its distance, when it has one within the query's range.
fn candidate(
    txn: &dyn ReadTxn,
    docs: &str,
    id: &[u8],
    path: &str,
    near: &Near,
) -> CmdResult<Option<(f64, Vec<u8>)>> {
    let Some(stored) = txn.get(docs, id)? else {
        return Ok(None);
    };
    crate::profiler::doc_examined();
    let doc: Document = decode(&stored)?;
    Ok(near
        .nearest(&doc, path)
        .filter(|(d, _)| near.in_range(*d))
        .map(|(d, _)| (d, stored)))
}
