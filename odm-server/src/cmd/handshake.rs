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
use crate::auth::users;
use crate::error::CmdResult;
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
    // `saslSupportedMechs: "db.user"`: the mechanisms that user can log in with; left
    // out for a user that does not exist, as mongod does.
    if let Ok(name) = ctx.body.get_str("saslSupportedMechs")
        && let Some((db, user)) = name.split_once('.')
        && let Some(user) = users::get(&*ctx.state.repl.snapshot().snapshot, db, user)?
    {
        reply.insert("saslSupportedMechs", user.mechanisms());
    }
    // The first step of a login, answered here to save a round trip; a request that
    // cannot start one is left unanswered, and the driver then sends `saslStart`.
    if let Ok(first) = ctx.body.get_document("speculativeAuthenticate")
        && let Ok(db) = first.get_str("db")
        && let Ok(started) = super::sasl::start(ctx.state, ctx.conn, db, first)
    {
        reply.insert("speculativeAuthenticate", started);
    }
    Ok(reply)
}
