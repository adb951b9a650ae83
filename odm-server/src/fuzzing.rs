//! Entry points for the fuzzers in `fuzz/` (only with the `fuzzing` feature): a
//! connection's whole request path (frame, command parser, execution) run without a
//! socket, over a fresh in-memory server, with the checks every reply must pass.
//!
//! Everything here calls the code a real connection runs ([`crate::conn::respond`]); a
//! fuzzer that reached the engine some other way could miss what the request path
//! does first (the depth guard, authorization, fail points, sessions).

use std::sync::Arc;

use bson::{Document, doc};

use crate::config::Config;
use crate::conn::{Answer, ConnInfo, respond};
use crate::state::ServerState;
use crate::storage::memory::MemoryStore;
use crate::wire::{self, HEADER_LEN, OP_MSG, OP_REPLY, WireError};

/// A server with no listener: requests go straight to the code that serves a connection.
pub struct CommandHarness {
    state: Arc<ServerState>,
    conn: ConnInfo,
}

/// What one frame did.
#[derive(Debug)]
pub enum FrameOutcome {
    /// The frame was refused: a real connection would be closed.
    Closed(WireError),
    /// Answered with this reply document (`None`: `moreToCome`, no reply).
    Replied(Option<Document>),
}

impl CommandHarness {
    /// A fresh in-memory server (a one-member replica set, as by default).
    pub fn new() -> CommandHarness {
        let state = crate::server::new_state(
            Config::in_memory(),
            Box::new(MemoryStore::new()),
            Vec::new(),
            std::net::SocketAddr::from(([127, 0, 0, 1], 27017)),
        )
        .expect("an in-memory server opens");
        CommandHarness {
            state: Arc::new(state),
            conn: ConnInfo::new(1, "127.0.0.1:50000".to_owned()),
        }
    }

    /// Reads one message from `bytes` as a connection does and answers it. Panics if a
    /// reply breaks the protocol: not one well-formed frame, no `ok`, or a failure
    /// without `code` and `errmsg`.
    pub fn run_frame(&mut self, bytes: &[u8]) -> FrameOutcome {
        let mut body = Vec::new();
        let header = match wire::read_message_blocking(&mut &bytes[..], &mut body) {
            Ok(Some(header)) => header,
            Ok(None) => return FrameOutcome::Replied(None),
            Err(e) => return FrameOutcome::Closed(e),
        };
        let request = match wire::parse_request(&header, &body) {
            Ok(request) => request,
            Err(e) => return FrameOutcome::Closed(e),
        };
        match crate::depth::guard_command(|| respond(&self.state, &mut self.conn, &header, request))
        {
            Some(Answer::Reply(reply)) => FrameOutcome::Replied(Some(check_reply(&reply))),
            Some(Answer::Silent) => FrameOutcome::Replied(None),
            None => {
                FrameOutcome::Closed(WireError::Io(std::io::ErrorKind::ConnectionAborted.into()))
            }
        }
    }

    /// Runs one command on database `db`, as if sent in an OP_MSG.
    pub fn run(&mut self, db: &str, body: &Document) -> Document {
        let mut body = body.clone();
        body.insert("$db", db);
        let frame = wire::op_msg::encode_request(1, 0, &body, &[]);
        match self.run_frame(&frame) {
            FrameOutcome::Replied(Some(reply)) => reply,
            other => panic!("a well-formed command got {other:?}"),
        }
    }

    /// Panics unless the server still answers `ping`.
    pub fn assert_serving(&mut self) {
        let reply = self.run("admin", &doc! {"ping": 1});
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "ping answered {reply}");
    }
}

impl Default for CommandHarness {
    fn default() -> Self {
        CommandHarness::new()
    }
}

/// The reply document of one reply frame, checked.
fn check_reply(frame: &[u8]) -> Document {
    assert!(frame.len() >= HEADER_LEN, "a reply shorter than its header");
    let length = i32::from_le_bytes(frame[0..4].try_into().unwrap());
    assert_eq!(length as usize, frame.len(), "the reply's length field");
    let op_code = i32::from_le_bytes(frame[12..16].try_into().unwrap());
    let doc_at = match op_code {
        OP_MSG => {
            assert_eq!(frame[20], 0, "a reply is one kind-0 section");
            21
        }
        // responseFlags, cursorID, startingFrom, numberReturned.
        OP_REPLY => HEADER_LEN + 20,
        other => panic!("a reply with opCode {other}"),
    };
    let reply = Document::from_reader(&frame[doc_at..]).expect("the reply is BSON");
    if op_code == OP_REPLY && reply.contains_key("$err") {
        // A legacy query failure: `$err` and `code`, no `ok`.
        assert!(
            reply.get_i32("code").is_ok(),
            "a query failure without a code: {reply}"
        );
        return reply;
    }
    let ok = match reply.get("ok") {
        Some(bson::Bson::Double(v)) => *v,
        Some(bson::Bson::Int32(v)) => f64::from(*v),
        _ => panic!("a reply without a numeric ok: {reply}"),
    };
    if ok != 1.0 {
        assert!(
            reply.get_i32("code").is_ok(),
            "a failure without a code: {reply}"
        );
        assert!(
            reply.get_str("errmsg").is_ok(),
            "a failure without errmsg: {reply}"
        );
    }
    reply
}
