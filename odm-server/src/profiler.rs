//! The database profiler: the `profile` settings of each database, the counters a
//! command's execution leaves (`keysExamined`, `docsExamined`, `planSummary`), the
//! `system.profile` entries written after each command the settings select, and the
//! slow-query log lines.
//!
//! Levels as mongod's: 0 records nothing, 1 the operations slower than `slowms` (each
//! kept with probability `sampleRate`), 2 every operation; a `filter` replaces the time
//! and sample tests by a query on the entry. `slowms` and `sampleRate` are server-wide,
//! the level and filter per database. `system.profile` is a capped collection of 1 MiB,
//! created with the first entry.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};

use crate::conn::ConnInfo;
use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::state::ServerState;

/// mongod's default `slowms`.
pub const DEFAULT_SLOW_MS: i64 = 100;
/// The size of a `system.profile` collection mongod creates.
const PROFILE_SIZE: i64 = 1024 * 1024;
/// A command larger than this is shown truncated in an entry, as in mongod.
const MAX_COMMAND_BYTES: usize = 50 * 1024;
/// Commands never profiled: the handshake and authentication (their bodies carry
/// credentials).
const UNPROFILED: &[&str] = &[
    "hello",
    "isMaster",
    "ismaster",
    "saslStart",
    "saslContinue",
    "authenticate",
    "getnonce",
];

/// A database's settings.
#[derive(Clone, Debug)]
pub struct Level {
    pub level: i32,
    pub filter: Option<(Document, Filter)>,
}

/// The server-wide settings and each database's level.
pub struct Profiler {
    levels: Mutex<HashMap<String, Level>>,
    slow_ms: Mutex<(i64, f64)>,
    /// Whether any database has a level above 0 (so that most commands skip the lock).
    any: AtomicBool,
}

impl Default for Profiler {
    fn default() -> Self {
        Profiler {
            levels: Mutex::new(HashMap::new()),
            slow_ms: Mutex::new((DEFAULT_SLOW_MS, 1.0)),
            any: AtomicBool::new(false),
        }
    }
}

/// What `profile` reports: the settings before the change.
pub struct Previous {
    pub level: Level,
    pub slow_ms: i64,
    pub sample_rate: f64,
}

impl Profiler {
    pub fn level(&self, db: &str) -> Level {
        self.levels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(db)
            .cloned()
            .unwrap_or(Level {
                level: 0,
                filter: None,
            })
    }

    /// (`slowms`, `sampleRate`)
    pub fn thresholds(&self) -> (i64, f64) {
        *self.slow_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the settings (`None` leaves one as it is) and returns the previous ones.
    pub fn set(
        &self,
        db: &str,
        level: Option<Level>,
        slow_ms: Option<i64>,
        sample_rate: Option<f64>,
    ) -> Previous {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let mut thresholds = self.slow_ms.lock().unwrap_or_else(|p| p.into_inner());
        let previous = Previous {
            level: levels.get(db).cloned().unwrap_or(Level {
                level: 0,
                filter: None,
            }),
            slow_ms: thresholds.0,
            sample_rate: thresholds.1,
        };
        if let Some(l) = level {
            levels.insert(db.to_owned(), l);
        }
        if let Some(ms) = slow_ms {
            thresholds.0 = ms;
        }
        if let Some(rate) = sample_rate {
            thresholds.1 = rate;
        }
        self.any
            .store(levels.values().any(|l| l.level > 0), Ordering::Relaxed);
        previous
    }
}

thread_local! {
    static KEYS: Cell<u64> = const { Cell::new(0) };
    static DOCS: Cell<u64> = const { Cell::new(0) };
    static PLAN: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// The profiling level of the command's database when the command began (`None`:
    /// nothing was profiled anywhere).
    static LEVEL: std::cell::RefCell<Option<Level>> = const { std::cell::RefCell::new(None) };
}

/// Counts an index entry a scan read.
pub fn key_examined() {
    KEYS.with(|k| k.set(k.get() + 1));
}

/// Counts a document a scan read.
pub fn doc_examined() {
    DOCS.with(|d| d.set(d.get() + 1));
}

/// The index entries and documents the command has read so far.
pub fn examined() -> (u64, u64) {
    (KEYS.with(Cell::get), DOCS.with(Cell::get))
}

/// Records the plan a command's query used (`COLLSCAN`, `IXSCAN { a: 1 }`, `IDHACK`).
pub fn plan_used(summary: String) {
    PLAN.with(|p| *p.borrow_mut() = Some(summary));
}

/// Starts counting for a command on `db`, under the profiling level `db` has now: as in
/// mongod, a command is profiled by the settings it began under, so the `profile`
/// command that turns profiling on is not itself recorded (and the one that turns it off
/// is).
pub fn start(state: &ServerState, db: &str) {
    KEYS.with(|k| k.set(0));
    DOCS.with(|d| d.set(0));
    PLAN.with(|p| *p.borrow_mut() = None);
    let level = state
        .profiler
        .any
        .load(Ordering::Relaxed)
        .then(|| state.profiler.level(db));
    LEVEL.with(|l| *l.borrow_mut() = level);
}

/// What a finished command left for its profile entry.
pub struct Finished<'a> {
    pub db: &'a str,
    pub body: &'a Document,
    pub reply: &'a Document,
    /// Documents its cursor batch returned (`None`: not a cursor reply).
    pub returned: Option<usize>,
    /// The bytes of the reply's cursor batch, beside the reply document.
    pub batch_bytes: usize,
    pub elapsed: Duration,
}

