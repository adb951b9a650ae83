//! Running one command: look it up, check it out of its session, put it in its
//! transaction or give it its retry identity, run it, and stamp the reply with the
//! cluster time.
//!
//! ```text
//! transaction statement   {..., lsid, txnNumber: Long, autocommit: false, startTransaction?: true}
//! retryable write         {insert | update | delete | findAndModify ..., lsid, txnNumber: Long}
//! every reply (replica set) {..., operationTime: Timestamp,
//!                            $clusterTime: {clusterTime: Timestamp, signature: {hash, keyId}}}
//! ```
//!
//! Transaction rules are mongod's: a number lower than the session's highest is
//! `TransactionTooOld` (225); a statement of a transaction that is not open is
//! `NoSuchTransaction` (251, labelled `TransientTransactionError`); a statement of a
//! committed one `TransactionCommitted` (256); commands a transaction cannot run are
//! `OperationNotSupportedInTransaction` (263); a statement that fails aborts its
//! transaction. A standalone server refuses transaction numbers altogether (code 20).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};

use super::context::{Ctx, CursorBatch, ReadConcern, Reply};
use super::{COMMANDS, Handler};
use crate::conn::ConnInfo;
use crate::engine::agg::expr::{CommandClock, with_clock};
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::replset::oplog::SessionInfo;
use crate::replset::retry::{self, Outcome, Record};
use crate::replset::txn::{Phase, TRANSIENT};
use crate::session::SessionData;
use crate::state::{Counters, ServerState};
use crate::wire::op_msg::DocumentSequence;

/// Commands a transaction may run.
const IN_TRANSACTION: &[&str] = &[
    "find",
    "getMore",
    "killCursors",
    "insert",
    "bulkWrite",
    "update",
    "delete",
    "findAndModify",
    "findandmodify",
    "aggregate",
    "distinct",
    "create",
    "createIndexes",
    "commitTransaction",
    "abortTransaction",
    "prepareTransaction",
];

/// Commands a driver retries with the same transaction number.
const RETRYABLE: &[&str] = &[
    "insert",
    "bulkWrite",
    "update",
    "delete",
    "findAndModify",
    "findandmodify",
    "commitTransaction",
    "abortTransaction",
];

/// Runs one command and returns its reply (an error reply on failure).
pub fn execute(
    state: &ServerState,
    conn: &ConnInfo,
    db: &str,
    body: &Document,
    documents: Option<&DocumentSequence>,
) -> Reply {
    let _running = state.operations.begin(conn, db, body);
    let started = std::time::Instant::now();
    crate::profiler::start(state, db);
    let operation_time = Cell::new(None);
    let batch = RefCell::new(None);
    let clock = CommandClock {
        now: bson::DateTime::now(),
        cluster_time: state.is_replica_set().then(|| state.repl.cluster_time()),
    };
    let outcome = with_clock(clock, || {
        dispatch(state, conn, db, body, documents, &operation_time, &batch)
    });
    let (doc, batch) = match outcome {
        Ok(mut reply) => {
            if !reply.contains_key("ok") {
                reply.insert("ok", 1.0);
            }
            (reply, batch.into_inner())
        }
        Err(e) => (e.to_reply(), None),
    };
    crate::profiler::finished(
        state,
        conn,
        crate::profiler::Finished {
            db,
            body,
            reply: &doc,
            returned: batch.as_ref().map(|b| b.docs.len()),
            batch_bytes: batch.as_ref().map_or(0, |b| b.docs.bytes()),
            elapsed: started.elapsed(),
        },
    );
    Reply {
        doc: stamp_cluster_time(state, doc, operation_time.get()),
        batch,
    }
}

/// Adds `operationTime` (the time of what the command wrote or read, else the cluster
/// time) and `$clusterTime`, as every reply of a replica-set member has them.
pub fn stamp_cluster_time(
    state: &ServerState,
    mut reply: Document,
    operation_time: Option<bson::Timestamp>,
) -> Document {
    if state.is_replica_set() {
        let cluster_time = state.repl.cluster_time();
        reply.insert("operationTime", operation_time.unwrap_or(cluster_time));
        reply.insert("$clusterTime", cluster_time_doc(cluster_time));
    }
    reply
}

