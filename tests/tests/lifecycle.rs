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

/// What the hooks of `Page` saw, in order.
static CALLS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn record(call: impl Into<String>) {
    CALLS.lock().unwrap().push(call.into());
}

fn calls() -> Vec<String> {
    std::mem::take(&mut *CALLS.lock().unwrap())
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(collection = "lifecycle_pages", hooks)]
struct Page {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 1, max = 20))]
    title: String,
    slug: String,
    edits: u32,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "lifecycle_audit")]
struct Audit {
    #[odm(id)]
    id: Option<ObjectId>,
    event: String,
}

impl odm::Hooks for Page {
    async fn before_validate(&mut self, _cx: &odm::HookContext) -> odm::Result<()> {
        record("before_validate");
        self.title = self.title.trim().to_string();
        Ok(())
    }

    async fn before_insert(&mut self, _cx: &odm::HookContext) -> odm::Result<()> {
        record("before_insert");
        if self.title == "forbidden" {
            return Err(Error::custom("this title is not allowed"));
        }
        self.slug = self.title.to_lowercase().replace(' ', "-");
        Ok(())
    }

    async fn after_insert(&self, cx: &odm::HookContext) -> odm::Result<()> {
        record("after_insert");
        let mut audit = Audit {
            id: None,
            event: format!("created {}", self.slug),
        };
        cx.collection::<Audit>().insert_one(&mut audit).await
    }

    async fn before_save(&mut self, _cx: &odm::HookContext) -> odm::Result<()> {
        record("before_save");
        self.edits += 1;
        Ok(())
    }

    async fn after_save(&self, _cx: &odm::HookContext) -> odm::Result<()> {
        record("after_save");
        Ok(())
    }

    async fn before_update(
        _filter: &Filter<Self>,
        update: &mut Update<Self>,
        _cx: &odm::HookContext,
    ) -> odm::Result<()> {
        record("before_update");
        *update &= Page::fields().edits.inc(1);
        Ok(())
    }

    async fn after_update(result: &odm::UpdateResult, _cx: &odm::HookContext) -> odm::Result<()> {
        record(format!("after_update {}", result.modified));
        Ok(())
    }

    async fn before_delete(_filter: &Filter<Self>, _cx: &odm::HookContext) -> odm::Result<()> {
        record("before_delete");
        Ok(())
    }

    async fn after_delete(deleted: u64, _cx: &odm::HookContext) -> odm::Result<()> {
        record(format!("after_delete {deleted}"));
        Ok(())
    }
}

/// The hook tests share `CALLS`: one runs at a time.
static HOOK_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn hooks_run_in_order_and_a_failing_one_writes_nothing() {
    let _one_at_a_time = HOOK_TESTS.lock().await;
    let db = common::db().await;
    let pages = db.collection::<Page>();
    let f = Page::fields();
    calls();
    let mut page = Page {
        title: "  Hello World ".into(),
        ..Default::default()
    };
    pages.insert_one(&mut page).await.unwrap();
    assert_eq!(
        calls(),
        ["before_validate", "before_insert", "after_insert"]
    );
    assert_eq!(
        (page.title.as_str(), page.slug.as_str()),
        ("Hello World", "hello-world")
    );

    page.title = "Hello again".into();
    pages.save(&mut page).await.unwrap();
    assert_eq!(calls(), ["before_validate", "before_save", "after_save"]);
    pages
        .update_by_id(page.id, f.title.set("Updated"))
        .await
        .unwrap();
    assert_eq!(calls(), ["before_update", "after_update 1"]);
    let stored = pages.get(page.id).await.unwrap();
    assert_eq!((stored.title.as_str(), stored.edits), ("Updated", 2));

    // A before-hook's error aborts the write: nothing stored, no after-hook.
    let mut forbidden = Page {
        title: "forbidden".into(),
        ..Default::default()
    };
    let err = pages.insert_one(&mut forbidden).await.unwrap_err();
    assert!(matches!(err, Error::Custom(_)), "{err:?}");
    assert_eq!(calls(), ["before_validate", "before_insert"]);
    assert_eq!(pages.count(f.title.eq("forbidden")).await.unwrap(), 0);

    // Bulk inserts run them per document; the failing one is reported at its position.
    let report = pages
        .bulk_insert(vec![
            Page {
                title: "one".into(),
                ..Default::default()
            },
            Page {
                title: "forbidden".into(),
                ..Default::default()
            },
        ])
        .await
        .unwrap();
    assert_eq!(report.inserted.len(), 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, 1);

    assert_eq!(pages.delete_many(Filter::all()).await.unwrap(), 2);
    let seen = calls();
    assert_eq!(&seen[seen.len() - 2..], ["before_delete", "after_delete 2"]);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hooks_write_inside_the_callers_transaction() {
    let _one_at_a_time = HOOK_TESTS.lock().await;
    let db = common::db().await;
    calls();
    // The transaction fails after the insert: its hook's audit entry goes with it.
    let failed = db
        .transaction(|tx| async move {
            let mut page = Page {
                title: "draft".into(),
                ..Default::default()
            };
            tx.collection::<Page>().insert_one(&mut page).await?;
            Err::<(), _>(Error::custom("changed my mind"))
        })
        .await;
    assert!(failed.is_err());
    let audits = db.collection::<Audit>();
    assert_eq!(audits.count(Filter::all()).await.unwrap(), 0);
    db.transaction(|tx| async move {
        let mut page = Page {
            title: "kept".into(),
            ..Default::default()
        };
        tx.collection::<Page>().insert_one(&mut page).await
    })
    .await
    .unwrap();
    let logged: Vec<String> = audits
        .find(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.event)
        .collect();
    assert_eq!(logged, ["created kept"]);
    common::finish(db).await;
}

#[odm::model]
#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Settings {
    #[odm(default = 30)]
    timeout_secs: u32,
}

