//! Collation through the driver: a case-insensitive unique index, the specifications
//! `listIndexes` and `listCollections` report, the planner's choice under a collation
//! (`explain`), cursors that keep their collation across `getMore`s, and a property test:
//! a query through an index under a collation returns exactly what a collection scan
//! under that collation returns.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, code, leaf_stage};
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::{Collation, CollationStrength, IndexOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

fn case_insensitive() -> Collation {
    Collation::builder()
        .locale("en")
        .strength(CollationStrength::Secondary)
        .build()
}

fn collated_index(keys: Document, name: &str, unique: bool, collation: Collation) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(unique)
                .collation(collation)
                .build(),
        )
        .build()
}

/// The index specifications `listIndexes` returns, as sent.
async fn index_specs(s: &TestServer, coll: &str) -> Vec<Document> {
    let reply = s
        .db("t")
        .run_command(doc! {"listIndexes": coll})
        .await
        .unwrap();
    reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .iter()
        .map(|d| d.as_document().unwrap().clone())
        .collect()
}

async fn query_planner(s: &TestServer, find: Document) -> Document {
    s.db("t")
        .run_command(doc! {"explain": find, "verbosity": "queryPlanner"})
        .await
        .unwrap()
        .get_document("queryPlanner")
        .unwrap()
        .clone()
}

const EN_STRENGTH_2: fn() -> Document = || {
    doc! {"locale": "en", "caseLevel": false, "caseFirst": "off", "strength": 2,
    "numericOrdering": false, "alternate": "non-ignorable", "maxVariable": "punct",
    "normalization": false, "backwards": false, "version": "57.1"}
};

