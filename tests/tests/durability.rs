//! A write acknowledged by `Db::open` is on disk when its call returns: a child process
//! inserts and calls `std::process::exit` at once (no destructor, no final flush runs),
//! and the parent reopens the directory and finds every document.
//!
//! The child is this same test binary, run again with `ODM_DURABILITY_CHILD` naming the
//! directory: `child_inserts_then_exits` does nothing in a normal run.

use std::process::Command;

use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "acks")]
struct Ack {
    #[serde(rename = "_id")]
    id: i64,
    note: String,
}

const CHILD_ENV: &str = "ODM_DURABILITY_CHILD";
const WRITES: i64 = 20;

#[tokio::test]
async fn child_inserts_then_exits() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = Db::open(&dir).await.expect("open");
    let acks = db.collection::<Ack>();
    for id in 0..WRITES {
        let mut doc = Ack {
            id,
            note: format!("write {id}"),
        };
        acks.insert_one(&mut doc).await.expect("insert");
    }
    // Acknowledged; now die the way `std::process::exit` does: no destructors, so no
    // flush at shutdown can hide a lost write.
    std::process::exit(0);
}

#[tokio::test]
async fn acknowledged_writes_survive_process_exit() {
    for round in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["child_inserts_then_exits", "--exact", "--nocapture"])
            .env(CHILD_ENV, &dir)
            .status()
            .expect("run the child");
        assert!(status.success(), "child failed: {status}");

        let db = Db::open(&dir).await.expect("reopen");
        let stored = db
            .collection::<Ack>()
            .find(Filter::all())
            .all()
            .await
            .unwrap();
        assert_eq!(
            stored.iter().map(|a| a.id).collect::<Vec<_>>(),
            (0..WRITES).collect::<Vec<_>>(),
            "round {round}: acknowledged writes were lost at exit"
        );
        db.close().await;
    }
}

/// Dropping the last handle of `Db::open(dir)` lets go of the directory: opening it again
/// straight away works (the open waits for the old server's tasks to release the file),
/// in a single-threaded runtime too, where those tasks only run while the open waits.
#[tokio::test]
async fn a_dropped_db_can_be_opened_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20_i64 {
        let db = Db::open(dir.path()).await.expect("reopens at once");
        let acks = db.collection::<Ack>();
        assert_eq!(acks.count(Filter::all()).await.unwrap(), round as u64);
        acks.insert_one(&mut Ack {
            id: round,
            note: "again".into(),
        })
        .await
        .unwrap();
        // While it is open, a second open in this process is refused at once.
        if round == 0 {
            let err = Db::open(dir.path()).await.unwrap_err();
            assert!(err.to_string().contains("already has it open"), "{err}");
        }
        drop(db);
    }
}
