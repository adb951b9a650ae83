//! CRUD through the official Rust driver: insert, find, update, delete, findAndModify,
//! count, distinct and aggregate, with the replies and error codes the driver parses.

mod common;

use odm_server::Config;

use bson::{Bson, Document, doc, oid::ObjectId};
use common::{TestServer, code, expect_code};
use futures::TryStreamExt;
use mongodb::options::{ReturnDocument, WriteConcern};

fn people() -> Vec<Document> {
    (0..20)
        .map(|i| {
            doc! {
                "_id": i,
                "name": format!("p{i:02}"),
                "age": 10 + i * 3,
                "city": if i % 2 == 0 { "Paris" } else { "Lyon" },
                "tags": if i % 3 == 0 { vec!["admin", "staff"] } else { vec!["staff"] },
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn insert_and_find_round_trip() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    let inserted = coll.insert_many(people()).await.unwrap();
    assert_eq!(inserted.inserted_ids.len(), 20);

    // A document without _id gets an ObjectId, first.
    let id = coll
        .insert_one(doc! {"name": "anon"})
        .await
        .unwrap()
        .inserted_id;
    assert!(matches!(id, Bson::ObjectId(_)));
    let stored = coll.find_one(doc! {"name": "anon"}).await.unwrap().unwrap();
    assert_eq!(stored.keys().next().unwrap(), "_id");
    assert_eq!(stored.get("_id"), Some(&id));

    let adults: Vec<Document> = coll
        .find(doc! {"age": {"$gte": 40}, "city": "Paris", "tags": "admin"})
        .sort(doc! {"age": -1})
        .projection(doc! {"name": 1, "_id": 0})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(adults, vec![doc! {"name": "p18"}, doc! {"name": "p12"}]);

    let page: Vec<Document> = coll
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .skip(5)
        .limit(3)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<i32> = page.iter().map(|d| d.get_i32("_id").unwrap()).collect();
    assert_eq!(ids, vec![5, 6, 7]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_id_is_11000_and_ordered_stops() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_one(doc! {"_id": 1}).await.unwrap();
    let msg = expect_code(coll.insert_one(doc! {"_id": 1}).await, 11000);
    assert!(
        msg.contains("E11000 duplicate key error collection: app.c index: _id_"),
        "{msg}"
    );

    // Ordered: stops at the first failure, keeps what came before.
    let err = coll
        .insert_many(vec![doc! {"_id": 2}, doc! {"_id": 1}, doc! {"_id": 3}])
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11000));
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 2);
    // Unordered: goes on.
    let err = coll
        .insert_many(vec![doc! {"_id": 4}, doc! {"_id": 1}, doc! {"_id": 5}])
        .ordered(false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11000));
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 4);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_operators_upsert_and_immutable_id() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    coll.insert_many(people()).await.unwrap();

    let r = coll
        .update_many(
            doc! {"city": "Lyon"},
            doc! {"$inc": {"age": 1}, "$set": {"moved": true}},
        )
        .await
        .unwrap();
    assert_eq!((r.matched_count, r.modified_count), (10, 10));
    let p1 = coll.find_one(doc! {"_id": 1}).await.unwrap().unwrap();
    assert_eq!(p1.get_i32("age").unwrap(), 14);
    assert!(p1.get_bool("moved").unwrap());

    // Setting a value to what it already is matches but modifies nothing.
    let r = coll
        .update_one(doc! {"_id": 1}, doc! {"$set": {"moved": true}})
        .await
        .unwrap();
    assert_eq!((r.matched_count, r.modified_count), (1, 0));

    let r = coll
        .update_one(
            doc! {"_id": 2},
            doc! {"$push": {"tags": "new"}, "$unset": {"city": ""}},
        )
        .await
        .unwrap();
    assert_eq!(r.modified_count, 1);
    let p2 = coll.find_one(doc! {"_id": 2}).await.unwrap().unwrap();
    assert_eq!(p2.get_array("tags").unwrap().len(), 2);
    assert!(!p2.contains_key("city"));

    // Two operators on one path conflict (40); one after the other they apply.
    expect_code(
        coll.update_one(
            doc! {"_id": 2},
            doc! {"$addToSet": {"tags": "new"}, "$pull": {"tags": "staff"}},
        )
        .await,
        40,
    );
    coll.update_one(doc! {"_id": 2}, doc! {"$addToSet": {"tags": "new"}})
        .await
        .unwrap();
    coll.update_one(doc! {"_id": 2}, doc! {"$pull": {"tags": "staff"}})
        .await
        .unwrap();
    let p2 = coll.find_one(doc! {"_id": 2}).await.unwrap().unwrap();
    assert_eq!(
        p2.get_array("tags").unwrap(),
        &vec![Bson::String("new".into())]
    );

    // Upsert seeds the new document from the filter's equalities; $setOnInsert applies.
    let r = coll
        .update_one(
            doc! {"name": "zed", "city": "Nice"},
            doc! {"$set": {"age": 1}, "$setOnInsert": {"created": true}},
        )
        .upsert(true)
        .await
        .unwrap();
    assert_eq!(r.matched_count, 0);
    let new_id = r.upserted_id.unwrap();
    let zed = coll.find_one(doc! {"_id": new_id}).await.unwrap().unwrap();
    assert_eq!(zed.get_str("city").unwrap(), "Nice");
    assert!(zed.get_bool("created").unwrap());
    // The second time it matches: $setOnInsert does not apply.
    let r = coll
        .update_one(
            doc! {"name": "zed"},
            doc! {"$set": {"age": 2}, "$setOnInsert": {"created": false}},
        )
        .upsert(true)
        .await
        .unwrap();
    assert_eq!((r.matched_count, r.upserted_id), (1, None));
    assert!(
        coll.find_one(doc! {"name": "zed"})
            .await
            .unwrap()
            .unwrap()
            .get_bool("created")
            .unwrap()
    );

    // Replacement keeps _id; changing _id is ImmutableField (66).
    coll.replace_one(doc! {"_id": 3}, doc! {"name": "replaced"})
        .await
        .unwrap();
    assert_eq!(
        coll.find_one(doc! {"_id": 3}).await.unwrap().unwrap(),
        doc! {"_id": 3, "name": "replaced"}
    );
    expect_code(
        coll.update_one(doc! {"_id": 3}, doc! {"$set": {"_id": 99}})
            .await,
        66,
    );
    expect_code(
        coll.replace_one(doc! {"_id": 3}, doc! {"_id": 98, "x": 1})
            .await,
        66,
    );

    // Type errors and conflicts.
    expect_code(
        coll.update_one(doc! {"_id": 3}, doc! {"$inc": {"name": 1}})
            .await,
        14,
    );
    expect_code(
        coll.update_one(doc! {"_id": 3}, doc! {"$set": {"a": 1}, "$inc": {"a.b": 1}})
            .await,
        40,
    );
    expect_code(
        coll.update_one(doc! {"_id": 3}, doc! {"$frobnicate": {"a": 1}})
            .await,
        9,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_and_counts() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    coll.insert_many(people()).await.unwrap();
    assert_eq!(
        coll.delete_one(doc! {"city": "Paris"})
            .await
            .unwrap()
            .deleted_count,
        1
    );
    assert_eq!(
        coll.delete_many(doc! {"age": {"$lt": 25}})
            .await
            .unwrap()
            .deleted_count,
        4
    );
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 15);
    assert_eq!(
        coll.count_documents(doc! {"city": "Lyon"}).await.unwrap(),
        8
    );
    assert_eq!(
        coll.count_documents(doc! {"city": "Lyon"})
            .skip(2)
            .limit(3)
            .await
            .unwrap(),
        3
    );
    assert_eq!(coll.estimated_document_count().await.unwrap(), 15);
    let n = s
        .db("app")
        .run_command(doc! {"count": "people", "query": {"tags": "admin"}})
        .await
        .unwrap();
    assert_eq!(n.get_i32("n").unwrap(), 5);
    // Counting a missing collection is 0, not an error.
    assert_eq!(
        s.db("app")
            .collection::<Document>("nothing")
            .count_documents(doc! {})
            .await
            .unwrap(),
        0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_looks_through_arrays() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    coll.insert_many(people()).await.unwrap();
    let cities = coll.distinct("city", doc! {}).await.unwrap();
    assert_eq!(
        cities,
        vec![Bson::String("Lyon".into()), Bson::String("Paris".into())]
    );
    let tags = coll
        .distinct("tags", doc! {"age": {"$lt": 20}})
        .await
        .unwrap();
    assert_eq!(
        tags,
        vec![Bson::String("admin".into()), Bson::String("staff".into())]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn find_one_and_modify_variants() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    coll.insert_many(people()).await.unwrap();

    let before = coll
        .find_one_and_update(doc! {"_id": 4}, doc! {"$inc": {"age": 100}})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.get_i32("age").unwrap(), 22);
    let after = coll
        .find_one_and_update(doc! {"_id": 4}, doc! {"$inc": {"age": 1}})
        .return_document(ReturnDocument::After)
        .projection(doc! {"age": 1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, doc! {"_id": 4, "age": 123});

    // sort picks which match is changed.
    let oldest = coll
        .find_one_and_update(doc! {"city": "Lyon"}, doc! {"$set": {"picked": true}})
        .sort(doc! {"age": -1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest.get_i32("_id").unwrap(), 19);

    let removed = coll
        .find_one_and_delete(doc! {"_id": 5})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.get_str("name").unwrap(), "p05");
    assert!(coll.find_one(doc! {"_id": 5}).await.unwrap().is_none());

    let replaced = coll
        .find_one_and_replace(doc! {"_id": 6}, doc! {"fresh": 1})
        .return_document(ReturnDocument::After)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced, doc! {"_id": 6, "fresh": 1});

    let upserted = coll
        .find_one_and_update(doc! {"_id": 500}, doc! {"$set": {"v": 1}})
        .upsert(true)
        .return_document(ReturnDocument::After)
        .await
        .unwrap();
    assert_eq!(upserted, Some(doc! {"_id": 500, "v": 1}));
    assert!(
        coll.find_one_and_update(doc! {"_id": 501}, doc! {"$set": {"v": 1}})
            .await
            .unwrap()
            .is_none()
    );

    let raw = s
        .db("app")
        .run_command(doc! {"findAndModify": "people", "query": {"_id": 7}, "remove": true, "update": {"$set": {"x": 1}}})
        .await;
    expect_code(raw, 9);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregate_common_stages() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("people");
    coll.insert_many(people()).await.unwrap();
    let out: Vec<Document> = coll
        .aggregate(vec![
            doc! {"$match": {"age": {"$gte": 20}}},
            doc! {"$unwind": "$tags"},
            doc! {"$group": {"_id": "$tags", "n": {"$sum": 1}, "avgAge": {"$avg": "$age"}, "names": {"$push": "$name"}, "oldest": {"$max": "$age"}, "first": {"$first": "$name"}, "last": {"$last": "$name"}, "youngest": {"$min": "$age"}}},
            doc! {"$sort": {"_id": 1}},
            doc! {"$project": {"n": 1, "oldest": 1, "youngest": 1}},
        ])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    // Ages are 10 + 3i; i >= 4 passes the $match; every third person is an admin.
    assert_eq!(
        out,
        vec![
            doc! {"_id": "admin", "n": 5, "oldest": 64, "youngest": 28},
            doc! {"_id": "staff", "n": 16, "oldest": 67, "youngest": 22}
        ]
    );

    let counted: Vec<Document> = coll
        .aggregate(vec![
            doc! {"$match": {"city": "Paris"}},
            doc! {"$skip": 2},
            doc! {"$limit": 3},
            doc! {"$count": "n"},
        ])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(counted, vec![doc! {"n": 3}]);

    let err = coll.aggregate(vec![doc! {"$bogus": {}}]).await.map(|_| ());
    expect_code(err, 40324);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn write_concerns() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_one(doc! {"_id": 1})
        .write_concern(WriteConcern::builder().journal(true).build())
        .await
        .unwrap();
    // (w: 0 travels as moreToCome, which the Rust driver does not send: see tests/wire.rs.)
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 1);
    // w > 1 cannot be satisfied by a standalone.
    let err = coll
        .insert_one(doc! {"_id": 3})
        .write_concern(
            WriteConcern::builder()
                .w(mongodb::options::Acknowledgment::Nodes(2))
                .build(),
        )
        .await;
    expect_code(err, 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_mongodb_codes() {
    let s = TestServer::start().await;
    let db = s.db("app");
    let coll = db.collection::<Document>("c");
    coll.insert_one(doc! {"_id": 1, "a": 1}).await.unwrap();
    expect_code(db.run_command(doc! {"frobnicate": 1}).await, 59);
    expect_code(coll.find(doc! {"a": {"$frob": 1}}).await.map(|_| ()), 2);
    expect_code(db.run_command(doc! {"find": "c", "filter": 5}).await, 14);
    expect_code(db.run_command(doc! {"find": 5}).await, 73);
    expect_code(coll.insert_one(doc! {"_id": [1, 2]}).await, 53);
    expect_code(
        db.run_command(doc! {"insert": "c", "documents": []}).await,
        16,
    );
    expect_code(db.run_command(doc! {"insert": "c"}).await, 40414);
    // Per-statement failures come back in writeErrors of an ok reply, as from mongod.
    let reply = db
        .run_command(doc! {"delete": "c", "deletes": [{"q": {}, "limit": 5}]})
        .await
        .unwrap();
    let errors = reply.get_array("writeErrors").unwrap();
    assert_eq!(errors[0].as_document().unwrap().get_i32("code").unwrap(), 9);
    expect_code(
        coll.find(doc! {}).sort(doc! {"a": 2}).await.map(|_| ()),
        15975,
    );
    expect_code(
        db.run_command(doc! {"insert": "system.x", "documents": [{}]})
            .await,
        73,
    );
    // A document nested deeper than mongod stores (180 levels, itself included) is
    // refused with mongod's message, the rest stays.
    let mut deep = doc! {"leaf": 1};
    for _ in 0..179 {
        deep = doc! {"x": deep};
    }
    let msg = expect_code(coll.insert_one(doc! {"_id": 2, "deep": deep}).await, 15);
    assert!(
        msg.contains("cannot insert document because it exceeds 180 levels of nesting"),
        "{msg}"
    );
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 1);
    // The client waits for every session to be dropped before it shuts down.
    s.stop().await;

    // A standalone server refuses transactions the way a standalone mongod does.
    let s = TestServer::with_config(Config::in_memory().replica_set(None)).await;
    let coll = s.db("app").collection::<Document>("users");
    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    let err = coll.insert_one(doc! {"_id": 9}).session(&mut session).await;
    expect_code(err, 20);
    drop(session);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn natural_sort_scans_in_storage_order() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("log");
    for i in 0..5 {
        coll.insert_one(doc! {"n": i}).await.unwrap();
    }
    let newest = coll
        .find_one(doc! {})
        .sort(doc! {"$natural": -1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.get_i32("n").unwrap(), 4);
    let oldest = coll
        .find_one(doc! {})
        .sort(doc! {"$natural": 1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest.get_i32("n").unwrap(), 0);
    expect_code(
        coll.find(doc! {})
            .sort(doc! {"$natural": 1, "n": 1})
            .await
            .map(|_| ()),
        2,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn object_ids_and_mixed_types_sort_in_bson_order() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("mixed");
    let oid = ObjectId::new();
    coll.insert_many(vec![
        doc! {"_id": 1, "v": "text"},
        doc! {"_id": 2, "v": 5},
        doc! {"_id": 3, "v": null},
        doc! {"_id": 4, "v": oid},
        doc! {"_id": 5, "v": 2.5},
        doc! {"_id": 6},
        doc! {"_id": 7, "v": true},
    ])
    .await
    .unwrap();
    let order: Vec<i32> = coll
        .find(doc! {})
        .sort(doc! {"v": 1, "_id": 1})
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|d| d.get_i32("_id").unwrap())
        .collect();
    assert_eq!(order, vec![3, 6, 5, 2, 1, 4, 7]);
    let numbers = coll.count_documents(doc! {"v": {"$gt": 0}}).await.unwrap();
    assert_eq!(numbers, 2, "comparisons stay within the number bracket");
    s.stop().await;
}

/// A collation the server cannot apply (an unknown locale) is refused by every command
/// that takes one, with mongod's code and a message naming the locale, and nothing is
/// changed.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_collation_locales_are_refused_and_change_nothing() {
    let s = TestServer::start().await;
    let db = s.db("t");
    let coll = db.collection::<Document>("c");
    coll.insert_many(vec![doc! {"_id": 1, "s": "a"}, doc! {"_id": 2, "s": "A"}])
        .await
        .unwrap();
    let fr = doc! {"locale": "xx_YY", "strength": 2};
    let simple = doc! {"locale": "simple"};
    for command in [
        doc! {"find": "c", "filter": {"s": "a"}, "collation": fr.clone()},
        doc! {"aggregate": "c", "pipeline": [], "cursor": {}, "collation": fr.clone()},
        doc! {"count": "c", "collation": fr.clone()},
        doc! {"findAndModify": "c", "query": {"s": "a"}, "remove": true, "collation": fr.clone()},
    ] {
        let message = expect_code(db.run_command(command.clone()).await, 2);
        assert!(message.contains("locale"), "{command}: {message}");
    }
    for command in [
        doc! {"update": "c", "updates": [{"q": {"s": "a"}, "u": {"$set": {"x": 1}}, "multi": true, "collation": fr.clone()}]},
        doc! {"delete": "c", "deletes": [{"q": {"s": "a"}, "limit": 0, "collation": fr.clone()}]},
    ] {
        let reply = db.run_command(command.clone()).await.unwrap();
        let errors = reply.get_array("writeErrors").unwrap();
        let first = errors[0].as_document().unwrap();
        assert_eq!(first.get_i32("code").unwrap(), 2, "{command}: {reply}");
        assert!(first.get_str("errmsg").unwrap().contains("locale"));
    }
    let all: Vec<Document> = coll
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all,
        vec![doc! {"_id": 1, "s": "a"}, doc! {"_id": 2, "s": "A"}]
    );
    // The simple collation is byte comparison: "a" is not "A".
    let n = db
        .run_command(doc! {"count": "c", "query": {"s": "a"}, "collation": simple})
        .await
        .unwrap();
    assert_eq!(n.get_i32("n").unwrap(), 1);
    s.stop().await;
}

