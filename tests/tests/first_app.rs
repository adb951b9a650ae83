//! What a first application meets, written the short way: a model declared with
//! `#[odm::model]` and `..Default::default()`, an awaited find, ids passed as the model
//! holds them, one timestamp field, updates combined with `&`, indexes that hold from the
//! first write, and errors that read as the server's code and message.

mod common;

use common::{db, finish};
use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Stats {
    #[odm(range(min = 0))]
    likes: i64,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(index(keys(slug = 1), unique), timestamps)]
struct Post {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 1))]
    slug: String,
    stats: Stats,
    liked_by: Vec<String>,
    /// `timestamps` with only the creation date.
    created_at: Option<DateTime>,
}

fn post(slug: &str) -> Post {
    Post {
        slug: slug.into(),
        ..Default::default()
    }
}

#[test]
fn the_id_attribute_writes_serdes_id_declaration() {
    // `None` is left out (the ODM gives an ObjectId on insert); `Some` is stored as `_id`.
    let doc = bson::serialize_to_document(&post("a")).unwrap();
    assert!(!doc.contains_key("_id") && !doc.contains_key("id"), "{doc}");
    let id = ObjectId::new();
    let with_id = Post {
        id: Some(id),
        ..post("a")
    };
    let doc = bson::serialize_to_document(&with_id).unwrap();
    assert_eq!(doc.get_object_id("_id").unwrap(), id);
    let back: Post = bson::deserialize_from_document(doc).unwrap();
    assert_eq!(back, with_id);
    assert_eq!(Post::fields().id.path(), "_id");
    assert_eq!(<Post as odm::Model>::CREATED_AT, Some("created_at"));
    assert_eq!(<Post as odm::Model>::UPDATED_AT, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_as_the_model_holds_them() {
    let db = db().await;
    let posts = db.collection::<Post>();
    let mut first = post("first");
    posts.insert_one(&mut first).await.unwrap();
    assert!(first.created_at.is_some(), "the one timestamp field is set");

    // `first.id` is an `Option<ObjectId>`: no unwrap anywhere.
    assert_eq!(posts.get(first.id).await.unwrap(), first);
    assert_eq!(posts.get(&first.id).await.unwrap(), first);
    assert_eq!(
        posts.find_by_id(first.id.unwrap()).await.unwrap(),
        Some(first.clone())
    );
    let f = Post::fields();
    let liked = posts
        .update_by_id(
            first.id,
            f.stats.likes.inc(1) & f.liked_by.add_to_set("ann"),
        )
        .await
        .unwrap();
    assert_eq!(liked.modified, 1);
    let found = posts
        .find(Filter::id(first.id))
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.stats.likes, found.liked_by),
        (1, vec!["ann".to_string()])
    );

    // An id that was never filled is a clear error, not a query for `_id: null`.
    let unsaved = post("unsaved");
    for err in [
        posts.get(unsaved.id).await.unwrap_err(),
        posts.delete_by_id(unsaved.id).await.unwrap_err(),
        posts
            .update_by_id(unsaved.id, f.stats.likes.inc(1))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::MissingId), "{err:?}");
        assert!(err.to_string().contains("has not been inserted"), "{err}");
    }
    let err = posts.delete_one(Filter::id(unsaved.id)).await.unwrap_err();
    assert!(err.to_string().contains("has not been inserted"), "{err}");

    assert!(posts.delete_by_id(first.id).await.unwrap());
    assert!(!posts.delete_by_id(first.id).await.unwrap());
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_find_is_awaited_like_the_drivers_builders() {
    let db = db().await;
    let posts = db.collection::<Post>();
    let mut all: Vec<Post> = ["b", "a", "c"].into_iter().map(post).collect();
    posts.insert_many(&mut all).await.unwrap();
    let f = Post::fields();
    let found: Vec<Post> = posts.find(Filter::all()).sort(f.slug.asc()).await.unwrap();
    assert_eq!(
        found.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let after = posts
        .find_one_and_update(f.slug.eq("a"), f.stats.likes.inc(5))
        .return_after()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.stats.likes, 5);
    finish(db).await;
}

#[test]
fn updates_combine_with_and_as_filters_do() {
    let f = Post::fields();
    let combined = f.stats.likes.inc(1) & f.liked_by.add_to_set("ann");
    let chained = f.stats.likes.inc(1).add_to_set(f.liked_by, "ann");
    assert_eq!(
        combined.to_document().unwrap(),
        chained.to_document().unwrap()
    );
    assert_eq!(
        combined.to_document().unwrap(),
        doc! {"$inc": {"stats.likes": 1i64}, "$addToSet": {"liked_by": "ann"}}
    );
    let mut built = Update::new();
    built &= f.stats.likes.inc(1);
    built &= f.stats.likes.inc(2);
    let err = built.to_document().unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unique_rule_holds_from_the_first_write_without_any_call() {
    let db = db().await;
    let posts = db.collection::<Post>();
    posts.insert_one(&mut post("same")).await.unwrap();
    match posts.insert_one(&mut post("same")).await {
        Err(Error::DuplicateKey { index, .. }) => assert_eq!(index, "slug_1"),
        other => panic!("a duplicate slug was stored: {other:?}"),
    }
    assert_eq!(posts.count(Filter::all()).await.unwrap(), 1);

    // Turned off, nothing is created behind the user's back.
    let manual = db
        .database(&format!("{}_manual", db.name()))
        .auto_index(false);
    let posts = manual.collection::<Post>();
    posts.insert_one(&mut post("same")).await.unwrap();
    posts.insert_one(&mut post("same")).await.unwrap();
    assert_eq!(posts.count(Filter::all()).await.unwrap(), 2);
    posts.delete_many(Filter::all()).await.unwrap();
    let reports = manual
        .sync_indexes_for::<(Post, common::User)>()
        .await
        .unwrap();
    assert_eq!(
        reports
            .iter()
            .map(|(c, r)| (*c, r.created.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("posts", vec!["slug_1".to_string()]),
            ("users", vec!["email_1".to_string(), "age_name".to_string()]),
        ]
    );
    posts.insert_one(&mut post("same")).await.unwrap();
    assert!(matches!(
        posts.insert_one(&mut post("same")).await,
        Err(Error::DuplicateKey { .. })
    ));
    let _ = manual.raw().drop().await;
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_read_as_code_name_and_message() {
    let db = db().await;
    let posts = db.collection::<Post>();
    let err = posts
        .find(Filter::raw_unchecked(doc! {"slug": {"$bogus": 1}}))
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert_eq!(
        shown,
        "MongoDB: error 2 (BadValue): unknown operator: $bogus"
    );
    assert_eq!(err.code(), Some(2));
    // The driver's full error, raw reply included, stays behind `source()`.
    assert!(std::error::Error::source(&err).is_some());
    finish(db).await;
}
