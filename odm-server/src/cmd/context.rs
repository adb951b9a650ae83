//! What a command runs with ([`Ctx`]): the shared state, the connection, the command
//! document, and, for commands of a session, the transaction it runs in or the retry
//! identity of its write. [`Ctx::reader`] is the one way a command reads: the
//! transaction's snapshot with its own writes, the snapshot a `readConcern` names, or
//! the latest one.

use std::cell::{Cell, Ref, RefCell};
use std::sync::Arc;
use std::time::Instant;

use bson::{Bson, Document, Timestamp};

use crate::conn::ConnInfo;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::raw_bson::RawBatch;
use crate::replset::Published;
use crate::replset::oplog::SessionInfo;
use crate::replset::txn::Transaction;
use crate::state::ServerState;
use crate::storage::ReadTxn;
use crate::wire::op_msg::DocumentSequence;

/// `readConcern` levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Level {
    #[default]
    Local,
    Majority,
    Available,
    Linearizable,
    Snapshot,
}

/// A command's `readConcern`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadConcern {
    pub level: Level,
    pub at_cluster_time: Option<Timestamp>,
    pub after_cluster_time: Option<Timestamp>,
}

impl ReadConcern {
    pub fn parse(body: &Document) -> CmdResult<Option<ReadConcern>> {
        let rc = match body.get("readConcern") {
            None => return Ok(None),
            Some(Bson::Document(d)) => d,
            Some(other) => {
                return Err(CommandError::type_mismatch(format!(
                    "BSON field 'readConcern' is the wrong type, expected an object, got {other}"
                )));
            }
        };
        let mut out = ReadConcern::default();
        for (k, v) in rc {
            match (k.as_str(), v) {
                ("level", Bson::String(l)) => {
                    out.level = match l.as_str() {
                        "local" => Level::Local,
                        "majority" => Level::Majority,
                        "available" => Level::Available,
                        "linearizable" => Level::Linearizable,
                        "snapshot" => Level::Snapshot,
                        _ => {
                            return Err(CommandError::failed_to_parse(
                                "readConcern.level must be either 'local', 'majority', 'linearizable', 'available', or 'snapshot'",
                            ));
                        }
                    }
                }
                ("atClusterTime", Bson::Timestamp(ts)) => out.at_cluster_time = Some(*ts),
                ("afterClusterTime", Bson::Timestamp(ts)) => out.after_cluster_time = Some(*ts),
                ("afterOpTime" | "provenance", _) => {}
                ("level" | "atClusterTime" | "afterClusterTime", v) => {
                    return Err(CommandError::type_mismatch(format!(
                        "readConcern.{k} has the wrong type: {v}"
                    )));
                }
                (k, _) => {
                    return Err(CommandError::new(
                        ErrorCode::InvalidOptions,
                        format!("Unrecognized option in readConcern: {k}"),
                    ));
                }
            }
        }
        if out.at_cluster_time.is_some() && out.level != Level::Snapshot {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "atClusterTime field can be set only if level is equal to snapshot",
            ));
        }
        if out.at_cluster_time.is_some() && out.after_cluster_time.is_some() {
            return Err(CommandError::new(
                ErrorCode::InvalidOptions,
                "Specifying a timestamp for readConcern snapshot in a causally consistent session is not allowed. See https://docs.mongodb.com/manual/core/read-isolation-consistency-recency/#causal-consistency",
            ));
        }
        Ok(Some(out))
    }
}

pub struct Ctx<'a> {
    pub state: &'a ServerState,
    pub conn: &'a ConnInfo,
    /// The database the command addresses (`$db`).
    pub db: &'a str,
    /// The command document as received.
    pub body: &'a Document,
    /// An `insert`'s documents when they came as a document sequence, as bytes.
    pub documents: Option<&'a DocumentSequence>,
    /// The transaction the command runs in.
    pub txn: Option<&'a RefCell<Transaction>>,
    /// For a retryable write: the session and transaction number it is recorded under.
    pub retry: Option<SessionInfo>,
    pub read_concern: Option<ReadConcern>,
    /// When the command must give up (`maxTimeMS`).
    pub deadline: Instant,
    /// The cluster time of what the command wrote or read (`operationTime`).
    pub operation_time: Cell<Option<Timestamp>>,
    /// A snapshot read's time, reported as `atClusterTime`.
    pub snapshot_time: Cell<Option<Timestamp>>,
    /// A cursor reply's batch, kept as bytes beside the reply document (see [`Reply`]).
    pub batch: &'a RefCell<Option<CursorBatch>>,
}

