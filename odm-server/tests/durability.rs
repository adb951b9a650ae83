//! Durability of the `odm-server` binary: every write acknowledged with `j: true` (and
//! every index) survives SIGKILL; a SIGTERM shuts down cleanly with everything flushed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bson::{Document, doc};
use common::expect_code;
use futures::TryStreamExt;
use mongodb::options::{IndexOptions, WriteConcern};
use mongodb::{Client, IndexModel};

/// Starts the binary on a free port and returns it with its address.
fn spawn_server(dbpath: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_odm-server"))
        .args(["--dbpath", dbpath.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("odm-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, addr)
}

async fn connect(addr: &str) -> Client {
    Client::with_uri_str(format!(
        "mongodb://{addr}/?directConnection=true&serverSelectionTimeoutMS=5000"
    ))
    .await
    .unwrap()
}

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
