//! One thread per client connection: read a message, run its command, write the reply.
//!
//! A command runs on the thread that read it, as mongod runs one thread per connection:
//! no hand-off to another thread sits between a request and its reply, and a command
//! that blocks (a durable commit, a tailable cursor awaiting data, a long scan) holds up
//! only its own client, never the embedding application's async runtime. Each command
//! starts under [`crate::depth::guard_command`], which gives it the stack `depth`
//! budgets for.
//!
//! A frame that cannot be parsed (bad length, truncated, unknown section kind, bad
//! checksum, not BSON) closes *this* connection with a log line: after a broken frame
//! the stream is no longer at a message boundary. Everything else (unknown commands,
//! bad arguments, documents nested too deep) is answered with an error reply and the
//! connection stays open.
//!
//! [`listen`] accepts connections (TCP, and a Unix socket where asked) and keeps the
//! register of open ones that shutdown closes; [`tls`] puts TLS on the TCP ones.

pub(crate) mod listen;
pub(crate) mod tls;

use std::io::{BufReader, Read, Write};
use std::sync::Arc;

use bson::{Document, doc};

use crate::cmd::{self, Reply};
use crate::error::{CommandError, ErrorCode};
use crate::state::{Counters, ServerState};
use crate::wire::op_msg::DocumentSequence;
use crate::wire::{self, Header, Request, WireError, op_msg, op_query};

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub id: u64,
    /// The client's address (`host:port`, or `anonymous unix socket`), as `whatsmyuri`
    /// and the log name it.
    pub peer: String,
    /// The application name the client gave in its handshake (`client.application.name`),
    /// which fail points may target.
    pub app_name: Option<String>,
    /// Whether the client is on this machine (loopback or the Unix socket), for the
    /// localhost exception.
    pub loopback: bool,
    /// Who the connection has logged in as, and its SASL conversation.
    pub auth: Arc<std::sync::Mutex<crate::auth::Session>>,
}

impl ConnInfo {
    /// A connection from `peer` (`host:port`; anything else is the Unix socket).
    pub fn new(id: u64, peer: String) -> ConnInfo {
        let loopback = peer
            .parse::<std::net::SocketAddr>()
            .map_or(true, |a| a.ip().is_loopback());
        ConnInfo {
            id,
            peer,
            app_name: None,
            loopback,
            auth: Arc::default(),
        }
    }

