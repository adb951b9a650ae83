//! Values from users never become operators. A filter or update built from a request
//! body (here deserialized from JSON, as a web handler would) compares and stores those
//! values whatever they hold: a `$where`, `$expr`, `$function` or `$gt` inside a map or
//! document value, a regular expression in extended JSON, a string that looks like an
//! operator or a dotted path.

mod common;

use std::collections::BTreeMap;

use odm::Collection;
use odm::bson::Document;
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(collection = "hostile_accounts")]
struct Account {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
    labels: BTreeMap<String, String>,
    meta: Document,
    extra: Option<Bson>,
}

/// A login form: typed fields refuse an operator object outright.
#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Login {
    name: String,
    password: String,
}

/// A search form whose fields are free-form values.
#[derive(Deserialize, Debug)]
struct Search {
    labels: BTreeMap<String, String>,
    meta: Document,
    extra: Bson,
}

async fn accounts(db: &Db) -> Collection<Account> {
    let accounts = db.collection::<Account>();
    for (name, plan) in [("ann", "pro"), ("bob", "free"), ("$ne", "free")] {
        let mut a = Account {
            name: name.into(),
            labels: BTreeMap::from([("team".to_string(), "red".to_string())]),
            meta: doc! {"plan": plan},
            extra: Some(Bson::String("x".into())),
            ..Default::default()
        };
        accounts.insert_one(&mut a).await.unwrap();
    }
    accounts
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_values_are_compared_not_obeyed() {
    let db = common::db().await;
    let accounts = accounts(&db).await;
    let f = Account::fields();

    // The classic login bypass does not even deserialize into typed fields.
    let bypass = r#"{"name": {"$ne": ""}, "password": {"$ne": ""}}"#;
    assert!(serde_json::from_str::<Login>(bypass).is_err());

    // Strings that look like operators or paths are strings.
    for name in ["$where", "a.b", "$gt", "{\"$ne\": null}"] {
        assert_eq!(accounts.count(f.name.eq(name)).await.unwrap(), 0, "{name}");
    }
    assert_eq!(accounts.count(f.name.eq("$ne")).await.unwrap(), 1);

    // Operators inside free-form values (maps, documents, BSON from extended JSON).
    let hostile = [
        r#"{"labels": {"$ne": "x"}, "meta": {"$where": "sleep(1000) || true"}, "extra": {"$regularExpression": {"pattern": ".*", "options": ""}}}"#,
        r#"{"labels": {"$gt": ""}, "meta": {"$expr": {"$eq": [1, 1]}}, "extra": {"$ne": null}}"#,
        r#"{"labels": {"$exists": "true"}, "meta": {"$function": {"body": "return true", "args": [], "lang": "js"}}, "extra": {"$gt": ""}}"#,
        r#"{"labels": {"team": "red", "$or": "x"}, "meta": {"$gt": {}}, "extra": {"$in": ["x"]}}"#,
    ];
    for body in hostile {
        let search: Search = serde_json::from_str(body).unwrap();
        let filters = [
            ("labels", f.labels.eq(search.labels.clone())),
            ("meta", f.meta.eq(search.meta.clone())),
            ("extra", f.extra.eq(search.extra.clone())),
            ("meta in", f.meta.in_([search.meta.clone()])),
            ("extra in", f.extra.in_([search.extra.clone(), Bson::Null])),
        ];
        for (what, filter) in filters {
            let found = accounts.count(filter).await;
            assert_eq!(found.unwrap(), 0, "{what} of {body}");
        }
    }
    // `nin` of a hostile value excludes nothing.
    let search: Search = serde_json::from_str(hostile[0]).unwrap();
    assert_eq!(
        accounts.count(f.extra.nin([search.extra])).await.unwrap(),
        3
    );
    // The same comparisons with honest values find what they should.
    assert_eq!(
        accounts
            .count(f.meta.eq(doc! {"plan": "pro"}))
            .await
            .unwrap(),
        1
    );
    let red = BTreeMap::from([("team".to_string(), "red".to_string())]);
    assert_eq!(accounts.count(f.labels.eq(red)).await.unwrap(), 3);
    assert_eq!(
        accounts
            .count(f.extra.eq(Bson::String("x".into())))
            .await
            .unwrap(),
        3
    );
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_values_in_updates_are_stored_or_refused_never_obeyed() {
    let db = common::db().await;
    let accounts = accounts(&db).await;
    let f = Account::fields();
    let before: Vec<Account> = accounts.find(f.name.ne("ann")).await.unwrap();

    let meta: Document = serde_json::from_str(r#"{"$set": {"name": "owned"}, "a.b": 1}"#).unwrap();
    let labels: BTreeMap<String, String> =
        serde_json::from_str(r#"{"$inc": "1", "team.name": "x"}"#).unwrap();
    for update in [f.meta.set(meta.clone()), f.labels.set(labels.clone())] {
        // Stored as the value it is, or refused by the server: either way no operator runs.
        let outcome = accounts.update_one(f.name.eq("ann"), update).await;
        let ann = accounts
            .find(f.name.eq("ann"))
            .first()
            .await
            .unwrap()
            .unwrap();
        match outcome {
            Ok(_) => assert!(ann.meta == meta || ann.labels == labels, "{ann:?}"),
            Err(e) => assert!(ann.meta == doc! {"plan": "pro"}, "{e}: {ann:?}"),
        }
    }
    // Nothing else changed, and no name became "owned".
    assert_eq!(accounts.find(f.name.ne("ann")).await.unwrap(), before);
    assert_eq!(accounts.count(f.name.eq("owned")).await.unwrap(), 0);
    common::finish(db).await;
}
