//! `saslStart` / `saslContinue`: logging in with SCRAM; `logout`.
//!
//! ```text
//! request  {saslStart: 1, mechanism: "SCRAM-SHA-256", payload: BinData(client-first),
//!           options?: {skipEmptyExchange: true}, $db: <the user's database>}
//! reply    {conversationId: 1, done: false, payload: BinData(server-first), ok: 1}
//! request  {saslContinue: 1, conversationId: 1, payload: BinData(client-final)}
//! reply    {conversationId: 1, done: true, payload: BinData(server-final), ok: 1}
//! ```
//!
//! Without `skipEmptyExchange` the proof's reply says `done: false`, and one more
//! `saslContinue` with an empty payload ends the conversation. Every failure (unknown
//! user, wrong password, a malformed message) is `AuthenticationFailed` (18) with the
//! same message; the reason goes to the log. `hello`'s `speculativeAuthenticate` runs
//! [`start`] for the first step, saving a round trip.

use std::sync::OnceLock;

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};

use super::Ctx;
use crate::auth::scram::{Mechanism, ServerFirst};
use crate::auth::{Conversation, Identity, Step, failed, users};
use crate::conn::ConnInfo;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::state::ServerState;

pub fn sasl_start(ctx: &Ctx<'_>) -> CmdResult<Document> {
    start(ctx.state, ctx.conn, ctx.db, ctx.body)
}

/// The first step of a conversation with the users of `db`.
pub fn start(
    state: &ServerState,
    conn: &ConnInfo,
    db: &str,
    body: &Document,
) -> CmdResult<Document> {
    let name = body.get_str("mechanism").map_err(|_| {
        CommandError::new(
            ErrorCode::BadValue,
            "saslStart needs a mechanism (SCRAM-SHA-256 or SCRAM-SHA-1)",
        )
    })?;
    let Some(mechanism) = Mechanism::from_name(name) else {
        return Err(CommandError::new(
            ErrorCode::MechanismUnavailable,
            format!("Received authentication for mechanism {name} which is not enabled"),
        ));
    };
    let payload = payload(body)?;
    let snapshot = state.repl.snapshot();
    let mut nonce = [0u8; 24];
    nonce.fill_with(rand::random);
    let started = ServerFirst::start(
        mechanism,
        &payload,
        |user| {
            users::get(&*snapshot.snapshot, db, user)
                .ok()
                .flatten()
                .and_then(|u| u.credential(mechanism))
        },
        &base64_encode(&nonce),
        |user| fake_salt(mechanism, db, user),
    );
    let (first, server_first) = started.map_err(|e| refuse(state, conn, db, &e.to_string()))?;
    let skip_empty = body
        .get_document("options")
        .ok()
        .and_then(|o| o.get_bool("skipEmptyExchange").ok())
        .unwrap_or(false);
    let mut session = conn.auth();
    let id = session.next_conversation_id();
    session.conversation = Some(Conversation {
        id,
        db: db.to_string(),
        skip_empty,
        step: Step::Proof(first),
    });
    Ok(doc! {"conversationId": id, "done": false, "payload": binary(server_first)})
}

pub fn sasl_continue(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let id = ctx
        .body
        .get("conversationId")
        .and_then(crate::engine::arith::to_i64_exact);
    let payload = payload(ctx.body)?;
    let mut session = ctx.conn.auth();
    let Some(conversation) = session.conversation.take() else {
        return Err(CommandError::new(
            ErrorCode::ProtocolError,
            "No SASL session state found",
        ));
    };
    if id != Some(i64::from(conversation.id)) || conversation.db != ctx.db {
        return Err(CommandError::new(
            ErrorCode::ProtocolError,
            "Mismatched conversation id or database in saslContinue",
        ));
    }
    let id = conversation.id;
    match conversation.step {
        Step::Proof(first) => {
            let server_final = first.finish(&payload).map_err(|e| {
                refuse(ctx.state, ctx.conn, ctx.db, &format!("{}: {e}", first.user))
            })?;
            // The roles as stored now: a user dropped since the first step fails.
            let user = users::get(&*ctx.state.repl.snapshot().snapshot, ctx.db, &first.user)?
                .ok_or_else(|| refuse(ctx.state, ctx.conn, ctx.db, "the user was dropped"))?;
            let identity = Identity {
                user: user.user,
                db: user.db,
                roles: user.roles,
            };
            let done = conversation.skip_empty;
            if done {
                log_success(ctx.state, ctx.conn, &identity);
                session.logged_in(identity);
            } else {
                session.conversation = Some(Conversation {
                    id,
                    db: conversation.db,
                    skip_empty: false,
                    step: Step::Done(identity),
                });
            }
            Ok(doc! {"conversationId": id, "done": done, "payload": binary(server_final)})
        }
        Step::Done(identity) => {
            log_success(ctx.state, ctx.conn, &identity);
            session.logged_in(identity);
            Ok(doc! {"conversationId": id, "done": true, "payload": binary(String::new())})
        }
    }
}

/// `{logout: 1}`: forgets the user logged in on this database.
pub fn logout(ctx: &Ctx<'_>) -> CmdResult<Document> {
    ctx.conn.auth().users.retain(|u| u.db != ctx.db);
    Ok(Document::new())
}

/// The payload as text: drivers send it as binary data, some tools as a string.
fn payload(body: &Document) -> CmdResult<String> {
    let bytes = match body.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        Some(Bson::String(s)) => s.clone().into_bytes(),
        _ => {
            return Err(CommandError::new(
                ErrorCode::BadValue,
                "a SASL command needs its payload (binary data)",
            ));
        }
    };
    String::from_utf8(bytes).map_err(|_| failed())
}

fn binary(text: String) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: text.into_bytes(),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The salt an unknown user gets: stable for a name for the server's life (asking
/// twice gives the same answer, as for a real user), unrelated to any real salt.
fn fake_salt(mechanism: Mechanism, db: &str, user: &str) -> Vec<u8> {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let mut s = [0u8; 32];
        s.fill_with(rand::random);
        s
    });
    let len = match mechanism {
        Mechanism::Sha1 => 16,
        Mechanism::Sha256 => 28,
    };
    crate::auth::scram::keyed_digest(secret, format!("{db}.{user}").as_bytes())[..len].to_vec()
}

/// Logs why a login failed and returns what the client sees.
fn refuse(state: &ServerState, conn: &ConnInfo, db: &str, why: &str) -> CommandError {
    let line = format!(
        "Authentication failed on database {db} from client {}: {why}",
        conn.peer
    );
    tracing::info!("{line}");
    state.log.record(line);
    failed()
}

fn log_success(state: &ServerState, conn: &ConnInfo, who: &Identity) {
    let line = format!(
        "Successfully authenticated as {}@{} from client {}",
        who.user, who.db, conn.peer
    );
    tracing::debug!("{line}");
    state.log.record(line);
}