    /// The connection's authentication state.
    pub fn auth(&self) -> std::sync::MutexGuard<'_, crate::auth::Session> {
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What to do after a request.
pub(crate) enum Answer {
    Reply(Vec<u8>),
    /// Nothing to send (`moreToCome`).
    Silent,
}

/// Commands a legacy OP_QUERY may carry: the handshake and authentication only.
const OP_QUERY_COMMANDS: &[&str] = &["isMaster", "ismaster", "hello", "saslStart", "saslContinue"];

/// The largest request buffer a connection keeps between messages.
const KEPT_BODY_CAPACITY: usize = 1024 * 1024;

/// Serves one connection on the calling thread until the client leaves, a frame is
/// malformed, or the server closes the connection (see [`listen::Connections`]).
pub(crate) fn serve<S: Read + Write>(socket: S, conn: ConnInfo, state: &Arc<ServerState>) {
    Counters::add(&state.counters.connections_current, 1);
    Counters::add(&state.counters.connections_total, 1);
    let mut conn = conn;
    tracing::debug!(conn = conn.id, peer = %conn.peer, "connection accepted");
    let mut socket = BufReader::new(socket);
    // One buffer for every request body of the connection.
    let mut body = Vec::new();
    loop {
        let header = match wire::read_message_blocking(&mut socket, &mut body) {
            Ok(Some(header)) => header,
            Ok(None) => break,
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                log_closed(
                    state,
                    &conn,
                    "the client closed the connection in the middle of a message",
                );
                break;
            }
            Err(e) => {
                if !state.stopping.is_set() {
                    log_closed(state, &conn, &e.to_string());
                }
                break;
            }
        };
        let reply = match wire::parse_request(&header, &body) {
            Ok(request) => match respond(state, &mut conn, &header, request) {
                Some(Answer::Reply(bytes)) => Some(bytes),
                Some(Answer::Silent) => None,
                // A fail point's `closeConnection`: no reply, and the connection ends.
                None => {
                    tracing::debug!(conn = conn.id, "closed by a fail point");
                    break;
                }
            },
            Err(e) => {
                let Some(err) = answered(&e) else {
                    log_closed(state, &conn, &e.to_string());
                    break;
                };
                let more_to_come = header.op_code == wire::OP_MSG
                    && body.get(..4).is_some_and(|f| {
                        u32::from_le_bytes([f[0], f[1], f[2], f[3]]) & op_msg::MORE_TO_COME != 0
                    });
                match header.op_code {
                    _ if more_to_come => None,
                    wire::OP_QUERY => Some(op_query::encode_reply(
                        header.request_id,
                        0,
                        &err.to_reply(),
                    )),
                    _ => Some(op_msg::encode_reply(header.request_id, &err.to_reply())),
                }
            }
        };
        if let Some(bytes) = reply
            && let Err(e) = socket.get_mut().write_all(&bytes)
        {
            let why = if wire::is_timeout(&e) {
                "the client stopped reading its replies (nothing taken for the stall timeout)"
                    .to_owned()
            } else {
                format!("could not send the reply: {e}")
            };
            log_closed(state, &conn, &why);
            break;
        }
        // A large message's buffer is not kept for the small ones that follow.
        if body.capacity() > KEPT_BODY_CAPACITY {
            body = Vec::new();
        }
    }
    state
        .counters
        .connections_current
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(conn = conn.id, "connection closed");
}

/// The parse errors answered with an error reply, the connection kept: mongod does not
/// count them among its connection-fatal ones, since the frame itself was sound.
fn answered(e: &WireError) -> Option<CommandError> {
    match e {
        WireError::TooDeep(message) => Some(CommandError::new(ErrorCode::Overflow, message)),
        WireError::TooManyDocuments(n) => cmd::insert::check_batch_size(*n).err(),
        _ => None,
    }
}

fn log_closed(state: &ServerState, conn: &ConnInfo, why: &str) {
    let line = format!("closing connection {} from {}: {why}", conn.id, conn.peer);
    tracing::warn!("{line}");
    state.log.record(line);
}

/// Runs a parsed request; `None`: close the connection without a reply.
pub(crate) fn respond(
    state: &Arc<ServerState>,
    conn: &mut ConnInfo,
    header: &Header,
    request: Request,
) -> Option<Answer> {
    match request {
        Request::Msg(msg) => {
            let more_to_come = msg.more_to_come();
            let reply = match msg.body.get_str("$db") {
                Ok(db) => {
                    let db = db.to_owned();
                    run(state, conn, &db, msg.body, msg.documents.as_ref())?
                }
                Err(_) => CommandError::new(
                    ErrorCode::Location(40571),
                    "OP_MSG requests require a $db argument",
                )
                .to_reply()
                .into(),
            };
            Some(match (more_to_come, &reply.batch) {
                (true, _) => Answer::Silent,
                (false, Some(batch)) => Answer::Reply(op_msg::encode_cursor_reply(
                    header.request_id,
                    &reply.doc,
                    batch.field,
                    &batch.docs,
                )),
                (false, None) => Answer::Reply(op_msg::encode_reply(header.request_id, &reply.doc)),
            })
        }
        Request::Query(query) => {
            let Some(db) = query.command_db().map(str::to_owned) else {
                let failure = doc! {
                    "$err": "OP_QUERY is no longer supported for queries; use the find command over OP_MSG",
                    "code": ErrorCode::UnsupportedOpQueryCommand.code(),
                };
                return Some(Answer::Reply(op_query::encode_reply(
                    header.request_id,
                    op_query::QUERY_FAILURE,
                    &failure,
                )));
            };
            let command = query.command();
            let name = command.keys().next().cloned().unwrap_or_default();
            // The handshake and authentication, which never answer with a cursor.
            let reply = if OP_QUERY_COMMANDS.contains(&name.as_str()) {
                run(state, conn, &db, command, None)?.doc
            } else {
                CommandError::new(
                    ErrorCode::UnsupportedOpQueryCommand,
                    format!("Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."),
                )
                .to_reply()
            };
            Some(Answer::Reply(op_query::encode_reply(
                header.request_id,
                0,
                &reply,
            )))
        }
    }
}

