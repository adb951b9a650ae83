//! Joins through the official driver: `$lookup` of many orders to their customers reads
//! the customers' `_id` index (as `explain` shows) and asks once per customer, not once
//! per order.

mod common;

use std::time::Instant;

use bson::{Document, doc};
use common::{TestServer, aggregate_all};

const ORDERS: i32 = 10_000;
const CUSTOMERS: i32 = 1_000;

async fn seed(s: &TestServer) {
    let db = s.db("shop");
    let customers: Vec<Document> = (0..CUSTOMERS)
        .map(|i| doc! {"_id": i, "name": format!("customer {i}"), "tier": i % 3})
        .collect();
    db.collection::<Document>("customers")
        .insert_many(customers)
        .await
        .unwrap();
    let orders: Vec<Document> = (0..ORDERS)
        .map(|i| doc! {"_id": i, "customer_id": i % CUSTOMERS, "total": i % 97})
        .collect();
    db.collection::<Document>("orders")
        .insert_many(orders)
        .await
        .unwrap();
}

fn join() -> Vec<Document> {
    vec![
        doc! {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "customer"}},
        doc! {"$unwind": "$customer"},
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_of_ten_thousand_orders_uses_the_customers_id_index() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    let explained = db
        .run_command(doc! {"aggregate": "orders", "pipeline": join(), "explain": true})
        .await
        .unwrap();
    let stages = explained.get_array("stages").unwrap();
    let lookup = stages[0]
        .as_document()
        .unwrap()
        .get_document("$lookup")
        .unwrap();
    assert_eq!(lookup.get_str("from").unwrap(), "customers");
    assert_eq!(
        lookup.get_array("indexesUsed").unwrap(),
        &vec![bson::Bson::String("_id_".into())],
        "{explained}"
    );

    let started = Instant::now();
    let joined: Vec<Document> = aggregate_all(&db.collection::<Document>("orders"), join())
        .await
        .unwrap();
    // Reported, not asserted: time belongs to the benchmark (a debug build on a shared
    // machine says little); what is asserted is that every order found its customer.
    eprintln!(
        "$lookup of {ORDERS} orders to {CUSTOMERS} customers: {:?}",
        started.elapsed()
    );
    assert_eq!(joined.len(), ORDERS as usize);
    for order in &joined {
        let customer = order.get_document("customer").unwrap();
        assert_eq!(
            customer.get_i32("_id").unwrap(),
            order.get_i32("customer_id").unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secondary_index_serves_a_join_on_another_field() {
    let s = TestServer::start().await;
    seed(&s).await;
    let db = s.db("shop");
    db.collection::<Document>("orders")
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! {"customer_id": 1})
                .build(),
        )
        .await
        .unwrap();
    // The reverse side: each customer with its orders.
    let pipeline = vec![
        doc! {"$match": {"_id": {"$lt": 3}}},
        doc! {"$lookup": {"from": "orders", "localField": "_id", "foreignField": "customer_id", "as": "orders"}},
        doc! {"$project": {"n": {"$size": "$orders"}}},
    ];
    let explained = db
        .run_command(doc! {"aggregate": "customers", "pipeline": pipeline.clone(), "explain": true})
        .await
        .unwrap();
    let lookup = explained.get_array("stages").unwrap()[0]
        .as_document()
        .unwrap()
        .get_document("$lookup")
        .unwrap()
        .clone();
    assert_eq!(
        lookup.get_array("indexesUsed").unwrap(),
        &vec![bson::Bson::String("customer_id_1".into())]
    );
    let counts: Vec<Document> = aggregate_all(&db.collection::<Document>("customers"), pipeline)
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![
            doc! {"_id": 0, "n": 10},
            doc! {"_id": 1, "n": 10},
            doc! {"_id": 2, "n": 10},
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_lookup_follows_links_through_an_index() {
    let s = TestServer::start().await;
    let db = s.db("org");
    let people = db.collection::<Document>("people");
    people
        .insert_many(vec![
            doc! {"_id": 1, "name": "Dev", "reportsTo": "Eliot"},
            doc! {"_id": 2, "name": "Eliot", "reportsTo": "Ron"},
            doc! {"_id": 3, "name": "Ron", "reportsTo": "Andrew"},
            doc! {"_id": 4, "name": "Andrew"},
        ])
        .await
        .unwrap();
    people
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! {"name": 1})
                .build(),
        )
        .await
        .unwrap();
    let pipeline = vec![
        doc! {"$match": {"name": "Dev"}},
        doc! {"$graphLookup": {"from": "people", "startWith": "$reportsTo", "connectFromField": "reportsTo",
        "connectToField": "name", "as": "chain", "depthField": "depth"}},
    ];
    let found = aggregate_all(&people, pipeline.clone()).await.unwrap();
    let mut chain: Vec<(String, i64)> = found[0]
        .get_array("chain")
        .unwrap()
        .iter()
        .map(|d| {
            let d = d.as_document().unwrap();
            (
                d.get_str("name").unwrap().to_string(),
                d.get_i64("depth").unwrap(),
            )
        })
        .collect();
    chain.sort_by_key(|(_, depth)| *depth);
    assert_eq!(
        chain,
        vec![("Eliot".into(), 0), ("Ron".into(), 1), ("Andrew".into(), 2)]
    );
    let explained = db
        .run_command(doc! {"aggregate": "people", "pipeline": pipeline, "explain": true})
        .await
        .unwrap();
    let graph = explained.get_array("stages").unwrap()[0]
        .as_document()
        .unwrap()
        .get_document("$graphLookup")
        .unwrap()
        .clone();
    assert_eq!(graph.get_str("connectToField").unwrap(), "name");
    assert_eq!(
        graph.get_array("indexesUsed").unwrap(),
        &vec![bson::Bson::String("name_1".into())],
        "{explained}"
    );
    s.stop().await;
}
