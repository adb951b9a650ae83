//! What the integration tests share: an in-process server on `127.0.0.1:0` and a client
//! of the official driver connected to it.

#![allow(dead_code)]

pub mod binary;
pub mod certs;

use bson::Document;
use futures::TryStreamExt;
use mongodb::error::{Error, ErrorKind, WriteFailure};
use mongodb::{Client, Collection, Database};
use odm_server::{Config, Server, ServerHandle};

/// A running in-memory server and a driver client connected to it.
pub struct TestServer {
    pub handle: ServerHandle,
    pub client: Client,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::with_config(Config::in_memory()).await
    }

    pub async fn with_config(config: Config) -> TestServer {
        let handle = Server::start(config).await.expect("server starts");
        let client = Client::with_uri_str(format!("{}?directConnection=true", handle.uri()))
            .await
            .expect("client connects");
        TestServer { handle, client }
    }

    pub fn db(&self, name: &str) -> Database {
        self.client.database(name)
    }

    pub async fn stop(self) {
        self.client.shutdown().await;
        self.handle.shutdown().await;
    }
}

/// The innermost stage of an `explain` plan (the scan under FETCH, SORT, ...).
/// The innermost stage of the winning plan `explain` shows for a command.
pub async fn explained_leaf(db: &Database, command: Document) -> Document {
    let reply = db
        .run_command(bson::doc! {"explain": command, "verbosity": "queryPlanner"})
        .await
        .unwrap();
    leaf_stage(
        reply
            .get_document("queryPlanner")
            .unwrap()
            .get_document("winningPlan")
            .unwrap(),
    )
}

pub fn leaf_stage(plan: &Document) -> Document {
    let mut stage = plan.clone();
    while let Ok(inner) = stage.get_document("inputStage") {
        stage = inner.clone();
    }
    stage
}

/// The MongoDB error code an operation failed with, whatever shape the driver gives it.
pub fn code(err: &Error) -> Option<i32> {
    match &*err.kind {
        ErrorKind::Command(e) => Some(e.code),
        ErrorKind::Write(WriteFailure::WriteError(e)) => Some(e.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => Some(e.code),
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .and_then(|w| w.first())
            .map(|w| w.code),
        _ => None,
    }
}

/// Runs each command on `db` and checks it fails with its code; the failure names the
/// command.
pub async fn expect_command_codes(db: &Database, cases: Vec<(bson::Document, i32)>) {
    for (command, expected) in cases {
        match db.run_command(command.clone()).await {
            Ok(reply) => panic!("{command}: expected code {expected}, got {reply}"),
            Err(e) => assert_eq!(code(&e), Some(expected), "{command}: wrong error: {e}"),
        }
    }
}

/// Asserts that a result failed with `expected` and returns the error message.
pub fn expect_code<T: std::fmt::Debug>(result: mongodb::error::Result<T>, expected: i32) -> String {
    match result {
        Ok(v) => panic!("expected error code {expected}, got success: {v:?}"),
        Err(e) => {
            assert_eq!(code(&e), Some(expected), "wrong error: {e}");
            e.to_string()
        }
    }
}

/// The id and batch of a cursor reply (`firstBatch` or `nextBatch`).
pub fn cursor_of(reply: &bson::Document) -> (i64, Vec<bson::Document>) {
    let cursor = reply.get_document("cursor").unwrap();
    let batch = cursor
        .get_array("firstBatch")
        .or_else(|_| cursor.get_array("nextBatch"))
        .unwrap()
        .iter()
        .map(|d| d.as_document().unwrap().clone())
        .collect();
    (cursor.get_i64("id").unwrap(), batch)
}

/// Every document of a collection, in its natural order.
pub async fn all_of(coll: &mongodb::Collection<bson::Document>) -> Vec<bson::Document> {
    use futures::TryStreamExt;
    coll.find(bson::doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// Every document `filter` finds, in the order the server gives them.
pub async fn find_all(c: &Collection<Document>, filter: Document) -> Vec<Document> {
    c.find(filter).await.unwrap().try_collect().await.unwrap()
}

/// Every document a pipeline yields, or the error it failed with.
pub async fn aggregate_all(
    c: &Collection<Document>,
    pipeline: Vec<Document>,
) -> mongodb::error::Result<Vec<Document>> {
    c.aggregate(pipeline).await?.try_collect().await
}

/// Sends one command on a raw connection and reads its reply: for what the driver would
/// change (it adds its own session fields and retries by itself).
pub async fn raw_command(stream: &mut tokio::net::TcpStream, body: Document) -> Document {
    use tokio::io::AsyncWriteExt;
    stream
        .write_all(&odm_server::wire::op_msg::encode_request(1, 0, &body, &[]))
        .await
        .unwrap();
    let (_, reply) = odm_server::wire::read_message(stream)
        .await
        .unwrap()
        .unwrap();
    Document::from_reader(&reply[5..]).unwrap()
}
