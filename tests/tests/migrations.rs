//! Data migrations: applied once and recorded, in one transaction with their writes, one
//! runner at a time, and undone by their backward step.

mod common;

use odm::Error;
use odm::migrate::Migration;
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "migration_counters")]
struct Counter {
    #[serde(rename = "_id")]
    #[odm(id)]
    id: String,
    n: i64,
}

/// A step that adds one to the counter `name`, and the step that takes it back.
fn bump(step_name: &'static str) -> Migration {
    Migration::new(step_name, |step| async move {
        step.collection::<Counter>()
            .upsert(Counter::fields().id.eq("runs"), Counter::fields().n.inc(1))
            .await?;
        Ok(())
    })
    .backward(|step| async move {
        step.collection::<Counter>()
            .update_by_id("runs", Counter::fields().n.inc(-1))
            .await?;
        Ok(())
    })
}

async fn runs(db: &Db) -> i64 {
    db.collection::<Counter>()
        .find_by_id("runs")
        .await
        .unwrap()
        .map_or(0, |c| c.n)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_run_twice_applies_once() {
    let db = common::db().await;
    let migrations = [bump("0001_first"), bump("0002_second")];
    let first = db.migrate(&migrations).await.unwrap();
    assert_eq!(first.applied, ["0001_first", "0002_second"]);
    assert!(first.transactional);
    let again = db.migrate(&migrations).await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.skipped, ["0001_first", "0002_second"]);
    assert_eq!(runs(&db).await, 2);
    assert_eq!(
        db.applied_migrations().await.unwrap(),
        ["0001_first", "0002_second"]
    );
    // A new step at the end: only it runs.
    let more = [bump("0001_first"), bump("0002_second"), bump("0003_third")];
    assert_eq!(db.migrate(&more).await.unwrap().applied, ["0003_third"]);
    assert_eq!(runs(&db).await, 3);

    // Rolled back newest first, then applied again.
    let back = db.rollback(&more, 2).await.unwrap();
    assert_eq!(back.applied, ["0003_third", "0002_second"]);
    assert_eq!(runs(&db).await, 1);
    assert_eq!(db.applied_migrations().await.unwrap(), ["0001_first"]);
    assert_eq!(
        db.migrate(&more).await.unwrap().applied,
        ["0002_second", "0003_third"]
    );
    assert_eq!(runs(&db).await, 3);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runners_at_once_apply_it_once() {
    let db = common::db().await;
    let migrations = [bump("0001_only")];
    let (a, b) = tokio::join!(db.migrate(&migrations), db.migrate(&migrations));
    let mut applied = 0;
    for outcome in [a, b] {
        match outcome {
            Ok(report) => applied += report.applied.len(),
            Err(Error::MigrationLocked { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(runs(&db).await, 1);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_leaves_nothing_and_runs_again_next_time() {
    let db = common::db().await;
    let failing = [Migration::new("0001_half", |step| async move {
        step.collection::<Counter>()
            .upsert(Counter::fields().id.eq("runs"), Counter::fields().n.inc(1))
            .await?;
        Err(Error::custom("disk full"))
    })];
    assert!(db.migrate(&failing).await.is_err());
    assert_eq!(runs(&db).await, 0, "the step's write went with it");
    assert!(db.applied_migrations().await.unwrap().is_empty());
    // The lock was released: the fixed step applies.
    let fixed = [bump("0001_half")];
    assert_eq!(db.migrate(&fixed).await.unwrap().applied, ["0001_half"]);
    assert_eq!(runs(&db).await, 1);
    common::finish(db).await;
}
