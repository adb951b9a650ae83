//! Indexes through the driver: creation, listing, dropping, unique constraints (11000 on
//! insert and on update), the planner's choice as `explain` shows it, and equal answers
//! with and without an index.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, code, expect_code, expect_command_codes, leaf_stage};
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;

fn unique(keys: Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(IndexOptions::builder().unique(true).build())
        .build()
}

/// A TTL index on `at` (named `at_1`).
fn ttl_on_at(secs: u64) -> IndexModel {
    let ttl = IndexOptions::builder()
        .expire_after(std::time::Duration::from_secs(secs))
        .build();
    IndexModel::builder()
        .keys(doc! {"at": 1})
        .options(ttl)
        .build()
}

async fn winning_stage(s: &TestServer, find: Document) -> Document {
    let reply = s
        .db("t")
        .run_command(doc! {"explain": find, "verbosity": "queryPlanner"})
        .await
        .unwrap();
    reply
        .get_document("queryPlanner")
        .unwrap()
        .get_document("winningPlan")
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_list_drop_and_conflicts() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    let created = coll.create_index(unique(doc! {"email": 1})).await.unwrap();
    assert_eq!(created.index_name, "email_1");
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"age": 1, "name": -1})
            .build(),
    )
    .await
    .unwrap();
    let sparse = IndexOptions::builder()
        .sparse(true)
        .name("nick".to_string())
        .expire_after(std::time::Duration::from_secs(3600))
        .build();
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"nick": 1})
            .options(sparse)
            .build(),
    )
    .await
    .unwrap();
    let names = coll.list_index_names().await.unwrap();
    assert_eq!(names, vec!["_id_", "email_1", "age_1_name_-1", "nick"]);
    let specs: Vec<IndexModel> = coll
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let nick = specs
        .iter()
        .find(|m| m.options.as_ref().and_then(|o| o.name.as_deref()) == Some("nick"))
        .unwrap();
    let opts = nick.options.as_ref().unwrap();
    assert_eq!(
        (opts.sparse, opts.expire_after),
        (Some(true), Some(std::time::Duration::from_secs(3600)))
    );

    // Asking again is a no-op; other keys under the same name, or the same key under
    // another name, conflict.
    let again = s.db("t").run_command(doc! {"createIndexes": "c", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]}).await.unwrap();
    assert_eq!(again.get_str("note").unwrap(), "all indexes already exist");
    assert_eq!(
        (
            again.get_i32("numIndexesBefore").unwrap(),
            again.get_i32("numIndexesAfter").unwrap()
        ),
        (4, 4)
    );
    let index = |spec: Document| doc! {"createIndexes": "c", "indexes": [spec]};
    expect_command_codes(
        &s.db("t"),
        vec![
            (index(doc! {"key": {"other": 1}, "name": "email_1"}), 86),
            (index(doc! {"key": {"email": 1}, "name": "second"}), 85),
            (index(doc! {"key": {"email": 1}, "name": "email_1"}), 85),
            (index(doc! {"key": {"t": "bogus"}, "name": "t"}), 67),
            (index(doc! {"key": {"a": 1}, "name": "a", "bogus": 1}), 197),
        ],
    )
    .await;

    coll.drop_index("age_1_name_-1").await.unwrap();
    expect_code(coll.drop_index("age_1_name_-1").await, 27);
    expect_code(coll.drop_index("_id_").await, 72);
    let dropped = s
        .db("t")
        .run_command(doc! {"dropIndexes": "c", "index": {"nick": 1}})
        .await
        .unwrap();
    assert_eq!(dropped.get_i32("nIndexesWas").unwrap(), 3);
    coll.drop_indexes().await.unwrap();
    assert_eq!(coll.list_index_names().await.unwrap(), vec!["_id_"]);
    expect_code(
        s.db("t")
            .collection::<Document>("missing")
            .list_index_names()
            .await,
        26,
    );
    expect_code(
        s.db("t")
            .run_command(doc! {"dropIndexes": "missing", "index": "*"})
            .await,
        26,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unique_violations_are_11000_with_key_details() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("users");
    coll.create_index(unique(doc! {"email": 1})).await.unwrap();
    coll.insert_one(doc! {"_id": 1, "email": "a@x.io"})
        .await
        .unwrap();
    coll.insert_one(doc! {"_id": 2, "email": "b@x.io"})
        .await
        .unwrap();

    let err = coll
        .insert_one(doc! {"_id": 3, "email": "a@x.io"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11000));
    let ErrorKind::Write(WriteFailure::WriteError(we)) = &*err.kind else {
        panic!("{err}")
    };
    assert!(
        we.message
            .contains("index: email_1 dup key: { email: \"a@x.io\" }"),
        "{}",
        we.message
    );
    // keyPattern / keyValue arrive in the raw reply's writeErrors.
    let raw = s
        .db("t")
        .run_command(doc! {"insert": "users", "documents": [{"_id": 4, "email": "b@x.io"}]})
        .await
        .unwrap();
    let entry = raw.get_array("writeErrors").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(
        entry.get_document("keyPattern").unwrap(),
        &doc! {"email": 1}
    );
    assert_eq!(
        entry.get_document("keyValue").unwrap(),
        &doc! {"email": "b@x.io"}
    );

    // On update: nothing changes.
    expect_code(
        coll.update_one(doc! {"_id": 2}, doc! {"$set": {"email": "a@x.io"}})
            .await,
        11000,
    );
    assert_eq!(
        coll.find_one(doc! {"_id": 2})
            .await
            .unwrap()
            .unwrap()
            .get_str("email")
            .unwrap(),
        "b@x.io"
    );
    // Upsert into a taken value.
    expect_code(
        coll.update_one(doc! {"_id": 9}, doc! {"$set": {"email": "a@x.io"}})
            .upsert(true)
            .await,
        11000,
    );
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 2);

    // A unique index cannot be built over duplicates, and nothing is left behind.
    let teams = s.db("t").collection::<Document>("teams");
    teams
        .create_index(IndexModel::builder().keys(doc! {"color": 1}).build())
        .await
        .unwrap();
    teams
        .insert_many(vec![
            doc! {"_id": 5, "team": "red"},
            doc! {"_id": 6, "team": "red"},
        ])
        .await
        .unwrap();
    expect_code(teams.create_index(unique(doc! {"team": 1})).await, 11000);
    assert_eq!(
        teams.list_index_names().await.unwrap(),
        vec!["_id_", "color_1"]
    );

    // Missing fields index as null: two documents without the field collide, unless sparse.
    let other = s.db("t").collection::<Document>("sparse");
    other.create_index(unique(doc! {"code": 1})).await.unwrap();
    other.insert_one(doc! {"_id": 1}).await.unwrap();
    expect_code(other.insert_one(doc! {"_id": 2}).await, 11000);
    let sparse_unique = IndexOptions::builder().unique(true).sparse(true).build();
    other.drop_indexes().await.unwrap();
    other
        .create_index(
            IndexModel::builder()
                .keys(doc! {"code": 1})
                .options(sparse_unique)
                .build(),
        )
        .await
        .unwrap();
    other.insert_one(doc! {"_id": 2}).await.unwrap();
    other
        .insert_one(doc! {"_id": 3, "code": "x"})
        .await
        .unwrap();
    expect_code(other.insert_one(doc! {"_id": 4, "code": "x"}).await, 11000);

    // Compound uniqueness is on the combination.
    let pairs = s.db("t").collection::<Document>("pairs");
    pairs
        .create_index(unique(doc! {"a": 1, "b": 1}))
        .await
        .unwrap();
    pairs
        .insert_many(vec![
            doc! {"a": 1, "b": 1},
            doc! {"a": 1, "b": 2},
            doc! {"a": 2, "b": 1},
        ])
        .await
        .unwrap();
    expect_code(pairs.insert_one(doc! {"a": 1, "b": 2}).await, 11000);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_ixscan_or_collscan() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    let docs: Vec<Document> = (0..200)
        .map(|i| doc! {"_id": i, "a": i % 10, "b": i, "tags": [i % 3, 10 + i % 4]})
        .collect();
    coll.insert_many(docs).await.unwrap();
    coll.create_index(IndexModel::builder().keys(doc! {"a": 1, "b": -1}).build())
        .await
        .unwrap();
    coll.create_index(IndexModel::builder().keys(doc! {"tags": 1}).build())
        .await
        .unwrap();

    let plan = winning_stage(
        &s,
        doc! {"find": "c", "filter": {"a": 3, "b": {"$gt": 100}}},
    )
    .await;
    let leaf = leaf_stage(&plan);
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN");
    assert_eq!(leaf.get_str("indexName").unwrap(), "a_1_b_-1");

    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"b": 5}}).await;
    assert_eq!(leaf_stage(&plan).get_str("stage").unwrap(), "COLLSCAN");

    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"_id": 5}}).await;
    assert_eq!(plan.get_str("stage").unwrap(), "IDHACK");

    // A sort the index provides needs no SORT stage; one it does not, does.
    let plan = winning_stage(
        &s,
        doc! {"find": "c", "filter": {"a": 3}, "sort": {"b": -1}},
    )
    .await;
    assert_ne!(plan.get_str("stage").unwrap(), "SORT");
    let plan = winning_stage(
        &s,
        doc! {"find": "c", "filter": {"a": 3}, "sort": {"_id": 1}},
    )
    .await;
    assert_eq!(plan.get_str("stage").unwrap(), "SORT");

    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"tags": 11}}).await;
    let leaf = leaf_stage(&plan);
    assert_eq!(
        (
            leaf.get_str("indexName").unwrap(),
            leaf.get_bool("isMultiKey").unwrap()
        ),
        ("tags_1", true)
    );

    // A hint forces the index.
    let plan = winning_stage(
        &s,
        doc! {"find": "c", "filter": {"b": 5}, "hint": "a_1_b_-1"},
    )
    .await;
    assert_eq!(leaf_stage(&plan).get_str("stage").unwrap(), "IXSCAN");
    expect_code(
        s.db("t")
            .run_command(doc! {"find": "c", "hint": "nope"})
            .await,
        2,
    );

    // explain of count and aggregate.
    let reply = s
        .db("t")
        .run_command(doc! {"explain": {"count": "c", "query": {"a": 1}}})
        .await
        .unwrap();
    assert!(
        reply
            .get_document("executionStats")
            .unwrap()
            .get_i64("nReturned")
            .unwrap()
            == 20
    );
    let reply = s
        .db("t")
        .run_command(
            doc! {"explain": {"aggregate": "c", "pipeline": [{"$match": {"a": 1}}], "cursor": {}}},
        )
        .await
        .unwrap();
    let plan = reply
        .get_document("queryPlanner")
        .unwrap()
        .get_document("winningPlan")
        .unwrap();
    assert_eq!(leaf_stage(plan).get_str("stage").unwrap(), "IXSCAN");
    s.stop().await;
}

