//! Geospatial queries through the driver: `2dsphere` and `2d` indexes, `$near` over many
//! points through the index, `$geoNear`, mongod's refusals, and property tests: a geo
//! query answers the same through its index as through a collection scan.

mod common;

use std::time::Instant;

use bson::{Bson, Document, doc};
use common::{TestServer, code, explained_leaf, leaf_stage};
use futures::TryStreamExt;
use mongodb::Database;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

/// A deterministic spread of points over the earth (a linear congruential sequence).
fn points(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (next() * 360.0 - 180.0, next() * 180.0 - 90.0))
        .collect()
}

fn point(lng: f64, lat: f64) -> Document {
    doc! {"type": "Point", "coordinates": [lng, lat]}
}

async fn ids(db: &Database, cmd: Document) -> Vec<i64> {
    let reply = db.run_command(cmd).await.unwrap();
    let cursor = reply.get_document("cursor").unwrap();
    let mut out: Vec<i64> = cursor
        .get_array("firstBatch")
        .unwrap()
        .iter()
        .map(|d| match d.as_document().unwrap().get("_id").unwrap() {
            Bson::Int32(i) => i64::from(*i),
            Bson::Int64(i) => *i,
            other => panic!("unexpected _id {other}"),
        })
        .collect();
    assert_eq!(cursor.get_i64("id").unwrap(), 0, "one batch");
    out.sort_unstable();
    out
}

/// A `2dsphere` index called `name` on the `loc` field of `coll`.
async fn index_loc(db: &Database, coll: &str, name: &str) {
    db.run_command(
        doc! {"createIndexes": coll, "indexes": [{"key": {"loc": "2dsphere"}, "name": name}]},
    )
    .await
    .unwrap();
}

/// The `_id`s a find on `coll` answers through an index (the planner's choice, or `hint`)
/// and by a collection scan.
async fn indexed_and_scanned(
    db: &Database,
    coll: &str,
    filter: &Document,
    hint: Option<&str>,
) -> (Vec<i64>, Vec<i64>) {
    let mut find = doc! {"find": coll, "filter": filter.clone()};
    if let Some(h) = hint {
        find.insert("hint", h);
    }
    let indexed = ids(db, find).await;
    let scanned = ids(
        db,
        doc! {"find": coll, "filter": filter.clone(), "hint": {"$natural": 1}},
    )
    .await;
    (indexed, scanned)
}