/// `$clusterTime` as mongod sends it without keys to sign with.
fn cluster_time_doc(ts: bson::Timestamp) -> Document {
    doc! {
        "clusterTime": ts,
        "signature": {
            "hash": Binary { subtype: BinarySubtype::Generic, bytes: vec![0; 20] },
            "keyId": 0i64,
        },
    }
}

fn lookup(name: &str) -> CmdResult<(Handler, bool)> {
    COMMANDS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, handler, _, admin_only)| (*handler, *admin_only))
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::CommandNotFound,
                format!("no such command: '{name}'"),
            )
        })
}

/// Under `--auth`: refuses a command the connection's users may not run (13), but
/// lets a local client create the first user while there is none.
fn authorize(
    state: &ServerState,
    conn: &ConnInfo,
    db: &str,
    name: &str,
    body: &Document,
) -> CmdResult<()> {
    let allowed = conn.auth().allows(name, db, body);
    match allowed {
        Ok(()) => Ok(()),
        Err(refusal) => {
            let no_users = || {
                let snapshot = state.repl.snapshot();
                Ok(!crate::auth::users::any(&*snapshot.snapshot)?)
            };
            if crate::auth::localhost_exception(name, conn.loopback, no_users)? {
                return Ok(());
            }
            Err(refusal.to_error(name))
        }
    }
}

fn txn_number(body: &Document) -> CmdResult<Option<i64>> {
    match body.get("txnNumber") {
        None => Ok(None),
        Some(Bson::Int64(n)) => Ok(Some(*n)),
        Some(Bson::Int32(n)) => Ok(Some(i64::from(*n))),
        Some(other) => Err(CommandError::type_mismatch(format!(
            "BSON field 'txnNumber' is the wrong type, expected type 'long', got {other}"
        ))),
    }
}

fn dispatch(
    state: &ServerState,
    conn: &ConnInfo,
    db: &str,
    body: &Document,
    documents: Option<&DocumentSequence>,
    operation_time: &Cell<Option<bson::Timestamp>>,
    batch: &RefCell<Option<CursorBatch>>,
) -> CmdResult<Document> {
    let Some(name) = body.keys().next() else {
        return Err(CommandError::new(
            ErrorCode::CommandNotFound,
            "no command given: the command document is empty",
        ));
    };
    Counters::add(&state.counters.command, 1);
    let (handler, admin_only) = lookup(name)?;
    if state.config.auth {
        authorize(state, conn, db, name, body)?;
    }
    if admin_only && db != "admin" {
        return Err(CommandError::new(
            ErrorCode::Unauthorized,
            format!("{name} may only be run against the admin database."),
        ));
    }
    crate::oplog_collection::refuse_writes(state, name, db, body)?;
    crate::auth::users::refuse_direct_writes(name, db, body)?;
    let number = txn_number(body)?;
    let autocommit = body.get("autocommit");
    let starts = body.get_bool("startTransaction").unwrap_or(false);
    if !state.is_replica_set()
        && (number.is_some() || autocommit.is_some() || body.contains_key("startTransaction"))
    {
        // A standalone server has no transactions (and no retryable writes): mongod
        // refuses transaction numbers outright, and drivers understand that answer.
        return Err(CommandError::new(
            ErrorCode::IllegalOperation,
            "Transaction numbers are only allowed on a replica set member or mongos",
        ));
    }
    match (body.get("startTransaction"), autocommit) {
        (Some(Bson::Boolean(false)), _) => {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "Specifying startTransaction=false is not allowed.",
            ));
        }
        (Some(_), None) => {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "'startTransaction' field requires 'autocommit' field to also be specified",
            ));
        }
        _ => {}
    }
    let read_concern = ReadConcern::parse(body)?;
    let deadline = match body
        .get("maxTimeMS")
        .and_then(crate::engine::arith::to_i64_exact)
    {
        Some(ms) if ms > 0 => Instant::now() + Duration::from_millis(ms as u64),
        _ => Instant::now() + Duration::from_secs(3600),
    };
    let mut ctx = Ctx {
        state,
        conn,
        db,
        body,
        documents,
        txn: None,
        retry: None,
        read_concern,
        deadline,
        operation_time: Cell::new(None),
        snapshot_time: Cell::new(None),
        batch,
    };
    let lsid = body.get("lsid");
    let Some(lsid) = lsid else {
        if number.is_some() || autocommit.is_some() {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "Transaction number requires a session ID to also be specified",
            ));
        }
        let out = handler(&ctx);
        operation_time.set(ctx.operation_time.get());
        return out;
    };
    let session = state.sessions.get(lsid);
    let mut data = session.lock();
    let out = match (number, autocommit) {
        (None, None) => handler(&ctx),
        (None, Some(_)) => Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "'autocommit' field requires a transaction number to also be specified",
        )),
        (Some(n), None) => {
            if !RETRYABLE[..5].contains(&name.as_str()) {
                Err(CommandError::new(
                    ErrorCode::Location(50768),
                    format!(
                        "txnNumber may only be provided for multi-document transactions and retryable write commands. autocommit:false was not provided, and {name} is not a retryable write command."
                    ),
                ))
            } else {
                retryable(&mut ctx, &mut data, lsid, n, handler)
            }
        }
        (Some(n), Some(autocommit)) => {
            if autocommit != &Bson::Boolean(false) {
                Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    "Specifying autocommit=true is not allowed.",
                ))
            } else {
                transaction_statement(&mut ctx, &mut data, lsid, n, starts, name, handler)
            }
        }
    };
    operation_time.set(ctx.operation_time.get());
    out
}

