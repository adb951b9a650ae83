//! The plans of geospatial queries: `$near`/`$nearSphere` through a geo index, in order
//! of distance (`exec::near`), and `$geoWithin`/`$geoIntersects` through the index cells
//! that cover the query's region.
//!
//! A `$near` needs a geo index (mongod has no other way to order by distance) and may
//! appear once, at the top level of the filter. A `2dsphere` index serves spherical
//! queries (GeoJSON points and shapes, `$centerSphere`, `$nearSphere`); a `2d` index the
//! flat ones (`$box`, `$polygon`, `$center`, `$near` from a legacy pair) and
//! `$nearSphere`. Fields of the index before the geo field must be given by equality.

use bson::{Bson, Document, doc};

use super::{Access, ByteRange, Plan, is_hidden};
use crate::engine::geo::sphere::Area;
use crate::engine::geo::{Center, GeoCond, Near, Shape};
use crate::engine::matcher::{Cond, Filter};
use crate::engine::sort::SortSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::storage::Direction;
use crate::storage::catalog::{CollectionMeta, IndexMeta};
use crate::storage::geo::{GeoKind, GeoSpec, stored_id};
use crate::storage::keycodec::{encode_component_collated, prefix_successor};

/// A `$near` scan: the index, the equality prefix before its geo field, and the query.
#[derive(Clone, Debug, PartialEq)]
pub struct NearScan {
    pub ident: u64,
    pub index: String,
    pub prefix: Vec<u8>,
    pub path: String,
    pub kind: GeoKind,
    pub near: Near,
}

fn too_many() -> CommandError {
    CommandError::bad_value("Too many geoNear expressions")
}

/// Counts the `$near` conditions of a filter, and whether any is below the top level.
fn near_placement(filter: &Filter, top: bool, count: &mut usize, nested: &mut bool) {
    crate::depth::guard(|| match filter {
        Filter::And(fs) => fs
            .iter()
            .for_each(|f| near_placement(f, top, count, nested)),
        Filter::Or(fs) | Filter::Nor(fs) => fs
            .iter()
            .for_each(|f| near_placement(f, false, count, nested)),
        Filter::Field { cond, .. } => cond_placement(cond, top, count, nested),
        _ => {}
    })
}

fn cond_placement(cond: &Cond, top: bool, count: &mut usize, nested: &mut bool) {
    match cond {
        Cond::Geo(g) if g.near().is_some() => {
            *count += 1;
            *nested |= !top;
        }
        Cond::And(cs) => cs
            .iter()
            .for_each(|c| cond_placement(c, top, count, nested)),
        Cond::Not(c) => cond_placement(c, false, count, nested),
        Cond::ElemMatch(crate::engine::matcher::ElemMatch::Value(c)) => {
            cond_placement(c, false, count, nested)
        }
        Cond::ElemMatch(crate::engine::matcher::ElemMatch::Document(f)) => {
            near_placement(f, false, count, nested)
        }
        _ => {}
    }
}

/// Whether a filter holds a `$near`/`$nearSphere` anywhere.
pub fn has_near(filter: &Filter) -> bool {
    let (mut count, mut nested) = (0, false);
    near_placement(filter, true, &mut count, &mut nested);
    count > 0
}

/// The plan of a query with `$near`, or `None` without one.
pub(super) fn near_plan(
    meta: &CollectionMeta,
    filter: &Filter,
    conds: &[(&str, &Cond)],
    sort: &SortSpec,
) -> CmdResult<Option<Plan>> {
    let (mut count, mut nested) = (0, false);
    near_placement(filter, true, &mut count, &mut nested);
    if count == 0 {
        return Ok(None);
    }
    if count > 1 {
        return Err(too_many());
    }
    if nested {
        return Err(CommandError::bad_value("geo $near must be top-level expr"));
    }
    let (path, near) = conds
        .iter()
        .find_map(|(p, c)| match c {
            Cond::Geo(g) => g.near().map(|n| (*p, n)),
            _ => None,
        })
        .expect("a top-level $near");
    let found = meta
        .indexes
        .iter()
        .filter(|i| !is_hidden(i))
        .filter_map(|i| i.geo.as_ref().map(|g| (i, g)))
        .find_map(|(index, spec)| {
            let serves = match (&spec.kind, &near.center) {
                (GeoKind::Sphere, Center::Sphere(_)) => true,
                (GeoKind::Flat(_), Center::Flat(_)) => true,
                // `$nearSphere` from a legacy pair also runs on a plane grid.
                (GeoKind::Flat(_), Center::Sphere(_)) => {
                    near.unit != crate::engine::geo::Unit::Meters
                }
                _ => false,
            };
            if !serves {
                return None;
            }
            prefix(index, spec, path, conds).map(|prefix| (index, spec, prefix))
        });
    let Some((index, spec, prefix)) = found else {
        return Err(CommandError::new(
            ErrorCode::Location(291),
            "error processing query: planner returned error :: caused by :: unable to find index for $geoNear query",
        ));
    };
    Ok(Some(Plan {
        access: Access::GeoNear(Box::new(NearScan {
            ident: index.ident,
            index: index.name.clone(),
            prefix,
            path: path.to_owned(),
            kind: spec.kind.clone(),
            near: near.clone(),
        })),
        provides_sort: sort.is_empty(),
    }))
}