/// The handshake commands, which also name the client application.
fn is_handshake(name: &str) -> bool {
    matches!(name, "hello" | "isMaster" | "ismaster")
}

/// Waits as an awaitable `hello` asks (`topologyVersion` + `maxAwaitTimeMS`): the
/// topology of a one-member set never changes, so a client that knows the current one
/// waits the whole time, unless the server stops first. Returns an error reply for a
/// malformed request.
fn await_topology_change(state: &ServerState, body: &Document) -> Option<Document> {
    let version = body.get_document("topologyVersion").ok();
    let max_await = body
        .get("maxAwaitTimeMS")
        .and_then(crate::engine::arith::to_i64_exact);
    let (version, max_await) = match (version, max_await) {
        (None, None) => return None,
        (Some(_), None) => {
            return Some(
                CommandError::new(
                    ErrorCode::Location(31368),
                    "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'",
                )
                .to_reply(),
            );
        }
        (None, Some(_)) => {
            return Some(
                CommandError::new(
                    ErrorCode::Location(31368),
                    "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'",
                )
                .to_reply(),
            );
        }
        (Some(v), Some(ms)) => (v, ms),
    };
    let ours = state.repl.topology.topology_version();
    if version.get("processId") != ours.get("processId") {
        return None; // another process's view: answer at once
    }
    let counter = version
        .get("counter")
        .and_then(crate::engine::arith::to_i64_exact);
    if counter.is_some_and(|c| c > 0) {
        return Some(
            CommandError::new(
                ErrorCode::Location(31382),
                format!(
                    "Received a topology version with counter: {} which is greater than the server topology version counter: 0",
                    counter.unwrap_or(0)
                ),
            )
            .to_reply(),
        );
    }
    state
        .stopping
        .wait(std::time::Duration::from_millis(max_await.max(0) as u64));
    None
}

/// Runs a command, after what an enabled fail point does to it.
/// `None`: close the connection without a reply.
fn run(
    state: &Arc<ServerState>,
    conn: &mut ConnInfo,
    db: &str,
    body: Document,
    documents: Option<&DocumentSequence>,
) -> Option<Reply> {
    let name = body.keys().next().map(String::as_str).unwrap_or_default();
    if is_handshake(name)
        && let Ok(app) = body
            .get_document("client")
            .and_then(|c| c.get_document("application"))
            .and_then(|a| a.get_str("name"))
    {
        conn.app_name = Some(app.to_owned());
    }
    let retryable_write = body.contains_key("txnNumber") && !body.contains_key("autocommit");
    let fault = state
        .fail_points
        .enter(name, conn.app_name.as_deref(), retryable_write);
    if let Some(fault) = &fault {
        if let Some(block) = fault.block {
            std::thread::sleep(block);
        }
        if fault.close_connection {
            return None;
        }
        if let Some(e) = &fault.error {
            return Some(crate::cmd::stamp_cluster_time(state, e.to_reply(), None).into());
        }
    }
    if is_handshake(name)
        && let Some(error) = await_topology_change(state, &body)
    {
        return Some(error.into());
    }
    let mut reply = crate::depth::guard_command(|| cmd::execute(state, conn, db, &body, documents));
    if let Some(wce) = fault.and_then(|f| f.write_concern_error) {
        reply.doc.insert("writeConcernError", wce);
    }
    Some(reply)
}
