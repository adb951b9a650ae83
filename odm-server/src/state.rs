//! The state every connection shares: storage, cursors, sessions, the replica-set
//! machinery, counters and the log ring.
//!
//! It sits below `cmd` and `conn` and above `storage`: commands read and change it,
//! the server creates it and runs its background tasks, and nothing in it calls back
//! up into a command or a connection.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::cursor::CursorRegistry;
use crate::failpoint::FailPoints;
use crate::replset::ReplState;
use crate::replset::txn::Phase;
use crate::session::{Session, Sessions};
use crate::storage::Store;

/// Operation counters, as `serverStatus.opcounters` reports them.
#[derive(Default)]
pub struct Counters {
    pub insert: AtomicU64,
    pub query: AtomicU64,
    pub update: AtomicU64,
    pub delete: AtomicU64,
    pub getmore: AtomicU64,
    pub command: AtomicU64,
    pub connections_current: AtomicU64,
    pub connections_total: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Recent log lines, for `getLog`.
pub struct LogRing {
    lines: Mutex<VecDeque<String>>,
    total: AtomicU64,
    startup_warnings: Vec<String>,
}

/// How many lines `getLog: "global"` keeps (mongod keeps 1024).
const LOG_LINES: usize = 1024;

impl LogRing {
    pub(crate) fn new(startup_warnings: Vec<String>) -> Self {
        LogRing {
            lines: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            startup_warnings,
        }
    }

    /// Records a message as a mongod-style JSON log line (the caller also emits it
    /// through `tracing`).
    pub fn record(&self, message: String) {
        let line = json_log_line("I", "-", &message);
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn recent(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The startup warnings, as JSON log lines (mongosh parses and shows them).
    pub fn startup_warnings(&self) -> Vec<String> {
        self.startup_warnings
            .iter()
            .map(|w| json_log_line("W", "STORAGE", w))
            .collect()
    }
}

/// A log line in mongod's structured JSON form.
pub fn json_log_line(severity: &str, component: &str, msg: &str) -> String {
    let mut escaped = String::with_capacity(msg.len());
    for ch in msg.chars() {
        match ch {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            c if (c as u32) < 0x20 => escaped.push_str(&format!("\\u{:04x}", c as u32)),
            c => escaped.push(c),
        }
    }
    let t = bson::DateTime::now()
        .try_to_rfc3339_string()
        .unwrap_or_default();
    format!(
        r#"{{"t":{{"$date":"{t}"}},"s":"{severity}","c":"{component}","id":0,"ctx":"odm-server","msg":"{escaped}"}}"#
    )
}

/// What every connection shares.
pub struct ServerState {
    pub store: Box<dyn Store>,
    pub cursors: CursorRegistry,
    pub sessions: Sessions,
    pub config: Config,
    pub counters: Counters,
    pub log: LogRing,
    pub started: Instant,
    /// The address actually bound.
    pub addr: SocketAddr,
    /// Cluster time, the oplog, published snapshots, transactions.
    pub repl: ReplState,
    /// `transactionLifetimeLimitSeconds`, changeable with `setParameter`.
    pub transaction_lifetime_secs: AtomicU64,
    /// Fail points set with `configureFailPoint`.
    pub fail_points: FailPoints,
    /// Set when the server stops.
    pub stopping: Stopping,
    /// The commands running now, for `$currentOp`.
    pub operations: crate::operations::Operations,
    /// The profiler's settings (`profile`).
    pub profiler: crate::profiler::Profiler,
}

/// Set once, when the server stops: what waits on a timer for a client (an awaitable
/// `hello`) waits on this too, so that shutdown does not wait out the timer.
#[derive(Default)]
pub struct Stopping {
    set: Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Stopping {
    pub fn set(&self) {
        *self.set.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.changed.notify_all();
    }

    pub fn is_set(&self) -> bool {
        *self.set.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits `timeout`, or less if the server stops first.
    pub fn wait(&self, timeout: Duration) {
        let set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .changed
            .wait_timeout_while(set, timeout, |set| !*set)
            .unwrap_or_else(|p| p.into_inner());
    }
}

/// How long a durable write lets the writes under way commit before it flushes, so that
/// one fsync covers them too (a fraction of what a flush costs on a disk).
const GROUP_COMMIT_WAIT: Duration = Duration::from_millis(1);

impl ServerState {
    /// Makes every committed write durable, for a write that must be before its reply.
    /// On disk it first lets the writes under way commit (briefly): concurrent durable
    /// writers then share one flush.
    pub fn make_durable(&self) -> crate::error::CmdResult<()> {
        if self.store.is_durable() {
            return Ok(());
        }
        if matches!(self.config.storage, crate::config::StorageConfig::Disk(_)) {
            self.repl.pending.wait_idle(GROUP_COMMIT_WAIT);
        }
        self.store.sync()?;
        Ok(())
    }

    /// Whether the server is a replica-set member (not a standalone).
    pub fn is_replica_set(&self) -> bool {
        self.repl.topology.set_name.is_some()
    }

    /// Aborts the open transactions of sessions that were ended, killed or expired.
    /// A session a command has checked out is left to that command.
    pub fn abort_transactions_of(&self, sessions: &[Arc<Session>]) {
        for s in sessions {
            if let Some(mut data) = s.try_lock()
                && let Some(txn) = data.txn.as_mut()
            {
                self.repl.abort_transaction(txn);
            }
        }
    }

    /// Aborts transactions that have run longer than `transactionLifetimeLimitSeconds`.
    pub fn abort_expired_transactions(&self) -> usize {
        let limit = Duration::from_secs(self.transaction_lifetime_secs.load(Ordering::Relaxed));
        let mut aborted = 0;
        for s in self.sessions.all() {
            if let Some(mut data) = s.try_lock()
                && let Some(txn) = data.txn.as_mut()
                && txn.phase == Phase::Active
                && txn.started.elapsed() > limit
            {
                self.repl.abort_transaction(txn);
                aborted += 1;
            }
        }
        aborted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_json_with_escapes() {
        let line = json_log_line("W", "STORAGE", "say \"hi\"\nback\\slash\u{1}");
        assert!(line.starts_with(r#"{"t":{"$date":""#), "{line}");
        assert!(
            line.ends_with(r#""msg":"say \"hi\"\nback\\slash\u0001"}"#),
            "{line}"
        );
    }
}