/// The encoded equalities of the index's fields before `path` (which must be one of its
/// geo fields); `None` when one is not given by equality.
fn prefix(
    index: &IndexMeta,
    spec: &GeoSpec,
    path: &str,
    conds: &[(&str, &Cond)],
) -> Option<Vec<u8>> {
    if !spec.fields.iter().any(|f| f == path) {
        return None;
    }
    let mut out = Vec::new();
    for (field, descending) in index.fields() {
        if field == path {
            return Some(out);
        }
        if spec.fields.iter().any(|f| f == field) {
            // Another geo field first: its cells are not given.
            return None;
        }
        let value = conds.iter().find_map(|(p, c)| match c {
            Cond::Eq(v) if *p == field && !matches!(v, Bson::Array(_) | Bson::Null) => Some(v),
            _ => None,
        })?;
        encode_component_collated(value, descending, index.collation.as_ref(), &mut out);
    }
    None
}

/// Byte ranges of the index for inclusive id ranges after `prefix`.
pub fn id_ranges(prefix: &[u8], ids: &[(u64, u64)]) -> Vec<ByteRange> {
    ids.iter()
        .map(|(lo, hi)| {
            let mut start = prefix.to_vec();
            encode_component_collated(&stored_id(*lo), false, None, &mut start);
            let mut last = prefix.to_vec();
            encode_component_collated(&stored_id(*hi), false, None, &mut last);
            ByteRange {
                start,
                end: prefix_successor(&last),
            }
        })
        .collect()
}

/// The id ranges of a region on an index of a kind, or `None` when that index cannot
/// serve the shape.
fn shape_ranges(kind: &GeoKind, shape: &Shape) -> Option<Vec<(u64, u64)>> {
    match (kind, shape) {
        (GeoKind::Sphere, Shape::Sphere(g)) => {
            Some(crate::storage::geo::sphere_ranges(&Area::Shape(g.clone())))
        }
        (GeoKind::Sphere, Shape::Cap { center, radius }) => Some(
            crate::storage::geo::sphere_ranges(&Area::disc(*center, *radius)),
        ),
        (GeoKind::Flat(grid), Shape::Flat(region)) => {
            let (lo, hi) = region.bounds();
            Some(grid.ranges(lo, hi))
        }
        _ => None,
    }
}

/// Plans through geo indexes for the filter's top-level `$geoWithin`/`$geoIntersects`
/// conditions: the first index that serves one.
pub(super) fn region_plans(
    meta: &CollectionMeta,
    conds: &[(&str, &Cond)],
    sort: &SortSpec,
    only: Option<&IndexMeta>,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for (path, cond) in conds {
        let Cond::Geo(g) = cond else { continue };
        let shape = match g.as_ref() {
            GeoCond::Within(s) | GeoCond::Intersects(s) => s,
            GeoCond::Near(_) => continue,
        };
        for index in meta.indexes.iter().filter(|i| !is_hidden(i)) {
            if only.is_some_and(|o| o.name != index.name) {
                continue;
            }
            let Some(spec) = &index.geo else { continue };
            let Some(prefix) = prefix(index, spec, path, conds) else {
                continue;
            };
            let Some(ids) = shape_ranges(&spec.kind, shape) else {
                continue;
            };
            let shown: Vec<Bson> = ids
                .iter()
                .map(|(lo, hi)| Bson::String(format!("[{lo}, {hi}]")))
                .collect();
            let mut bounds = Document::new();
            bounds.insert(*path, shown);
            plans.push(Plan {
                access: Access::IndexScan {
                    ident: index.ident,
                    index: index.name.clone(),
                    ranges: id_ranges(&prefix, &ids),
                    direction: Direction::Forward,
                    bounds,
                    // A shape has several cells, and cells of one document several ranges.
                    multikey: true,
                },
                provides_sort: sort.is_empty(),
            });
        }
    }
    plans
}

/// `explain`'s stage for a `$near` scan.
pub(super) fn near_stage(scan: &NearScan, meta: &CollectionMeta, filter: &Document) -> Document {
    let key = meta
        .index(&scan.index)
        .map(|i| i.key.clone())
        .unwrap_or_default();
    doc! {
        "stage": "FETCH",
        "filter": filter.clone(),
        "inputStage": {
            "stage": stage_name(&scan.kind),
            "keyPattern": key,
            "indexName": scan.index.clone(),
            "indexVersion": 2,
        },
    }
}

pub(super) fn stage_name(kind: &GeoKind) -> &'static str {
    match kind {
        GeoKind::Sphere => "GEO_NEAR_2DSPHERE",
        GeoKind::Flat(_) => "GEO_NEAR_2D",
    }
}