/// The session's retry record, and the highest transaction number the session has
/// used, in memory or on record.
fn history(
    ctx: &Ctx<'_>,
    data: &SessionData,
    lsid: &Bson,
) -> CmdResult<(Option<Record>, Option<i64>)> {
    let recorded = retry::get(&*ctx.state.repl.snapshot().snapshot, lsid)?;
    let highest = match (data.txn_number, recorded.as_ref().map(|r| r.txn_number)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok((recorded, highest))
}

fn session_text(lsid: &Bson) -> String {
    lsid.as_document()
        .and_then(|d| d.get("id"))
        .map(|id| id.to_string())
        .unwrap_or_else(|| lsid.to_string())
}

fn retryable(
    ctx: &mut Ctx<'_>,
    data: &mut SessionData,
    lsid: &Bson,
    n: i64,
    handler: Handler,
) -> CmdResult<Document> {
    let (recorded, highest) = history(ctx, data, lsid)?;
    if let Some(h) = highest
        && n < h
    {
        return Err(CommandError::new(
            ErrorCode::TransactionTooOld,
            format!(
                "Retryable write with txnNumber {n} is prohibited on session {} because a newer retryable write with txnNumber {h} has already started on this session.",
                session_text(lsid)
            ),
        ));
    }
    if let Some(record) = recorded
        && record.txn_number == n
    {
        return match record.outcome {
            Outcome::Write(reply) => Ok(reply),
            Outcome::Committed => Err(CommandError::new(
                ErrorCode::Location(217),
                "Cannot retry a retryable write that has been converted into a transaction",
            )),
        };
    }
    if let Some(txn) = data.txn.as_mut() {
        ctx.state.repl.abort_transaction(txn);
    }
    data.txn = None;
    data.txn_number = Some(n);
    ctx.retry = Some(SessionInfo {
        lsid: lsid.clone(),
        txn_number: n,
    });
    handler(ctx)
}

fn no_such_transaction(message: String) -> CommandError {
    CommandError::new(ErrorCode::NoSuchTransaction, message).with_label(TRANSIENT)
}

fn transaction_statement(
    ctx: &mut Ctx<'_>,
    data: &mut SessionData,
    lsid: &Bson,
    n: i64,
    starts: bool,
    name: &str,
    handler: Handler,
) -> CmdResult<Document> {
    let state = ctx.state;
    if n < 0 {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "Transaction number cannot be negative",
        ));
    }
    if !IN_TRANSACTION.contains(&name) {
        return Err(CommandError::new(
            ErrorCode::OperationNotSupportedInTransaction,
            format!("Cannot run '{name}' in a multi-document transaction."),
        ));
    }
    let (recorded, highest) = history(ctx, data, lsid)?;
    if starts {
        if let Some(h) = highest
            && n < h
        {
            return Err(CommandError::new(
                ErrorCode::TransactionTooOld,
                format!(
                    "Cannot start transaction {n} on session {} because a newer transaction {h} has already started.",
                    session_text(lsid)
                ),
            ));
        }
        if highest == Some(n) {
            return Err(CommandError::new(
                ErrorCode::ConflictingOperationInProgress,
                "Only servers in a sharded cluster can start a new transaction at the active transaction number",
            ));
        }
        if let Some(what) = match name {
            "commitTransaction" => Some("a commit"),
            "abortTransaction" => Some("an abort"),
            _ => None,
        } {
            return Err(CommandError::new(
                ErrorCode::OperationNotSupportedInTransaction,
                format!("Cannot start a transaction with {what}"),
            ));
        }
        if let Some(old) = data.txn.as_mut() {
            state.repl.abort_transaction(old);
        }
        let snapshot = match &ctx.read_concern {
            Some(ReadConcern {
                at_cluster_time: Some(ts),
                ..
            }) => state.repl.snapshot_at(*ts)?,
            _ => state.repl.snapshot(),
        };
        data.txn = Some(state.repl.begin_transaction(lsid.clone(), n, &snapshot));
        data.txn_number = Some(n);
    } else {
        if ctx.read_concern.is_some() {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "Only the first command in a transaction may specify a readConcern",
            ));
        }
        let current = data.txn.as_ref().filter(|t| t.number == n);
        match current.map(|t| &t.phase) {
            None => {
                // A commit retried after the session was forgotten (a restart): the
                // record says whether it committed.
                if name == "commitTransaction"
                    && recorded
                        .is_some_and(|r| r.txn_number == n && r.outcome == Outcome::Committed)
                {
                    return Ok(Document::new());
                }
                let active = highest
                    .map(|h| format!(" The active transaction number is {h}"))
                    .unwrap_or_default();
                return Err(no_such_transaction(format!(
                    "Given transaction number {n} does not match any in-progress transactions.{active}"
                )));
            }
            Some(Phase::Aborted) => {
                return Err(no_such_transaction(format!(
                    "Transaction with {{ txnNumber: {n} }} has been aborted."
                )));
            }
            Some(Phase::Committed(_)) if name != "commitTransaction" => {
                return Err(CommandError::new(
                    ErrorCode::TransactionCommitted,
                    format!("Transaction with {{ txnNumber: {n} }} has been committed."),
                ));
            }
            Some(_) => {}
        }
    }
    if body_has_write_concern(ctx.body) && !matches!(name, "commitTransaction" | "abortTransaction")
    {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "writeConcern is not allowed within a multi-statement transaction",
        ));
    }
    let cell = RefCell::new(data.txn.take().expect("the transaction was set above"));
    let statement = Ctx {
        state: ctx.state,
        conn: ctx.conn,
        db: ctx.db,
        body: ctx.body,
        documents: ctx.documents,
        txn: Some(&cell),
        retry: None,
        read_concern: ctx.read_concern.clone(),
        deadline: ctx.deadline,
        operation_time: Cell::new(None),
        snapshot_time: Cell::new(None),
        batch: ctx.batch,
    };
    let out = handler(&statement);
    ctx.operation_time.set(statement.operation_time.get());
    drop(statement);
    let mut txn = cell.into_inner();
    let out = match out {
        Err(e) if !matches!(name, "commitTransaction" | "abortTransaction") => {
            state.repl.abort_transaction(&mut txn);
            Err(transient_label(e))
        }
        Err(e) if e.code == ErrorCode::NoSuchTransaction => Err(transient_label(e)),
        other => other,
    };
    data.txn = Some(txn);
    out
}

fn body_has_write_concern(body: &Document) -> bool {
    body.contains_key("writeConcern")
}

/// Errors a whole transaction may be retried after carry `TransientTransactionError`.
fn transient_label(e: CommandError) -> CommandError {
    match e.code.code() {
        112 | 24 | 251 | 239 | 246 | 250 | 272 | 267 => e.with_label(TRANSIENT),
        _ => e,
    }
}
