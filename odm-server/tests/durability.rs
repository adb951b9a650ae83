//! Durability of the `odm-server` binary: every write acknowledged with `j: true` (and
//! every index) survives SIGKILL, and so does every committed transaction, whole, while no
//! uncommitted one leaves a trace; a SIGTERM shuts down cleanly with everything flushed.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use bson::{Document, doc};
use common::binary::{connect, spawn_server};
use common::{all_of, expect_code};
use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::options::{IndexOptions, WriteConcern};

fn journaled() -> WriteConcern {
    WriteConcern::builder().journal(true).build()
}

#[tokio::test(flavor = "multi_thread")]
async fn journaled_writes_and_indexes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let coll = client.database("app").collection::<Document>("accounts");
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"email": 1})
            .options(IndexOptions::builder().unique(true).build())
            .build(),
    )
    .write_concern(journaled())
    .await
    .unwrap();
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"balance": -1, "email": 1})
            .build(),
    )
    .write_concern(journaled())
    .await
    .unwrap();
    let batch: Vec<Document> = (0..500)
        .map(|i| doc! {"_id": i, "email": format!("u{i}@x.io"), "balance": i * 10})
        .collect();
    coll.insert_many(batch)
        .write_concern(journaled())
        .await
        .unwrap();
    for i in 500..520 {
        coll.insert_one(doc! {"_id": i, "email": format!("u{i}@x.io"), "balance": 0})
            .write_concern(journaled())
            .await
            .unwrap();
    }
    coll.update_many(doc! {"_id": {"$lt": 10}}, doc! {"$inc": {"balance": 1}})
        .write_concern(journaled())
        .await
        .unwrap();
    coll.delete_many(doc! {"_id": {"$gte": 510}})
        .write_concern(journaled())
        .await
        .unwrap();
    client
        .database("app")
        .collection::<Document>("other")
        .insert_one(doc! {"k": 1})
        .write_concern(journaled())
        .await
        .unwrap();

    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    client.shutdown().immediate(true).await;

    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let coll = client.database("app").collection::<Document>("accounts");
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 510);
    let first = coll.find_one(doc! {"_id": 3}).await.unwrap().unwrap();
    assert_eq!(first, doc! {"_id": 3, "email": "u3@x.io", "balance": 31});
    assert!(coll.find_one(doc! {"_id": 515}).await.unwrap().is_none());
    assert_eq!(
        coll.list_index_names().await.unwrap(),
        vec!["_id_", "email_1", "balance_-1_email_1"]
    );
    // The indexes work: the unique one refuses, the compound one answers in order.
    expect_code(coll.insert_one(doc! {"email": "u7@x.io"}).await, 11000);
    let top: Vec<Document> = coll
        .find(doc! {"balance": {"$gte": 4980}})
        .sort(doc! {"balance": -1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let balances: Vec<i32> = top.iter().map(|d| d.get_i32("balance").unwrap()).collect();
    assert_eq!(balances, vec![4990, 4980]);
    let names = client
        .database("app")
        .list_collection_names()
        .await
        .unwrap();
    assert_eq!(names.len(), 2);

    server.kill().unwrap();
    server.wait().unwrap();
    client.shutdown().immediate(true).await;
}

#[cfg(unix)]
/// Eight writers at once: their writes are committed in batches (group commit), and
/// every acknowledged one is on disk whichever batch it was in, while the server is
/// killed in the middle of the load.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_journaled_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let coll = client.database("app").collection::<Document>("events");
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8i64 {
        let (coll, acknowledged, stop) = (coll.clone(), acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for n in 0i64.. {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let id = w * 1_000_000 + n;
                let written = coll
                    .insert_one(doc! {"_id": id, "w": w})
                    .write_concern(journaled())
                    .await;
                match written {
                    Ok(_) => acknowledged.lock().unwrap().push(id),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL, with writes under way
    server.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    client.shutdown().immediate(true).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 100, "{} writes", acknowledged.len());

    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let coll = client.database("app").collection::<Document>("events");
    let stored: std::collections::HashSet<i64> = all_of(&coll)
        .await
        .iter()
        .map(|d| d.get_i64("_id").unwrap())
        .collect();
    let lost: Vec<&i64> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    server.kill().unwrap();
    server.wait().unwrap();
    client.shutdown().immediate(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let coll = client.database("app").collection::<Document>("c");
    // Acknowledged but not journaled: a clean shutdown must still keep it.
    coll.insert_many((0..100).map(|i| doc! {"_id": i}).collect::<Vec<_>>())
        .await
        .unwrap();
    client.shutdown().immediate(true).await;
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = server.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let exited = exited.expect("the server stops on SIGTERM");
    assert!(exited.success(), "{exited:?}");

    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    assert_eq!(
        client
            .database("app")
            .collection::<Document>("c")
            .count_documents(doc! {})
            .await
            .unwrap(),
        100
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_locked_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = spawn_server(dir.path());
    let second = Command::new(env!("CARGO_BIN_EXE_odm-server"))
        .args(["--dbpath", dir.path().to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("cannot open"), "{stderr}");
    first.kill().unwrap();
    first.wait().unwrap();
}

/// SIGKILL while 4 clients commit transactions (each: an order, its 3 lines and its
/// client's running total, across collections): after a restart every acknowledged
/// transaction is wholly there, and no other one is there even in part.
#[tokio::test(flavor = "multi_thread")]
async fn transactions_are_all_or_nothing_across_sigkill() {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    const CLIENTS: usize = 4;
    const LINES: i32 = 3;
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let db = client.database("shop");
    for name in ["orders", "lines", "totals"] {
        db.create_collection(name).await.unwrap();
    }
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut workers = Vec::new();
    for w in 0..CLIENTS {
        let (client, acknowledged) = (client.clone(), acknowledged.clone());
        workers.push(tokio::spawn(async move {
            let db = client.database("shop");
            let orders = db.collection::<Document>("orders");
            let lines = db.collection::<Document>("lines");
            let totals = db.collection::<Document>("totals");
            let Ok(mut session) = client.start_session().await else {
                return;
            };
            for i in 0.. {
                let id = format!("w{w}-{i}");
                let committed: mongodb::error::Result<()> = async {
                    session.start_transaction().await?;
                    orders
                        .insert_one(doc! {"_id": &id, "client": w as i32})
                        .session(&mut session)
                        .await?;
                    for k in 0..LINES {
                        lines
                            .insert_one(doc! {"_id": format!("{id}/{k}"), "order": &id})
                            .session(&mut session)
                            .await?;
                    }
                    totals
                        .update_one(doc! {"_id": w as i32}, doc! {"$inc": {"orders": 1}})
                        .upsert(true)
                        .session(&mut session)
                        .await?;
                    session.commit_transaction().await
                }
                .await;
                match committed {
                    Ok(()) => {
                        acknowledged.lock().unwrap().insert(id);
                    }
                    // The server is gone: this transaction's outcome is unknown.
                    Err(_) => return,
                }
            }
        }));
    }
    // Kill once a fair number have committed, while all four are mid-flight.
    while acknowledged.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    client.shutdown().immediate(true).await;
    let acknowledged = acknowledged.lock().unwrap().clone();

    let (mut server, addr) = spawn_server(dir.path());
    let client = connect(&addr).await;
    let db = client.database("shop");
    let orders = all_of(&db.collection::<Document>("orders")).await;
    let present: BTreeSet<String> = orders
        .iter()
        .map(|o| o.get_str("_id").unwrap().to_string())
        .collect();
    let missing: Vec<_> = acknowledged.difference(&present).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let lines = db.collection::<Document>("lines");
    for id in &present {
        assert_eq!(
            lines.count_documents(doc! {"order": id}).await.unwrap(),
            LINES as u64,
            "order {id} is there with only some of its lines"
        );
    }
    assert_eq!(
        lines.count_documents(doc! {}).await.unwrap(),
        present.len() as u64 * LINES as u64,
        "lines of orders that are not there"
    );
    for w in 0..CLIENTS {
        let of_client = orders
            .iter()
            .filter(|o| o.get_i32("client").ok() == Some(w as i32))
            .count() as i64;
        let total = db
            .collection::<Document>("totals")
            .find_one(doc! {"_id": w as i32})
            .await
            .unwrap()
            .map_or(0, |t| t.get_i32("orders").map_or(0, i64::from));
        assert_eq!(
            total, of_client,
            "client {w}'s total counts other transactions"
        );
    }
    println!(
        "after SIGKILL: {} transactions acknowledged, {} present, all whole",
        acknowledged.len(),
        present.len()
    );
    client.shutdown().await;
    server.kill().unwrap();
    server.wait().unwrap();
}
