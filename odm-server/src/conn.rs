//! One task per client connection: read a message, run its command, write the reply.
//!
//! A frame that cannot be parsed (bad length, truncated, unknown section kind, bad
//! checksum, not BSON) closes *this* connection with a log line: after a broken frame
//! the stream is no longer at a message boundary. Everything else (unknown commands,
//! bad arguments, documents nested too deep) is answered with an error reply and the
//! connection stays open. Commands run on tokio's blocking pool, since storage does
//! blocking I/O, under [`crate::depth::guard_command`]: that pool is the embedding
//! application's, and its threads may have little stack. The connection task only moves
//! bytes.

use std::net::SocketAddr;
use std::sync::Arc;

use bson::{Document, doc};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::cmd;
use crate::error::{CommandError, ErrorCode};
use crate::server::{Counters, ServerState};
use crate::wire::{self, Header, Request, WireError, op_msg, op_query};

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub id: u64,
    pub peer: SocketAddr,
}

/// Commands a legacy OP_QUERY may carry: the handshake and authentication only.
const OP_QUERY_COMMANDS: &[&str] = &["isMaster", "ismaster", "hello", "saslStart", "saslContinue"];

/// Serves one connection until the client leaves, a frame is malformed, or the server
/// stops.
pub async fn serve(
    socket: TcpStream,
    peer: SocketAddr,
    id: u64,
    state: Arc<ServerState>,
    mut stopped: watch::Receiver<bool>,
) {
    Counters::add(&state.counters.connections_current, 1);
    Counters::add(&state.counters.connections_total, 1);
    let conn = ConnInfo { id, peer };
    tracing::debug!(conn = id, %peer, "connection accepted");
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::new(reader);
    loop {
        let message = tokio::select! {
            _ = stopped.changed() => break,
            m = wire::read_message(&mut reader) => m,
        };
        let (header, body) = match message {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                log_closed(
                    &state,
                    &conn,
                    "the client closed the connection in the middle of a message",
                );
                break;
            }
            Err(e) => {
                log_closed(&state, &conn, &e.to_string());
                break;
            }
        };
        let reply = match wire::parse_request(&header, &body) {
            Ok(request) => respond(&state, &conn, &header, request).await,
            Err(WireError::TooDeep(message)) => {
                // mongod answers this parse error and keeps the connection (Overflow is
                // not one of its connection-fatal parse errors).
                let err = CommandError::new(ErrorCode::Overflow, message);
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
            Err(e) => {
                log_closed(&state, &conn, &e.to_string());
                break;
            }
        };
        if let Some(bytes) = reply
            && let Err(e) = writer.write_all(&bytes).await
        {
            log_closed(&state, &conn, &format!("could not send the reply: {e}"));
            break;
        }
    }
    state
        .counters
        .connections_current
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(conn = id, "connection closed");
}

fn log_closed(state: &ServerState, conn: &ConnInfo, why: &str) {
    let line = format!("closing connection {} from {}: {why}", conn.id, conn.peer);
    tracing::warn!("{line}");
    state.log.record(line);
}

/// Runs a parsed request; `None` when the client asked for no reply.
async fn respond(
    state: &Arc<ServerState>,
    conn: &ConnInfo,
    header: &Header,
    request: Request,
) -> Option<Vec<u8>> {
    match request {
        Request::Msg(msg) => {
            let more_to_come = msg.more_to_come();
            let reply = match msg.body.get_str("$db") {
                Ok(db) => {
                    let db = db.to_owned();
                    run(state, conn, db, msg.body).await
                }
                Err(_) => CommandError::new(
                    ErrorCode::Location(40571),
                    "OP_MSG requests require a $db argument",
                )
                .to_reply(),
            };
            (!more_to_come).then(|| op_msg::encode_reply(header.request_id, &reply))
        }
        Request::Query(query) => {
            let Some(db) = query.command_db().map(str::to_owned) else {
                let failure = doc! {
                    "$err": "OP_QUERY is no longer supported for queries; use the find command over OP_MSG",
                    "code": ErrorCode::UnsupportedOpQueryCommand.code(),
                };
                return Some(op_query::encode_reply(
                    header.request_id,
                    op_query::QUERY_FAILURE,
                    &failure,
                ));
            };
            let command = query.command();
            let name = command.keys().next().cloned().unwrap_or_default();
            let reply = if OP_QUERY_COMMANDS.contains(&name.as_str()) {
                run(state, conn, db, command).await
            } else {
                CommandError::new(
                    ErrorCode::UnsupportedOpQueryCommand,
                    format!("Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."),
                )
                .to_reply()
            };
            Some(op_query::encode_reply(header.request_id, 0, &reply))
        }
    }
}

/// Runs a command on the blocking pool.
async fn run(state: &Arc<ServerState>, conn: &ConnInfo, db: String, body: Document) -> Document {
    let state = state.clone();
    let conn = conn.clone();
    // The blocking thread is the embedding application's (2 MiB by default): the guard
    // makes sure a command starts with the stack `depth` budgets for.
    let command = move || crate::depth::guard_command(|| cmd::execute(&state, &conn, &db, &body));
    match tokio::task::spawn_blocking(command).await {
        Ok(reply) => reply,
        Err(e) => {
            CommandError::internal(format!("the command failed unexpectedly: {e}")).to_reply()
        }
    }
}