async fn ids(
    coll: &mongodb::Collection<Document>,
    filter: Document,
    sort: Option<Document>,
) -> Vec<Bson> {
    let mut find = coll.find(filter);
    if let Some(sort) = sort {
        find = find.sort(sort);
    }
    let docs: Vec<Document> = find.await.unwrap().try_collect().await.unwrap();
    let mut ids: Vec<Bson> = docs.iter().map(|d| d.get("_id").unwrap().clone()).collect();
    ids.sort_by(odm_server::engine::compare::compare);
    ids
}

/// The `_id`s a sorted find returns, in its order.
async fn in_order(
    coll: &mongodb::Collection<Document>,
    filter: Document,
    sort: Document,
) -> Vec<Bson> {
    let docs: Vec<Document> = coll
        .find(filter)
        .sort(sort)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.iter().map(|d| d.get("_id").unwrap().clone()).collect()
}

fn decimal(s: &str) -> bson::Decimal128 {
    s.parse().expect("a decimal literal")
}

#[tokio::test(flavor = "multi_thread")]
async fn indexed_and_unindexed_answers_agree() {
    let s = TestServer::start().await;
    let db = s.db("t");
    let values = vec![
        Bson::Int32(1),
        Bson::Double(1.0),
        Bson::Int64(2),
        Bson::Double(2.5),
        Bson::Double(f64::NAN),
        Bson::String("1".into()),
        Bson::String("b".into()),
        Bson::Null,
        Bson::Boolean(true),
        Bson::Array(vec![Bson::Int32(0), Bson::Int32(7)]),
        Bson::Array(vec![]),
        Bson::Array(vec![Bson::String("b".into()), Bson::Int32(3)]),
        Bson::Document(doc! {"x": 1}),
        Bson::DateTime(bson::DateTime::from_millis(5)),
        // Numbers no double holds, next to the doubles they round to.
        Bson::Decimal128(decimal("0.1")),
        Bson::Double(0.1),
        Bson::Int64(9_007_199_254_740_993),
        Bson::Double(9_007_199_254_740_992.0),
        Bson::Decimal128(decimal("9007199254740993")),
        Bson::Decimal128(decimal("-1E-400")),
        Bson::Decimal128(decimal("1E+400")),
        Bson::Decimal128(decimal("NaN")),
        Bson::Double(-0.0),
        Bson::MinKey,
        Bson::MaxKey,
    ];
    let docs: Vec<Document> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            // "m" holds paths through arrays whose elements differ in shape.
            let m = match i % 3 {
                0 => bson::bson!([{"b": 1}, {"b": {"c": v.clone()}}]),
                1 => bson::bson!([{"b": {"c": v.clone()}}, {"x": 1}]),
                _ => bson::bson!({"b": [{"c": v.clone()}, 4]}),
            };
            doc! {"_id": i as i32, "v": v.clone(), "n": {"v": v.clone()}, "m": m}
        })
        .chain(std::iter::once(doc! {"_id": 100}))
        .collect();
    let plain = db.collection::<Document>("plain");
    let indexed = db.collection::<Document>("indexed");
    let descending = db.collection::<Document>("descending");
    plain.insert_many(docs.clone()).await.unwrap();
    indexed.insert_many(docs.clone()).await.unwrap();
    descending.insert_many(docs).await.unwrap();
    indexed
        .create_index(IndexModel::builder().keys(doc! {"v": 1}).build())
        .await
        .unwrap();
    indexed
        .create_index(IndexModel::builder().keys(doc! {"n.v": 1}).build())
        .await
        .unwrap();
    indexed
        .create_index(IndexModel::builder().keys(doc! {"m.b.c": 1}).build())
        .await
        .unwrap();
    descending
        .create_index(IndexModel::builder().keys(doc! {"v": -1, "_id": 1}).build())
        .await
        .unwrap();

    let filters = vec![
        doc! {"v": 1},
        doc! {"v": 2},
        doc! {"v": null},
        doc! {"v": "b"},
        doc! {"v": {"$gt": 1}},
        doc! {"v": {"$gte": 1, "$lt": 3}},
        doc! {"v": {"$gt": 0, "$lt": 5}},
        doc! {"v": {"$lte": "a"}},
        doc! {"v": {"$gt": f64::NAN}},
        doc! {"v": {"$gte": f64::NAN}},
        doc! {"v": {"$in": [1, "b", null]}},
        doc! {"v": {"$in": []}},
        doc! {"v": {"x": 1}},
        doc! {"v": {"$gt": {"a": 1}}},
        doc! {"v": {"$lt": bson::DateTime::from_millis(10)}},
        doc! {"v": {"$exists": false}},
        doc! {"v": {"$ne": 1}},
        doc! {"n.v": {"$gte": 2}},
        doc! {"n.v": 7},
        doc! {"v": {"$gt": 5, "$lt": 1}},
        doc! {"m.b.c": null},
        doc! {"m.b.c": {"$in": [null, 2.5]}},
        doc! {"m.b.c": {"$gte": 1}},
        doc! {"m.b.c": "b"},
        doc! {"v": decimal("0.1")},
        doc! {"v": 0.1},
        doc! {"v": {"$gt": 0, "$lt": 0.1}},
        doc! {"v": {"$gt": decimal("0.1"), "$lt": 1}},
        doc! {"v": {"$gte": decimal("0.1"), "$lte": 0.1}},
        doc! {"v": 9_007_199_254_740_993i64},
        doc! {"v": decimal("9007199254740993")},
        doc! {"v": 9_007_199_254_740_992.0},
        doc! {"v": {"$gt": 9_007_199_254_740_992.0}},
        doc! {"v": {"$lt": 0}},
        doc! {"v": {"$gt": 1e300}},
        doc! {"v": 0},
        doc! {"v": {"$gt": Bson::MinKey}},
        doc! {"v": {"$lt": Bson::MaxKey}},
        doc! {"v": {"$gte": Bson::MinKey, "$lte": Bson::MaxKey}},
        doc! {"m.b.c": {"$lt": decimal("0.5")}},
    ];
    for f in filters {
        let plan = winning_stage(&s, doc! {"find": "indexed", "filter": f.clone()}).await;
        let leaf = leaf_stage(&plan);
        // Negations, and bounds at MinKey/MaxKey (which span every type), may scan.
        let may_scan = f.get_document("v").is_ok_and(|d| {
            d.contains_key("$exists")
                || d.contains_key("$ne")
                || d.values().any(|b| matches!(b, Bson::MinKey | Bson::MaxKey))
        });
        assert!(
            leaf.get_str("stage").unwrap() != "COLLSCAN" || may_scan,
            "filter {f} should use an index, plan {plan}"
        );
        let expected = ids(&plain, f.clone(), None).await;
        assert_eq!(
            ids(&indexed, f.clone(), None).await,
            expected,
            "ascending index, filter {f}"
        );
        assert_eq!(
            ids(&descending, f.clone(), None).await,
            expected,
            "descending index, filter {f}"
        );
        assert_eq!(
            ids(&indexed, f.clone(), Some(doc! {"v": -1})).await,
            expected,
            "sorted, filter {f}"
        );
        // The order an index provides is the order an in-memory sort gives.
        for sort in [doc! {"v": 1, "_id": 1}, doc! {"v": -1, "_id": 1}] {
            let expected = in_order(&plain, f.clone(), sort.clone()).await;
            for coll in [&indexed, &descending] {
                assert_eq!(
                    in_order(coll, f.clone(), sort.clone()).await,
                    expected,
                    "{} sorted by {sort}, filter {f}",
                    coll.name()
                );
            }
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coll_mod_changes_ttl_and_hidden() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.create_index(ttl_on_at(60)).await.unwrap();
    let reply = s
        .db("t")
        .run_command(doc! {"collMod": "c", "index": {"name": "at_1", "expireAfterSeconds": 120}})
        .await
        .unwrap();
    assert_eq!(reply.get_i32("expireAfterSeconds_old").unwrap(), 60);
    assert_eq!(reply.get_i32("expireAfterSeconds_new").unwrap(), 120);
    let reply = s
        .db("t")
        .run_command(doc! {"collMod": "c", "index": {"keyPattern": {"at": 1}, "hidden": true}})
        .await
        .unwrap();
    assert!(reply.get_bool("hidden_new").unwrap());
    let specs: Vec<Document> = s
        .db("t")
        .run_command(doc! {"listIndexes": "c"})
        .await
        .unwrap()
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .iter()
        .map(|d| d.as_document().unwrap().clone())
        .collect();
    assert_eq!(specs[1].get_i32("expireAfterSeconds").unwrap(), 120);
    assert!(specs[1].get_bool("hidden").unwrap());
    expect_code(
        s.db("t")
            .run_command(doc! {"collMod": "c", "index": {"name": "nope", "hidden": true}})
            .await,
        27,
    );
    expect_code(s.db("t").run_command(doc! {"collMod": "missing"}).await, 26);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ttl_indexes_expire_documents() {
    let config =
        odm_server::Config::in_memory().ttl_monitor_interval(std::time::Duration::from_millis(100));
    let s = TestServer::with_config(config).await;
    let coll = s.db("t").collection::<Document>("sessions");
    coll.create_index(ttl_on_at(60)).await.unwrap();
    let now = bson::DateTime::now().timestamp_millis();
    coll.insert_many(vec![
        doc! {"_id": "old", "at": bson::DateTime::from_millis(now - 3_600_000)},
        doc! {"_id": "new", "at": bson::DateTime::from_millis(now)},
        doc! {"_id": "text", "at": "yesterday"},
    ])
    .await
    .unwrap();
    let mut left = 3;
    for _ in 0..50 {
        left = coll.count_documents(doc! {}).await.unwrap();
        if left == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 2);
    assert!(coll.find_one(doc! {"_id": "old"}).await.unwrap().is_none());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn null_under_a_scalar_is_found_through_the_index() {
    // {b: 1} has no field c: the path m.b.c reaches "missing" there, so {"m.b.c": null}
    // matches, and the index must hold a null key for it.
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.insert_many(vec![
        doc! {"_id": 0, "m": [{"b": 1}, {"b": {"c": 5}}]},
        doc! {"_id": 1, "m": [{"b": {"c": 5}}]},
    ])
    .await
    .unwrap();
    let before: Vec<Document> = coll
        .find(doc! {"m.b.c": null})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    coll.create_index(IndexModel::builder().keys(doc! {"m.b.c": 1}).build())
        .await
        .unwrap();
    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"m.b.c": null}}).await;
    assert_eq!(leaf_stage(&plan).get_str("stage").unwrap(), "IXSCAN");
    let after: Vec<Document> = coll
        .find(doc! {"m.b.c": null})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(after, before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_indexes_are_not_planned() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.insert_many((0..20).map(|i| doc! {"a": i}).collect::<Vec<_>>())
        .await
        .unwrap();
    let hidden = IndexOptions::builder().hidden(true).build();
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"a": 1})
            .options(hidden)
            .build(),
    )
    .await
    .unwrap();
    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"a": 3}}).await;
    assert_eq!(leaf_stage(&plan).get_str("stage").unwrap(), "COLLSCAN");
    expect_code(
        s.db("t")
            .run_command(doc! {"find": "c", "hint": "a_1"})
            .await,
        2,
    );
    s.db("t")
        .run_command(doc! {"collMod": "c", "index": {"name": "a_1", "hidden": false}})
        .await
        .unwrap();
    let plan = winning_stage(&s, doc! {"find": "c", "filter": {"a": 3}}).await;
    assert_eq!(leaf_stage(&plan).get_str("stage").unwrap(), "IXSCAN");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn large_in_lists_on_compound_indexes_stay_bounded() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.insert_many(
        (0..500)
            .map(|i| doc! {"a": i % 50, "b": i % 7})
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    coll.create_index(IndexModel::builder().keys(doc! {"a": 1, "b": 1}).build())
        .await
        .unwrap();
    let many: Vec<i32> = (0..5000).collect();
    let n = coll
        .count_documents(doc! {"a": {"$in": many.clone()}, "b": {"$in": many}})
        .await
        .unwrap();
    assert_eq!(n, 500);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recreated_index_kills_open_cursors() {
    let s = TestServer::start().await;
    let db = s.db("t");
    let coll = db.collection::<Document>("c");
    coll.insert_many(
        (0..20)
            .map(|i| doc! {"a": i, "b": 20 - i})
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"a": 1})
            .options(IndexOptions::builder().name("x".to_string()).build())
            .build(),
    )
    .await
    .unwrap();
    let first = db
        .run_command(doc! {"find": "c", "filter": {"a": {"$gte": 0}}, "batchSize": 2})
        .await
        .unwrap();
    let id = first.get_document("cursor").unwrap().get_i64("id").unwrap();
    coll.drop_index("x").await.unwrap();
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"b": 1})
            .options(IndexOptions::builder().name("x".to_string()).build())
            .build(),
    )
    .await
    .unwrap();
    expect_code(
        db.run_command(doc! {"getMore": id, "collection": "c"})
            .await,
        175,
    );
    s.stop().await;
}
