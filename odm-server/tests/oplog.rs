//! `local.oplog.rs` through the official Rust driver: entries in mongod's format for
//! every kind of write, `ts` ranges, tailable `awaitData` cursors that wake on a commit,
//! writes refused; a commit that waits past its `maxCommitTimeMS`; pre- and post-images
//! switched on with `collMod`.

mod common;

use std::time::{Duration, Instant};

use bson::{Bson, Document, Timestamp, doc};
use common::{TestServer, code, cursor_of};
use futures::TryStreamExt;
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use mongodb::options::{FullDocumentBeforeChangeType, TransactionOptions};
use mongodb::{Collection, Database};
use odm_server::Config;

fn oplog(s: &TestServer) -> Collection<Document> {
    s.db("local").collection("oplog.rs")
}

/// The timestamp of the newest entry.
async fn last_ts(s: &TestServer) -> Timestamp {
    let last = oplog(s)
        .find_one(doc! {})
        .sort(doc! {"$natural": -1})
        .await
        .unwrap()
        .expect("the log has entries");
    last.get_timestamp("ts").unwrap()
}

async fn entries_after(s: &TestServer, ts: Timestamp) -> Vec<Document> {
    oplog(s)
        .find(doc! {"ts": {"$gt": ts}})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

fn keys(d: &Document) -> Vec<&str> {
    d.keys().map(String::as_str).collect()
}

/// Whether a document holds `field` at any depth.
fn holds(d: &Document, field: &str) -> bool {
    fn in_value(v: &Bson, field: &str) -> bool {
        match v {
            Bson::Document(d) => holds(d, field),
            Bson::Array(a) => a.iter().any(|v| in_value(v, field)),
            _ => false,
        }
    }
    d.iter().any(|(k, v)| k == field || in_value(v, field))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_write_is_an_entry_in_order_as_mongod_shows_it() {
    let s = TestServer::start().await;
    let db = s.db("app");
    // Images are kept for this collection: they must still never show.
    db.run_command(doc! {"create": "items", "changeStreamPreAndPostImages": {"enabled": true}})
        .await
        .unwrap();
    let items = db.collection::<Document>("items");
    let start = last_ts(&s).await;

    items.insert_one(doc! {"_id": 1, "n": 1}).await.unwrap();
    items
        .update_one(doc! {"_id": 1}, doc! {"$set": {"n": 2}})
        .await
        .unwrap();
    items
        .replace_one(doc! {"_id": 1}, doc! {"name": "whole"})
        .await
        .unwrap();
    items.delete_one(doc! {"_id": 1}).await.unwrap();
    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    items
        .insert_one(doc! {"_id": 2})
        .session(&mut session)
        .await
        .unwrap();
    items
        .update_one(doc! {"_id": 2}, doc! {"$set": {"t": true}})
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    // A multi-document update is no retryable write: no session fields.
    items
        .update_many(doc! {}, doc! {"$set": {"m": 1}})
        .await
        .unwrap();

    let entries = entries_after(&s, start).await;
    let ops: Vec<&str> = entries.iter().map(|e| e.get_str("op").unwrap()).collect();
    assert_eq!(ops, ["i", "u", "u", "d", "c", "u"], "{entries:#?}");
    let mut previous = start;
    for e in &entries {
        let ts = e.get_timestamp("ts").unwrap();
        assert!((ts.time, ts.increment) > (previous.time, previous.increment));
        previous = ts;
        assert_eq!(e.get_i64("t").unwrap(), 1);
        assert_eq!(e.get_i64("v").unwrap(), 2);
        assert!(e.get_datetime("wall").is_ok());
        assert!(
            !holds(e, "img") && !holds(e, "pre") && !holds(e, "post"),
            "{e}"
        );
    }
    let (insert, update, replace, delete, txn, multi) = (
        &entries[0],
        &entries[1],
        &entries[2],
        &entries[3],
        &entries[4],
        &entries[5],
    );
    // A retryable write: mongod's fields, in mongod's order.
    assert_eq!(
        keys(insert),
        [
            "lsid",
            "txnNumber",
            "op",
            "ns",
            "ui",
            "o",
            "o2",
            "stmtId",
            "ts",
            "t",
            "v",
            "wall",
            "prevOpTime"
        ]
    );
    assert_eq!(insert.get_str("ns").unwrap(), "app.items");
    assert!(matches!(insert.get("ui"), Some(Bson::Binary(_))));
    assert_eq!(insert.get_document("o").unwrap(), &doc! {"_id": 1, "n": 1});
    assert_eq!(insert.get_document("o2").unwrap(), &doc! {"_id": 1});
    assert_eq!(insert.get_i32("stmtId").unwrap(), 0);
    assert_eq!(
        insert.get_document("prevOpTime").unwrap(),
        &doc! {"ts": Timestamp { time: 0, increment: 0 }, "t": -1i64}
    );
    assert_eq!(
        update.get_document("o").unwrap(),
        &doc! {"$v": 2, "diff": {"u": {"n": 2}}}
    );
    assert_eq!(update.get_document("o2").unwrap(), &doc! {"_id": 1});
    assert_eq!(
        replace.get_document("o").unwrap(),
        &doc! {"_id": 1, "name": "whole"}
    );
    assert_eq!(replace.get_document("o2").unwrap(), &doc! {"_id": 1});
    assert_eq!(delete.get_document("o").unwrap(), &doc! {"_id": 1});
    assert!(delete.get("o2").is_none());
    // The transaction: one applyOps entry with its operations in order.
    assert_eq!(
        keys(txn),
        [
            "lsid",
            "txnNumber",
            "op",
            "ns",
            "o",
            "ts",
            "t",
            "v",
            "wall",
            "prevOpTime"
        ]
    );
    assert_eq!(txn.get_str("ns").unwrap(), "admin.$cmd");
    let applied = txn
        .get_document("o")
        .unwrap()
        .get_array("applyOps")
        .unwrap();
    let applied: Vec<&Document> = applied.iter().map(|o| o.as_document().unwrap()).collect();
    assert_eq!(applied.len(), 2);
    assert_eq!(keys(applied[0]), ["op", "ns", "ui", "o", "o2"]);
    assert_eq!(applied[0].get_document("o").unwrap(), &doc! {"_id": 2});
    assert_eq!(applied[1].get_str("op").unwrap(), "u");
    assert_eq!(
        applied[1].get_document("o").unwrap(),
        &doc! {"$v": 2, "diff": {"i": {"t": true}}}
    );
    assert_eq!(
        keys(multi),
        ["op", "ns", "ui", "o", "o2", "ts", "t", "v", "wall"]
    );
    drop(session);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ts_ranges_directions_limits_projections_and_counts() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("c");
    s.db("app").create_collection("c").await.unwrap();
    let start = last_ts(&s).await;
    for n in 0..5 {
        coll.insert_one(doc! {"_id": n}).await.unwrap();
    }
    let all = entries_after(&s, start).await;
    assert_eq!(all.len(), 5);
    let ts: Vec<Timestamp> = all.iter().map(|e| e.get_timestamp("ts").unwrap()).collect();

    let between: Vec<Document> = oplog(&s)
        .find(doc! {"ts": {"$gte": ts[1], "$lt": ts[4]}})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ids = |docs: &[Document]| -> Vec<i32> {
        docs.iter()
            .map(|e| e.get_document("o").unwrap().get_i32("_id").unwrap())
            .collect()
    };
    assert_eq!(ids(&between), [1, 2, 3]);
    let newest_first: Vec<Document> = oplog(&s)
        .find(doc! {"ts": {"$gt": start}, "op": "i"})
        .sort(doc! {"$natural": -1})
        .limit(2)
        .projection(doc! {"o": 1, "_id": 0})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        newest_first,
        [doc! {"o": {"_id": 4}}, doc! {"o": {"_id": 3}}]
    );
    // Small batches resume where the last one stopped.
    let batched: Vec<Document> = oplog(&s)
        .find(doc! {"$and": [{"ts": {"$gt": start}}, {"ns": "app.c"}]})
        .sort(doc! {"ts": 1})
        .batch_size(2)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&batched), [0, 1, 2, 3, 4]);
    let by_id: Vec<Document> = oplog(&s)
        .find(doc! {"ts": {"$gt": start}})
        .sort(doc! {"o._id": -1})
        .skip(1)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&by_id), [3, 2, 1, 0]);
    assert_eq!(
        oplog(&s)
            .count_documents(doc! {"ts": {"$gt": ts[2]}})
            .await
            .unwrap(),
        2
    );
    let local = s.db("local");
    let counted = local
        .run_command(doc! {"count": "oplog.rs", "query": {"ts": {"$lte": ts[0]}, "ns": "app.c"}})
        .await
        .unwrap();
    assert_eq!(counted.get_i32("n").unwrap(), 1);
    s.stop().await;
}

