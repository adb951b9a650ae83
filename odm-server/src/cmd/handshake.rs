//! `hello` / `isMaster` / `ismaster`: the handshake every driver opens with and repeats
//! to monitor the server; `saslStart` / `saslContinue`: authentication.
//!
//! ```text
//! request  {hello: 1, helloOk?: true, client?: {...}, compression?: [...], saslSupportedMechs?: "db.user"}
//! reply    {isWritablePrimary | ismaster: true, helloOk?, maxBsonObjectSize: 16777216,
//!           maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, localTime,
//!           logicalSessionTimeoutMinutes: 30, connectionId, minWireVersion: 0,
//!           maxWireVersion: 21, readOnly: false, ok: 1}
//! ```
//!
//! No `topologyVersion` is sent: with it the Rust driver's monitor switches to awaitable
//! `hello`s at once, which this server does not implement. No `compression` is offered,
//! so clients never send OP_COMPRESSED. No `setName`: this is a standalone.

use bson::{DateTime, Document, doc};

use super::Ctx;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::session::SESSION_TIMEOUT_MINUTES;
use crate::wire::{MAX_DOCUMENT_LEN, MAX_MESSAGE_LEN, MAX_WRITE_BATCH};

/// The wire version of MongoDB 7.0, the server this one answers as.
pub const MAX_WIRE_VERSION: i32 = 21;

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
