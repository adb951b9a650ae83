//! Index kinds a model declares beyond ascending keys, end to end: a case-insensitive
//! unique index (a collation) and queries under a collation through the typed API, and a
//! hashed index.

mod common;

use common::{db, finish};
use odm::index::case_insensitive;
use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(
    collection = "accounts",
    index(
        keys(email = 1),
        unique,
        name = "email_ci",
        collation(locale = "en", strength = 2)
    ),
    index(
        keys(name = 1),
        name = "name_sorted",
        collation(locale = "sv", numeric_ordering = true)
    )
)]
struct Account {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    email: String,
    name: String,
}

fn account(email: &str, name: &str) -> Account {
    Account {
        id: None,
        email: email.into(),
        name: name.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_insensitive_unique_email() {
    let db = db().await;
    let accounts = db.collection::<Account>();
    // The first write creates the declared indexes, collation included.
    accounts
        .insert_one(&mut account("ann@x.com", "Ann"))
        .await
        .unwrap();
    let err = accounts
        .insert_one(&mut account("Ann@X.com", "Another Ann"))
        .await
        .unwrap_err();
    match &err {
        odm::Error::DuplicateKey { index, .. } => assert_eq!(index, "email_ci"),
        other => panic!("expected a duplicate key, got {other:?}"),
    }
    accounts
        .insert_one(&mut account("bob@x.com", "Bob"))
        .await
        .unwrap();

    // Declared as they are: a sync changes nothing.
    let report = accounts.sync_indexes().await.unwrap();
    assert!(
        report.created.is_empty() && report.dropped.is_empty(),
        "{report:?}"
    );
    assert!(report.unchanged.contains(&"email_ci".to_string()));

    // The typed query under the index's collation finds the address however it is cased.
    let f = Account::fields();
    let found = accounts
        .find(f.email.eq("ANN@x.COM"))
        .collation(case_insensitive("en"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].email, "ann@x.com");
    // Without it, strings compare as bytes.
    let exact = accounts.find(f.email.eq("ANN@x.COM")).await.unwrap();
    assert!(exact.is_empty());
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locale_sort_through_a_collated_index() {
    let db = db().await;
    let accounts = db.collection::<Account>();
    for (i, name) in ["Zoe", "Åsa", "Anna", "item 10", "item 9"]
        .iter()
        .enumerate()
    {
        accounts
            .insert_one(&mut account(&format!("u{i}@x.com"), name))
            .await
            .unwrap();
    }
    let f = Account::fields();
    let sv = odm::index::Collation::builder()
        .locale("sv".to_string())
        .numeric_ordering(true)
        .build();
    let names: Vec<String> = accounts
        .find(Filter::all())
        .sort(f.name.asc())
        .collation(sv)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    // Swedish puts Å after Z; numeric ordering puts 9 before 10.
    assert_eq!(names, ["Anna", "item 9", "item 10", "Zoe", "Åsa"]);
    finish(db).await;
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "sessions", index(keys(user = "hashed")))]
struct Session {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    user: String,
    hits: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hashed_index_serves_equality() {
    let db = db().await;
    let sessions = db.collection::<Session>();
    let mut rows: Vec<Session> = (0..40)
        .map(|i| Session {
            id: None,
            user: format!("user{}", i % 8),
            hits: i,
        })
        .collect();
    sessions.insert_many(&mut rows).await.unwrap();
    let report = sessions.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, ["user_hashed"], "{report:?}");
    let f = Session::fields();
    let mine = sessions.find(f.user.eq("user3")).await.unwrap();
    assert_eq!(mine.len(), 5);
    assert!(mine.iter().all(|s| s.user == "user3"));
    finish(db).await;
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(
    collection = "posts",
    index(
        keys(title = "text", body = "text"),
        weights(title = 10),
        name = "search"
    )
)]
struct Post {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    title: String,
    body: String,
    published: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weighted_text_search_ranked_by_relevance() {
    let db = db().await;
    let posts = db.collection::<Post>();
    let post = |title: &str, body: &str, published: bool| Post {
        id: None,
        title: title.into(),
        body: body.into(),
        published,
    };
    let mut rows = vec![
        post("Brewing coffee", "Grind the beans, then pour.", true),
        post("Baking bread", "Coffee helps the baker wake up.", true),
        post("Tea time", "Nothing about the other drink here.", true),
        post("Coffee drafts", "Unpublished thoughts on coffee.", false),
    ];
    posts.insert_many(&mut rows).await.unwrap();
    let report = posts.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, ["search"], "{report:?}");

    let f = Post::fields();
    let hits = posts
        .find(Filter::text("coffee") & f.published.eq(true))
        .by_relevance()
        .await
        .unwrap();
    let titles: Vec<&str> = hits.iter().map(|h| h.doc.title.as_str()).collect();
    // A word in the title (weight 10) outranks one in the body.
    assert_eq!(titles, ["Brewing coffee", "Baking bread"]);
    assert!(hits[0].score > hits[1].score, "{hits:?}");
    assert!((hits[0].score - 7.5).abs() < 1e-9, "{hits:?}");

    // Phrases and negations, case sensitivity.
    let phrase = posts.find(Filter::text("\"wake up\"")).await.unwrap();
    assert_eq!(phrase.len(), 1);
    let negated = posts
        .find(Filter::text("coffee -bread -drafts"))
        .await
        .unwrap();
    assert_eq!(negated.len(), 1);
    let exact_case = posts
        .find(Filter::text(
            odm::TextSearch::new("Coffee").case_sensitive(),
        ))
        .await
        .unwrap();
    assert_eq!(exact_case.len(), 2);
    finish(db).await;
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(
    collection = "members",
    index(keys(email = 1), unique, name = "active_email", partial = Member::active)
)]
struct Member {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    email: String,
    active: bool,
}

impl Member {
    /// Only active members need a unique address: closed accounts keep theirs.
    fn active() -> Filter<Member> {
        Member::fields().active.eq(true)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_unique_index_from_a_typed_filter() {
    let db = db().await;
    let members = db.collection::<Member>();
    let member = |email: &str, active: bool| Member {
        id: None,
        email: email.into(),
        active,
    };
    members
        .insert_one(&mut member("ann@x.com", false))
        .await
        .unwrap();
    // A closed account's address may be taken again, once.
    members
        .insert_one(&mut member("ann@x.com", true))
        .await
        .unwrap();
    let err = members
        .insert_one(&mut member("ann@x.com", true))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, odm::Error::DuplicateKey { index, .. } if index == "active_email"),
        "{err:?}"
    );
    let report = members.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, ["active_email"], "{report:?}");
    finish(db).await;
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "products", index(keys("attributes.$**" = 1), name = "attributes"))]
struct Product {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    name: String,
    attributes: std::collections::BTreeMap<String, String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_index_over_free_form_attributes() {
    let db = db().await;
    let products = db.collection::<Product>();
    let product = |name: &str, attrs: &[(&str, &str)]| Product {
        id: None,
        name: name.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let mut rows = vec![
        product("shirt", &[("color", "red"), ("size", "L")]),
        product("mug", &[("color", "blue"), ("volume", "300ml")]),
        product("poster", &[("size", "A2")]),
    ];
    products.insert_many(&mut rows).await.unwrap();
    let report = products.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, ["attributes"], "{report:?}");
    let red = products
        .find(Filter::raw_unchecked(doc! {"attributes.color": "red"}))
        .await
        .unwrap();
    assert_eq!(red.len(), 1);
    assert_eq!(red[0].name, "shirt");
    finish(db).await;
}
