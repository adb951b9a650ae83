//! `Collection::watch` end to end, on the embedded server or the MongoDB that
//! `ODM_TEST_MONGODB_URI` names: typed events in commit order, the full document of an
//! update, a typed filter, narrowing by kind, a transaction's changes, resuming from a
//! token, invalidation by a drop, and the clear error of a standalone server.

mod common;

use std::time::Duration;

use common::{db, finish};
use futures::StreamExt;
use odm::change_stream::{Change, ChangeStream, FullDocumentType, Operation};
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Player {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
    score: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<String>,
}

fn player(name: &str, score: i64) -> Player {
    Player {
        name: name.into(),
        score,
        ..Default::default()
    }
}

/// The next event, failing the test if none comes within 10 s.
async fn next(stream: &mut ChangeStream<Player>) -> odm::ChangeEvent<Player> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
        .expect("a well-formed event")
}

#[tokio::test]
async fn every_kind_of_change_arrives_typed_and_in_order() {
    let db = db().await;
    let players = db.collection::<Player>();
    let f = Player::fields();
    // The collection exists before the stream opens, as an application's would.
    players.insert_one(&mut player("seed", 0)).await.unwrap();
    let mut stream = players
        .watch()
        .full_document(FullDocumentType::UpdateLookup)
        .max_await_time(Duration::from_millis(200))
        .await
        .unwrap();

    let mut ann = player("ann", 1);
    players.insert_one(&mut ann).await.unwrap();
    players
        .update_by_id(ann.id, f.score.set(5) & f.team.set("red"))
        .await
        .unwrap();
    players.update_by_id(ann.id, f.team.unset()).await.unwrap();
    let mut replaced = player("ann b", 7);
    replaced.id = ann.id;
    players
        .replace_one(Filter::id(ann.id), &mut replaced)
        .await
        .unwrap();
    players.delete_by_id(ann.id).await.unwrap();

    let id = ann.id.unwrap();
    let event = next(&mut stream).await;
    let inserted_token = event.token.clone();
    assert!(event.cluster_time.is_some());
    match event.change {
        Change::Inserted { id: got, document } => {
            assert_eq!(got, Some(id));
            assert_eq!(document, ann);
        }
        other => panic!("expected an insert, got {other:?}"),
    }
    match next(&mut stream).await.change {
        Change::Updated {
            id: got, fields, ..
        } => {
            assert_eq!(got, Some(id));
            assert_eq!(fields.set, doc! {"score": 5_i64, "team": "red"});
            assert!(fields.removed.is_empty());
        }
        other => panic!("expected an update, got {other:?}"),
    }
    match next(&mut stream).await.change {
        Change::Updated {
            fields, document, ..
        } => {
            assert_eq!(fields.removed, vec!["team".to_string()]);
            assert!(fields.set.is_empty());
            // Looked up when read: the document is gone by now.
            assert_eq!(document, None);
        }
        other => panic!("expected an update, got {other:?}"),
    }
    match next(&mut stream).await.change {
        Change::Replaced { document, .. } => assert_eq!(document, replaced),
        other => panic!("expected a replace, got {other:?}"),
    }
    match next(&mut stream).await.change {
        Change::Deleted { id: got } => assert_eq!(got, Some(id)),
        other => panic!("expected a delete, got {other:?}"),
    }

    // Resuming after the insert replays what followed it.
    let mut resumed = players.watch().resume_after(inserted_token).await.unwrap();
    assert!(matches!(
        next(&mut resumed).await.change,
        Change::Updated { .. }
    ));
    assert!(matches!(
        next(&mut resumed).await.change,
        Change::Updated { .. }
    ));
    assert!(matches!(
        next(&mut resumed).await.change,
        Change::Replaced { .. }
    ));
    assert!(matches!(
        next(&mut resumed).await.change,
        Change::Deleted { .. }
    ));
    finish(db).await;
}

#[tokio::test]
async fn a_typed_filter_and_kinds_narrow_the_stream() {
    let db = db().await;
    let players = db.collection::<Player>();
    let f = Player::fields();
    players.insert_one(&mut player("seed", 0)).await.unwrap();
    let mut high = players
        .watch()
        .filter(f.score.gte(10) & f.name.ne("skip"))
        .full_document(FullDocumentType::UpdateLookup)
        .await
        .unwrap();
    let mut deletes = players
        .watch()
        .operations([Operation::Delete])
        .await
        .unwrap();

    let mut low = player("low", 3);
    players.insert_one(&mut low).await.unwrap();
    players.insert_one(&mut player("skip", 50)).await.unwrap();
    players.insert_one(&mut player("top", 12)).await.unwrap();
    players.update_by_id(low.id, f.score.inc(20)).await.unwrap();

    match next(&mut high).await.change {
        Change::Inserted { document, .. } => assert_eq!(document.name, "top"),
        other => panic!("expected top's insert, got {other:?}"),
    }
    match next(&mut high).await.change {
        Change::Updated { document, .. } => assert_eq!(document.unwrap().score, 23),
        other => panic!("expected low's update, got {other:?}"),
    }
    // Deleted only now: the update's document is looked up when the event is read.
    players.delete_by_id(low.id).await.unwrap();
    match next(&mut deletes).await.change {
        Change::Deleted { id } => assert_eq!(id, low.id),
        other => panic!("expected low's delete, got {other:?}"),
    }
    finish(db).await;
}

#[tokio::test]
async fn a_transactions_changes_arrive_when_it_commits_and_a_drop_invalidates() {
    let db = db().await;
    let players = db.collection::<Player>();
    players.insert_one(&mut player("seed", 0)).await.unwrap();
    let mut stream = players.watch().await.unwrap();
    db.transaction(|tx| async move {
        let players = tx.collection::<Player>();
        players.insert_one(&mut player("a", 1)).await?;
        players.insert_one(&mut player("b", 2)).await?;
        Ok(())
    })
    .await
    .unwrap();
    let names: Vec<String> = [next(&mut stream).await, next(&mut stream).await]
        .into_iter()
        .map(|e| match e.change {
            Change::Inserted { document, .. } => document.name,
            other => panic!("expected an insert, got {other:?}"),
        })
        .collect();
    assert_eq!(names, ["a", "b"]);

    players.drop().await.unwrap();
    assert!(matches!(next(&mut stream).await.change, Change::Dropped));
    assert!(matches!(
        next(&mut stream).await.change,
        Change::Invalidated
    ));
    finish(db).await;
}

#[tokio::test]
async fn a_standalone_server_says_change_streams_need_a_replica_set() {
    let db = Db::start(odm::server::Config::in_memory().replica_set(None))
        .await
        .unwrap();
    let err = db.collection::<Player>().watch().await.err().unwrap();
    assert!(
        matches!(
            err,
            Error::ReplicaSetRequired {
                feature: "change streams",
                ..
            }
        ),
        "{err}"
    );
    db.close().await;
}
