//! MongoDB 8.0's `bulkWrite` through the official driver's client-level bulk write:
//! operations over namespaces in two databases with per-operation results, ordered and
//! unordered failures, `errorsOnly`, and a retry of the whole command applied once.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, all_of, raw_command};
use mongodb::Namespace;
use mongodb::error::ErrorKind;
use mongodb::options::{
    DeleteManyModel, DeleteOneModel, InsertOneModel, ReplaceOneModel, UpdateOneModel, WriteModel,
};
use tokio::net::TcpStream;

fn ns(db: &str, coll: &str) -> Namespace {
    Namespace::new(db, coll)
}

#[tokio::test(flavor = "multi_thread")]
async fn mixed_namespaces_report_each_operation() {
    let s = TestServer::start().await;
    let orders = s.db("shop").collection::<Document>("orders");
    orders
        .insert_many(vec![
            doc! {"_id": 1, "status": "new", "total": 5},
            doc! {"_id": 2, "status": "new", "total": 9},
            doc! {"_id": 3, "status": "old", "total": 1},
        ])
        .await
        .unwrap();
    let models: Vec<WriteModel> = vec![
        InsertOneModel::builder()
            .namespace(ns("shop", "orders"))
            .document(doc! {"_id": 4, "status": "new", "total": 2})
            .build()
            .into(),
        InsertOneModel::builder()
            .namespace(ns("audit", "log"))
            .document(doc! {"_id": "e1", "event": "order 4"})
            .build()
            .into(),
        // 8.0's sort: the update takes the largest total among the matches.
        UpdateOneModel::builder()
            .namespace(ns("shop", "orders"))
            .filter(doc! {"status": "new"})
            .update(doc! {"$set": {"flag": true}})
            .sort(doc! {"total": -1})
            .build()
            .into(),
        UpdateOneModel::builder()
            .namespace(ns("audit", "counters"))
            .filter(doc! {"_id": "orders"})
            .update(doc! {"$inc": {"n": 1}})
            .upsert(true)
            .build()
            .into(),
        ReplaceOneModel::builder()
            .namespace(ns("shop", "orders"))
            .filter(doc! {"_id": 3})
            .replacement(doc! {"status": "archived"})
            .build()
            .into(),
        DeleteOneModel::builder()
            .namespace(ns("shop", "orders"))
            .filter(doc! {"_id": 1})
            .build()
            .into(),
        DeleteManyModel::builder()
            .namespace(ns("audit", "log"))
            .filter(doc! {"event": "none"})
            .build()
            .into(),
    ];
    let result = s.client.bulk_write(models).verbose_results().await.unwrap();
    assert_eq!(result.summary.inserted_count, 2);
    assert_eq!(result.summary.matched_count, 2);
    assert_eq!(result.summary.modified_count, 2);
    assert_eq!(result.summary.upserted_count, 1);
    assert_eq!(result.summary.deleted_count, 1);
    assert_eq!(result.insert_results[&0].inserted_id, Bson::Int32(4));
    assert_eq!(
        result.insert_results[&1].inserted_id,
        Bson::String("e1".into())
    );
    assert_eq!(result.update_results[&2].modified_count, 1);
    assert_eq!(
        result.update_results[&3].upserted_id,
        Some(Bson::String("orders".into()))
    );
    assert_eq!(result.update_results[&4].matched_count, 1);
    assert_eq!(result.delete_results[&5].deleted_count, 1);
    assert_eq!(result.delete_results[&6].deleted_count, 0);

    assert_eq!(
        all_of(&orders).await,
        vec![
            doc! {"_id": 2, "status": "new", "total": 9, "flag": true},
            doc! {"_id": 3, "status": "archived"},
            doc! {"_id": 4, "status": "new", "total": 2},
        ]
    );
    assert_eq!(
        all_of(&s.db("audit").collection::<Document>("counters")).await,
        vec![doc! {"_id": "orders", "n": 1}]
    );
    s.stop().await;
}

