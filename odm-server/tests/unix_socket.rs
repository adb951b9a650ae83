//! The Unix-socket listener: the official driver works over it as over TCP, the server
//! names such clients as mongod does, a live socket is not taken over, a stale file is,
//! and the file goes away when the server stops.

#![cfg(unix)]

use bson::{Document, doc};
use mongodb::Client;
use odm_server::{Config, Server};

#[tokio::test]
async fn the_driver_works_over_the_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odm.sock");
    let server = Server::start(Config::in_memory().unix_socket(&path))
        .await
        .unwrap();
    assert_eq!(server.unix_socket.as_deref(), Some(path.as_path()));
    let uri = server.unix_uri().expect("a Unix-socket URI");
    assert!(uri.starts_with("mongodb://%2F"), "{uri}");

    let client = Client::with_uri_str(format!("{uri}?directConnection=true"))
        .await
        .unwrap();
    let items = client.database("app").collection::<Document>("items");
    items
        .insert_one(doc! {"_id": 1, "x": "over the socket"})
        .await
        .unwrap();
    let found = items.find_one(doc! {"_id": 1}).await.unwrap().unwrap();
    assert_eq!(found.get_str("x").unwrap(), "over the socket");

    // TCP clients see the same data.
    let tcp = Client::with_uri_str(format!("{}?directConnection=true", server.uri()))
        .await
        .unwrap();
    let seen = tcp.database("app").collection::<Document>("items");
    assert_eq!(seen.count_documents(doc! {}).await.unwrap(), 1);

    let me = client
        .database("admin")
        .run_command(doc! {"whatsmyuri": 1})
        .await
        .unwrap();
    assert_eq!(me.get_str("you").unwrap(), "anonymous unix socket");

    client.shutdown().await;
    tcp.shutdown().await;
    server.shutdown().await;
    assert!(
        !path.exists(),
        "the socket file is removed when the server stops"
    );
}

#[tokio::test]
async fn a_live_socket_is_refused_and_a_stale_one_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odm.sock");
    let first = Server::start(Config::in_memory().unix_socket(&path))
        .await
        .unwrap();
    let second = Server::start(Config::in_memory().unix_socket(&path)).await;
    let err = second
        .err()
        .expect("a second server on a live socket fails");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains("odm.sock"), "{err}");
    first.shutdown().await;

    // A file nobody answers on (a server that crashed) is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let third = Server::start(Config::in_memory().unix_socket(&path))
        .await
        .unwrap();
    let client = Client::with_uri_str(format!(
        "{}?directConnection=true",
        third.unix_uri().unwrap()
    ))
    .await
    .unwrap();
    client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .unwrap();
    client.shutdown().await;
    third.shutdown().await;
}
