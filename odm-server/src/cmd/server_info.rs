//! Diagnostics that drivers, shells and test runners ask for: `ping`, `buildInfo`,
//! `getParameter`, `hostInfo`, `getCmdLineOpts`, `serverStatus`, `connectionStatus`,
//! `whatsmyuri`, `getLog`, `listCommands`.
//!
//! ```text
//! {ping: 1}                         -> {ok: 1}
//! {buildInfo: 1}                    -> {version: "8.0.0", versionArray, gitVersion, bits, maxBsonObjectSize, ...}
//! {getParameter: "*" | 1, <name>: 1} -> {<name>: value, ...}
//! {getLog: "*" | "global" | "startupWarnings"} -> {names} | {totalLinesWritten, log: [json lines]}
//! {whatsmyuri: 1}                   -> {you: "host:port"}
//! ```

use std::sync::atomic::Ordering;

use bson::{Bson, DateTime, Document, doc};

use super::{COMMANDS, Ctx};
use crate::config::StorageConfig;
use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::wire::MAX_DOCUMENT_LEN;

/// The MongoDB version this server answers as (wire version 21).
pub const MONGODB_VERSION: &str = "8.0.0";

pub fn ping(_ctx: &Ctx<'_>) -> CmdResult<Document> {
    Ok(doc! {})
}

pub fn build_info(_ctx: &Ctx<'_>) -> CmdResult<Document> {
    Ok(doc! {
        "version": MONGODB_VERSION,
        "gitVersion": concat!("odm-server-", env!("CARGO_PKG_VERSION")),
        "versionArray": [8, 0, 0, 0],
        "odmServerVersion": env!("CARGO_PKG_VERSION"),
        "bits": 64,
        "debug": cfg!(debug_assertions),
        "maxBsonObjectSize": MAX_DOCUMENT_LEN as i32,
        "storageEngines": ["redb", "inMemory"],
        "javascriptEngine": "none",
        "allocator": "system",
        "modules": Vec::<String>::new(),
        "openssl": {"running": "disabled"},
        "buildEnvironment": {"target_os": std::env::consts::OS, "target_arch": std::env::consts::ARCH},
        "sysInfo": "deprecated",
    })
}

fn parameters(ctx: &Ctx<'_>) -> Document {
    doc! {
        "featureCompatibilityVersion": {"version": "8.0"},
        "maxBSONDepth": crate::depth::MAX_BSON_DEPTH as i32,
        "cursorTimeoutMillis": ctx.state.config.cursor_timeout.as_millis() as i64,
        "journalCommitInterval": ctx.state.config.journal_commit_interval.as_millis() as i32,
        "internalQueryMaxBlockingSortMemoryUsageBytes": ctx.state.config.sort_memory_limit as i64,
        "authenticationMechanisms": Vec::<String>::new(),
        "requireApiVersion": false,
        "transactionLifetimeLimitSeconds": ctx.state.transaction_lifetime_secs.load(std::sync::atomic::Ordering::Relaxed) as i32,
        "minSnapshotHistoryWindowInSeconds": ctx.state.config.snapshot_history.as_secs() as i32,
        "enableTestCommands": ctx.state.config.enable_test_commands,
        "logicalSessionRefreshMillis": 300000,
    }
}

pub fn get_parameter(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let all = parameters(ctx);
    if ctx.body.get_str("getParameter").is_ok_and(|s| s == "*") {
        return Ok(all);
    }
    let mut reply = Document::new();
    for key in ctx.body.keys().skip(1) {
        if key.starts_with('$') || matches!(key.as_str(), "lsid" | "comment") {
            continue;
        }
        match all.get(key) {
            Some(v) => {
                reply.insert(key.clone(), v.clone());
            }
            None => {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!("no option found to get: {key}"),
                ));
            }
        }
    }
    if reply.is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "no option found to get",
        ));
    }
    Ok(reply)
}

/// `setParameter`: `{setParameter: 1, transactionLifetimeLimitSeconds: n}` changes the
/// limit at once; the reply carries the previous value as `was`. Other parameters are
/// fixed when the server starts.
pub fn set_parameter(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let mut reply = Document::new();
    for (key, value) in ctx.body.iter().skip(1) {
        if key.starts_with('$') || matches!(key.as_str(), "lsid" | "comment") {
            continue;
        }
        match key.as_str() {
            "transactionLifetimeLimitSeconds" => {
                let secs = crate::engine::arith::to_i64_exact(value)
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        CommandError::bad_value(format!(
                            "transactionLifetimeLimitSeconds must be at least 1, not {value}"
                        ))
                    })?;
                let was = ctx
                    .state
                    .transaction_lifetime_secs
                    .swap(secs as u64, std::sync::atomic::Ordering::Relaxed);
                reply.insert("was", was as i32);
            }
            other => {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!(
                        "attempted to set unrecognized or fixed parameter: {other} (this server changes transactionLifetimeLimitSeconds at run time)"
                    ),
                ));
            }
        }
    }
    if reply.is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidOptions,
            "no option found to set, use help:true to see options",
        ));
    }
    Ok(reply)
}