#[tokio::test(flavor = "multi_thread")]
async fn a_case_insensitive_unique_index_refuses_a_case_variant() {
    let s = TestServer::start().await;
    let users = s.db("t").collection::<Document>("users");
    users
        .create_index(collated_index(
            doc! {"email": 1},
            "email_ci",
            true,
            case_insensitive(),
        ))
        .await
        .unwrap();
    users
        .insert_one(doc! {"_id": 1, "email": "ann@x.com"})
        .await
        .unwrap();
    let err = users
        .insert_one(doc! {"_id": 2, "email": "Ann@X.com"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11000), "{err}");
    assert!(err.to_string().contains("email_ci"), "{err}");
    // An update into a case variant of a taken address is refused the same way.
    users
        .insert_one(doc! {"_id": 3, "email": "bob@x.com"})
        .await
        .unwrap();
    let err = users
        .update_one(doc! {"_id": 3}, doc! {"$set": {"email": "ANN@x.COM"}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11000), "{err}");
    assert_eq!(users.count_documents(doc! {}).await.unwrap(), 2);

    // listIndexes reports the whole specification, as mongod stores it.
    let specs = index_specs(&s, "users").await;
    let ci = specs
        .iter()
        .find(|s| s.get_str("name").is_ok_and(|n| n == "email_ci"))
        .expect("the index is listed");
    assert_eq!(ci.get_document("collation").unwrap(), &EN_STRENGTH_2());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collection_default_collation_is_listed_and_inherited() {
    let s = TestServer::start().await;
    let db = s.db("t");
    db.create_collection("people")
        .collation(case_insensitive())
        .await
        .unwrap();
    let people = db.collection::<Document>("people");
    people
        .create_index(IndexModel::builder().keys(doc! {"name": 1}).build())
        .await
        .unwrap();
    people
        .insert_many([
            doc! {"_id": 1, "name": "ann"},
            doc! {"_id": 2, "name": "ANN"},
        ])
        .await
        .unwrap();
    let listed = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": "people"}})
        .await
        .unwrap();
    let info = &listed
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0];
    let options = info.as_document().unwrap().get_document("options").unwrap();
    assert_eq!(options.get_document("collation").unwrap(), &EN_STRENGTH_2());
    let index = index_specs(&s, "people")
        .await
        .into_iter()
        .find(|s| s.get_str("name").is_ok_and(|n| n == "name_1"))
        .unwrap();
    assert_eq!(index.get_document("collation").unwrap(), &EN_STRENGTH_2());
    // Queries without a collation take the default; "simple" asks for bytes.
    assert_eq!(
        people.count_documents(doc! {"name": "Ann"}).await.unwrap(),
        2
    );
    let simple = Collation::builder().locale("simple").build();
    assert_eq!(
        people
            .count_documents(doc! {"name": "ANN"})
            .collation(simple)
            .await
            .unwrap(),
        1
    );
    // A bad collation on create is refused with mongod's code.
    let err = db
        .run_command(doc! {"create": "bad", "collation": {"locale": "en", "strength": 9}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(51024), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_an_index_serving_only_its_own_collation() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.create_index(collated_index(
        doc! {"name": 1},
        "name_ci",
        false,
        case_insensitive(),
    ))
    .await
    .unwrap();
    coll.insert_many((0..20).map(|i| doc! {"_id": i, "name": format!("n{i}")}))
        .await
        .unwrap();
    let ci = bson::serialize_to_document(&case_insensitive()).unwrap();

    // The query's collation is the index's: an index scan, with both collations shown.
    let planner = query_planner(
        &s,
        doc! {"find": "c", "filter": {"name": "N3"}, "collation": ci.clone()},
    )
    .await;
    assert_eq!(planner.get_document("collation").unwrap(), &EN_STRENGTH_2());
    let leaf = leaf_stage(planner.get_document("winningPlan").unwrap());
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{planner}");
    assert_eq!(leaf.get_document("collation").unwrap(), &EN_STRENGTH_2());

    // A simple query on strings cannot use it: the keys are sort keys of another order.
    let planner = query_planner(&s, doc! {"find": "c", "filter": {"name": "n3"}}).await;
    assert!(planner.get("collation").is_none());
    let leaf = leaf_stage(planner.get_document("winningPlan").unwrap());
    assert_eq!(leaf.get_str("stage").unwrap(), "COLLSCAN", "{planner}");

    // Numbers sit in the index as they would under any collation: it serves them.
    let planner = query_planner(&s, doc! {"find": "c", "filter": {"name": {"$gt": 5}}}).await;
    let leaf = leaf_stage(planner.get_document("winningPlan").unwrap());
    assert_eq!(leaf.get_str("stage").unwrap(), "IXSCAN", "{planner}");

    // The index gives the collated sort order, not the simple one.
    let sorted = query_planner(
        &s,
        doc! {"find": "c", "filter": {"name": {"$gte": "n"}}, "sort": {"name": 1}, "collation": ci.clone()},
    )
    .await;
    let top = sorted.get_document("winningPlan").unwrap();
    assert_ne!(top.get_str("stage").unwrap(), "SORT", "{sorted}");
    let unsorted = query_planner(&s, doc! {"find": "c", "filter": {}, "sort": {"name": 1}}).await;
    let top = unsorted.get_document("winningPlan").unwrap();
    assert_eq!(top.get_str("stage").unwrap(), "SORT", "{unsorted}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_keeps_its_collation_across_get_mores() {
    let s = TestServer::start().await;
    let coll = s.db("t").collection::<Document>("c");
    coll.create_index(collated_index(
        doc! {"k": 1},
        "k_ci",
        false,
        case_insensitive(),
    ))
    .await
    .unwrap();
    let docs: Vec<Document> = (0..50)
        .map(|i| {
            let k = match i % 3 {
                0 => "apple",
                1 => "APPLE",
                _ => "pear",
            };
            doc! {"_id": i, "k": k, "v": format!("{}", i % 5)}
        })
        .collect();
    coll.insert_many(docs).await.unwrap();
    // Streaming through the index, and a filter on another field checked per batch.
    for filter in [
        doc! {"k": "Apple"},
        doc! {"k": "Apple", "v": {"$in": ["1", "2"]}},
    ] {
        let expected = coll
            .find(filter.clone())
            .collation(case_insensitive())
            .batch_size(1000)
            .await
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len();
        let got = coll
            .find(filter.clone())
            .collation(case_insensitive())
            .batch_size(2)
            .await
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len();
        assert_eq!(got, expected, "{filter}");
        assert!(got > 0);
    }
    // A sorted collated cursor read in small batches keeps the collated order.
    let names: Vec<String> = coll
        .find(doc! {"k": {"$gte": ""}})
        .sort(doc! {"k": 1, "_id": 1})
        .collation(case_insensitive())
        .batch_size(3)
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|d| d.get_str("k").unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    s.stop().await;
}

/// Strings that collations tell apart differently: case, accents, punctuation, digits.
fn word() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("A"),
            Just("á"),
            Just("b"),
            Just("B"),
            Just("ö"),
            Just("z"),
            Just("-"),
            Just(" "),
            Just("1"),
            Just("10"),
            Just("9"),
        ],
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

fn value() -> impl Strategy<Value = Bson> {
    prop_oneof![
        6 => word().prop_map(Bson::String),
        1 => (0i32..5).prop_map(Bson::Int32),
        1 => Just(Bson::Null),
        1 => proptest::collection::vec(word().prop_map(Bson::String), 0..3).prop_map(Bson::Array),
    ]
}

fn collation_spec() -> impl Strategy<Value = Document> {
    (
        prop_oneof![Just("en"), Just("fr_CA"), Just("sv"), Just("de")],
        1i32..=3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(locale, strength, numeric, shifted)| {
            doc! {
                "locale": locale,
                // fr_CA's backward accents need a secondary level (mongod refuses 1).
                "strength": if locale == "fr_CA" { strength.max(2) } else { strength },
                "numericOrdering": numeric,
                "alternate": if shifted { "shifted" } else { "non-ignorable" },
            }
        })
}

#[derive(Debug, Clone)]
enum Condition {
    Eq(Bson),
    Cmp(&'static str, Bson),
    In(Vec<Bson>),
}

fn condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        value().prop_map(Condition::Eq),
        (
            prop_oneof![Just("$gt"), Just("$gte"), Just("$lt"), Just("$lte")],
            word().prop_map(Bson::String)
        )
            .prop_map(|(op, v)| Condition::Cmp(op, v)),
        proptest::collection::vec(value(), 1..4).prop_map(Condition::In),
    ]
}

fn filter_of(c: &Condition) -> Document {
    match c {
        Condition::Eq(v) => doc! {"k": v.clone()},
        Condition::Cmp(op, v) => doc! {"k": {*op: v.clone()}},
        Condition::In(vs) => doc! {"k": {"$in": vs.clone()}},
    }
}

async fn answer(
    coll: &mongodb::Collection<Document>,
    filter: Document,
    collation: &Document,
    hint: Document,
) -> Vec<Bson> {
    let reply = coll
        .find(filter)
        .collation(bson::deserialize_from_document::<Collation>(collation.clone()).unwrap())
        .hint(mongodb::options::Hint::Keys(hint))
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let mut ids: Vec<Bson> = reply.iter().map(|d| d["_id"].clone()).collect();
    ids.sort_by(odm_server::engine::compare::compare);
    ids
}

#[test]
fn indexed_queries_under_a_collation_answer_as_a_collection_scan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::start());
    let db = s.db("t");
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let strategy = (
        collation_spec(),
        proptest::collection::vec(value(), 1..40),
        proptest::collection::vec(condition(), 1..6),
    );
    runner
        .run(&strategy, |(spec, values, conditions)| {
            rt.block_on(async {
                let coll = db.collection::<Document>("p");
                coll.drop().await.unwrap();
                let collation: Collation = bson::deserialize_from_document(spec.clone()).unwrap();
                coll.create_index(collated_index(doc! {"k": 1}, "k_c", false, collation))
                    .await
                    .unwrap();
                let docs: Vec<Document> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| doc! {"_id": i as i32, "k": v.clone()})
                    .collect();
                coll.insert_many(docs).await.unwrap();
                for c in &conditions {
                    let filter = filter_of(c);
                    let scanned = answer(&coll, filter.clone(), &spec, doc! {"$natural": 1}).await;
                    let indexed = answer(&coll, filter.clone(), &spec, doc! {"k": 1}).await;
                    prop_assert_eq!(&indexed, &scanned, "filter {} under {}", filter, spec);
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(s.stop());
}
