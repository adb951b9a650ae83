//! Edges of the typed API: recursive documents, updates that must be validated beyond
//! `$set`, paths through arrays, keyset pages over missing keys, empty limits.

mod common;

use common::{Comment, Item, Thread, User, comment, db, finish, user};
use odm::prelude::*;

fn thread(text: &str) -> Thread {
    // BSON dates hold milliseconds; start from one so a round trip compares equal.
    let opened = bson::DateTime::now().to_chrono();
    Thread {
        id: None,
        root: comment(text),
        opened,
        slug: None,
        score: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recursive_documents_have_paths_and_validation() {
    let db = db().await;
    let threads = db.collection::<Thread>();
    threads.sync_indexes().await.unwrap();
    let t = Thread::fields();
    assert_eq!(
        t.root.replies.any().replies.any().text.path(),
        "root.replies.replies.text"
    );
    assert_eq!(t.root.quoted.quoted.text.path(), "root.quoted.quoted.text");

    let mut deep = thread("top");
    deep.root.replies = vec![
        comment("a"),
        Comment {
            text: "b".into(),
            replies: vec![comment("")],
            quoted: None,
        },
    ];
    let Err(Error::Validation(errors)) = threads.insert_one(&mut deep).await else {
        panic!()
    };
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec!["root.replies.1.replies.0.text"]
    );
    deep.root.replies[1].replies[0].text = "c".into();
    deep.root.quoted = Some(Box::new(comment("quoted")));
    threads.insert_one(&mut deep).await.unwrap();
    let found = threads
        .find(t.root.replies.any().replies.any().text.eq("c") & t.root.quoted.text.eq("quoted"))
        .all()
        .await
        .unwrap();
    assert_eq!(found, vec![deep.clone()]);
    assert!(
        threads
            .exists(t.root.quoted.quoted.is_null())
            .await
            .unwrap()
    );

    // Many threads without a slug: the unique index skips absent values.
    threads.insert_one(&mut thread("x")).await.unwrap();
    threads.insert_one(&mut thread("y")).await.unwrap();
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stored_value_is_validated() {
    let db = db().await;
    let users = db.collection::<User>();
    users.sync_indexes().await.unwrap();
    let mut ann = user("Ann", 30);
    users.insert_one(&mut ann).await.unwrap();
    let f = User::fields();
    let bad_item = Item {
        sku: "".into(),
        price: -1.0,
        qty: 1,
    };

    // Appended elements are checked as elements.
    let Err(Error::Validation(e)) = users
        .update_one(f.name.eq("Ann"), f.items.push(bad_item.clone()))
        .await
    else {
        panic!()
    };
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, vec!["items.$.sku", "items.$.price"]);
    assert!(matches!(
        users
            .update_one(f.name.eq("Ann"), f.items.push_each([bad_item.clone()]))
            .await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        users
            .update_one(f.name.eq("Ann"), f.items.add_to_set(bad_item))
            .await,
        Err(Error::Validation(_))
    ));
    // $min / $max store their value when it wins.
    assert!(matches!(
        users.update_one(f.name.eq("Ann"), f.age.max(500)).await,
        Err(Error::Validation(_))
    ));
    // An upsert copies the filter's equalities into the new document.
    let err = users
        .upsert(f.email.eq("not-an-email"), f.name.set("X"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref e) if e.iter().any(|x| x.path == "email")),
        "{err:?}"
    );
    // Paths through array elements name no single value to update.
    let err = users
        .update_many(Filter::all(), f.items.any().price.set(1.0))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("reaches into array elements"),
        "{err}"
    );
    assert_eq!(users.get(ann.id.unwrap()).await.unwrap(), ann);

    // A field with a custom serde representation is read back through it.
    let threads = db.collection::<Thread>();
    let mut t = thread("t");
    threads.insert_one(&mut t).await.unwrap();
    let tf = Thread::fields();
    let future = chrono::Utc::now() + chrono::Duration::days(2);
    let err = threads
        .update_one(tf.id.eq(t.id.unwrap()), tf.opened.set(future))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref e) if e.iter().any(|x| x.path == "opened" && x.code == "custom")),
        "{err:?}"
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_over_missing_keys_and_empty_limits() {
    let db = db().await;
    let threads = db.collection::<Thread>();
    let mut all: Vec<Thread> = (0..9)
        .map(|i| Thread {
            score: (i % 3 != 0).then_some(i),
            ..thread(&format!("t{i}"))
        })
        .collect();
    threads.insert_many(&mut all).await.unwrap();
    let t = Thread::fields();
    let mut seen = Vec::new();
    let mut last: Option<Thread> = None;
    loop {
        let page = threads
            .find(Filter::all())
            .sort(t.score.asc())
            .page_after(last.as_ref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|x| x.root.text.clone()));
        last = page.last().cloned();
    }
    assert_eq!(seen.len(), 9, "every thread once: {seen:?}");
    assert_eq!(
        &seen[..3],
        &["t0", "t3", "t6"],
        "missing scores first, by _id"
    );
    let err = threads
        .find(Filter::all())
        .sort(t.root.replies.any().text.asc())
        .page_after(None, 2)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no single value per document"),
        "{err}"
    );

    assert!(
        threads
            .find(Filter::all())
            .limit(0)
            .all()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        threads
            .find(Filter::all())
            .limit(0)
            .first()
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        threads
            .find(Filter::all())
            .sort(t.score.asc())
            .page_after(None, 0)
            .await
            .unwrap()
            .is_empty()
    );

    // distinct over an optional field: a stored null is one of its values.
    let mut scores: Vec<Option<i32>> = threads.distinct(t.score, Filter::all()).await.unwrap();
    scores.sort();
    assert_eq!(
        scores,
        vec![None, Some(1), Some(2), Some(4), Some(5), Some(7), Some(8)]
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_insert_reports_ids() {
    let db = db().await;
    let users = db.collection::<User>();
    let report = users
        .bulk_insert(vec![user("A", 1), user("B", 2)])
        .await
        .unwrap();
    let ids: Vec<Bson> = report.inserted.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(
        report.inserted.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![0, 1]
    );
    for id in ids {
        let Bson::ObjectId(oid) = id else {
            panic!("{id:?}")
        };
        assert!(users.find_by_id(oid).await.unwrap().is_some());
    }
    finish(db).await;
}
