//! Geospatial indexes: over generated geometries (valid or not), a geo query answered
//! through the `2dsphere` index gives the documents a collection scan gives, `$near`
//! gives the documents within its distance nearest first, and nothing panics.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bson::{Bson, Document, doc};
use libfuzzer_sys::fuzz_target;
use odm_fuzz::found_ids;
use odm_server::fuzzing::CommandHarness;

/// A coordinate: mostly near a few places (so shapes meet), sometimes an edge value.
fn coord(u: &mut Unstructured<'_>, limit: f64) -> arbitrary::Result<Bson> {
    Ok(match u.choose_index(8)? {
        0 => Bson::Double(*u.choose(&[limit, -limit, 0.0, 180.0, -180.0, 90.0, f64::NAN])?),
        1 => Bson::Int32(i32::from(i8::arbitrary(u)?)),
        2 => Bson::String("x".into()),
        _ => Bson::Double(f64::from(i16::arbitrary(u)?) / 400.0),
    })
}

fn position(u: &mut Unstructured<'_>) -> arbitrary::Result<Bson> {
    Ok(Bson::Array(vec![coord(u, 180.0)?, coord(u, 90.0)?]))
}

fn positions(u: &mut Unstructured<'_>, closed: bool) -> arbitrary::Result<Vec<Bson>> {
    let mut out: Vec<Bson> = (0..1 + u.choose_index(5)?)
        .map(|_| position(u))
        .collect::<arbitrary::Result<_>>()?;
    if closed && bool::arbitrary(u)? {
        out.push(out[0].clone());
    }
    Ok(out)
}

/// A geometry: GeoJSON of every type (often invalid), or a legacy pair.
fn geometry(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Bson> {
    let kind = u.choose_index(if depth == 0 { 7 } else { 8 })?;
    Ok(match kind {
        0 => position(u)?,
        1 => Bson::Document(doc! {"type": "Point", "coordinates": position(u)?}),
        2 => Bson::Document(doc! {"type": "LineString", "coordinates": positions(u, false)?}),
        3 => {
            // A box-like ring, valid more often than random vertices.
            let (x, y) = (
                f64::from(i8::arbitrary(u)?),
                f64::from(i8::arbitrary(u)? / 2),
            );
            let d = 0.5 + f64::from(u8::arbitrary(u)?) / 16.0;
            let ring = if bool::arbitrary(u)? {
                vec![
                    Bson::Array(vec![x.into(), y.into()]),
                    Bson::Array(vec![(x + d).into(), y.into()]),
                    Bson::Array(vec![(x + d).into(), (y + d).into()]),
                    Bson::Array(vec![x.into(), (y + d).into()]),
                    Bson::Array(vec![x.into(), y.into()]),
                ]
            } else {
                positions(u, true)?
            };
            Bson::Document(doc! {"type": "Polygon", "coordinates": [ring]})
        }
        4 => Bson::Document(doc! {"type": "MultiPoint", "coordinates": positions(u, false)?}),
        5 => Bson::Null,
        6 => {
            Bson::Document(doc! {"type": "LineString", "coordinates": [position(u)?, position(u)?]})
        }
        _ => Bson::Document(doc! {
            "type": "GeometryCollection",
            "geometries": [geometry(u, depth - 1)?, geometry(u, depth - 1)?],
        }),
    })
}

/// A region query on `loc`, and whether it is a `$nearSphere` (then also its center and
/// distance, for the scan that answers it without the index).
fn query(u: &mut Unstructured<'_>) -> arbitrary::Result<(Document, Option<(Bson, f64)>)> {
    Ok(match u.choose_index(4)? {
        0 => (
            doc! {"loc": {"$geoWithin": {"$geometry": geometry(u, 1)?}}},
            None,
        ),
        1 => (
            doc! {"loc": {"$geoIntersects": {"$geometry": geometry(u, 1)?}}},
            None,
        ),
        2 => {
            let r = f64::from(u8::arbitrary(u)?) / 100.0;
            (
                doc! {"loc": {"$geoWithin": {"$centerSphere": [position(u)?, r]}}},
                None,
            )
        }
        _ => {
            let center = position(u)?;
            let r = f64::from(u8::arbitrary(u)?) / 200.0;
            (
                doc! {"loc": {"$nearSphere": center.clone(), "$maxDistance": r}},
                Some((center, r)),
            )
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mut server = CommandHarness::new();
    let created = server.run(
        "db",
        &doc! {"createIndexes": "c", "indexes": [{"key": {"loc": "2dsphere"}, "name": "loc"}]},
    );
    assert_eq!(created.get_f64("ok").ok(), Some(1.0), "{created}");
    let Ok(n) = u.choose_index(12) else { return };
    let mut stored = Vec::new();
    for i in 0..n {
        let Ok(g) = geometry(&mut u, 2) else { return };
        stored.push(g.clone());
        // Invalid geometry is refused (16755), and not stored: mongod's answer too.
        server.run(
            "db",
            &doc! {"insert": "c", "documents": [{"_id": i as i32, "loc": g}]},
        );
    }
    let Ok((filter, near)) = query(&mut u) else {
        return;
    };
    let indexed = found_ids(&mut server, &filter, None);
    let scanned = match &near {
        // Within `r` radians of a point: what `$geoIntersects` a cap answers by a scan.
        Some((center, r)) => found_ids(
            &mut server,
            &doc! {"loc": {"$geoIntersects": {"$centerSphere": [center.clone(), *r]}}},
            Some(Bson::Document(doc! {"$natural": 1})),
        ),
        None => found_ids(
            &mut server,
            &filter,
            Some(Bson::Document(doc! {"$natural": 1})),
        ),
    };
    let (Some(indexed), Some(scanned)) = (indexed, scanned) else {
        return;
    };
    if let Some((center, r)) = near {
        // Nearest first: $geoNear's distances never decrease.
        let reply = server.run(
            "db",
            &doc! {"aggregate": "c", "pipeline": [{"$geoNear": {
                "near": center, "distanceField": "d", "maxDistance": r, "spherical": true,
            }}], "cursor": {"batchSize": 1000}},
        );
        if let Ok(batch) = reply
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
        {
            let d: Vec<f64> = batch
                .iter()
                .map(|x| x.as_document().unwrap().get_f64("d").unwrap())
                .collect();
            assert!(d.windows(2).all(|w| w[0] <= w[1]), "{filter}: {d:?}");
        }
    }
    assert_eq!(
        indexed, scanned,
        "{filter}: through the 2dsphere index, over {stored:?}"
    );
});
