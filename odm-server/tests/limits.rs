//! mongod's limits, each tested on both sides of its boundary: a document of exactly
//! 16,777,216 bytes is stored and read back by insert, replacement upsert and `$set`,
//! one byte more is `BSONObjectTooLarge` (10334) for each; a write batch holds 100,000
//! operations and 100,001 is `InvalidLength` (16); a message of exactly 48,000,000 bytes
//! is read and one byte more closes the connection. `hello` reports the same figures.

use std::time::Duration;

use bson::{Bson, Document, doc, oid::ObjectId};
use odm_server::wire::{self, op_msg};
use odm_server::{Config, Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

/// `{_id: ObjectId, x: "aaa..."}` of exactly `size` bytes.
fn document_of(size: usize) -> Document {
    let overhead = doc! {"_id": ObjectId::new(), "x": ""}
        .to_vec()
        .unwrap()
        .len();
    let doc = doc! {"_id": ObjectId::new(), "x": "a".repeat(size - overhead)};
    assert_eq!(doc.to_vec().unwrap().len(), size);
    doc
}

async fn send(
    stream: &mut TcpStream,
    body: &Document,
    sequences: &[(&str, Vec<Document>)],
) -> Document {
    stream
        .write_all(&op_msg::encode_request(1, 0, body, sequences))
        .await
        .unwrap();
    let (header, reply) = tokio::time::timeout(Duration::from_secs(60), wire::read_message(stream))
        .await
        .expect("a reply arrives")
        .expect("well framed")
        .expect("the connection is open");
    assert_eq!(header.op_code, wire::OP_MSG);
    Document::from_reader(&reply[5..]).unwrap()
}

/// The code of a write command's first write error, or of the command.
fn error_code(reply: &Document) -> Option<i32> {
    match reply.get_array("writeErrors") {
        Ok(errors) => errors[0].as_document()?.get_i32("code").ok(),
        Err(_) => reply.get_i32("code").ok(),
    }
}

async fn start() -> (ServerHandle, TcpStream) {
    let handle = Server::start(Config::in_memory()).await.unwrap();
    let stream = TcpStream::connect(handle.addr).await.unwrap();
    (handle, stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_mebibytes_is_stored_and_one_byte_more_is_refused() {
    let (handle, mut s) = start().await;
    let hello = send(&mut s, &doc! {"hello": 1, "$db": "admin"}, &[]).await;
    assert_eq!(
        hello.get_i32("maxBsonObjectSize").unwrap(),
        MAX_DOCUMENT as i32
    );
    assert_eq!(hello.get_i32("maxMessageSizeBytes").unwrap(), 48_000_000);
    assert_eq!(hello.get_i32("maxWriteBatchSize").unwrap(), 100_000);

    let db = |mut d: Document| {
        d.insert("$db", "limits");
        d
    };
    // At the limit: insert, replacement upsert, `$set`; each reads back whole.
    let at = document_of(MAX_DOCUMENT);
    let reply = send(
        &mut s,
        &db(doc! {"insert": "at"}),
        &[("documents", vec![at.clone()])],
    )
    .await;
    assert_eq!(reply.get_i32("n").unwrap(), 1, "{reply:?}");
    let found = send(
        &mut s,
        &db(doc! {"find": "at", "filter": {"_id": at.get("_id").unwrap()}}),
        &[],
    )
    .await;
    let batch = found
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(batch[0], Bson::Document(at.clone()));

    let id = at.get_object_id("_id").unwrap();
    let replacement = document_of(MAX_DOCUMENT);
    let mut replacement_with_id = replacement.clone();
    replacement_with_id.insert("_id", id);
    let reply = send(
        &mut s,
        &db(doc! {"update": "upserted", "updates": [{"q": {"_id": id}, "u": replacement_with_id, "upsert": true}]}),
        &[],
    )
    .await;
    assert_eq!(reply.get_i32("n").unwrap(), 1, "{reply:?}");

    let small = doc! {"_id": 1};
    send(
        &mut s,
        &db(doc! {"insert": "set"}),
        &[("documents", vec![small])],
    )
    .await;
    let overhead = doc! {"_id": 1, "x": ""}.to_vec().unwrap().len();
    let x = "a".repeat(MAX_DOCUMENT - overhead);
    let reply = send(
        &mut s,
        &db(doc! {"update": "set", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": &x}}}]}),
        &[],
    )
    .await;
    assert_eq!(reply.get_i32("nModified").unwrap(), 1, "{reply:?}");

    // One byte over: each refused with 10334, nothing stored.
    let over = document_of(MAX_DOCUMENT + 1);
    let reply = send(
        &mut s,
        &db(doc! {"insert": "over"}),
        &[("documents", vec![over.clone()])],
    )
    .await;
    assert_eq!(error_code(&reply), Some(10334), "{reply:?}");
    // The replacement keeps its ObjectId `_id`, so its size stays one byte over.
    let over_id = over.get_object_id("_id").unwrap();
    let reply = send(
        &mut s,
        &db(doc! {"update": "over", "updates": [{"q": {"_id": over_id}, "u": over.clone(), "upsert": true}]},
        ),
        &[],
    )
    .await;
    assert_eq!(error_code(&reply), Some(10334), "{reply:?}");
    let reply = send(
        &mut s,
        &db(doc! {"update": "set", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": x + "a"}}}]}),
        &[],
    )
    .await;
    assert_eq!(error_code(&reply), Some(10334), "{reply:?}");
    let reply = send(
        &mut s,
        &db(doc! {"findAndModify": "set", "query": {"_id": 1}, "update": {"$set": {"y": "b"}}}),
        &[],
    )
    .await;
    assert_eq!(error_code(&reply), Some(10334), "{reply:?}");
    let bulk = doc! {
        "bulkWrite": 1,
        "ops": [{"insert": 0, "document": over.clone()}],
        "nsInfo": [{"ns": "limits.over"}],
        "$db": "admin",
    };
    let reply = send(&mut s, &bulk, &[]).await;
    let first = reply
        .get_document("cursor")
        .ok()
        .and_then(|c| c.get_array("firstBatch").ok())
        .and_then(|b| b[0].as_document()?.get_i32("code").ok());
    assert_eq!(first, Some(10334), "{reply:?}");
    let count = send(&mut s, &db(doc! {"count": "over"}), &[]).await;
    assert_eq!(count.get_i32("n").unwrap(), 0);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_holds_a_hundred_thousand_writes_and_not_one_more() {
    let (handle, mut s) = start().await;
    let docs: Vec<Document> = (0..100_000).map(|i| doc! {"_id": i}).collect();
    let reply = send(
        &mut s,
        &doc! {"insert": "batch", "$db": "limits"},
        &[("documents", docs)],
    )
    .await;
    assert_eq!(reply.get_i32("n").unwrap(), 100_000);
    let docs: Vec<Document> = (0..100_001).map(|i| doc! {"_id": i + 200_000}).collect();
    let reply = send(
        &mut s,
        &doc! {"insert": "batch", "$db": "limits"},
        &[("documents", docs)],
    )
    .await;
    assert_eq!(reply.get_i32("code").ok(), Some(16), "{reply:?}");
    let deletes: Vec<Document> = (0..100_001)
        .map(|i| doc! {"q": {"_id": i}, "limit": 1})
        .collect();
    let reply = send(
        &mut s,
        &doc! {"delete": "batch", "$db": "limits"},
        &[("deletes", deletes)],
    )
    .await;
    assert_eq!(reply.get_i32("code").ok(), Some(16), "{reply:?}");
    let count = send(&mut s, &doc! {"count": "batch", "$db": "limits"}, &[]).await;
    assert_eq!(count.get_i32("n").unwrap(), 100_000);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_of_48_000_000_bytes_is_read_and_one_byte_more_is_not() {
    let (handle, mut s) = start().await;
    let body = doc! {"insert": "message", "$db": "limits", "ordered": false};
    // Three documents under the document limit, the last sized so that the whole
    // message is exactly the limit.
    let empty = op_msg::encode_request(1, 0, &body, &[("documents", Vec::new())]).len();
    let first = document_of(16_000_000);
    let second = document_of(16_000_000);
    let last = document_of(48_000_000 - empty - 32_000_000);
    let docs = vec![first, second, last];
    assert_eq!(
        op_msg::encode_request(1, 0, &body, &[("documents", docs.clone())]).len(),
        48_000_000
    );
    let reply = send(&mut s, &body, &[("documents", docs)]).await;
    assert_eq!(reply.get_i32("n").unwrap(), 3, "{reply:?}");

    // One byte more: the header alone closes the connection, and others are served.
    let mut over = TcpStream::connect(handle.addr).await.unwrap();
    let mut header = Vec::new();
    for v in [48_000_001i32, 7, 0, wire::OP_MSG] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    over.write_all(&header).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), over.read(&mut buf))
        .await
        .expect("the server closes it at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let pong = send(&mut s, &doc! {"ping": 1, "$db": "admin"}, &[]).await;
    assert_eq!(pong.get_f64("ok").unwrap(), 1.0);
    handle.shutdown().await;
}