/// The same collection as `TaskV1`, after fields were added.
#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "lifecycle_tasks")]
struct Task {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
    #[odm(default = 3, range(max = 10))]
    retries: u32,
    #[odm(default = "draft".to_string())]
    status: String,
    #[odm(default = 5)]
    priority: Option<u32>,
    #[odm(default = Settings { timeout_secs: 30 })]
    settings: Settings,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "lifecycle_tasks")]
struct TaskV1 {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_from_before_a_field_read_back_with_its_default() {
    let db = common::db().await;
    let mut old = TaskV1 {
        id: None,
        title: "written by v1".into(),
    };
    db.collection::<TaskV1>()
        .insert_one(&mut old)
        .await
        .unwrap();
    // An older shape of an embedded document too.
    db.collection::<TaskV1>()
        .raw()
        .insert_one(doc! {"title": "nested", "retries": 1, "status": "done", "settings": {}})
        .await
        .unwrap();

    let tasks = db.collection::<Task>();
    let f = Task::fields();
    let read = tasks.get(old.id).await.unwrap();
    assert_eq!(
        (
            read.retries,
            read.status.as_str(),
            read.priority,
            read.settings.timeout_secs
        ),
        (3, "draft", Some(5), 30)
    );
    let nested = tasks
        .find(f.title.eq("nested"))
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!((nested.retries, nested.settings.timeout_secs), (1, 30));

    // On insert, an `Option` left `None` takes its default.
    let mut fresh = Task {
        id: None,
        title: "new".into(),
        retries: 0,
        status: "open".into(),
        priority: None,
        settings: Settings::default(),
    };
    tasks.insert_one(&mut fresh).await.unwrap();
    assert_eq!(fresh.priority, Some(5));
    let raw = tasks
        .raw()
        .find_one(doc! {"title": "new"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.get_i64("priority").unwrap(), 5);
    common::finish(db).await;
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "lifecycle_comments", soft_delete)]
struct Remark {
    #[odm(id)]
    id: Option<ObjectId>,
    text: String,
    deleted_at: Option<DateTime>,
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_deleted_documents_vanish_from_reads_and_come_back_with_deleted() {
    let db = common::db().await;
    let remarks = db.collection::<Remark>();
    let f = Remark::fields();
    for text in ["keep", "spam", "more spam"] {
        let mut r = Remark {
            id: None,
            text: text.into(),
            deleted_at: None,
        };
        remarks.insert_one(&mut r).await.unwrap();
    }
    assert_eq!(
        remarks.delete_many(f.text.regex("spam", "")).await.unwrap(),
        2
    );
    // Deleting again changes nothing: the first deletion date stays.
    assert_eq!(
        remarks.delete_many(f.text.regex("spam", "")).await.unwrap(),
        0
    );

    let visible: Vec<String> = remarks
        .find(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(visible, ["keep"]);
    assert_eq!(remarks.count(Filter::all()).await.unwrap(), 1);
    assert!(!remarks.exists(f.text.eq("spam")).await.unwrap());
    let all = remarks.with_deleted();
    assert_eq!(all.count(Filter::all()).await.unwrap(), 3);
    let deleted = remarks.only_deleted().find(Filter::all()).await.unwrap();
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|r| r.deleted_at.is_some()));
    // The documents are still stored, until a hard delete.
    assert_eq!(remarks.raw().count_documents(doc! {}).await.unwrap(), 3);
    assert_eq!(
        remarks
            .hard_delete_many(f.text.regex("spam", ""))
            .await
            .unwrap(),
        2
    );
    assert_eq!(remarks.raw().count_documents(doc! {}).await.unwrap(), 1);
    common::finish(db).await;
}
