//! The operations running now: what `$currentOp` and the `currentOp` command report.
//!
//! Each command registers itself for as long as it runs ([`Operations::begin`] returns a
//! guard that removes it), with its connection, namespace, session and a copy of the
//! command without its bulk (`documents`, `updates`, `deletes`, `ops` and `nsInfo` are
//! counted, not copied), so that registering costs little beside the command itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use bson::{Bson, DateTime, Document, doc};

use crate::conn::ConnInfo;

/// Fields of a command that hold its bulk data: shown by their length only.
const BULK: &[&str] = &["documents", "updates", "deletes", "ops", "nsInfo"];
/// Fields of a command that are the driver's, not the operation's.
const ENVELOPE: &[&str] = &["lsid", "txnNumber", "$clusterTime", "$readPreference"];

/// One running command.
#[derive(Clone, Debug)]
pub struct Running {
    pub opid: u32,
    pub connection_id: u64,
    pub client: String,
    pub app_name: Option<String>,
    pub ns: String,
    pub op: &'static str,
    pub command: Document,
    pub lsid: Option<Bson>,
    pub txn_number: Option<i64>,
    pub started: Instant,
    pub started_at: DateTime,
}

#[derive(Default)]
pub struct Operations {
    next: AtomicU32,
    running: Mutex<HashMap<u32, Running>>,
}

/// Keeps an operation registered until dropped.
pub struct OpGuard<'a> {
    operations: &'a Operations,
    opid: u32,
}

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        self.operations.lock().remove(&self.opid);
    }
}

/// The kind of operation, as `$currentOp`'s `op` field names it.
fn kind(command: &str) -> &'static str {
    match command {
        "find" | "aggregate" | "count" | "distinct" => "query",
        "insert" => "insert",
        "update" | "findAndModify" | "findandmodify" => "update",
        "delete" => "remove",
        "getMore" => "getmore",
        _ => "command",
    }
}

impl Operations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `body` as running on `conn` until the guard is dropped.
    pub fn begin(&self, conn: &ConnInfo, db: &str, body: &Document) -> OpGuard<'_> {
        let opid = self.next.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let name = body.keys().next().map_or("", String::as_str);
        let ns = match body.get(name) {
            Some(Bson::String(coll)) => format!("{db}.{coll}"),
            _ => format!("{db}.$cmd"),
        };
        let mut command = Document::new();
        for (k, v) in body {
            if ENVELOPE.contains(&k.as_str()) {
                continue;
            }
            match v {
                Bson::Array(items) if BULK.contains(&k.as_str()) => {
                    command.insert(k.clone(), doc! {"$count": items.len() as i64});
                }
                _ => {
                    command.insert(k.clone(), v.clone());
                }
            }
        }
        let running = Running {
            opid,
            connection_id: conn.id,
            client: conn.peer.clone(),
            app_name: conn.app_name.clone(),
            ns,
            op: kind(name),
            command,
            lsid: body.get("lsid").cloned(),
            txn_number: body.get_i64("txnNumber").ok(),
            started: Instant::now(),
            started_at: DateTime::now(),
        };
        self.lock().insert(opid, running);
        OpGuard {
            operations: self,
            opid,
        }
    }

    /// Everything running now, oldest first.
    pub fn running(&self) -> Vec<Running> {
        let mut all: Vec<Running> = self.lock().values().cloned().collect();
        all.sort_by_key(|r| r.started);
        all
    }
}

impl Running {
    /// The document `$currentOp` reports for it; `host` is the server's `host:port`.
    pub fn report(&self, host: &str) -> Document {
        let elapsed = self.started.elapsed();
        let mut d = doc! {
            "type": "op",
            "host": host,
            "desc": format!("conn{}", self.connection_id),
            "connectionId": self.connection_id as i64,
            "client": &self.client,
        };
        if let Some(app) = &self.app_name {
            d.insert("appName", app);
        }
        d.insert("active", true);
        d.insert("currentOpTime", DateTime::now());
        d.insert("opid", self.opid as i64);
        if let Some(lsid) = &self.lsid {
            d.insert("lsid", lsid.clone());
        }
        if let Some(n) = self.txn_number {
            d.insert("transaction", doc! {"parameters": {"txnNumber": n}});
        }
        d.insert("secs_running", elapsed.as_secs() as i64);
        d.insert("microsecs_running", elapsed.as_micros() as i64);
        d.insert("op", self.op);
        d.insert("ns", &self.ns);
        d.insert("command", self.command.clone());
        d.insert("startedAt", self.started_at);
        d.insert("numYields", 0_i32);
        d.insert("waitingForLock", false);
        d
    }
}