fn inserts(ids: &[i32]) -> Vec<WriteModel> {
    ids.iter()
        .map(|id| {
            InsertOneModel::builder()
                .namespace(ns("app", "c"))
                .document(doc! {"_id": *id})
                .build()
                .into()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_key_stops_an_ordered_bulk_write_only() {
    let s = TestServer::start().await;
    let c = s.db("app").collection::<Document>("c");

    let err = s
        .client
        .bulk_write(inserts(&[1, 2, 1, 3]))
        .await
        .unwrap_err();
    let ErrorKind::BulkWrite(e) = &*err.kind else {
        panic!("not a bulk write error: {err}");
    };
    assert_eq!(e.write_errors.keys().copied().collect::<Vec<_>>(), vec![2]);
    assert_eq!(e.write_errors[&2].code, 11000);
    assert_eq!(
        all_of(&c).await,
        vec![doc! {"_id": 1}, doc! {"_id": 2}],
        "ordered: nothing after the failure"
    );

    let err = s
        .client
        .bulk_write(inserts(&[2, 4, 1, 5]))
        .ordered(false)
        .await
        .unwrap_err();
    let ErrorKind::BulkWrite(e) = &*err.kind else {
        panic!("not a bulk write error: {err}");
    };
    let mut failed: Vec<usize> = e.write_errors.keys().copied().collect();
    failed.sort();
    assert_eq!(failed, vec![0, 2]);
    assert_eq!(
        all_of(&c).await,
        vec![
            doc! {"_id": 1},
            doc! {"_id": 2},
            doc! {"_id": 4},
            doc! {"_id": 5}
        ],
        "unordered: every other operation ran"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_only_and_a_retry_of_the_whole_command() {
    let s = TestServer::start().await;
    let mut stream = TcpStream::connect(s.handle.addr).await.unwrap();
    let lsid =
        doc! {"id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![9; 16] }};
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"insert": 0, "document": {"_id": 1}},
            {"insert": 1, "document": {"_id": 1}},
            {"update": 0, "filter": {"_id": 1}, "updateMods": {"$inc": {"n": 1}}},
            {"insert": 0, "document": {"_id": 1}},
        ],
        "nsInfo": [{"ns": "app.a"}, {"ns": "other.b"}],
        "ordered": false,
        "errorsOnly": true,
        "lsid": lsid, "txnNumber": 1_i64, "$db": "admin",
    };
    let mut first = raw_command(&mut stream, command.clone()).await;
    let batch = first
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .clone();
    assert_eq!(batch.len(), 1, "errorsOnly keeps only the failure: {first}");
    let failure = batch[0].as_document().unwrap();
    assert_eq!(failure.get_i32("idx").unwrap(), 3);
    assert_eq!(failure.get_i32("code").unwrap(), 11000);
    assert_eq!(first.get_i32("nInserted").unwrap(), 2);
    assert_eq!(first.get_i32("nModified").unwrap(), 1);
    assert_eq!(first.get_i32("nErrors").unwrap(), 1);

    // The same (lsid, txnNumber) again, as a driver retries after a network error: the
    // recorded reply, and nothing written twice.
    let mut again = raw_command(&mut stream, command).await;
    for reply in [&mut first, &mut again] {
        reply.remove("operationTime");
        reply.remove("$clusterTime");
    }
    assert_eq!(again, first);
    assert_eq!(
        all_of(&s.db("app").collection::<Document>("a")).await,
        vec![doc! {"_id": 1, "n": 1}]
    );

    // bulkWrite is an admin command, and a bad namespace index fails it before any write.
    let on_app = raw_command(
        &mut stream,
        doc! {"bulkWrite": 1, "ops": [], "nsInfo": [], "$db": "app"},
    )
    .await;
    assert_eq!(on_app.get_i32("code").unwrap(), 13, "{on_app}");
    let bad_index = raw_command(
        &mut stream,
        doc! {"bulkWrite": 1, "ops": [{"insert": 0, "document": {"_id": 7}}, {"insert": 5, "document": {}}],
              "nsInfo": [{"ns": "app.a"}], "$db": "admin"},
    )
    .await;
    assert_eq!(bad_index.get_i32("code").unwrap(), 2, "{bad_index}");
    assert_eq!(
        all_of(&s.db("app").collection::<Document>("a")).await.len(),
        1
    );
    s.stop().await;
}
