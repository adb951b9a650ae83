//! Partial and hashed indexes through the driver: where the planner uses them (`explain`),
//! and property tests: a query answers the same through such an index as through a
//! collection scan. (Collated indexes: `collation.rs`.)

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, explained_leaf, leaf_stage};
use futures::TryStreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

async fn winning_leaf(s: &TestServer, filter: Document) -> Document {
    explain_leaf(s, doc! {"find": "c", "filter": filter}).await
}

async fn explain_leaf(s: &TestServer, find: Document) -> Document {
    explained_leaf(&s.db("t"), find).await
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_a_partial_index_only_where_the_query_implies_it() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(doc! {"createIndexes": "c", "indexes": [
        {"key": {"cuisine": 1}, "name": "rated", "partialFilterExpression": {"rating": {"$gt": 5}}}
    ]})
    .await
    .unwrap();
    let coll = db.collection::<Document>("c");
    coll.insert_many(
        (0..30).map(|i| doc! {"_id": i, "cuisine": format!("c{}", i % 4), "rating": i % 10}),
    )
    .await
    .unwrap();
    let leaf = winning_leaf(&s, doc! {"cuisine": "c1", "rating": {"$gte": 7}}).await;
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{leaf}");
    assert_eq!(leaf.get_str("indexName").unwrap(), "rated");
    assert!(leaf.get_bool("isPartial").unwrap());
    for filter in [
        doc! {"cuisine": "c1"},
        doc! {"cuisine": "c1", "rating": {"$gte": 5}},
    ] {
        let leaf = winning_leaf(&s, filter.clone()).await;
        assert_eq!(
            leaf.get_str("stage").unwrap(),
            "COLLSCAN",
            "{filter}: {leaf}"
        );
    }
    s.stop().await;
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (0i32..8).prop_map(Bson::Int32),
        prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(|s| Bson::String(s.into())),
        Just(Bson::Null),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    prop_oneof![
        3 => scalar(),
        1 => proptest::collection::vec((0i32..8).prop_map(Bson::Int32), 0..3).prop_map(Bson::Array),
    ]
}

/// A condition on `f` or `g`, of the kinds partial filters and queries both use.
fn condition() -> impl Strategy<Value = Document> {
    let path = prop_oneof![Just("f"), Just("g")];
    (path, 0..5usize, value()).prop_map(|(path, kind, v)| match kind {
        0 => doc! {path: v},
        1 => doc! {path: {"$gt": v}},
        2 => doc! {path: {"$lte": v}},
        3 => doc! {path: {"$exists": true}},
        _ => doc! {path: {"$in": [v, 3]}},
    })
}

fn conjunction() -> impl Strategy<Value = Document> {
    proptest::collection::vec(condition(), 1..3).prop_map(|parts| {
        doc! {"$and": parts.into_iter().map(Bson::Document).collect::<Vec<_>>()}
    })
}

async fn ids(coll: &mongodb::Collection<Document>, filter: Document) -> Vec<Bson> {
    let docs: Vec<Document> = coll
        .find(filter)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<Bson> = docs.iter().map(|d| d["_id"].clone()).collect();
    ids.sort_by(odm_server::engine::compare::compare);
    ids
}