/// After a command: writes its `system.profile` entry and its slow-query log line when
/// the settings ask for them. A failure to write the entry is logged, never the
/// command's own error.
pub fn finished(state: &ServerState, conn: &ConnInfo, done: Finished<'_>) {
    let Some(name) = done.body.keys().next() else {
        return;
    };
    if UNPROFILED.contains(&name.as_str()) {
        return;
    }
    let millis = done.elapsed.as_millis() as i64;
    let (slow_ms, sample_rate) = state.profiler.thresholds();
    let enabled = LEVEL.with(|l| l.borrow().is_some());
    let slow = millis >= slow_ms;
    if !enabled && !slow {
        return;
    }
    let collection = done.body.get(name).and_then(Bson::as_str);
    // Reads of system.profile (a find, or a getMore of one, which names its collection)
    // are not profiled: a tailing reader would otherwise feed itself.
    let target = match name.as_str() {
        "getMore" => done.body.get_str("collection").ok(),
        _ => collection,
    };
    if target == Some("system.profile") {
        return;
    }
    let entry = entry(conn, &done, name, collection, millis);
    let sampled = sample_rate >= 1.0 || rand::random::<f64>() < sample_rate;
    if slow && sampled {
        let line = format!(
            "Slow query {}",
            doc! {
                "type": "command",
                "ns": entry.get("ns").cloned().unwrap_or(Bson::Null),
                "appName": conn.app_name.clone().unwrap_or_default(),
                "command": entry.get("command").cloned().unwrap_or(Bson::Null),
                "planSummary": entry.get("planSummary").cloned().unwrap_or(Bson::Null),
                "keysExamined": entry.get("keysExamined").cloned().unwrap_or(Bson::Null),
                "docsExamined": entry.get("docsExamined").cloned().unwrap_or(Bson::Null),
                "durationMillis": millis,
            }
        );
        tracing::info!("{line}");
        state.log.record(line);
    }
    if !enabled {
        return;
    }
    let Some(level) = LEVEL.with(|l| l.borrow_mut().take()) else {
        return;
    };
    let record = match (&level.filter, level.level) {
        (_, 0) => false,
        (Some((_, filter)), _) => filter.matches(&entry),
        (None, 2) => true,
        (None, _) => slow && sampled,
    };
    if record && let Err(e) = write(state, done.db, entry) {
        tracing::warn!(
            "the profiler could not write to {}.system.profile: {e}",
            done.db
        );
    }
}

fn op_name(command: &str) -> &'static str {
    match command {
        "find" => "query",
        "getMore" => "getmore",
        "insert" => "insert",
        "update" => "update",
        "delete" => "remove",
        "killCursors" => "killcursors",
        _ => "command",
    }
}

