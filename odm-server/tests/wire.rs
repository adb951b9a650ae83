//! The server under raw bytes: malformed frames close only their own connection, and a
//! new connection still gets a `ping` reply. Also the legacy OP_QUERY handshake, OP_MSG
//! `moreToCome`, checksums and over-deep documents.

use std::time::Duration;

use bson::{Document, doc};
use odm_server::wire::{self, op_msg, op_query};
use odm_server::{Config, Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start() -> ServerHandle {
    Server::start(Config::in_memory()).await.unwrap()
}

/// Reads one reply and returns (opCode, document).
async fn read_reply(stream: &mut TcpStream) -> (i32, Document) {
    let (header, body) = tokio::time::timeout(Duration::from_secs(5), wire::read_message(stream))
        .await
        .expect("a reply arrives")
        .expect("the reply is well framed")
        .expect("the connection is open");
    let doc = match header.op_code {
        wire::OP_MSG => {
            assert_eq!(
                &body[..5],
                &[0, 0, 0, 0, 0],
                "flags 0 and one kind-0 section"
            );
            Document::from_reader(&body[5..]).unwrap()
        }
        wire::OP_REPLY => Document::from_reader(&body[20..]).unwrap(),
        other => panic!("unexpected opCode {other}"),
    };
    (header.op_code, doc)
}

async fn command(stream: &mut TcpStream, body: Document) -> Document {
    stream
        .write_all(&op_msg::encode_request(1, 0, &body, &[]))
        .await
        .unwrap();
    read_reply(stream).await.1
}

/// A fresh connection answers `ping`.
async fn still_serving(handle: &ServerHandle) {
    let mut stream = TcpStream::connect(handle.addr).await.unwrap();
    let reply = command(&mut stream, doc! {"ping": 1, "$db": "admin"}).await;
    assert_pong(&reply);
}

/// Sends bytes and expects the server to close this connection without a reply.
async fn closed_after(handle: &ServerHandle, bytes: &[u8], then_close_write: bool) {
    let mut stream = TcpStream::connect(handle.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    if then_close_write {
        stream.shutdown().await.unwrap();
    }
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the server reacts");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("expected the connection to close, got {n} bytes"),
    }
    still_serving(handle).await;
}

fn header(length: i32, op_code: i32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [length, 7, 0, op_code] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_frames_close_only_their_connection() {
    let h = start().await;
    // Another client stays connected throughout and keeps working.
    let mut bystander = TcpStream::connect(h.addr).await.unwrap();
    assert_pong(&command(&mut bystander, doc! {"ping": 1, "$db": "admin"}).await);

    // Length below 16.
    closed_after(&h, &header(8, wire::OP_MSG), false).await;
    // Length above 48,000,000: refused from the header alone, nothing allocated.
    closed_after(&h, &header(48_000_001, wire::OP_MSG), false).await;
    closed_after(&h, &header(i32::MAX, wire::OP_MSG), false).await;
    closed_after(&h, &header(-5, wire::OP_MSG), false).await;

    let good = op_msg::encode_request(1, 0, &doc! {"ping": 1, "$db": "admin"}, &[]);
    // Truncated: the header promises more than arrives before the client stops sending.
    closed_after(&h, &good[..good.len() - 6], true).await;

    // Unknown section kind.
    let mut unknown_kind = good.clone();
    unknown_kind[20] = 9;
    closed_after(&h, &unknown_kind, false).await;

    // Bad checksum.
    let mut bad_sum = op_msg::encode_request(
        1,
        op_msg::CHECKSUM_PRESENT,
        &doc! {"ping": 1, "$db": "admin"},
        &[],
    );
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0x55;
    closed_after(&h, &bad_sum, false).await;

    // A kind-0 section that is not a document.
    let mut not_a_doc = header(16 + 4 + 1 + 12, wire::OP_MSG);
    not_a_doc.extend_from_slice(&0u32.to_le_bytes());
    not_a_doc.push(0);
    not_a_doc.extend_from_slice(&[0xFF, 0xFF, 0, 0, 2, b'x', 0, 1, 0, 0, 0, 0]);
    closed_after(&h, &not_a_doc, false).await;

    // A document sequence whose size overruns the message.
    let mut bad_seq = header(16 + 4 + 1 + 4, wire::OP_MSG);
    bad_seq.extend_from_slice(&0u32.to_le_bytes());
    bad_seq.push(1);
    bad_seq.extend_from_slice(&1000i32.to_le_bytes());
    closed_after(&h, &bad_seq, false).await;

    // An opCode nobody negotiated (OP_COMPRESSED) and an unknown one.
    let mut compressed = header(16 + 9, wire::OP_COMPRESSED);
    compressed.extend_from_slice(&[0; 9]);
    closed_after(&h, &compressed, false).await;
    closed_after(&h, &header(16, 4242), false).await;

    assert_pong(&command(&mut bystander, doc! {"ping": 1, "$db": "admin"}).await);
    let log = command(&mut bystander, doc! {"getLog": "global", "$db": "admin"}).await;
    let lines: Vec<String> = log
        .get_array("log")
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("checksum mismatch")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("unknown OP_MSG section kind 9")),
        "{lines:?}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_op_query_handshake_gets_op_reply() {
    let h = start().await;
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    let hello = op_query::encode_request(
        11,
        "admin.$cmd",
        &doc! {"isMaster": 1, "helloOk": true, "client": {"driver": {"name": "test"}}},
    );
    stream.write_all(&hello).await.unwrap();
    let (op, reply) = read_reply(&mut stream).await;
    assert_eq!(op, wire::OP_REPLY);
    assert!(reply.get_bool("ismaster").unwrap());
    assert!(reply.get_bool("helloOk").unwrap());
    assert_eq!(reply.get_i32("maxWireVersion").unwrap(), 25);

    // Wrapped in $query, as some drivers send it.
    stream
        .write_all(&op_query::encode_request(
            12,
            "admin.$cmd",
            &doc! {"$query": {"ismaster": 1}},
        ))
        .await
        .unwrap();
    assert!(
        read_reply(&mut stream)
            .await
            .1
            .get_bool("ismaster")
            .unwrap()
    );

    // Other commands over OP_QUERY are refused (352), the connection stays usable.
    stream
        .write_all(&op_query::encode_request(
            13,
            "test.$cmd",
            &doc! {"find": "c"},
        ))
        .await
        .unwrap();
    let (op, reply) = read_reply(&mut stream).await;
    assert_eq!((op, reply.get_i32("code").unwrap()), (wire::OP_REPLY, 352));
    // A plain legacy query is a query failure.
    stream
        .write_all(&op_query::encode_request(14, "test.c", &doc! {}))
        .await
        .unwrap();
    let (_, reply) = read_reply(&mut stream).await;
    assert!(reply.contains_key("$err"));
    assert_pong(&command(&mut stream, doc! {"ping": 1, "$db": "admin"}).await);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn more_to_come_sequences_checksums_and_depth() {
    let h = start().await;
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    // An insert with moreToCome (w: 0) and a document sequence: no reply, but written.
    let insert = op_msg::encode_request(
        1,
        op_msg::MORE_TO_COME,
        &doc! {"insert": "c", "$db": "t", "writeConcern": {"w": 0}},
        &[("documents", vec![doc! {"_id": 1}, doc! {"_id": 2}])],
    );
    stream.write_all(&insert).await.unwrap();
    // The next reply on this connection is the count's: nothing came for the insert.
    let count = command(&mut stream, doc! {"count": "c", "$db": "t"}).await;
    assert_eq!(count.get_i32("n").unwrap(), 2);

    // A request with a valid checksum is answered (without one).
    let summed = op_msg::encode_request(
        2,
        op_msg::CHECKSUM_PRESENT,
        &doc! {"ping": 1, "$db": "admin"},
        &[],
    );
    stream.write_all(&summed).await.unwrap();
    assert_pong(&read_reply(&mut stream).await.1);

    // A message nested deeper than 200 levels is answered with mongod's error; the
    // connection stays open and nothing is decoded recursively.
    let mut deep = doc! {"leaf": 1};
    for _ in 0..300 {
        deep = doc! {"x": deep};
    }
    let reply = command(
        &mut stream,
        doc! {"insert": "c", "$db": "t", "documents": [deep]},
    )
    .await;
    assert_eq!(reply.get_i32("code").unwrap(), 15);
    let errmsg = reply.get_str("errmsg").unwrap();
    assert!(
        errmsg.starts_with(
            "BSONObj exceeds maximum nested object depth in element with field name 'documents.0.x.x."
        ) && errmsg.ends_with("' in object with unknown _id"),
        "{errmsg}"
    );
    // A missing $db is an error, not a crash.
    let reply = command(&mut stream, doc! {"ping": 1}).await;
    assert_eq!(reply.get_i32("code").unwrap(), 40571);
    assert_pong(&command(&mut stream, doc! {"ping": 1, "$db": "admin"}).await);
    h.shutdown().await;
}

/// A `ping`'s reply: `ok: 1`, stamped with the cluster time as a replica-set member's.
fn assert_pong(reply: &Document) {
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}");
    assert!(reply.get_document("$clusterTime").is_ok(), "{reply}");
}