async fn command(db: &Database, body: Document) -> Document {
    db.run_command(body).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tailable_await_cursor_wakes_on_a_commit_and_times_out_empty() {
    let s = TestServer::start().await;
    let local = s.db("local");
    let coll = s.db("app").collection::<Document>("c");
    s.db("app").create_collection("c").await.unwrap();
    let start = last_ts(&s).await;
    let opened = command(
        &local,
        doc! {"find": "oplog.rs", "filter": {"ts": {"$gt": start}}, "tailable": true, "awaitData": true},
    )
    .await;
    let (id, first) = cursor_of(&opened);
    assert!(first.is_empty() && id != 0, "{opened}");
    let get_more = |max: Option<i64>| {
        let mut body = doc! {"getMore": id, "collection": "oplog.rs"};
        if let Some(ms) = max {
            body.insert("maxTimeMS", ms);
        }
        body
    };

    // A write 300 ms later ends a getMore that would wait 10 s.
    let writer = {
        let coll = coll.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            coll.insert_one(doc! {"_id": "late"}).await.unwrap();
        })
    };
    let began = Instant::now();
    let (again, batch) = cursor_of(&command(&local, get_more(Some(10_000))).await);
    let waited = began.elapsed();
    writer.await.unwrap();
    assert_eq!(again, id);
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert_eq!(batch[0].get_document("o").unwrap(), &doc! {"_id": "late"});
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    // Nothing comes: an empty batch after maxTimeMS, and the cursor stays open.
    let began = Instant::now();
    let (again, batch) = cursor_of(&command(&local, get_more(Some(300))).await);
    let waited = began.elapsed();
    assert_eq!((again, batch.len()), (id, 0));
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // Without maxTimeMS: mongod's one second.
    let began = Instant::now();
    let (_, batch) = cursor_of(&command(&local, get_more(None)).await);
    assert!(batch.is_empty());
    assert!(began.elapsed() >= Duration::from_millis(1000));

    // Tailable without awaitData answers at once; maxTimeMS is refused on it.
    let plain = command(
        &local,
        doc! {"find": "oplog.rs", "filter": {"ts": {"$gt": start}}, "tailable": true},
    )
    .await;
    let (plain_id, first) = cursor_of(&plain);
    assert_eq!(first.len(), 1);
    let began = Instant::now();
    let (same, batch) =
        cursor_of(&command(&local, doc! {"getMore": plain_id, "collection": "oplog.rs"}).await);
    assert_eq!((same, batch.len()), (plain_id, 0));
    assert!(began.elapsed() < Duration::from_millis(900));
    let err = local
        .run_command(doc! {"getMore": plain_id, "collection": "oplog.rs", "maxTimeMS": 10})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(2), "{err}");

    // mongod's rules for tailable cursors.
    let app = s.db("app");
    for (db, body, expected) in [
        (&app, doc! {"find": "c", "tailable": true}, 2),
        (&app, doc! {"find": "c", "awaitData": true}, 9),
        (
            &local,
            doc! {"find": "oplog.rs", "tailable": true, "sort": {"$natural": -1}},
            2,
        ),
        (
            &local,
            doc! {"find": "oplog.rs", "tailable": true, "singleBatch": true},
            2,
        ),
    ] {
        let err = db.run_command(body.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(expected), "{body}: {err}");
    }
    let missing = command(&app, doc! {"find": "nothing", "tailable": true}).await;
    assert_eq!(cursor_of(&missing).0, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_whose_position_left_the_log_dies() {
    let s = TestServer::with_config(Config::in_memory().oplog_size(20_000)).await;
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_one(doc! {"_id": 0}).await.unwrap();
    let local = s.db("local");
    let (id, first) = cursor_of(
        &command(
            &local,
            doc! {"find": "oplog.rs", "batchSize": 1, "tailable": true},
        )
        .await,
    );
    assert_eq!(first.len(), 1);
    for n in 1..100 {
        coll.insert_one(doc! {"_id": n, "pad": "x".repeat(500)})
            .await
            .unwrap();
    }
    let err = local
        .run_command(doc! {"getMore": id, "collection": "oplog.rs"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(136), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oplog_is_a_capped_collection_no_one_writes_to() {
    let s = TestServer::start().await;
    let local = s.db("local");
    let listed: Vec<Document> = cursor_of(&command(&local, doc! {"listCollections": 1}).await).1;
    let entry = listed
        .iter()
        .find(|c| c.get_str("name").is_ok_and(|n| n == "oplog.rs"))
        .expect("local lists the oplog");
    let options = entry.get_document("options").unwrap();
    assert!(options.get_bool("capped").unwrap());
    assert!(options.get_i64("size").unwrap() > 0);

    let refused = [
        (doc! {"insert": "oplog.rs", "documents": [{"op": "n"}]}, 73),
        (
            doc! {"update": "oplog.rs", "updates": [{"q": {}, "u": {"$set": {"x": 1}}}]},
            73,
        ),
        (
            doc! {"delete": "oplog.rs", "deletes": [{"q": {}, "limit": 0}]},
            73,
        ),
        (
            doc! {"findAndModify": "oplog.rs", "query": {}, "remove": true},
            73,
        ),
        (doc! {"drop": "oplog.rs"}, 5255000),
        (doc! {"create": "oplog.rs"}, 48),
        (doc! {"dropDatabase": 1}, 20),
    ];
    for (body, expected) in refused {
        let err = local.run_command(body.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(expected), "{body}: {err}");
    }
    let err = s
        .db("admin")
        .run_command(doc! {"renameCollection": "local.oplog.rs", "to": "local.poison"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(20), "{err}");
    // Through the driver's own helpers too.
    let err = oplog(&s).insert_one(doc! {"op": "n"}).await.unwrap_err();
    assert_eq!(code(&err), Some(73), "{err}");
    assert!(oplog(&s).find_one(doc! {}).await.unwrap().is_some());

    // A standalone has no oplog, as a standalone mongod.
    let standalone = TestServer::with_config(Config::in_memory().replica_set(None)).await;
    let local = standalone.db("local");
    assert!(
        oplog(&standalone)
            .find_one(doc! {})
            .await
            .unwrap()
            .is_none()
    );
    let listed = cursor_of(&command(&local, doc! {"listCollections": 1}).await).1;
    assert!(listed.is_empty(), "{listed:?}");
    standalone.stop().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_kept_waiting_past_max_commit_time_fails_and_can_be_retried() {
    let s = TestServer::with_config(Config::in_memory().enable_test_commands(true)).await;
    let admin = s.db("admin");
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_one(doc! {"_id": "before"}).await.unwrap();
    let mut session = s.client.start_session().await.unwrap();
    let options = TransactionOptions::builder()
        .max_commit_time(Duration::from_millis(300))
        .build();
    session
        .start_transaction()
        .with_options(options)
        .await
        .unwrap();
    coll.insert_one(doc! {"_id": "in txn"})
        .session(&mut session)
        .await
        .unwrap();

    // A plain insert takes the commit lock and hangs there.
    let configured = admin
        .run_command(
            doc! {"configureFailPoint": "hangWithLockDuringBatchInsert", "mode": "alwaysOn"},
        )
        .await
        .unwrap();
    let entered = configured.get_i64("count").unwrap();
    let hanging = {
        let coll = coll.clone();
        tokio::spawn(async move { coll.insert_one(doc! {"_id": "hung"}).await.unwrap() })
    };
    admin
        .run_command(doc! {
            "waitForFailPoint": "hangWithLockDuringBatchInsert",
            "timesEntered": entered + 1,
            "maxTimeMS": 10_000,
        })
        .await
        .unwrap();

    let began = Instant::now();
    let err = session.commit_transaction().await.unwrap_err();
    let waited = began.elapsed();
    assert_eq!(code(&err), Some(50), "{err}");
    assert!(
        err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT),
        "{err}"
    );
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert_eq!(
        coll.count_documents(doc! {"_id": "in txn"}).await.unwrap(),
        0
    );

    // Once the lock is free, the commit goes through on retry.
    admin
        .run_command(doc! {"configureFailPoint": "hangWithLockDuringBatchInsert", "mode": "off"})
        .await
        .unwrap();
    hanging.await.unwrap();
    session.commit_transaction().await.unwrap();
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 3);
    drop(session);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coll_mod_switches_pre_and_post_images_on() {
    let s = TestServer::start().await;
    let db = s.db("app");
    let coll = db.collection::<Document>("c");
    coll.insert_one(doc! {"_id": 1, "n": 1}).await.unwrap();
    let mut stream = coll
        .watch()
        .full_document_before_change(FullDocumentBeforeChangeType::WhenAvailable)
        .await
        .unwrap();
    coll.update_one(doc! {"_id": 1}, doc! {"$set": {"n": 2}})
        .await
        .unwrap();
    db.run_command(doc! {"collMod": "c", "changeStreamPreAndPostImages": {"enabled": true}})
        .await
        .unwrap();
    coll.update_one(doc! {"_id": 1}, doc! {"$set": {"n": 3}})
        .await
        .unwrap();
    let mut before = Vec::new();
    while before.len() < 2 {
        if let Some(e) = tokio::time::timeout(Duration::from_secs(10), stream.next_if_any())
            .await
            .expect("events arrive")
            .unwrap()
        {
            before.push(e.full_document_before_change);
        }
    }
    assert_eq!(before, [None, Some(doc! {"_id": 1, "n": 2})]);
    let listed =
        cursor_of(&command(&db, doc! {"listCollections": 1, "filter": {"name": "c"}}).await).1;
    assert_eq!(
        listed[0].get_document("options").unwrap(),
        &doc! {"changeStreamPreAndPostImages": {"enabled": true}}
    );
    for (spec, expected) in [
        (doc! {}, 40414),
        (doc! {"enabled": 1}, 14),
        (doc! {"enabled": true, "other": 1}, 40415),
    ] {
        let err = db
            .run_command(doc! {"collMod": "c", "changeStreamPreAndPostImages": spec.clone()})
            .await
            .unwrap_err();
        assert_eq!(code(&err), Some(expected), "{spec}: {err}");
    }
    drop(stream);
    s.stop().await;
}
