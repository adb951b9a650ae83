//! Writers racing on the same keys, each over its own connection: a unique index admits
//! one document per key and answers 11000 for every other attempt, `$inc`s are never
//! lost, `findAndModify` counters hand out every value once, and concurrent upserts of
//! one key leave one document.

mod common;

use std::collections::BTreeSet;

use bson::{Document, doc};
use common::TestServer;
use futures::future::join_all;
use mongodb::Client;
use mongodb::IndexModel;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{IndexOptions, ReturnDocument};

/// `n` clients with one connection each, so that every task has its own.
async fn clients(server: &TestServer, n: usize) -> Vec<Client> {
    let uri = format!(
        "{}?directConnection=true&maxPoolSize=1",
        server.handle.uri()
    );
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Client::with_uri_str(&uri).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_over_a_thousand_unique_keys_store_one_document_per_key() {
    let server = TestServer::start().await;
    let coll = server.db("race").collection::<Document>("keys");
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"k": 1})
            .options(IndexOptions::builder().unique(true).build())
            .build(),
    )
    .await
    .unwrap();
    let writers = clients(&server, 8).await;
    // Each writer tries every key 10 times (10,000 inserts), in unordered batches of 500,
    // starting at a different key so that the writers collide all the way.
    let runs = writers.iter().enumerate().map(|(w, client)| {
        let coll = client.database("race").collection::<Document>("keys");
        async move {
            let (mut inserted, mut duplicates) = (0u64, 0u64);
            let attempts: Vec<Document> = (0..10_000)
                .map(|i| doc! {"k": ((i + w * 125) % 1000) as i32, "writer": w as i32})
                .collect();
            for batch in attempts.chunks(500) {
                match coll.insert_many(batch.to_vec()).ordered(false).await {
                    Ok(r) => inserted += r.inserted_ids.len() as u64,
                    Err(e) => match &*e.kind {
                        ErrorKind::InsertMany(failure) => {
                            let errors = failure.write_errors.as_deref().unwrap_or_default();
                            assert!(errors.iter().all(|e| e.code == 11000), "{e}");
                            duplicates += errors.len() as u64;
                            inserted += (batch.len() - errors.len()) as u64;
                        }
                        _ => panic!("{e}"),
                    },
                }
            }
            (inserted, duplicates)
        }
    });
    let results = join_all(runs).await;
    let inserted: u64 = results.iter().map(|r| r.0).sum();
    let duplicates: u64 = results.iter().map(|r| r.1).sum();
    assert_eq!((inserted, duplicates), (1_000, 79_000));
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 1_000);
    let keys: BTreeSet<i32> = coll
        .distinct("k", doc! {})
        .await
        .unwrap()
        .iter()
        .map(|k| k.as_i32().unwrap())
        .collect();
    assert_eq!(keys, (0..1000).collect());
    for c in writers {
        c.shutdown().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_connections_incrementing_one_document_lose_nothing() {
    let server = TestServer::start().await;
    let db = server.db("race");
    db.collection::<Document>("counter")
        .insert_one(doc! {"_id": 1, "n": 0})
        .await
        .unwrap();
    let writers = clients(&server, 16).await;
    // 1,000 `$inc`s per connection, as update commands of 50 statements each.
    let runs = writers.iter().map(|client| {
        let db = client.database("race");
        async move {
            let statements: Vec<Document> = (0..50)
                .map(|_| doc! {"q": {"_id": 1}, "u": {"$inc": {"n": 1}}})
                .collect();
            for _ in 0..20 {
                let reply = db
                    .run_command(doc! {"update": "counter", "updates": statements.clone()})
                    .await
                    .unwrap();
                assert_eq!(reply.get_i32("nModified").unwrap(), 50, "{reply}");
            }
        }
    });
    join_all(runs).await;
    let stored = db
        .collection::<Document>("counter")
        .find_one(doc! {"_id": 1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_i32("n").unwrap(), 16_000);
    for c in writers {
        c.shutdown().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn find_and_modify_counters_hand_out_every_value_once() {
    let server = TestServer::start().await;
    let writers = clients(&server, 8).await;
    let runs = writers.iter().map(|client| {
        let coll = client.database("race").collection::<Document>("sequences");
        async move {
            let mut got = Vec::new();
            for _ in 0..250 {
                let next = coll
                    .find_one_and_update(doc! {"_id": "orders"}, doc! {"$inc": {"value": 1}})
                    .upsert(true)
                    .return_document(ReturnDocument::After)
                    .await
                    .unwrap()
                    .unwrap();
                got.push(next.get_i32("value").unwrap());
            }
            got
        }
    });
    let handed: Vec<i32> = join_all(runs).await.into_iter().flatten().collect();
    let distinct: BTreeSet<i32> = handed.iter().copied().collect();
    assert_eq!(handed.len(), 2_000);
    assert_eq!(distinct, (1..=2_000).collect());
    for c in writers {
        c.shutdown().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_upserts_of_one_key_leave_one_document() {
    let server = TestServer::start().await;
    let writers = clients(&server, 100).await;
    // No unique index: the upserts themselves must not race into duplicates.
    let runs = writers.iter().map(|client| {
        let coll = client.database("race").collection::<Document>("upserts");
        async move {
            coll.update_one(doc! {"key": "k"}, doc! {"$inc": {"n": 1}})
                .upsert(true)
                .await
                .map_err(|e| match &*e.kind {
                    ErrorKind::Write(WriteFailure::WriteError(w)) => w.code,
                    _ => -1,
                })
        }
    });
    for outcome in join_all(runs).await {
        outcome.unwrap();
    }
    let coll = server.db("race").collection::<Document>("upserts");
    let all: Vec<Document> = {
        use futures::TryStreamExt;
        coll.find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    };
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].get_i32("n").unwrap(), 100);
    for c in writers {
        c.shutdown().await;
    }
    server.stop().await;
}