/// JavaScript stays refused, with the answers of a mongod whose engine is off.
#[tokio::test(flavor = "multi_thread")]
async fn javascript_is_refused_as_mongod_without_its_engine_refuses_it() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.collection::<Document>("c")
        .insert_one(doc! {"a": 1})
        .await
        .unwrap();
    for (command, expected) in [
        (doc! {"find": "c", "filter": {"$where": "this.a == 1"}}, 2),
        (
            doc! {"aggregate": "c", "pipeline": [{"$project": {"x": {"$function": {"body": "function() {return 1}", "args": [], "lang": "js"}}}}], "cursor": {}},
            31264,
        ),
        (
            doc! {"mapReduce": "c", "map": "function() { emit(this.a, 1) }", "reduce": "function(k, v) { return Array.sum(v) }", "out": {"inline": 1}},
            31264,
        ),
    ] {
        let message = expect_code(db.run_command(command.clone()).await, expected);
        assert!(
            message.to_lowercase().contains("javascript"),
            "{command}: {message}"
        );
    }
    // Nor does a validator take `$text`, which needs the collection's text index.
    let message = expect_code(
        db.run_command(doc! {"create": "v", "validator": {"$text": {"$search": "x"}}})
            .await,
        224,
    );
    assert!(message.contains("$text"), "{message}");
    s.stop().await;
}
