//! The model lifecycle: `save` inserting or replacing, and optimistic concurrency with an
//! `#[odm(version)]` field (two writers of one loaded document: exactly one wins).

mod common;

use odm::prelude::*;
use odm::{Error, SaveOutcome};

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(collection = "lifecycle_articles")]
struct Article {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 1))]
    title: String,
    #[odm(version)]
    version: u64,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(collection = "lifecycle_notes")]
struct Note {
    #[odm(id)]
    id: Option<ObjectId>,
    text: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn save_inserts_then_replaces_and_refuses_a_stale_version() {
    let db = common::db().await;
    let articles = db.collection::<Article>();
    let mut draft = Article {
        title: "draft".into(),
        ..Default::default()
    };
    assert_eq!(
        articles.save(&mut draft).await.unwrap(),
        SaveOutcome::Inserted
    );
    assert!(draft.id.is_some());
    assert_eq!(draft.version, 0);

    let mut first = articles.get(draft.id).await.unwrap();
    let mut second = articles.get(draft.id).await.unwrap();
    first.title = "first".into();
    assert_eq!(
        articles.save(&mut first).await.unwrap(),
        SaveOutcome::Replaced
    );
    assert_eq!(first.version, 1);
    second.title = "second".into();
    match articles.save(&mut second).await {
        Err(Error::VersionConflict {
            expected, stored, ..
        }) => assert_eq!((expected, stored), (0, 1)),
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(
        second.version, 0,
        "a refused save leaves the model as it was"
    );
    let stored = articles.get(draft.id).await.unwrap();
    assert_eq!((stored.title.as_str(), stored.version), ("first", 1));

    // Typed updates move the version on too: a model loaded before them is stale.
    let f = Article::fields();
    articles
        .update_by_id(draft.id, f.title.set("updated"))
        .await
        .unwrap();
    assert_eq!(articles.get(draft.id).await.unwrap().version, 2);
    first.title = "late".into();
    assert!(matches!(
        articles.save(&mut first).await,
        Err(Error::VersionConflict {
            expected: 1,
            stored: 2,
            ..
        })
    ));
    // replace_one guards the same way.
    let mut fresh = articles.get(draft.id).await.unwrap();
    fresh.title = "replaced".into();
    articles
        .replace_one(f.title.eq("updated"), &mut fresh)
        .await
        .unwrap();
    assert_eq!(fresh.version, 3);
    assert!(matches!(
        articles
            .replace_one(f.title.eq("replaced"), &mut first)
            .await,
        Err(Error::VersionConflict {
            expected: 1,
            stored: 3,
            ..
        })
    ));
    // A rule is checked before anything is sent.
    fresh.title.clear();
    assert!(matches!(
        articles.save(&mut fresh).await,
        Err(Error::Validation(_))
    ));
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tasks_save_the_same_document_and_exactly_one_wins() {
    let db = common::db().await;
    let articles = db.collection::<Article>();
    for round in 0..10 {
        let mut original = Article {
            title: format!("round {round}"),
            ..Default::default()
        };
        articles.insert_one(&mut original).await.unwrap();
        // Both load before either saves: the situation optimistic concurrency is for.
        let loaded = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let (articles, loaded) = (articles.clone(), loaded.clone());
                let id = original.id;
                tokio::spawn(async move {
                    let mut mine = articles.get(id).await.unwrap();
                    loaded.wait().await;
                    mine.title = format!("by {who}");
                    (who, articles.save(&mut mine).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for t in tasks {
            match t.await.unwrap() {
                (who, Ok(SaveOutcome::Replaced)) => winners.push(who),
                (_, Err(Error::VersionConflict { .. })) => conflicts += 1,
                (who, other) => panic!("{who}: {other:?}"),
            }
        }
        assert_eq!((winners.len(), conflicts), (1, 1), "round {round}");
        let stored = articles.get(original.id).await.unwrap();
        assert_eq!(stored.title, format!("by {}", winners[0]));
        assert_eq!(stored.version, 1);
    }
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn save_without_a_version_inserts_or_replaces_by_id() {
    let db = common::db().await;
    let notes = db.collection::<Note>();
    let mut note = Note {
        id: Some(ObjectId::new()),
        text: "one".into(),
    };
    // An id no document has yet: inserted.
    assert_eq!(notes.save(&mut note).await.unwrap(), SaveOutcome::Inserted);
    note.text = "two".into();
    assert_eq!(notes.save(&mut note).await.unwrap(), SaveOutcome::Replaced);
    assert_eq!(notes.get(note.id).await.unwrap().text, "two");
    assert_eq!(notes.count(Filter::all()).await.unwrap(), 1);
    common::finish(db).await;
}
