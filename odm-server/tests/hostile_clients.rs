//! Hostile clients: every way a client can lie or stall on the wire gets an error reply or
//! a closed connection within a second (a stall: within a second of the stall timeout,
//! which is itself a second by default), memory stays bounded by what was sent rather
//! than what was promised, and a new connection still gets `ping`.
//!
//! `wire.rs` checks the parser's answers for each malformed frame; this suite checks
//! the server's behaviour under them: how fast, how much memory, and that it keeps
//! serving.

use std::time::{Duration, Instant};

use bson::{Document, doc};
use odm_server::wire::{self, op_msg};
use odm_server::{Config, Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server did with a message.
#[derive(Debug)]
enum Outcome {
    Closed,
    Replied(Document),
}

/// How long a refusal may take (the bound).
const PROMPT: Duration = Duration::from_secs(1);

fn header(length: i32, op_code: i32) -> Vec<u8> {
    [length, 7, 0, op_code]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// Waits for the server's answer on `stream`: a reply, or the end of the connection.
async fn answer(stream: &mut TcpStream) -> Outcome {
    match tokio::time::timeout(Duration::from_secs(10), wire::read_message(stream))
        .await
        .expect("the server answers or closes within 10 s")
    {
        Ok(Some((header, body))) => {
            assert_eq!(header.op_code, wire::OP_MSG);
            Outcome::Replied(Document::from_reader(&body[5..]).expect("a BSON reply"))
        }
        Ok(None) | Err(_) => Outcome::Closed,
    }
}

/// Sends `bytes` on a new connection and returns what the server did, and how long it
/// took from the last byte sent.
async fn send(h: &ServerHandle, bytes: &[u8]) -> (Outcome, Duration) {
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let sent = Instant::now();
    let outcome = answer(&mut stream).await;
    (outcome, sent.elapsed())
}

async fn closed_promptly(h: &ServerHandle, what: &str, bytes: &[u8]) {
    let (outcome, took) = send(h, bytes).await;
    assert!(matches!(outcome, Outcome::Closed), "{what}: {outcome:?}");
    assert!(took < PROMPT, "{what}: closed after {took:?}");
    still_serving(h).await;
}

async fn refused_promptly(h: &ServerHandle, what: &str, bytes: &[u8], code: i32) {
    let (outcome, took) = send(h, bytes).await;
    let Outcome::Replied(reply) = outcome else {
        panic!("{what}: closed instead of answering");
    };
    assert_eq!(reply.get_i32("code").ok(), Some(code), "{what}: {reply}");
    assert!(took < PROMPT, "{what}: answered after {took:?}");
    still_serving(h).await;
}

fn request(body: Document) -> Vec<u8> {
    op_msg::encode_request(1, 0, &body, &[])
}

/// A new connection gets `ping`.
async fn still_serving(h: &ServerHandle) {
    let (outcome, _) = send(h, &request(doc! {"ping": 1, "$db": "admin"})).await;
    match outcome {
        Outcome::Replied(reply) => assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}"),
        Outcome::Closed => panic!("ping on a new connection was not answered"),
    }
}

/// An `insert` of `count` copies of `doc` in a document sequence, as drivers send bulk
/// inserts.
fn insert_sequence(count: usize, doc: &[u8]) -> Vec<u8> {
    sequence_request(
        doc! {"insert": "c", "$db": "hostile"},
        "documents",
        count,
        doc,
    )
}

/// `body` with a document sequence `name` of `count` copies of `doc`.
fn sequence_request(body: Document, name: &str, count: usize, doc: &[u8]) -> Vec<u8> {
    let body = body.to_vec().unwrap();
    let mut seq = format!("{name}\0").into_bytes();
    for _ in 0..count {
        seq.extend_from_slice(doc);
    }
    let mut payload = 0u32.to_le_bytes().to_vec();
    payload.push(0);
    payload.extend_from_slice(&body);
    payload.push(1);
    payload.extend_from_slice(&((seq.len() + 4) as i32).to_le_bytes());
    payload.extend_from_slice(&seq);
    let mut out = header((16 + payload.len()) as i32, wire::OP_MSG);
    out.extend_from_slice(&payload);
    out
}

/// A document `levels` deep (`{a: {a: ... {}}}`), built as bytes: a `Bson` value that
/// deep would overflow this test's own stack when encoded or dropped.
fn nested(levels: usize) -> Vec<u8> {
    let mut doc = EMPTY.to_vec();
    for _ in 0..levels {
        let mut outer = vec![0; 4];
        outer.extend_from_slice(&[3, b'a', 0]);
        outer.extend_from_slice(&doc);
        outer.push(0);
        let len = outer.len() as i32;
        outer[..4].copy_from_slice(&len.to_le_bytes());
        doc = outer;
    }
    doc
}

/// The empty document's five bytes.
const EMPTY: [u8; 5] = [5, 0, 0, 0, 0];

async fn count(h: &ServerHandle) -> i32 {
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    stream
        .write_all(&request(doc! {"count": "c", "$db": "hostile"}))
        .await
        .unwrap();
    match answer(&mut stream).await {
        Outcome::Replied(reply) => reply.get_i32("n").unwrap(),
        Outcome::Closed => panic!("count was not answered"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lying_frames_are_refused_within_a_second() {
    let h = Server::start(Config::in_memory()).await.unwrap();
    for length in [15, 0, -1, 48_000_001, i32::MAX] {
        closed_promptly(
            &h,
            &format!("length {length}"),
            &header(length, wire::OP_MSG),
        )
        .await;
    }

    let ping = request(doc! {"ping": 1, "$db": "admin"});
    // A document whose length runs past its section, sent whole (nothing stalls).
    let mut truncated = ping.clone();
    truncated[21] = 0x7f;
    closed_promptly(&h, "a truncated document", &truncated).await;
    for kind in [2u8, 3, 0x7f, 0xff] {
        let mut unknown = ping.clone();
        unknown[20] = kind;
        closed_promptly(&h, &format!("section kind {kind}"), &unknown).await;
    }
    // Bits 0 to 15 must be understood: an unknown one is refused. Bits 16 and up may be
    // ignored, and are.
    let required = op_msg::encode_request(1, 1 << 4, &doc! {"ping": 1, "$db": "admin"}, &[]);
    closed_promptly(&h, "an unknown required flag bit", &required).await;
    let optional = op_msg::encode_request(1, 1 << 24, &doc! {"ping": 1, "$db": "admin"}, &[]);
    match send(&h, &optional).await.0 {
        Outcome::Replied(reply) => assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}"),
        Outcome::Closed => panic!("an unknown optional flag bit closed the connection"),
    }
    let mut checksum = op_msg::encode_request(
        1,
        op_msg::CHECKSUM_PRESENT,
        &doc! {"ping": 1, "$db": "admin"},
        &[],
    );
    let last = checksum.len() - 1;
    checksum[last] ^= 1;
    closed_promptly(&h, "a wrong checksum", &checksum).await;

    // Invalid UTF-8 in a string, and in a field name.
    let mut bad_string = request(doc! {"ping": 1, "$db": "admin", "comment": "abc"});
    let at = bad_string.windows(3).position(|w| w == b"abc").unwrap();
    bad_string[at] = 0xff;
    closed_promptly(&h, "a string that is not UTF-8", &bad_string).await;
    let mut bad_name = request(doc! {"ping": 1, "$db": "admin", "zzz": 1});
    let at = bad_name.windows(3).position(|w| w == b"zzz").unwrap();
    bad_name[at] = 0xc3;
    closed_promptly(&h, "a field name that is not UTF-8", &bad_name).await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_work_is_refused_within_a_second() {
    let h = Server::start(Config::in_memory()).await.unwrap();
    // 10,000 levels of nesting: an error reply, and the connection stays usable.
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(&insert_sequence(1, &nested(10_000)))
        .await
        .unwrap();
    let Outcome::Replied(reply) = answer(&mut stream).await else {
        panic!("10,000 levels closed the connection");
    };
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    assert_eq!(reply.get_i32("code").ok(), Some(15), "Overflow: {reply}");
    stream
        .write_all(&request(doc! {"ping": 1, "$db": "admin"}))
        .await
        .unwrap();
    assert!(matches!(answer(&mut stream).await, Outcome::Replied(_)));

    refused_promptly(&h, "100,001 inserts", &insert_sequence(100_001, &EMPTY), 16).await;
    refused_promptly(
        &h,
        "a million empty documents",
        &insert_sequence(1_000_000, &EMPTY),
        16,
    )
    .await;
    // The same as update statements, which are not kept as bytes but decoded.
    let updates = sequence_request(
        doc! {"update": "c", "$db": "hostile"},
        "updates",
        1_000_000,
        &EMPTY,
    );
    refused_promptly(&h, "a million empty update statements", &updates, 16).await;
    assert_eq!(
        count(&h).await,
        0,
        "nothing of the refused batches is stored"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stalled_messages_are_closed_after_the_stall_timeout() {
    let h = Server::start(Config::in_memory()).await.unwrap();
    let stall = Config::in_memory().stall_timeout;
    // A header that promises 48 MB, a little of the body, then nothing.
    let mut promise = header(48_000_000, wire::OP_MSG);
    promise.extend_from_slice(&[0; 1000]);
    // Half a header.
    let half = header(100, wire::OP_MSG)[..8].to_vec();
    for (what, bytes) in [("a 48 MB promise", promise), ("half a header", half)] {
        let (outcome, took) = send(&h, &bytes).await;
        assert!(matches!(outcome, Outcome::Closed), "{what}: {outcome:?}");
        assert!(
            took >= stall && took < stall + PROMPT,
            "{what}: closed after {took:?} (stall timeout {stall:?})"
        );
        still_serving(&h).await;
    }
    // Silence between messages is not a stall: a pooled connection may idle for long.
    let mut idle = TcpStream::connect(h.addr).await.unwrap();
    tokio::time::sleep(stall * 2).await;
    idle.write_all(&request(doc! {"ping": 1, "$db": "admin"}))
        .await
        .unwrap();
    assert!(matches!(answer(&mut idle).await, Outcome::Replied(_)));
    h.shutdown().await;
}

/// The server's open connections, as `serverStatus` counts them.
async fn connections(h: &ServerHandle) -> i64 {
    let mut stream = TcpStream::connect(h.addr).await.unwrap();
    stream
        .write_all(&request(doc! {"serverStatus": 1, "$db": "admin"}))
        .await
        .unwrap();
    let Outcome::Replied(reply) = answer(&mut stream).await else {
        panic!("serverStatus was not answered");
    };
    // Not counting the one asking.
    let current = reply
        .get_document("connections")
        .unwrap()
        .get("current")
        .unwrap();
    current
        .as_i64()
        .or(current.as_i32().map(i64::from))
        .unwrap()
        - 1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_is_closed_after_the_stall_timeout() {
    let h = Server::start(Config::in_memory()).await.unwrap();
    let stall = Config::in_memory().stall_timeout;
    // A 1 MB document, asked for again and again by a client that reads nothing.
    let big = "x".repeat(1024 * 1024);
    let (outcome, _) = send(
        &h,
        &request(doc! {"insert": "c", "$db": "hostile", "documents": [{"_id": 1, "big": big}]}),
    )
    .await;
    assert!(matches!(outcome, Outcome::Replied(_)));
    // The connections of the requests above end when their threads notice.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = connections(&h).await;
    let mut reader = TcpStream::connect(h.addr).await.unwrap();
    let find = request(doc! {"find": "c", "$db": "hostile"});
    // Each reply is a megabyte: a few dozen fill every socket buffer on the way.
    let mut sent = 0;
    let started = Instant::now();
    while sent < 200 {
        match tokio::time::timeout(Duration::from_secs(5), reader.write_all(&find)).await {
            Ok(Ok(())) => sent += 1,
            // The server stopped reading (it is stuck writing, then closed): done.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    // The requests fit in the socket buffers at once; the server is now stuck writing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        connections(&h).await,
        baseline + 1,
        "the slow reader is connected"
    );
    // The server gives up on it within the stall timeout (and a second) of its last
    // reply write that could not go through; other clients are served meanwhile.
    let deadline = started + Duration::from_secs(5) + stall + PROMPT;
    loop {
        still_serving(&h).await;
        if connections(&h).await == baseline {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its replies are gone with it: reading now ends in a closed connection, after at
    // most what the socket buffers held.
    let mut sink = vec![0; 1 << 20];
    let mut drained = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), reader.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => drained += n,
            Err(_) => panic!("the connection stayed open"),
        }
    }
    assert!(
        drained < sent * (1 << 20),
        "{drained} bytes for {sent} requests"
    );
    h.shutdown().await;
}

/// The process's resident memory, in bytes.
#[cfg(target_os = "linux")]
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn memory_follows_what_was_sent_not_what_was_promised() {
    let h = Server::start(Config::in_memory().stall_timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    still_serving(&h).await;
    let before = resident();
    // 40 clients each promise 48 MB and send 1 MB: 1.9 GB promised, 40 MB sent.
    let mut streams = Vec::new();
    for _ in 0..40 {
        let mut stream = TcpStream::connect(h.addr).await.unwrap();
        let mut bytes = header(48_000_000, wire::OP_MSG);
        bytes.extend_from_slice(&vec![0; 1 << 20]);
        stream.write_all(&bytes).await.unwrap();
        streams.push(stream);
    }
    // Let the server take in what was sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown = resident().saturating_sub(before);
    assert!(
        grown < 400 * 1024 * 1024,
        "resident memory grew by {} MB",
        grown >> 20
    );
    still_serving(&h).await;
    drop(streams);
    h.shutdown().await;
}
