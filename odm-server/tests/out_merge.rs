//! `$out` and `$merge` through the official driver: what the target holds afterwards,
//! a re-run `$merge` changing nothing, a failed write leaving the target as it was, and
//! the refusals (no unique index for `on`, inside a transaction).

mod common;

use bson::{Document, doc};
use common::{TestServer, aggregate_all, expect_code};
use futures::TryStreamExt;
use mongodb::Collection;

async fn contents(c: &Collection<Document>) -> Vec<Document> {
    c.find(doc! {})
        .sort(doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

async fn seed(s: &TestServer) -> Collection<Document> {
    let sales = s.db("shop").collection::<Document>("sales");
    sales
        .insert_many(vec![
            doc! {"_id": 1, "item": "a", "qty": 2},
            doc! {"_id": 2, "item": "b", "qty": 5},
            doc! {"_id": 3, "item": "a", "qty": 1},
        ])
        .await
        .unwrap();
    sales
}

fn totals() -> Document {
    doc! {"$group": {"_id": "$item", "total": {"$sum": "$qty"}}}
}

#[tokio::test(flavor = "multi_thread")]
async fn out_replaces_the_target_and_keeps_its_indexes() {
    let s = TestServer::start().await;
    let sales = seed(&s).await;
    let report = s.db("shop").collection::<Document>("report");
    report
        .insert_one(doc! {"_id": "stale", "total": 0})
        .await
        .unwrap();
    report
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! {"total": 1})
                .build(),
        )
        .await
        .unwrap();
    let returned = aggregate_all(&sales, vec![totals(), doc! {"$out": "report"}])
        .await
        .unwrap();
    assert!(
        returned.is_empty(),
        "$out returns no documents: {returned:?}"
    );
    assert_eq!(
        contents(&report).await,
        vec![doc! {"_id": "a", "total": 3}, doc! {"_id": "b", "total": 5}]
    );
    let names = report.list_index_names().await.unwrap();
    assert!(names.contains(&"total_1".to_string()), "{names:?}");

    // Into another database, and results without _id get one.
    aggregate_all(
        &sales,
        vec![
            doc! {"$project": {"_id": 0, "item": 1}},
            doc! {"$out": {"db": "archive", "coll": "items"}},
        ],
    )
    .await
    .unwrap();
    let items = contents(&s.db("archive").collection::<Document>("items")).await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|d| d.get_object_id("_id").is_ok()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_out_leaves_the_target_as_it_was() {
    let s = TestServer::start().await;
    let sales = seed(&s).await;
    let report = s.db("shop").collection::<Document>("report");
    report.insert_one(doc! {"_id": "kept"}).await.unwrap();
    // Two results with the same _id: a duplicate key, nothing written.
    expect_code(
        aggregate_all(
            &sales,
            vec![doc! {"$project": {"_id": "$item"}}, doc! {"$out": "report"}],
        )
        .await,
        11000,
    );
    assert_eq!(contents(&report).await, vec![doc! {"_id": "kept"}]);
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_rerun_is_idempotent_and_modes_combine_documents() {
    let s = TestServer::start().await;
    let sales = seed(&s).await;
    let summary = s.db("shop").collection::<Document>("summary");
    summary
        .insert_one(doc! {"_id": "a", "note": "keep me", "total": 0})
        .await
        .unwrap();
    let merge = doc! {"$merge": {"into": "summary"}};
    aggregate_all(&sales, vec![totals(), merge.clone()])
        .await
        .unwrap();
    let once = contents(&summary).await;
    assert_eq!(
        once,
        vec![
            doc! {"_id": "a", "note": "keep me", "total": 3},
            doc! {"_id": "b", "total": 5},
        ]
    );
    aggregate_all(&sales, vec![totals(), merge]).await.unwrap();
    assert_eq!(
        contents(&summary).await,
        once,
        "a second run changes nothing"
    );

    // keepExisting leaves matches alone; discard drops the rest.
    sales
        .insert_one(doc! {"_id": 4, "item": "c", "qty": 7})
        .await
        .unwrap();
    aggregate_all(
        &sales,
        vec![
            totals(),
            doc! {"$merge": {"into": "summary", "whenMatched": "keepExisting", "whenNotMatched": "discard"}},
        ],
    )
    .await
    .unwrap();
    assert_eq!(contents(&summary).await, once);

    // A pipeline adds to what is there; $$new is the result.
    aggregate_all(
        &sales,
        vec![
            totals(),
            doc! {"$merge": {"into": "summary", "whenMatched": [{"$set": {"total": {"$add": ["$total", "$$new.total"]}}}]}},
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        contents(&summary).await,
        vec![
            doc! {"_id": "a", "note": "keep me", "total": 6},
            doc! {"_id": "b", "total": 10},
            doc! {"_id": "c", "total": 7},
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_refusals_name_the_problem() {
    let s = TestServer::start().await;
    let sales = seed(&s).await;
    let summary = s.db("shop").collection::<Document>("summary");
    summary.insert_one(doc! {"_id": "a"}).await.unwrap();
    // `on` another field needs a unique index on it.
    expect_code(
        aggregate_all(
            &sales,
            vec![doc! {"$merge": {"into": "summary", "on": "item"}}],
        )
        .await,
        51183,
    );
    // whenMatched fail on a match; whenNotMatched fail on a miss; neither writes.
    expect_code(
        aggregate_all(
            &sales,
            vec![
                totals(),
                doc! {"$merge": {"into": "summary", "whenMatched": "fail"}},
            ],
        )
        .await,
        11000,
    );
    expect_code(
        aggregate_all(
            &sales,
            vec![
                totals(),
                doc! {"$merge": {"into": "summary", "whenNotMatched": "fail"}},
            ],
        )
        .await,
        13113,
    );
    assert_eq!(contents(&summary).await, vec![doc! {"_id": "a"}]);
    // With the unique index, `on: item` matches by it.
    let by_item = s.db("shop").collection::<Document>("by_item");
    by_item
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! {"item": 1})
                .options(
                    mongodb::options::IndexOptions::builder()
                        .unique(true)
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    let by_item_pipeline = vec![
        totals(),
        doc! {"$project": {"_id": 0, "item": "$_id", "total": 1}},
        doc! {"$merge": {"into": "by_item", "on": "item"}},
    ];
    aggregate_all(&sales, by_item_pipeline.clone())
        .await
        .unwrap();
    aggregate_all(&sales, by_item_pipeline).await.unwrap();
    let rows: Vec<Document> = contents(&by_item).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Not inside a transaction.
    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    let err = sales
        .aggregate(vec![totals(), doc! {"$out": "report"}])
        .session(&mut session)
        .await;
    expect_code(err.map(|_| ()), 263);
    drop(session);
}