fn entry(
    conn: &ConnInfo,
    done: &Finished<'_>,
    name: &str,
    collection: Option<&str>,
    millis: i64,
) -> Document {
    let ns = match (name, collection) {
        ("getMore", _) => done.body.get_str("collection").map_or_else(
            |_| format!("{}.$cmd", done.db),
            |c| format!("{}.{c}", done.db),
        ),
        (_, Some(c)) => format!("{}.{c}", done.db),
        _ => format!("{}.$cmd", done.db),
    };
    let mut command = done.body.clone();
    command.remove("$clusterTime");
    // Credentials never reach the profile or the log.
    for secret in ["pwd", "digestPassword", "payload"] {
        if command.contains_key(secret) {
            command.insert(secret, "xxx");
        }
    }
    if crate::engine::types::encoded_len(&command) > MAX_COMMAND_BYTES {
        let shown: String = command.to_string().chars().take(1024).collect();
        command = doc! {"$truncated": shown, "comment": done.body.get("comment").cloned().unwrap_or(Bson::Null)};
    }
    let mut e = doc! {"op": op_name(name), "ns": ns, "command": command};
    e.insert("keysExamined", KEYS.with(Cell::get) as i64);
    e.insert("docsExamined", DOCS.with(Cell::get) as i64);
    let returned = done.returned.map(|n| n as i64).or_else(|| {
        done.reply
            .get("n")
            .and_then(crate::engine::arith::to_i64_exact)
            .filter(|_| name == "count")
    });
    if let Some(n) = returned {
        e.insert("nreturned", n);
    }
    if let Some(n) = done
        .reply
        .get("n")
        .and_then(crate::engine::arith::to_i64_exact)
        && matches!(name, "insert" | "delete")
    {
        e.insert(
            if name == "insert" {
                "ninserted"
            } else {
                "ndeleted"
            },
            n,
        );
    }
    if name == "update" {
        for (from, to) in [("n", "nMatched"), ("nModified", "nModified")] {
            if let Some(n) = done
                .reply
                .get(from)
                .and_then(crate::engine::arith::to_i64_exact)
            {
                e.insert(to, n);
            }
        }
    }
    if let Some(plan) = PLAN.with(|p| p.borrow().clone()) {
        e.insert("planSummary", plan);
    }
    let ok = done.reply.get("ok").and_then(crate::engine::arith::to_f64) == Some(1.0);
    e.insert("ok", if ok { 1.0 } else { 0.0 });
    if !ok {
        for (from, to) in [
            ("code", "errCode"),
            ("codeName", "errName"),
            ("errmsg", "errMsg"),
        ] {
            if let Some(v) = done.reply.get(from) {
                e.insert(to, v.clone());
            }
        }
    }
    let response = crate::engine::types::encoded_len(done.reply) + done.batch_bytes;
    e.insert("responseLength", response as i64);
    e.insert("millis", millis);
    e.insert("ts", bson::DateTime::now());
    let client = conn
        .peer
        .parse::<std::net::SocketAddr>()
        .map_or_else(|_| conn.peer.clone(), |a| a.ip().to_string());
    e.insert("client", client);
    if let Some(app) = &conn.app_name {
        e.insert("appName", app.clone());
    }
    let users = conn.auth().names();
    e.insert(
        "allUsers",
        users
            .iter()
            .map(|(user, db)| Bson::Document(doc! {"user": user, "db": db}))
            .collect::<Vec<_>>(),
    );
    e.insert(
        "user",
        users
            .first()
            .map_or_else(String::new, |(user, db)| format!("{user}@{db}")),
    );
    e
}

/// Appends an entry to `db.system.profile`, creating it (capped, 1 MiB) the first time.
fn write(state: &ServerState, db: &str, entry: Document) -> CmdResult<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    state.repl.write(
        &*state.store,
        None,
        false,
        deadline,
        |w| {
            let mut meta = match crate::storage::catalog::get_collection(w, db, "system.profile")? {
                Some(m) => m,
                None => crate::storage::catalog::create(
                    w,
                    db,
                    "system.profile",
                    doc! {"capped": true, "size": PROFILE_SIZE},
                )?,
            };
            let mut stored = entry.clone();
            stored.insert("_id", bson::oid::ObjectId::new());
            w.insert(&mut meta, &stored)
        },
        |_| None,
    )?;
    Ok(())
}