#[tokio::test(flavor = "multi_thread")]
async fn near_over_a_hundred_thousand_points_reads_only_the_index_around_it() {
    let s = TestServer::start().await;
    let db = s.db("geo");
    let places = db.collection::<Document>("places");
    let docs: Vec<Document> = points(100_000, 7)
        .into_iter()
        .enumerate()
        .map(|(i, (lng, lat))| doc! {"_id": i as i64, "loc": point(lng, lat)})
        .collect();
    for chunk in docs.chunks(10_000) {
        places.insert_many(chunk.to_vec()).await.unwrap();
    }
    index_loc(&db, "places", "loc_2dsphere").await;
    let near = doc! {"loc": {"$near": {"$geometry": point(2.35, 48.85)}}};
    let started = Instant::now();
    let found: Vec<Document> = places
        .find(near.clone())
        .limit(10)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    println!("$near over 100,000 points, 10 nearest: {elapsed:?}");
    assert_eq!(found.len(), 10);
    assert!(elapsed.as_secs_f64() < 1.0, "took {elapsed:?}");

    // Nearest first: each result at least as far as the one before.
    let reply = db
        .run_command(doc! {"aggregate": "places", "pipeline": [
            {"$geoNear": {"near": point(2.35, 48.85), "distanceField": "d"}}, {"$limit": 10}
        ], "cursor": {}})
        .await
        .unwrap();
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    let distances: Vec<f64> = batch
        .iter()
        .map(|d| d.as_document().unwrap().get_f64("d").unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    let same: Vec<&Bson> = found.iter().map(|d| d.get("_id").unwrap()).collect();
    let staged: Vec<&Bson> = batch
        .iter()
        .map(|d| d.as_document().unwrap().get("_id").unwrap())
        .collect();
    assert_eq!(same, staged);

    // Index-backed: the plan is a geo near scan, and few documents are read.
    let explained = db
        .run_command(doc! {"explain": {"find": "places", "filter": near, "limit": 10}, "verbosity": "executionStats"})
        .await
        .unwrap();
    let planner = explained.get_document("queryPlanner").unwrap();
    let leaf = leaf_stage(planner.get_document("winningPlan").unwrap());
    assert_eq!(
        leaf.get_str("stage").unwrap(),
        "GEO_NEAR_2DSPHERE",
        "{leaf}"
    );
    assert_eq!(leaf.get_str("indexName").unwrap(), "loc_2dsphere");
    let examined = explained
        .get_document("executionStats")
        .unwrap()
        .get("totalDocsExamined")
        .cloned()
        .unwrap();
    let examined = match examined {
        Bson::Int32(n) => i64::from(n),
        Bson::Int64(n) => n,
        other => panic!("{other}"),
    };
    println!("documents examined: {examined}");
    assert!(examined < 1_000, "examined {examined} documents");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn geo_near_sets_distances_locations_and_filters() {
    let s = TestServer::start().await;
    let db = s.db("geo");
    let c = db.collection::<Document>("cities");
    c.insert_many(vec![
        doc! {"_id": 1, "name": "Paris", "loc": point(2.3522, 48.8566), "big": true},
        doc! {"_id": 2, "name": "London", "loc": point(-0.1276, 51.5072), "big": true},
        doc! {"_id": 3, "name": "Berlin", "loc": point(13.405, 52.52), "big": true},
        doc! {"_id": 4, "name": "Reims", "loc": point(4.0317, 49.2583), "big": false},
    ])
    .await
    .unwrap();
    index_loc(&db, "cities", "loc").await;
    let reply = db
        .run_command(doc! {"aggregate": "cities", "pipeline": [
            {"$geoNear": {"near": point(2.3522, 48.8566), "distanceField": "dist.m",
                          "includeLocs": "at", "query": {"big": true}, "maxDistance": 500_000,
                          "distanceMultiplier": 0.001}},
            {"$project": {"name": 1, "km": {"$round": ["$dist.m", 0]}, "at": 1}}
        ], "cursor": {}})
        .await
        .unwrap();
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    let names: Vec<(&str, f64)> = batch
        .iter()
        .map(|d| {
            let d = d.as_document().unwrap();
            (d.get_str("name").unwrap(), d.get_f64("km").unwrap())
        })
        .collect();
    // Paris to London is 344 km on mongod's sphere; Reims is not "big"; Berlin is 878 km.
    assert_eq!(names, vec![("Paris", 0.0), ("London", 344.0)]);
    assert_eq!(
        batch[1].as_document().unwrap().get_document("at").unwrap(),
        &point(-0.1276, 51.5072)
    );

    // $geoWithin a polygon around France and Germany; $geoIntersects a line.
    let within = ids(&db, doc! {"find": "cities", "filter": {"loc": {"$geoWithin": {"$geometry": {
        "type": "Polygon", "coordinates": [[[-5.0, 42.0], [15.0, 42.0], [15.0, 55.0], [1.5, 55.0], [1.5, 51.0], [-5.0, 48.0], [-5.0, 42.0]]]
    }}}}})
    .await;
    assert_eq!(within, vec![1, 3, 4]);
    let line = doc! {"type": "LineString", "coordinates": [[-0.1276, 51.5072], [13.405, 52.52]]};
    let hit = ids(
        &db,
        doc! {"find": "cities", "filter": {"loc": {"$geoIntersects": {"$geometry": line.clone()}}}},
    )
    .await;
    assert_eq!(hit, vec![2, 3]);
    let disc = ids(&db, doc! {"find": "cities", "filter": {"loc": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 200.0 / 6378.1]}}}}).await;
    assert_eq!(disc, vec![1, 4]);
    // The planner scans the 2dsphere index for a region, as mongod does.
    let leaf = explained_leaf(
        &db,
        doc! {"find": "cities", "filter": {"loc": {"$geoIntersects": {"$geometry": line}}}},
    )
    .await;
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{leaf}");
    assert_eq!(leaf.get_str("indexName").unwrap(), "loc");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2d_index_serves_flat_queries() {
    let s = TestServer::start().await;
    let db = s.db("geo");
    let c = db.collection::<Document>("grid");
    let docs: Vec<Document> = (0..400)
        .map(
            |i| doc! {"_id": i as i64, "pos": [f64::from(i % 20) - 10.0, f64::from(i / 20) - 10.0]},
        )
        .collect();
    c.insert_many(docs).await.unwrap();
    db.run_command(
        doc! {"createIndexes": "grid", "indexes": [{"key": {"pos": "2d"}, "name": "pos_2d"}]},
    )
    .await
    .unwrap();
    let near: Vec<Document> = c
        .find(doc! {"pos": {"$near": [0.2, 0.1], "$maxDistance": 1.45}})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let order: Vec<i64> = near.iter().map(|d| d.get_i64("_id").unwrap()).collect();
    // (0,0) first, then (1,0), (0,1), (0,-1), then (-1,0) and (1,1) at one distance,
    // then (1,-1); (-1,1) lies at 1.5.
    assert_eq!(order[..4], [210, 211, 230, 190], "{order:?}");
    assert_eq!(order[6], 191, "{order:?}");
    assert_eq!(order.len(), 7, "{order:?}");
    let leaf = explained_leaf(
        &db,
        doc! {"find": "grid", "filter": {"pos": {"$near": [0, 0]}}},
    )
    .await;
    assert_eq!(leaf.get_str("stage").unwrap(), "GEO_NEAR_2D");
    for filter in [
        doc! {"pos": {"$geoWithin": {"$box": [[-2, -2], [1.5, 3]]}}},
        doc! {"pos": {"$geoWithin": {"$polygon": [[0, 0], [5, 0], [0, 5]]}}},
        doc! {"pos": {"$geoWithin": {"$center": [[3, 3], 2.5]}}},
    ] {
        let (indexed, scanned) = indexed_and_scanned(&db, "grid", &filter, Some("pos_2d")).await;
        assert!(!indexed.is_empty());
        assert_eq!(indexed, scanned, "{filter}");
    }
    let err = c.insert_one(doc! {"pos": [200, 0]}).await.unwrap_err();
    assert_eq!(code(&err), Some(13027), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_geometry_and_misplaced_near_are_refused_with_mongods_codes() {
    let s = TestServer::start().await;
    let db = s.db("geo");
    let c = db.collection::<Document>("c");
    index_loc(&db, "c", "loc").await;
    c.insert_one(doc! {"_id": 1, "loc": point(1.0, 1.0)})
        .await
        .unwrap();
    // Documents without a geometry are not indexed, and are accepted.
    c.insert_one(doc! {"_id": 2, "other": 1}).await.unwrap();
    c.insert_one(doc! {"_id": 3, "loc": Bson::Null})
        .await
        .unwrap();
    for bad in [
        doc! {"loc": {"type": "Point", "coordinates": [200, 0]}},
        doc! {"loc": {"type": "Point", "coordinates": ["a", 0]}},
        doc! {"loc": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}},
        doc! {"loc": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
        doc! {"loc": {"type": "Blob", "coordinates": [1, 2]}},
        doc! {"loc": "somewhere"},
    ] {
        let err = c.insert_one(bad.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(16755), "{bad}: {err}");
    }
    assert_eq!(
        c.count_documents(doc! {}).await.unwrap(),
        3,
        "nothing else stored"
    );

    let find = |filter: Document| {
        let db = db.clone();
        async move {
            db.run_command(doc! {"find": "c", "filter": filter})
                .await
                .map(|_| ())
        }
    };
    let cases = [
        (doc! {"$or": [{"loc": {"$near": [0, 0]}}, {"a": 1}]}, 2),
        (
            doc! {"loc": {"$near": {"$geometry": point(0.0, 0.0)}}, "x": {"$near": {"$geometry": point(0.0, 0.0)}}},
            2,
        ),
        (
            doc! {"loc": {"$geoWithin": {"$geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}}}},
            2,
        ),
        (
            doc! {"loc": {"$geoWithin": {"$geometry": point(0.0, 0.0)}}},
            2,
        ),
        (
            doc! {"loc": {"$geoIntersects": {"$box": [[0, 0], [1, 1]]}}},
            2,
        ),
        (
            doc! {"loc": {"$near": {"$geometry": point(0.0, 0.0), "$maxDistance": -1}}},
            2,
        ),
        (
            doc! {"loc": {"$near": [0, 0], "$maxDistance": "far"}},
            16895,
        ),
        // A legacy $near needs a 2d index.
        (doc! {"loc": {"$near": [0, 0]}}, 291),
        (
            doc! {"elsewhere": {"$nearSphere": {"$geometry": point(0.0, 0.0)}}},
            291,
        ),
    ];
    for (filter, expected) in cases {
        let err = find(filter.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(expected), "{filter}: {err}");
    }
    let err = db
        .run_command(doc! {"aggregate": "c", "pipeline": [{"$match": {"loc": {"$near": {"$geometry": point(0.0, 0.0)}}}}], "cursor": {}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(5626500), "{err}");
    let err = c
        .count_documents(doc! {"loc": {"$nearSphere": {"$geometry": point(0.0, 0.0)}}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(5626500), "{err}");
    let err = db
        .run_command(doc! {"aggregate": "c", "pipeline": [{"$match": {}}, {"$geoNear": {"near": point(0.0, 0.0), "distanceField": "d"}}], "cursor": {}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(40602), "{err}");
    let err = db
        .run_command(doc! {"createIndexes": "c", "indexes": [{"key": {"a": "2d", "b": "2d"}, "name": "two"}]})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(16800), "{err}");
    let err = db
        .run_command(doc! {"createIndexes": "c", "indexes": [{"key": {"a": 1, "b": "2d"}, "name": "second"}]})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(16801), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shapes_at_the_pole_answer_alike_through_the_index() {
    // Found by the geo fuzzer: every longitude at latitude 90 is the north pole, where
    // four cells meet; a point there is on a line between two such coordinates, and the
    // index must find it in whichever cell its rounding puts it.
    let s = TestServer::start().await;
    let db = s.db("geo");
    let c = db.collection::<Document>("poles");
    c.insert_many(
        [0.0, 45.0, 90.0, 135.0, 180.0, -45.0, -90.0, -135.0]
            .iter()
            .enumerate()
            .map(|(i, lng)| doc! {"_id": i as i64, "loc": point(*lng, 90.0)}),
    )
    .await
    .unwrap();
    index_loc(&db, "poles", "loc").await;
    for filter in [
        doc! {"loc": {"$geoIntersects": {"$geometry": {"type": "LineString", "coordinates": [[0.1, 90], [180, 90]]}}}},
        doc! {"loc": {"$geoIntersects": {"$geometry": point(-10.0, 90.0)}}},
        doc! {"loc": {"$geoWithin": {"$centerSphere": [[0, 90], 1e-9]}}},
    ] {
        let (indexed, scanned) = indexed_and_scanned(&db, "poles", &filter, None).await;
        assert_eq!(indexed, scanned, "{filter}");
        assert_eq!(scanned.len(), 8, "{filter}");
    }
    // A zero-length line at the south pole meets nothing at the north pole (its arc is
    // degenerate, which an exact crossing test calls "maybe").
    c.insert_one(
        doc! {"_id": 100, "loc": {"type": "LineString", "coordinates": [[180, -90], [-180, -90]]}},
    )
    .await
    .unwrap();
    let north = doc! {"loc": {"$geoIntersects": {"$geometry": {"type": "LineString", "coordinates": [[0.1, 90], [180, 90]]}}}};
    let (indexed, scanned) = indexed_and_scanned(&db, "poles", &north, None).await;
    assert!(!scanned.contains(&100), "{scanned:?}");
    assert_eq!(indexed, scanned);
    s.stop().await;
}

/// A random query region and its filter on `loc`.
fn region() -> impl Strategy<Value = Document> {
    let center = (-180.0..180.0f64, -80.0..80.0f64);
    prop_oneof![
        (center.clone(), 0.001..0.8f64).prop_map(|((x, y), r)| {
            doc! {"loc": {"$geoWithin": {"$centerSphere": [[x, y], r]}}}
        }),
        (center.clone(), 0.5..40.0f64, 0.5..40.0f64).prop_map(|((x, y), w, h)| {
            let (x0, x1) = ((x - w / 2.0).max(-179.0), (x + w / 2.0).min(179.0));
            let (y0, y1) = ((y - h / 2.0).max(-85.0), (y + h / 2.0).min(85.0));
            let ring = vec![
                Bson::Array(vec![x0.into(), y0.into()]),
                Bson::Array(vec![x1.into(), y0.into()]),
                Bson::Array(vec![x1.into(), y1.into()]),
                Bson::Array(vec![x0.into(), y1.into()]),
                Bson::Array(vec![x0.into(), y0.into()]),
            ];
            let polygon = doc! {"type": "Polygon", "coordinates": [ring]};
            doc! {"loc": {"$geoWithin": {"$geometry": polygon}}}
        }),
        (center.clone(), center.clone()).prop_map(|((x0, y0), (x1, y1))| {
            let line = doc! {"type": "LineString", "coordinates": [[x0, y0], [x1, y1]]};
            doc! {"loc": {"$geoIntersects": {"$geometry": line}}}
        }),
        (center, 1_000.0..3_000_000.0f64).prop_map(|((x, y), m)| {
            doc! {"loc": {"$nearSphere": {"$geometry": point(x, y), "$maxDistance": m}}}
        }),
    ]
}

/// A stored geometry: mostly points, some lines and small polygons.
fn stored() -> impl Strategy<Value = Bson> {
    let at = (-170.0..170.0f64, -80.0..80.0f64);
    prop_oneof![
        4 => at.clone().prop_map(|(x, y)| Bson::Document(point(x, y))),
        1 => at.clone().prop_map(|(x, y)| Bson::Array(vec![x.into(), y.into()])),
        1 => (at.clone(), 0.1..5.0f64).prop_map(|((x, y), d)| {
            Bson::Document(doc! {"type": "LineString", "coordinates": [[x, y], [x + d, y + d / 2.0]]})
        }),
        1 => (at, 0.1..5.0f64).prop_map(|((x, y), d)| {
            Bson::Document(doc! {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x, y + d], [x, y]]]})
        }),
    ]
}

#[test]
fn geo_queries_answer_alike_through_the_index_and_a_scan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("geo");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    let round = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(
            &(
                prop::collection::vec(stored(), 40..120),
                prop::collection::vec(region(), 6),
            ),
            |(locations, queries)| {
                let name = format!(
                    "c{}",
                    round.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                rt.block_on(async {
                    let c = db.collection::<Document>(&name);
                    let docs: Vec<Document> = locations
                        .iter()
                        .enumerate()
                        .map(|(i, loc)| doc! {"_id": i as i64, "loc": loc.clone()})
                        .collect();
                    c.insert_many(docs).await.unwrap();
                    index_loc(&db, &name, "loc").await;
                    for filter in &queries {
                        // Within r of a point (`$nearSphere`, which needs the index) is,
                        // by a scan, what meets the disc of r around it.
                        let scan_filter = match filter
                            .get_document("loc")
                            .unwrap()
                            .get_document("$nearSphere")
                        {
                            Ok(spec) => {
                                let center = spec
                                    .get_document("$geometry")
                                    .unwrap()
                                    .get_array("coordinates")
                                    .unwrap()
                                    .clone();
                                let r = spec.get_f64("$maxDistance").unwrap() / 6_378_100.0;
                                doc! {"loc": {"$geoIntersects": {"$centerSphere": [center, r]}}}
                            }
                            Err(_) => filter.clone(),
                        };
                        let indexed =
                            ids(&db, doc! {"find": &name, "filter": filter.clone()}).await;
                        let scanned = ids(
                            &db,
                            doc! {"find": &name, "filter": scan_filter, "hint": {"$natural": 1}},
                        )
                        .await;
                        prop_assert_eq!(&indexed, &scanned, "{}", filter);
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
    rt.block_on(s.stop());
}
