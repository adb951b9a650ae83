//! The profiler through the driver: `profile` settings and replies, `system.profile`
//! entries for every operation of a session at level 2 (with their `planSummary`), a
//! filter, and the slow-query log lines.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, code};
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::ClientOptions;

async fn profile_entries(db: &mongodb::Database) -> Vec<Document> {
    db.collection::<Document>("system.profile")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn level_2_records_every_operation_with_its_plan() {
    let s = TestServer::start().await;
    let mut options = ClientOptions::parse(format!("{}?directConnection=true", s.handle.uri()))
        .await
        .unwrap();
    options.app_name = Some("profiled-app".into());
    let client = mongodb::Client::with_options(options).unwrap();
    let db = client.database("shop");
    let items = db.collection::<Document>("items");
    items
        .create_index(IndexModel::builder().keys(doc! {"sku": 1}).build())
        .await
        .unwrap();

    let was = db.run_command(doc! {"profile": 2}).await.unwrap();
    assert_eq!(was.get_i32("was").unwrap(), 0);
    assert_eq!(was.get_i64("slowms").unwrap(), 100);
    assert_eq!(was.get_f64("sampleRate").unwrap(), 1.0);

    items
        .insert_many((0..5).map(|i| doc! {"_id": i, "sku": format!("s{i}"), "qty": i}))
        .await
        .unwrap();
    items.find_one(doc! {"sku": "s3"}).await.unwrap();
    items.find_one(doc! {"qty": 4}).await.unwrap();
    items
        .update_one(doc! {"_id": 1}, doc! {"$inc": {"qty": 10}})
        .await
        .unwrap();
    items
        .count_documents(doc! {"qty": {"$gte": 2}})
        .await
        .unwrap();
    items.delete_one(doc! {"sku": "s0"}).await.unwrap();

    let all = profile_entries(&db).await;
    // The `profile` command that turned it on began unprofiled: as on mongod, it is not
    // recorded (MongoEngine's query_counter counts on that).
    assert!(
        all.iter()
            .all(|e| !e.get_document("command").unwrap().contains_key("profile")),
        "{all:?}"
    );
    let entries = &all[..];
    let ops: Vec<&str> = entries.iter().map(|e| e.get_str("op").unwrap()).collect();
    assert_eq!(
        ops,
        ["insert", "query", "query", "update", "command", "remove"],
        "{entries:?}"
    );
    for e in entries {
        assert_eq!(e.get_str("ns").unwrap(), "shop.items", "{e}");
        for field in [
            "command",
            "millis",
            "ts",
            "client",
            "responseLength",
            "keysExamined",
            "docsExamined",
        ] {
            assert!(e.contains_key(field), "{field} missing from {e}");
        }
        assert_eq!(e.get_str("appName").unwrap(), "profiled-app");
        assert!(matches!(e.get("user"), Some(Bson::String(_))));
    }
    let by_sku = &entries[1];
    assert_eq!(by_sku.get_str("planSummary").unwrap(), "IXSCAN { sku: 1 }");
    assert_eq!(by_sku.get_i64("nreturned").unwrap(), 1);
    assert_eq!(by_sku.get_i64("keysExamined").unwrap(), 1);
    assert_eq!(by_sku.get_i64("docsExamined").unwrap(), 1);
    let by_qty = &entries[2];
    assert_eq!(by_qty.get_str("planSummary").unwrap(), "COLLSCAN");
    assert_eq!(by_qty.get_i64("docsExamined").unwrap(), 5);
    assert_eq!(entries[3].get_str("planSummary").unwrap(), "IDHACK");
    assert_eq!(entries[3].get_i64("nModified").unwrap(), 1);
    assert!(
        entries[4]
            .get_document("command")
            .unwrap()
            .contains_key("aggregate")
    );
    assert_eq!(entries[5].get_i64("ndeleted").unwrap(), 1);

    // Level 0: nothing more is written.
    let was = db.run_command(doc! {"profile": 0}).await.unwrap();
    assert_eq!(was.get_i32("was").unwrap(), 2);
    items.find_one(doc! {}).await.unwrap();
    // The `profile: 0` command began under level 2 and is recorded; nothing after it.
    let after = profile_entries(&db).await;
    assert_eq!(after.len(), all.len() + 1);
    assert!(
        after[all.len()]
            .get_document("command")
            .unwrap()
            .contains_key("profile")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_and_the_slow_query_log() {
    let s = TestServer::start().await;
    let db = s.db("logs");
    let coll = db.collection::<Document>("c");
    coll.insert_one(doc! {"a": 1}).await.unwrap();

    let err = db
        .run_command(doc! {"profile": 1, "sampleRate": 2})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(2), "{err}");
    let err = db.run_command(doc! {"profile": 3}).await.unwrap_err();
    assert_eq!(code(&err), Some(2), "{err}");

    // A filter chooses the entries, whatever their duration.
    db.run_command(doc! {"profile": 1, "filter": {"op": "query"}})
        .await
        .unwrap();
    coll.find_one(doc! {"a": 1}).await.unwrap();
    coll.insert_one(doc! {"a": 2}).await.unwrap();
    let entries = profile_entries(&db).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].get_str("op").unwrap(), "query");
    let read = db.run_command(doc! {"profile": -1}).await.unwrap();
    assert_eq!(read.get_i32("was").unwrap(), 1);
    assert_eq!(read.get_document("filter").unwrap(), &doc! {"op": "query"});
    assert!(read.get_str("note").is_ok());

    // slowms 0: every operation is slow and logged.
    db.run_command(doc! {"profile": 0, "slowms": 0, "filter": "unset"})
        .await
        .unwrap();
    coll.find_one(doc! {"a": 2}).await.unwrap();
    let log = s
        .db("admin")
        .run_command(doc! {"getLog": "global"})
        .await
        .unwrap();
    let lines = log.get_array("log").unwrap();
    assert!(
        lines.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains("Slow query") && l.contains("logs.c"))),
        "{lines:?}"
    );
    db.run_command(doc! {"profile": 0, "slowms": 100})
        .await
        .unwrap();
    s.stop().await;
}
