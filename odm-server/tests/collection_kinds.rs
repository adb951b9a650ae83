//! Time-series and clustered collections through the driver: the options `create` takes,
//! checks and reports (`listCollections`), and `expireAfterSeconds` on each.

mod common;

use std::time::Duration;

use bson::{DateTime, Document, doc};
use common::{TestServer, code};

async fn listed(db: &mongodb::Database, name: &str) -> Document {
    let reply = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": name}})
        .await
        .unwrap();
    reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0]
        .as_document()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn time_series_options_are_checked_and_reported() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(doc! {"create": "weather", "timeseries": {"timeField": "ts", "metaField": "station"}, "expireAfterSeconds": 86400})
        .await
        .unwrap();
    let info = listed(&db, "weather").await;
    assert_eq!(info.get_str("type").unwrap(), "timeseries");
    assert_eq!(
        info.get_document("options").unwrap(),
        &doc! {"timeseries": {"timeField": "ts", "metaField": "station", "granularity": "seconds", "bucketMaxSpanSeconds": 3600_i64}, "expireAfterSeconds": 86400_i64}
    );
    db.run_command(doc! {"create": "custom", "timeseries": {"timeField": "t", "bucketMaxSpanSeconds": 600, "bucketRoundingSeconds": 600}})
        .await
        .unwrap();
    let custom = listed(&db, "custom").await;
    assert_eq!(
        custom
            .get_document("options")
            .unwrap()
            .get_document("timeseries")
            .unwrap(),
        &doc! {"timeField": "t", "bucketRoundingSeconds": 600_i64, "bucketMaxSpanSeconds": 600_i64}
    );
    for (command, expected) in [
        (
            doc! {"create": "a", "timeseries": {"metaField": "m"}},
            40414,
        ),
        (
            doc! {"create": "b", "timeseries": {"timeField": "t", "metaField": "t"}},
            72,
        ),
        (
            doc! {"create": "c", "timeseries": {"timeField": "t", "granularity": "days"}},
            2,
        ),
        (
            doc! {"create": "d", "timeseries": {"timeField": "t", "bucketMaxSpanSeconds": 60}},
            72,
        ),
        (
            doc! {"create": "e", "timeseries": {"timeField": "t", "bucketMaxSpanSeconds": 60, "bucketRoundingSeconds": 30}},
            72,
        ),
        (
            doc! {"create": "f", "timeseries": {"timeField": "t"}, "capped": true, "size": 4096},
            72,
        ),
        (doc! {"create": "g", "expireAfterSeconds": 10}, 72),
        (
            doc! {"create": "h", "timeseries": {"timeField": "t", "bogus": 1}},
            40415,
        ),
    ] {
        let err = db.run_command(command.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(expected), "{command}: {err}");
    }
    s.stop().await;
}

async fn wait_for_count(coll: &mongodb::Collection<Document>, n: u64) -> u64 {
    let mut left = u64::MAX;
    for _ in 0..60 {
        left = coll.count_documents(doc! {}).await.unwrap();
        if left == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    left
}

#[tokio::test(flavor = "multi_thread")]
async fn expire_after_seconds_on_time_series_and_clustered_collections() {
    let config = odm_server::Config::in_memory().ttl_monitor_interval(Duration::from_millis(100));
    let s = TestServer::with_config(config).await;
    let db = s.db("t");
    let now = DateTime::now().timestamp_millis();
    let hour_ago = DateTime::from_millis(now - 3_600_000);

    db.run_command(
        doc! {"create": "metrics", "timeseries": {"timeField": "ts"}, "expireAfterSeconds": 60},
    )
    .await
    .unwrap();
    let metrics = db.collection::<Document>("metrics");
    metrics
        .insert_many([
            doc! {"ts": hour_ago, "v": 1},
            doc! {"ts": DateTime::from_millis(now), "v": 2},
        ])
        .await
        .unwrap();
    assert_eq!(wait_for_count(&metrics, 1).await, 1);
    assert_eq!(
        metrics
            .find_one(doc! {})
            .await
            .unwrap()
            .unwrap()
            .get_i32("v")
            .unwrap(),
        2
    );

    db.run_command(doc! {"create": "events", "clusteredIndex": {"key": {"_id": 1}, "unique": true}, "expireAfterSeconds": 60})
        .await
        .unwrap();
    let info = listed(&db, "events").await;
    assert_eq!(
        info.get_document("options")
            .unwrap()
            .get_document("clusteredIndex")
            .unwrap(),
        &doc! {"v": 2, "key": {"_id": 1}, "name": "_id_", "unique": true}
    );
    let events = db.collection::<Document>("events");
    events
        .insert_many([
            doc! {"_id": hour_ago},
            doc! {"_id": DateTime::from_millis(now)},
        ])
        .await
        .unwrap();
    assert_eq!(wait_for_count(&events, 1).await, 1);
    let err = db
        .run_command(doc! {"create": "x", "clusteredIndex": {"key": {"a": 1}, "unique": true}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(72), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_ttl_index_expires_only_what_it_holds() {
    let config = odm_server::Config::in_memory().ttl_monitor_interval(Duration::from_millis(100));
    let s = TestServer::with_config(config).await;
    let db = s.db("t");
    db.run_command(doc! {"createIndexes": "jobs", "indexes": [
        {"key": {"at": 1}, "name": "done_at", "expireAfterSeconds": 60, "partialFilterExpression": {"done": true}}
    ]})
    .await
    .unwrap();
    let old = DateTime::from_millis(DateTime::now().timestamp_millis() - 3_600_000);
    let jobs = db.collection::<Document>("jobs");
    jobs.insert_many([
        doc! {"_id": 1, "at": old, "done": true},
        doc! {"_id": 2, "at": old, "done": false},
    ])
    .await
    .unwrap();
    assert_eq!(wait_for_count(&jobs, 1).await, 1);
    assert!(jobs.find_one(doc! {"_id": 2}).await.unwrap().is_some());
    s.stop().await;
}