/// A command's reply: the document and, for a cursor reply, its batch as bytes, which
/// the wire layer writes as the `cursor` document's first field. Results go from
/// storage to the socket without becoming `Document`s on the way.
#[derive(Debug)]
pub struct Reply {
    pub doc: Document,
    pub batch: Option<CursorBatch>,
}

impl Ctx<'_> {
    /// A cursor `id` on `ns` opened by this command: its session and its owners (the
    /// users logged in on this connection).
    pub fn new_cursor(&self, id: i64, ns: &str) -> crate::cursor::Cursor {
        crate::cursor::Cursor::new(id, ns, self.lsid().cloned(), self.conn.auth().names())
    }

    /// Under access control, refuses a cursor opened by other users (13), as mongod
    /// does: the connection must share one of its owners, or both have none.
    pub fn check_cursor_owner(&self, id: i64, owners: &[(String, String)]) -> CmdResult<()> {
        if !self.state.config.auth || self.conn.auth().shares_owner(owners) {
            return Ok(());
        }
        Err(CommandError::new(
            ErrorCode::Unauthorized,
            format!("cursor id {id} was not created by the authenticated user"),
        ))
    }
}

impl From<Document> for Reply {
    fn from(doc: Document) -> Reply {
        Reply { doc, batch: None }
    }
}

/// A batch and the field it goes in (`firstBatch` or `nextBatch`).
#[derive(Debug)]
pub struct CursorBatch {
    pub field: &'static str,
    pub docs: RawBatch,
}

impl Ctx<'_> {
    /// The reply of a command that returns a cursor: `{cursor: {firstBatch | nextBatch,
    /// id, ns}}`; a first batch of a snapshot read also reports the time it reads at
    /// (`cursor.atClusterTime`), which the driver sends back on the session's next reads.
    pub fn cursor_reply(&self, id: i64, ns: &str, docs: RawBatch, first: bool) -> Document {
        let field = if first { "firstBatch" } else { "nextBatch" };
        *self.batch.borrow_mut() = Some(CursorBatch { field, docs });
        let mut cursor = bson::doc! {"id": id, "ns": ns};
        if first && let Some(ts) = self.snapshot_time.get() {
            cursor.insert("atClusterTime", ts);
        }
        bson::doc! {"cursor": cursor}
    }
}

/// What a command reads through.
pub enum Reader<'a> {
    Snapshot(Arc<Published>),
    Transaction(Ref<'a, Transaction>),
}

impl std::ops::Deref for Reader<'_> {
    type Target = dyn ReadTxn + 'static;

    fn deref(&self) -> &Self::Target {
        match self {
            Reader::Snapshot(p) => &*p.snapshot,
            Reader::Transaction(t) => &t.overlay,
        }
    }
}

impl Reader<'_> {
    /// The published snapshot read, for a cursor to keep for its `getMore`s (`None`
    /// inside a transaction, whose cursors read through the transaction).
    pub fn published(&self) -> Option<Arc<Published>> {
        match self {
            Reader::Snapshot(p) => Some(p.clone()),
            Reader::Transaction(_) => None,
        }
    }
}

impl Ctx<'_> {
    /// The logical session the command runs in, if the driver sent one.
    pub fn lsid(&self) -> Option<&Bson> {
        self.body.get("lsid")
    }

    /// Whether the command runs inside a multi-document transaction.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Whether the reads should stay on one snapshot (`readConcern: snapshot` outside a
    /// transaction): cursors then keep it for their `getMore`s.
    pub fn snapshot_read(&self) -> bool {
        self.txn.is_none()
            && self
                .read_concern
                .as_ref()
                .is_some_and(|rc| rc.level == Level::Snapshot)
    }

    /// The view the command reads: see the module documentation.
    pub fn reader(&self) -> CmdResult<Reader<'_>> {
        if let Some(txn) = self.txn {
            let txn = txn.try_borrow().map_err(|_| {
                CommandError::internal("the transaction is being written while it is read")
            })?;
            self.operation_time.set(Some(txn.read_ts));
            return Ok(Reader::Transaction(txn));
        }
        let published = match &self.read_concern {
            Some(ReadConcern {
                level: Level::Snapshot,
                at_cluster_time: Some(ts),
                ..
            }) => self.state.repl.snapshot_at(*ts)?,
            _ => self.state.repl.snapshot(),
        };
        if self.snapshot_read() {
            let at = self
                .read_concern
                .as_ref()
                .and_then(|rc| rc.at_cluster_time)
                .unwrap_or(published.ts);
            self.snapshot_time.set(Some(at));
        }
        self.operation_time.set(Some(published.ts));
        Ok(Reader::Snapshot(published))
    }
}