#[test]
fn queries_answer_alike_with_and_without_a_partial_index() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("t");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let strategy = (
        conjunction(),
        // Arrays in `f` only: a compound index takes one array per document.
        proptest::collection::vec((value(), scalar()), 1..30),
        proptest::collection::vec(conjunction(), 1..5),
    );
    runner
        .run(&strategy, |(partial, rows, queries)| {
            rt.block_on(async {
                let (plain, indexed) = (db.collection::<Document>("plain"), db.collection::<Document>("partial"));
                plain.drop().await.unwrap();
                indexed.drop().await.unwrap();
                db.run_command(doc! {"createIndexes": "partial", "indexes": [
                    {"key": {"f": 1, "g": 1}, "name": "fg", "partialFilterExpression": partial.clone()}
                ]})
                .await
                .unwrap();
                let docs: Vec<Document> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, (f, g))| doc! {"_id": i as i32, "f": f.clone(), "g": g.clone()})
                    .collect();
                plain.insert_many(docs.clone()).await.unwrap();
                indexed.insert_many(docs).await.unwrap();
                for q in queries {
                    let want = ids(&plain, q.clone()).await;
                    let got = ids(&indexed, q.clone()).await;
                    prop_assert_eq!(&got, &want, "query {} with partial filter {}", q, partial);
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(s.stop());
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_a_hashed_index_serving_equalities_only() {
    let s = TestServer::start().await;
    let db = s.db("t");
    let coll = db.collection::<Document>("c");
    coll.create_index(
        mongodb::IndexModel::builder()
            .keys(doc! {"k": "hashed"})
            .build(),
    )
    .await
    .unwrap();
    coll.insert_many((0..50).map(|i| doc! {"_id": i, "k": i % 7}))
        .await
        .unwrap();
    for filter in [doc! {"k": 3}, doc! {"k": {"$in": [1, 2]}}] {
        let leaf = winning_leaf(&s, filter.clone()).await;
        assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{filter}: {leaf}");
        assert_eq!(leaf.get_str("indexName").unwrap(), "k_hashed");
    }
    let leaf = winning_leaf(&s, doc! {"k": {"$gt": 3}}).await;
    assert_eq!(leaf.get_str("stage").unwrap(), "COLLSCAN", "{leaf}");
    // Hash order is no value order: a sort on the field is a blocking sort.
    let reply = s
        .db("t")
        .run_command(doc! {"explain": {"find": "c", "filter": {"k": 3}, "sort": {"k": 1}}, "verbosity": "queryPlanner"})
        .await
        .unwrap();
    let top = reply
        .get_document("queryPlanner")
        .unwrap()
        .get_document("winningPlan")
        .unwrap();
    assert_eq!(top.get_str("stage").unwrap(), "SORT", "{top}");
    assert_eq!(
        explain_leaf(&s, doc! {"find": "c", "filter": {"k": 3}, "sort": {"k": 1}})
            .await
            .get_str("stage")
            .unwrap(),
        "IXSCAN"
    );
    s.stop().await;
}

#[test]
fn queries_answer_alike_with_and_without_a_hashed_index() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("t");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let number = prop_oneof![
        (0i32..4).prop_map(Bson::Int32),
        (0i64..4).prop_map(Bson::Int64),
        prop_oneof![Just(1.0), Just(1.5), Just(2.0), Just(-0.0)].prop_map(Bson::Double),
    ];
    let field = prop_oneof![3 => number, 1 => scalar()];
    let strategy = (
        proptest::collection::vec((field.clone(), scalar()), 1..30),
        proptest::collection::vec(conjunction(), 1..5),
        proptest::collection::vec(field, 1..4),
    );
    runner
        .run(&strategy, |(rows, queries, points)| {
            rt.block_on(async {
                let (plain, hashed) = (
                    db.collection::<Document>("plain"),
                    db.collection::<Document>("hashed"),
                );
                plain.drop().await.unwrap();
                hashed.drop().await.unwrap();
                db.run_command(doc! {"createIndexes": "hashed", "indexes": [
                    {"key": {"f": "hashed", "g": 1}, "name": "fg"}
                ]})
                .await
                .unwrap();
                let docs: Vec<Document> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, (f, g))| doc! {"_id": i as i32, "f": f.clone(), "g": g.clone()})
                    .collect();
                plain.insert_many(docs.clone()).await.unwrap();
                hashed.insert_many(docs).await.unwrap();
                let equalities = points.iter().flat_map(|p| {
                    [
                        doc! {"f": p.clone()},
                        doc! {"f": {"$in": [p.clone(), 2]}, "g": {"$exists": true}},
                    ]
                });
                for q in queries.into_iter().chain(equalities) {
                    let want = ids(&plain, q.clone()).await;
                    let got = ids(&hashed, q.clone()).await;
                    prop_assert_eq!(&got, &want, "query {}", q);
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(s.stop());
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_text_queries_through_the_text_index() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(
        doc! {"createIndexes": "c", "indexes": [{"key": {"body": "text"}, "name": "body_text"}]},
    )
    .await
    .unwrap();
    db.collection::<Document>("c")
        .insert_many([
            doc! {"_id": 1, "body": "red fox"},
            doc! {"_id": 2, "body": "blue fox"},
        ])
        .await
        .unwrap();
    let reply = db
        .run_command(doc! {"explain": {"find": "c", "filter": {"$text": {"$search": "foxes red"}}}, "verbosity": "queryPlanner"})
        .await
        .unwrap();
    let plan = reply
        .get_document("queryPlanner")
        .unwrap()
        .get_document("winningPlan")
        .unwrap();
    assert_eq!(plan.get_str("stage").unwrap(), "TEXT_MATCH", "{plan}");
    assert_eq!(plan.get_str("indexName").unwrap(), "body_text");
    let leaf = leaf_stage(plan);
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN");
    // One range per stemmed word of the query.
    assert_eq!(
        leaf.get_document("indexBounds")
            .unwrap()
            .get_array("_fts")
            .unwrap()
            .len(),
        2
    );
    s.stop().await;
}

fn sentence() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("coffee"),
            Just("Coffees"),
            Just("café"),
            Just("cake"),
            Just("baking"),
            Just("the"),
            Just("and"),
            Just("shop"),
            Just("shopping"),
            Just("tea-time"),
            Just("TEA"),
        ],
        0..6,
    )
    .prop_map(|w| w.join(" "))
}

fn search() -> impl Strategy<Value = Document> {
    (
        proptest::collection::vec(
            (sentence(), 0..3usize).prop_map(|(s, kind)| match kind {
                0 => s,
                1 => format!("\"{s}\""),
                _ => s
                    .split_whitespace()
                    .map(|w| format!("-{w}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            }),
            1..3,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(parts, case, diacritics)| {
            doc! {"$search": parts.join(" "), "$caseSensitive": case, "$diacriticSensitive": diacritics}
        })
}

/// Through the index (a top-level `$text`) and document by document (a `$text` under an
/// `$or` whose other branch matches nothing), a text query finds the same documents.
#[test]
fn text_queries_answer_alike_through_the_index_and_document_by_document() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("t");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let strategy = (
        proptest::collection::vec((sentence(), sentence()), 1..20),
        proptest::collection::vec(search(), 1..5),
    );
    runner
        .run(&strategy, |(rows, searches)| {
            rt.block_on(async {
                let coll = db.collection::<Document>("texts");
                coll.drop().await.unwrap();
                db.run_command(doc! {"createIndexes": "texts", "indexes": [
                    {"key": {"title": "text", "body": "text"}, "name": "words", "weights": {"title": 3}}
                ]})
                .await
                .unwrap();
                let docs: Vec<Document> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, (t, b))| doc! {"_id": i as i32, "title": t, "body": b})
                    .collect();
                coll.insert_many(docs).await.unwrap();
                for q in searches {
                    let indexed = ids(&coll, doc! {"$text": q.clone()}).await;
                    let scanned =
                        ids(&coll, doc! {"$or": [{"$text": q.clone()}, {"_id": -1}]}).await;
                    prop_assert_eq!(&indexed, &scanned, "search {}", q);
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(s.stop());
}

#[tokio::test(flavor = "multi_thread")]
async fn coll_mod_prepares_and_converts_an_index_to_unique() {
    let s = TestServer::start().await;
    let db = s.db("t");
    let coll = db.collection::<Document>("u");
    coll.insert_many([
        doc! {"_id": 1, "e": "a"},
        doc! {"_id": 2, "e": "a"},
        doc! {"_id": 3, "e": "b"},
    ])
    .await
    .unwrap();
    db.run_command(doc! {"createIndexes": "u", "indexes": [{"key": {"e": 1}, "name": "e_1"}]})
        .await
        .unwrap();
    // Unique without preparing first is refused.
    let err = db
        .run_command(doc! {"collMod": "u", "index": {"name": "e_1", "unique": true}})
        .await
        .unwrap_err();
    assert_eq!(common::code(&err), Some(72), "{err}");
    let reply = db
        .run_command(doc! {"collMod": "u", "index": {"name": "e_1", "prepareUnique": true}})
        .await
        .unwrap();
    assert!(reply.get_bool("prepareUnique_new").unwrap());
    // Prepared: a new duplicate is refused, the old ones stay.
    let err = coll
        .insert_one(doc! {"_id": 4, "e": "b"})
        .await
        .unwrap_err();
    assert_eq!(common::code(&err), Some(11000), "{err}");
    // The conversion names the documents in the way.
    let err = db
        .run_command(doc! {"collMod": "u", "index": {"name": "e_1", "unique": true}})
        .await
        .unwrap_err();
    assert_eq!(common::code(&err), Some(359), "{err}");
    let raw = match &*err.kind {
        mongodb::error::ErrorKind::Command(_) => err.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(raw.contains("Cannot convert the index to unique"), "{raw}");
    coll.delete_one(doc! {"_id": 2}).await.unwrap();
    db.run_command(doc! {"collMod": "u", "index": {"name": "e_1", "unique": true}})
        .await
        .unwrap();
    let specs = db.run_command(doc! {"listIndexes": "u"}).await.unwrap();
    let batch = specs
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    let e = batch
        .iter()
        .filter_map(Bson::as_document)
        .find(|s| s.get_str("name").is_ok_and(|n| n == "e_1"))
        .unwrap();
    assert!(e.get_bool("unique").unwrap(), "{e}");
    assert!(!e.contains_key("prepareUnique"), "{e}");
    // A hashed (or text, or wildcard) index holds no values to be unique over.
    db.run_command(doc! {"createIndexes": "u", "indexes": [{"key": {"h": "hashed"}, "name": "h"}]})
        .await
        .unwrap();
    let err = db
        .run_command(doc! {"collMod": "u", "index": {"name": "h", "prepareUnique": true}})
        .await
        .unwrap_err();
    assert_eq!(common::code(&err), Some(72), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_a_wildcard_index_on_the_queried_path() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.run_command(
        doc! {"createIndexes": "c", "indexes": [{"key": {"attrs.$**": 1}, "name": "attrs"}]},
    )
    .await
    .unwrap();
    db.collection::<Document>("c")
        .insert_many((0..20).map(|i| doc! {"_id": i, "attrs": {"size": i % 4, "tags": ["a", "b"]}}))
        .await
        .unwrap();
    let leaf = winning_leaf(&s, doc! {"attrs.size": 2}).await;
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{leaf}");
    assert_eq!(leaf.get_str("indexName").unwrap(), "attrs");
    assert!(
        leaf.get_document("indexBounds")
            .unwrap()
            .contains_key("$_path")
    );
    for filter in [
        doc! {"other": 1},
        doc! {"attrs.size": null},
        doc! {"attrs": {"size": 1}},
    ] {
        let leaf = winning_leaf(&s, filter.clone()).await;
        assert_eq!(
            leaf.get_str("stage").unwrap(),
            "COLLSCAN",
            "{filter}: {leaf}"
        );
    }
    s.stop().await;
}

/// Documents of random shapes: nested documents, arrays of values and of documents.
fn shaped() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        (0i32..5).prop_map(Bson::Int32),
        prop_oneof![Just("a"), Just("b")].prop_map(|s| Bson::String(s.into())),
        Just(Bson::Null),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            proptest::collection::vec((prop_oneof![Just("x"), Just("y")], inner), 0..3).prop_map(
                |fields| Bson::Document(
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )
            ),
        ]
    })
}

fn wildcard_condition() -> impl Strategy<Value = Document> {
    let path = prop_oneof![
        Just("w"),
        Just("w.x"),
        Just("w.y"),
        Just("w.x.y"),
        Just("w.y.x")
    ];
    let value = prop_oneof![
        (0i32..5).prop_map(Bson::Int32),
        prop_oneof![Just("a"), Just("b")].prop_map(|s| Bson::String(s.into())),
    ];
    (path, 0..4usize, value).prop_map(|(path, kind, v)| match kind {
        0 => doc! {path: v},
        1 => doc! {path: {"$gt": v}},
        2 => doc! {path: {"$lte": v}},
        _ => doc! {path: {"$in": [v, "b"]}},
    })
}

#[test]
fn queries_answer_alike_with_and_without_a_wildcard_index() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("t");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let strategy = (
        proptest::collection::vec(shaped(), 1..25),
        proptest::collection::vec(wildcard_condition(), 1..6),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(values, queries, everything)| {
            rt.block_on(async {
                let (plain, indexed) = (
                    db.collection::<Document>("plain"),
                    db.collection::<Document>("wild"),
                );
                plain.drop().await.unwrap();
                indexed.drop().await.unwrap();
                let key = if everything {
                    doc! {"$**": 1}
                } else {
                    doc! {"w.$**": 1}
                };
                db.run_command(
                    doc! {"createIndexes": "wild", "indexes": [{"key": key, "name": "w"}]},
                )
                .await
                .unwrap();
                let docs: Vec<Document> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| doc! {"_id": i as i32, "w": v.clone()})
                    .collect();
                plain.insert_many(docs.clone()).await.unwrap();
                indexed.insert_many(docs).await.unwrap();
                for q in queries {
                    let want = ids(&plain, q.clone()).await;
                    let got = ids(&indexed, q.clone()).await;
                    prop_assert_eq!(&got, &want, "query {}", q);
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(s.stop());
}