fn total_memory_mb() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<i64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

/// `host:port`, as mongod names itself in `serverStatus` and the stats stages.
pub fn host(state: &crate::state::ServerState) -> String {
    format!("{}:{}", hostname(), state.addr.port())
}

/// When the server started, as a date.
pub fn start_time(state: &crate::state::ServerState) -> bson::DateTime {
    let started = std::time::SystemTime::now() - state.started.elapsed();
    bson::DateTime::from_system_time(started)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".to_string())
}

pub fn host_info(_ctx: &Ctx<'_>) -> CmdResult<Document> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as i32)
        .unwrap_or(1);
    Ok(doc! {
        "system": {
            "currentTime": DateTime::now(),
            "hostname": hostname(),
            "cpuAddrSize": 64,
            "memSizeMB": total_memory_mb(),
            "memLimitMB": total_memory_mb(),
            "numCores": cores,
            "cpuArch": std::env::consts::ARCH,
            "numaEnabled": false,
        },
        "os": {"type": std::env::consts::OS, "name": std::env::consts::OS, "version": ""},
        "extra": {},
    })
}

pub fn get_cmd_line_opts(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let config = &ctx.state.config;
    let storage = match &config.storage {
        StorageConfig::Disk(dir) => doc! {"dbPath": dir.display().to_string()},
        StorageConfig::Memory => doc! {"inMemory": true},
    };
    Ok(doc! {
        "argv": config.argv.clone(),
        "parsed": {
            "net": {"bindIp": ctx.state.addr.ip().to_string(), "port": ctx.state.addr.port() as i32},
            "storage": storage,
        },
    })
}

pub fn server_status(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let s = ctx.state;
    let c = &s.counters;
    let load = |v: &std::sync::atomic::AtomicU64| v.load(Ordering::Relaxed) as i64;
    let uptime = s.started.elapsed();
    let persistent = matches!(s.config.storage, StorageConfig::Disk(_));
    Ok(doc! {
        "host": host(s),
        "version": MONGODB_VERSION,
        "process": "odm-server",
        "pid": std::process::id() as i64,
        "uptime": uptime.as_secs_f64(),
        "uptimeMillis": uptime.as_millis() as i64,
        "uptimeEstimate": uptime.as_secs() as i64,
        "localTime": DateTime::now(),
        "connections": {
            "current": load(&c.connections_current) as i32,
            "available": 1_000_000 - load(&c.connections_current) as i32,
            "totalCreated": load(&c.connections_total),
        },
        "opcounters": {
            "insert": load(&c.insert),
            "query": load(&c.query),
            "update": load(&c.update),
            "delete": load(&c.delete),
            "getmore": load(&c.getmore),
            "command": load(&c.command),
        },
        "metrics": {"cursor": {"open": {"total": s.cursors.open_count() as i64}, "timedOut": 0i64}},
        "logicalSessionRecordCache": {"activeSessionsCount": s.sessions.active_count() as i64},
        "storageEngine": {"name": if persistent { "redb" } else { "inMemory" }, "persistent": persistent},
    })
}

pub fn connection_status(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let session = ctx.conn.auth();
    let users: Vec<Bson> = session
        .users
        .iter()
        .map(|u| Bson::Document(doc! {"user": &u.user, "db": &u.db}))
        .collect();
    let roles: Vec<Bson> = session
        .users
        .iter()
        .flat_map(|u| &u.roles)
        .map(|r| Bson::Document(r.to_document()))
        .collect();
    let mut auth = doc! {"authenticatedUsers": users, "authenticatedUserRoles": roles};
    if ctx.body.get_bool("showPrivileges").unwrap_or(false) {
        auth.insert("authenticatedUserPrivileges", Bson::Array(Vec::new()));
    }
    Ok(doc! {"authInfo": auth})
}

pub fn whats_my_uri(ctx: &Ctx<'_>) -> CmdResult<Document> {
    Ok(doc! {"you": ctx.conn.peer.to_string()})
}

pub fn get_log(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let log = &ctx.state.log;
    match ctx.body.get("getLog") {
        Some(Bson::String(s)) if s == "*" => Ok(doc! {"names": ["global", "startupWarnings"]}),
        Some(Bson::String(s)) if s == "global" => {
            Ok(doc! {"totalLinesWritten": log.total() as i32, "log": log.recent()})
        }
        Some(Bson::String(s)) if s == "startupWarnings" => {
            let lines = log.startup_warnings();
            Ok(doc! {"totalLinesWritten": lines.len() as i32, "log": lines})
        }
        Some(Bson::String(s)) => Err(CommandError::bad_value(format!("No log named '{s}'"))),
        _ => Err(CommandError::type_mismatch(
            "Argument to getLog must be of type String",
        )),
    }
}

pub fn list_commands(_ctx: &Ctx<'_>) -> CmdResult<Document> {
    let mut commands = Document::new();
    for (name, _, help, admin_only) in COMMANDS {
        commands.insert(*name, doc! {"help": *help, "requiresAuth": false, "secondaryOk": true, "adminOnly": *admin_only});
    }
    Ok(doc! {"commands": commands})
}
