//! Capped collections through the driver: the options `create` takes and reports, and a
//! tailable cursor that receives documents inserted after it was opened (with and
//! without `awaitData`).

mod common;

use std::time::{Duration, Instant};

use bson::{Document, doc};
use common::{TestServer, code};
use futures::StreamExt;
use mongodb::options::CursorType;

#[tokio::test(flavor = "multi_thread")]
async fn create_takes_and_reports_the_capped_options() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(doc! {"create": "log", "capped": true, "size": 5000, "max": 10})
        .await
        .unwrap();
    let listed = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": "log"}})
        .await
        .unwrap();
    let info = &listed
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0];
    let options = info.as_document().unwrap().get_document("options").unwrap();
    // The size is rounded up to a multiple of 256, as mongod stores it.
    assert_eq!(
        options,
        &doc! {"capped": true, "size": 5120_i64, "max": 10_i64}
    );
    for (command, expected) in [
        (doc! {"create": "a", "capped": true}, 72),
        (doc! {"create": "b", "capped": true, "size": "big"}, 14),
        (doc! {"create": "c", "capped": true, "size": -1}, 2),
    ] {
        let err = db.run_command(command.clone()).await.unwrap_err();
        assert_eq!(code(&err), Some(expected), "{command}: {err}");
    }
    // A tailable cursor on a collection that is not capped is refused.
    db.collection::<Document>("plain")
        .insert_one(doc! {"x": 1})
        .await
        .unwrap();
    let err = db
        .collection::<Document>("plain")
        .find(doc! {})
        .cursor_type(CursorType::Tailable)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(2), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tailable_cursor_receives_documents_inserted_after_it_opened() {
    let s = TestServer::start().await;
    let db = s.db("t");
    for (name, cursor_type) in [
        ("tail", CursorType::Tailable),
        ("await", CursorType::TailableAwait),
    ] {
        db.run_command(doc! {"create": name, "capped": true, "size": 100_000, "max": 1000})
            .await
            .unwrap();
        let events = db.collection::<Document>(name);
        events
            .insert_one(doc! {"_id": 0, "kind": "start"})
            .await
            .unwrap();
        let mut cursor = events
            .find(doc! {"kind": {"$ne": "noise"}})
            .cursor_type(cursor_type)
            .batch_size(2)
            .await
            .unwrap();
        let first = cursor.next().await.unwrap().unwrap();
        assert_eq!(first.get_str("kind").unwrap(), "start");

        // Written by another task while the cursor is open.
        let writer = events.clone();
        let base = 1;
        let inserts = tokio::spawn(async move {
            for i in 0..5 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                writer
                    .insert_one(
                        doc! {"_id": base + i, "kind": if i == 2 { "noise" } else { "event" }},
                    )
                    .await
                    .unwrap();
            }
        });
        let started = Instant::now();
        let mut seen = Vec::new();
        while seen.len() < 4 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "only {seen:?} arrived"
            );
            match tokio::time::timeout(Duration::from_secs(5), cursor.next()).await {
                Ok(Some(doc)) => seen.push(doc.unwrap().get_i32("_id").unwrap()),
                Ok(None) => panic!("the tailable cursor closed"),
                Err(_) => panic!("nothing arrived within 5 s; seen {seen:?}"),
            }
        }
        inserts.await.unwrap();
        // In insertion order, the filtered-out document skipped.
        assert_eq!(
            seen,
            [base, base + 1, base + 3, base + 4],
            "{cursor_type:?}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tailable_cursor_filters_under_its_collation() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(doc! {"create": "names", "capped": true, "size": 4096})
        .await
        .unwrap();
    db.collection::<Document>("names")
        .insert_many([doc! {"_id": 1, "k": "Bob"}, doc! {"_id": 2, "k": "ann"}])
        .await
        .unwrap();
    let reply = db
        .run_command(
            doc! {"find": "names", "filter": {"k": "bob"}, "tailable": true,
            "collation": {"locale": "en", "strength": 2}},
        )
        .await
        .unwrap();
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(batch.len(), 1, "{reply}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_to_a_capped_collection_in_a_transaction_are_refused() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(doc! {"create": "log", "capped": true, "size": 4096})
        .await
        .unwrap();
    let log = db.collection::<Document>("log");
    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    let err = log
        .insert_one(doc! {"x": 1})
        .session(&mut session)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(263), "{err}");
    drop(session);
    // Outside a transaction the same write goes through.
    log.insert_one(doc! {"x": 1}).await.unwrap();
    s.stop().await;
}
