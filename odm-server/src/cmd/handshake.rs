//! `hello` / `isMaster` / `ismaster`: the handshake every driver opens with and repeats
//! to monitor the server; `saslStart` / `saslContinue`: authentication.
//!
//! ```text
//! request  {hello: 1, helloOk?: true, client?: {...}, compression?: [...], saslSupportedMechs?: "db.user"}
//! reply    {isWritablePrimary | ismaster: true, helloOk?, maxBsonObjectSize: 16777216,
//!           maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, localTime,
//!           logicalSessionTimeoutMinutes: 30, connectionId, minWireVersion: 0,
//!           maxWireVersion: 25, readOnly: false, ok: 1}
//! ```
//!
//! As a replica-set member (the default) the reply adds the set: `setName`, `setVersion`,
//! `hosts`, `primary`, `me`, `electionId`, `secondary: false`, `lastWrite` and
//! `topologyVersion`. With `topologyVersion` drivers monitor with awaitable `hello`s
//! (`{hello, topologyVersion, maxAwaitTimeMS}`): the connection waits that long before
//! running it (see `conn`), since the topology of a one-member set never changes. No
//! `compression` is offered, so clients never send OP_COMPRESSED.

use bson::{DateTime, Document, doc};

use super::Ctx;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::session::SESSION_TIMEOUT_MINUTES;
use crate::wire::{MAX_DOCUMENT_LEN, MAX_MESSAGE_LEN, MAX_WRITE_BATCH};

/// The wire version of MongoDB 8.0, the server this one answers as.
pub const MAX_WIRE_VERSION: i32 = 25;

pub fn hello(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let name = ctx
        .body
        .keys()
        .next()
        .map(String::as_str)
        .unwrap_or("hello");
    let primary_field = if name == "hello" {
        "isWritablePrimary"
    } else {
        "ismaster"
    };
    let mut reply = doc! {
        primary_field: true,
        "maxBsonObjectSize": MAX_DOCUMENT_LEN as i32,
        "maxMessageSizeBytes": MAX_MESSAGE_LEN as i32,
        "maxWriteBatchSize": MAX_WRITE_BATCH as i32,
        "localTime": DateTime::now(),
        "logicalSessionTimeoutMinutes": SESSION_TIMEOUT_MINUTES,
        "connectionId": ctx.conn.id as i32,
        "minWireVersion": 0,
        "maxWireVersion": MAX_WIRE_VERSION,
        "readOnly": false,
    };
    if let Some(set_name) = &ctx.state.repl.topology.set_name {
        let last = ctx.state.repl.cluster_time();
        let wall = DateTime::from_millis(i64::from(last.time) * 1000);
        reply.extend(ctx.state.repl.topology.hello_fields(set_name, last, wall));
    }
    if ctx.body.get_bool("helloOk").unwrap_or(false) {
        reply.insert("helloOk", true);
    }
    if ctx.body.contains_key("saslSupportedMechs") {
        // No users exist, so no mechanism can succeed.
        reply.insert("saslSupportedMechs", Vec::<String>::new());
    }
    Ok(reply)
}

pub fn sasl(_ctx: &Ctx<'_>) -> CmdResult<Document> {
    Err(CommandError::new(
        ErrorCode::AuthenticationFailed,
        "Authentication failed: this server has no users (authentication is not configured); connect without credentials",
    ))
}
