//! Views through the official driver: reads run the view's pipeline (views on views
//! too), writes and index commands are refused with `CommandNotSupportedOnView` (166),
//! `collMod` redefines a view, and a definition that would read itself is refused.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, aggregate_all, expect_code, expect_command_codes, find_all};
use futures::TryStreamExt;

async fn seed(s: &TestServer) {
    let db = s.db("shop");
    db.collection::<Document>("orders")
        .insert_many(vec![
            doc! {"_id": 1, "item": "a", "qty": 5, "status": "open"},
            doc! {"_id": 2, "item": "b", "qty": 1, "status": "done"},
            doc! {"_id": 3, "item": "c", "qty": 8, "status": "open"},
            doc! {"_id": 4, "item": "a", "qty": 2, "status": "open"},
        ])
        .await
        .unwrap();
    db.run_command(doc! {
        "create": "open_orders",
        "viewOn": "orders",
        "pipeline": [{"$match": {"status": "open"}}, {"$project": {"status": 0}}],
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_run_the_views_pipeline() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    let view = db.collection::<Document>("open_orders");
    let found: Vec<Document> = view
        .find(doc! {"qty": {"$gte": 2}})
        .sort(doc! {"qty": -1})
        .projection(doc! {"_id": 0, "item": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found,
        vec![doc! {"item": "c"}, doc! {"item": "a"}, doc! {"item": "a"}]
    );
    assert_eq!(view.count_documents(doc! {}).await.unwrap(), 3);
    let counted = db
        .run_command(doc! {"count": "open_orders", "query": {"item": "a"}})
        .await
        .unwrap();
    assert_eq!(counted.get_i32("n").unwrap(), 2);
    assert_eq!(
        view.distinct("item", doc! {}).await.unwrap(),
        vec![Bson::String("a".into()), Bson::String("c".into())]
    );
    let totals: Vec<Document> = aggregate_all(
        &view,
        vec![
            doc! {"$group": {"_id": "$item", "qty": {"$sum": "$qty"}}},
            doc! {"$sort": {"_id": 1}},
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        totals,
        vec![doc! {"_id": "a", "qty": 7}, doc! {"_id": "c", "qty": 8}]
    );

    // A view on the view.
    db.run_command(doc! {"create": "big_open", "viewOn": "open_orders", "pipeline": [{"$match": {"qty": {"$gt": 4}}}]})
        .await
        .unwrap();
    let big = find_all(&db.collection::<Document>("big_open"), doc! {}).await;
    assert_eq!(
        big,
        vec![
            doc! {"_id": 1, "item": "a", "qty": 5},
            doc! {"_id": 3, "item": "c", "qty": 8}
        ]
    );

    let listed = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": "open_orders"}})
        .await
        .unwrap();
    let entry = listed
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(entry.get_str("type").unwrap(), "view");
    assert_eq!(
        entry
            .get_document("options")
            .unwrap()
            .get_str("viewOn")
            .unwrap(),
        "orders"
    );
    assert!(
        entry
            .get_document("info")
            .unwrap()
            .get_bool("readOnly")
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_aggregation_a_view_runs() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    db.collection::<Document>("orders")
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! {"status": 1})
                .build(),
        )
        .await
        .unwrap();
    for inner in [
        doc! {"find": "open_orders", "filter": {"qty": {"$gt": 1}}},
        doc! {"count": "open_orders", "query": {}},
        doc! {"aggregate": "open_orders", "pipeline": [{"$limit": 1}], "cursor": {}},
    ] {
        let explained = db
            .run_command(doc! {"explain": inner.clone(), "verbosity": "queryPlanner"})
            .await
            .unwrap();
        let planner = explained.get_document("queryPlanner").unwrap();
        // The collection underneath, read through its index by the view's own $match.
        assert_eq!(
            planner.get_str("namespace").unwrap(),
            "shop.orders",
            "{inner}"
        );
        let plan = planner.get_document("winningPlan").unwrap().to_string();
        assert!(plan.contains("status_1"), "{inner}: {plan}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_and_index_commands_are_refused() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    let view = db.collection::<Document>("open_orders");
    let message = expect_code(view.insert_one(doc! {"_id": 9}).await, 166);
    assert!(message.contains("is a view"), "{message}");
    expect_code(view.update_one(doc! {}, doc! {"$set": {"x": 1}}).await, 166);
    expect_code(view.delete_many(doc! {}).await, 166);
    expect_code(view.find_one_and_delete(doc! {}).await, 166);
    // A view has no changes of its own to watch.
    expect_code(view.watch().await.map(|_| ()), 166);
    expect_command_codes(
        &db,
        vec![
            (doc! {"createIndexes": "open_orders", "indexes": [{"key": {"qty": 1}, "name": "qty_1"}]}, 166),
            (doc! {"listIndexes": "open_orders"}, 166),
            (doc! {"create": "v2", "viewOn": "orders", "pipeline": [{"$out": "x"}]}, 167),
            (doc! {"create": "v3", "viewOn": "orders", "validator": {}}, 72),
            (doc! {"create": "open_orders", "viewOn": "orders"}, 48),
        ],
    )
    .await;
    expect_command_codes(
        &s.db("admin"),
        vec![(
            doc! {"renameCollection": "shop.open_orders", "to": "shop.renamed"},
            166,
        )],
    )
    .await;
    // Nothing reached the collection underneath.
    assert_eq!(
        db.collection::<Document>("orders")
            .count_documents(doc! {})
            .await
            .unwrap(),
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn coll_mod_redefines_a_view_but_not_into_a_cycle() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    db.run_command(doc! {"collMod": "open_orders", "pipeline": [{"$match": {"status": "done"}}]})
        .await
        .unwrap();
    let done = find_all(&db.collection::<Document>("open_orders"), doc! {}).await;
    assert_eq!(
        done,
        vec![doc! {"_id": 2, "item": "b", "qty": 1, "status": "done"}]
    );
    db.run_command(doc! {"create": "above", "viewOn": "open_orders"})
        .await
        .unwrap();
    expect_command_codes(
        &db,
        vec![(doc! {"collMod": "open_orders", "viewOn": "above"}, 5)],
    )
    .await;
    db.collection::<Document>("above").drop().await.unwrap();
    let names = db.list_collection_names().await.unwrap();
    assert!(!names.contains(&"above".to_string()), "{names:?}");
}
