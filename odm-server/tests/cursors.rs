//! Cursors across several `getMore`s, `killCursors`, the idle timeout and the errors of
//! a dead or foreign cursor.

mod common;

use std::time::Duration;

use bson::{Document, doc};
use common::{TestServer, cursor_of, expect_code};
use futures::TryStreamExt;
use odm_server::Config;

async fn seed(s: &TestServer, n: i32) {
    let docs: Vec<Document> = (0..n)
        .map(|i| doc! {"_id": i, "v": i % 7, "s": format!("s{i:04}")})
        .collect();
    s.db("t")
        .collection::<Document>("c")
        .insert_many(docs)
        .await
        .unwrap();
}

async fn getmores(s: &TestServer) -> i64 {
    let status = s
        .db("admin")
        .run_command(doc! {"serverStatus": 1})
        .await
        .unwrap();
    status
        .get_document("opcounters")
        .unwrap()
        .get_i64("getmore")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn driver_iterates_across_many_get_mores() {
    let s = TestServer::start().await;
    seed(&s, 1000).await;
    let coll = s.db("t").collection::<Document>("c");
    let before = getmores(&s).await;
    // Streaming in _id order (the index gives the order).
    let all: Vec<Document> = coll
        .find(doc! {"v": {"$ne": 3}})
        .batch_size(50)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1000 - 143);
    assert!(
        all.windows(2)
            .all(|w| w[0].get_i32("_id").unwrap() < w[1].get_i32("_id").unwrap())
    );
    let after_stream = getmores(&s).await;
    assert!(
        after_stream - before >= 17,
        "expected many getMores, saw {}",
        after_stream - before
    );

    // A blocking sort serves its batches from memory.
    let sorted: Vec<Document> = coll
        .find(doc! {})
        .sort(doc! {"v": -1, "_id": 1})
        .batch_size(64)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sorted.len(), 1000);
    assert_eq!(sorted[0], doc! {"_id": 6, "v": 6, "s": "s0006"});
    assert!(getmores(&s).await - after_stream >= 15);

    // limit and skip across batches.
    let limited: Vec<Document> = coll
        .find(doc! {})
        .skip(10)
        .limit(25)
        .batch_size(4)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(limited.len(), 25);
    assert_eq!(limited[0].get_i32("_id").unwrap(), 10);
    assert_eq!(limited[24].get_i32("_id").unwrap(), 34);

    // An aggregation result is a cursor too.
    let grouped: Vec<Document> = coll
        .aggregate(vec![doc! {"$group": {"_id": "$s"}}])
        .batch_size(100)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(grouped.len(), 1000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_get_more_kill_cursors_and_errors() {
    let s = TestServer::start().await;
    seed(&s, 10).await;
    let db = s.db("t");
    let first = db
        .run_command(doc! {"find": "c", "batchSize": 3})
        .await
        .unwrap();
    let (id, batch) = cursor_of(&first);
    assert_ne!(id, 0);
    assert_eq!(batch.len(), 3);
    assert_eq!(
        first.get_document("cursor").unwrap().get_str("ns").unwrap(),
        "t.c"
    );

    let next = db
        .run_command(doc! {"getMore": id, "collection": "c", "batchSize": 4})
        .await
        .unwrap();
    let (same, batch) = cursor_of(&next);
    assert_eq!((same, batch.len()), (id, 4));
    assert_eq!(batch[0].get_i32("_id").unwrap(), 3);

    // Another collection's name is refused; the cursor survives it.
    expect_code(
        db.run_command(doc! {"getMore": id, "collection": "other"})
            .await,
        13,
    );

    let rest = db
        .run_command(doc! {"getMore": id, "collection": "c"})
        .await
        .unwrap();
    let (done, batch) = cursor_of(&rest);
    assert_eq!((done, batch.len()), (0, 3));
    expect_code(
        db.run_command(doc! {"getMore": id, "collection": "c"})
            .await,
        43,
    );

    let open = cursor_of(
        &db.run_command(doc! {"find": "c", "batchSize": 1})
            .await
            .unwrap(),
    )
    .0;
    let killed = db
        .run_command(doc! {"killCursors": "c", "cursors": [open, 12345i64]})
        .await
        .unwrap();
    assert_eq!(
        killed.get_array("cursorsKilled").unwrap(),
        &vec![bson::Bson::Int64(open)]
    );
    assert_eq!(
        killed.get_array("cursorsNotFound").unwrap(),
        &vec![bson::Bson::Int64(12345)]
    );
    expect_code(
        db.run_command(doc! {"getMore": open, "collection": "c"})
            .await,
        43,
    );

    // batchSize 0 opens a cursor with an empty first batch; singleBatch closes it.
    let (zero, batch) = cursor_of(
        &db.run_command(doc! {"find": "c", "batchSize": 0})
            .await
            .unwrap(),
    );
    assert!(zero != 0 && batch.is_empty());
    let (single, batch) = cursor_of(
        &db.run_command(doc! {"find": "c", "batchSize": 2, "singleBatch": true})
            .await
            .unwrap(),
    );
    assert_eq!((single, batch.len()), (0, 2));
    // A negative limit is the shell's spelling of `singleBatch`; the command refuses it.
    expect_code(db.run_command(doc! {"find": "c", "limit": -4}).await, 51024);

    // A dropped collection kills its cursors' next batch.
    let (open, _) = cursor_of(
        &db.run_command(doc! {"find": "c", "batchSize": 1})
            .await
            .unwrap(),
    );
    db.collection::<Document>("c").drop().await.unwrap();
    expect_code(
        db.run_command(doc! {"getMore": open, "collection": "c"})
            .await,
        175,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_cursors_time_out() {
    let s = TestServer::with_config(Config::in_memory().cursor_timeout(Duration::from_millis(200)))
        .await;
    seed(&s, 10).await;
    let db = s.db("t");
    let (id, _) = cursor_of(
        &db.run_command(doc! {"find": "c", "batchSize": 2})
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let msg = common::expect_code(
        db.run_command(doc! {"getMore": id, "collection": "c"})
            .await,
        43,
    );
    assert!(msg.contains("not found"), "{msg}");
    let log = s
        .db("admin")
        .run_command(doc! {"getLog": "global"})
        .await
        .unwrap();
    let lines = log.get_array("log").unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap_or("").contains("idle")),
        "{lines:?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_stay_under_sixteen_megabytes() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("big");
    let blob = "x".repeat(5 * 1024 * 1024);
    for i in 0..5 {
        coll.insert_one(doc! {"_id": i, "blob": &blob})
            .await
            .unwrap();
    }
    let first = s.db("t").run_command(doc! {"find": "big"}).await.unwrap();
    let (id, batch) = cursor_of(&first);
    assert!(
        id != 0 && batch.len() == 3,
        "three 5 MiB documents fit in one batch, got {}",
        batch.len()
    );
    let all: Vec<Document> = coll
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    s.db("t")
        .run_command(doc! {"killCursors": "big", "cursors": [id]})
        .await
        .unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_own_their_cursors() {
    let s = TestServer::start().await;
    seed(&s, 10).await;
    let db = s.db("t");
    let started = s
        .db("admin")
        .run_command(doc! {"startSession": 1})
        .await
        .unwrap();
    assert!(started.get_document("id").unwrap().contains_key("id"));
    assert_eq!(started.get_i32("timeoutMinutes").unwrap(), 30);

    // The driver attaches its session id (lsid) to every command run in the session.
    for end_with in ["killSessions", "endSessions", "killAllSessions"] {
        let mut session = s.client.start_session().await.unwrap();
        let lsid = session.id().clone();
        let reply = db
            .run_command(doc! {"find": "c", "batchSize": 1})
            .session(&mut session)
            .await
            .unwrap();
        let (id, _) = cursor_of(&reply);
        db.run_command(doc! {"refreshSessions": [lsid.clone()]})
            .await
            .unwrap();
        let end = if end_with == "killAllSessions" {
            doc! {end_with: []}
        } else {
            doc! {end_with: [lsid]}
        };
        s.db("admin").run_command(end).await.unwrap();
        expect_code(
            db.run_command(doc! {"getMore": id, "collection": "c"})
                .await,
            43,
        );
        drop(session);
    }
    expect_code(db.run_command(doc! {"endSessions": 5}).await, 14);
    s.stop().await;
}

/// A sort no index provides holds its documents in memory: past the configured limit it
/// fails with mongod's error unless the query allows disk use; a top-k sort (with a
/// limit) and an index-provided order stay within it.
#[tokio::test(flavor = "multi_thread")]
async fn blocking_sorts_past_the_memory_limit_fail_clearly() {
    let s = TestServer::with_config(Config::in_memory().sort_memory_limit(10_000)).await;
    let db = s.db("t");
    let coll = db.collection::<Document>("c");
    let pad = "x".repeat(100);
    coll.insert_many((0..200).map(|i| doc! {"_id": i, "k": (i * 7) % 200, "pad": &pad}))
        .await
        .unwrap();
    let sorted = |extra: Document| {
        let mut command = doc! {"find": "c", "sort": {"k": 1}, "batchSize": 1000};
        command.extend(extra);
        command
    };
    let message = expect_code(db.run_command(sorted(doc! {})).await, 292);
    assert!(
        message.contains("Sort exceeded memory limit of 10000 bytes"),
        "{message}"
    );
    let message = expect_code(
        db.run_command(doc! {"aggregate": "c", "pipeline": [{"$sort": {"k": -1}}], "cursor": {}})
            .await,
        292,
    );
    assert!(
        message.contains("allowDiskUse") || message.contains("external sorting"),
        "{message}"
    );

    let keys = |reply: Document| -> Vec<i32> {
        let (_, batch) = cursor_of(&reply);
        batch.iter().map(|d| d.get_i32("k").unwrap()).collect()
    };
    let all = keys(
        db.run_command(sorted(doc! {"allowDiskUse": true}))
            .await
            .unwrap(),
    );
    assert_eq!(all, (0..200).collect::<Vec<_>>());
    let top = keys(db.run_command(sorted(doc! {"limit": 5})).await.unwrap());
    assert_eq!(top, vec![0, 1, 2, 3, 4]);
    coll.create_index(mongodb::IndexModel::builder().keys(doc! {"k": 1}).build())
        .await
        .unwrap();
    let indexed = keys(db.run_command(sorted(doc! {})).await.unwrap());
    assert_eq!(indexed, (0..200).collect::<Vec<_>>());
    s.stop().await;
}
