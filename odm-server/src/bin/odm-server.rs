//! The `odm-server` binary: a MongoDB-compatible server on a redb file.
//!
//! ```text
//! odm-server --dbpath ./data [--port 27017] [--bind 127.0.0.1]
//! odm-server --in-memory [--port 27017] [--unix-socket /tmp/odm-27017.sock]
//! odm-server --dbpath ./data --auth --bind 0.0.0.0 --tls-cert server.pem --tls-key server.key
//! ```
//!
//! Built only with the `cli` feature (on by default), so applications that embed the
//! library through `odm` do not compile `clap` and `tracing-subscriber`.
//!
//! Logs go to stderr (`RUST_LOG=debug` for more). SIGINT or SIGTERM stops it cleanly:
//! connections close between requests and every acknowledged write is flushed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use odm_server::{Config, Journal, Server, StorageConfig};

/// A storage server that speaks the MongoDB wire protocol.
#[derive(Parser, Debug)]
#[command(name = "odm-server", version, about)]
struct Args {
    /// Directory for the data file (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present = "in_memory")]
    dbpath: Option<PathBuf>,
    /// Keep everything in memory (lost at exit) instead of on disk.
    #[arg(long, conflicts_with = "dbpath")]
    in_memory: bool,
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 27017)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Also listen on this Unix socket (clients connect with
    /// `mongodb://%2Ftmp%2Fodm-27017.sock`).
    #[cfg(unix)]
    #[arg(long, value_name = "PATH")]
    unix_socket: Option<PathBuf>,
    /// Milliseconds a client may go silent in the middle of a message, or leave a
    /// reply untaken, before its connection is closed.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    stall_timeout_ms: u64,
    /// Seconds an idle cursor lives.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    cursor_timeout: u64,
    /// When acknowledged writes reach the disk: before the reply (`on-ack`), or within
    /// 100 ms, as a standalone mongod does (`periodic`: faster, but a crash loses the
    /// last interval's writes).
    #[arg(long, value_enum, default_value_t = JournalArg::OnAck)]
    journal: JournalArg,
    /// The replica set this server is the one member and primary of.
    #[arg(long = "replSet", value_name = "NAME", default_value = odm_server::config::DEFAULT_REPLICA_SET)]
    repl_set: String,
    /// Answer as a standalone mongod instead: no transactions, change streams or
    /// retryable writes.
    #[arg(long, conflicts_with = "repl_set")]
    standalone: bool,
    /// The host:port the member advertises to clients (default: the bound address).
    #[arg(long, value_name = "HOST:PORT")]
    advertise: Option<String>,
    /// The oplog's size in megabytes; the oldest entries go first past it.
    #[arg(long = "oplogSizeMB", value_name = "MB", default_value_t = 192)]
    oplog_size_mb: u64,
    /// How many megabytes of the data file to keep in memory (the page cache); the
    /// operating system caches the rest.
    #[arg(long = "cacheSizeMB", value_name = "MB", default_value_t = odm_server::config::DEFAULT_CACHE_SIZE / (1024 * 1024))]
    cache_size_mb: usize,
    /// Enable test-only commands such as `configureFailPoint` (mongod's
    /// `enableTestCommands`). Never in production.
    #[arg(long)]
    enable_test_commands: bool,
    /// Access control: clients log in (SCRAM-SHA-256 or SCRAM-SHA-1) and each command
    /// needs a role that allows it. The first user may be created from this machine.
    #[arg(long)]
    auth: bool,
    /// Listen on a non-loopback address without --auth (refused otherwise): only for a
    /// network where every client is trusted.
    #[arg(long)]
    allow_remote_without_auth: bool,
    /// TLS on the TCP port: the server's certificate chain (PEM). Needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by these CAs (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum JournalArg {
    OnAck,
    Periodic,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let storage = match (&args.dbpath, args.in_memory) {
        (Some(dir), _) => StorageConfig::Disk(dir.clone()),
        (None, _) => StorageConfig::Memory,
    };
    let config = Config {
        bind: SocketAddr::new(args.bind, args.port),
        #[cfg(unix)]
        unix_socket: args.unix_socket.clone(),
        storage,
        cursor_timeout: Duration::from_secs(args.cursor_timeout),
        stall_timeout: Duration::from_millis(args.stall_timeout_ms.max(1)),
        journal: match args.journal {
            JournalArg::OnAck => Journal::OnAcknowledge,
            JournalArg::Periodic => Journal::Periodic,
        },
        replica_set: (!args.standalone).then(|| args.repl_set.clone()),
        advertise: args.advertise.clone(),
        oplog_size: args.oplog_size_mb.max(1) * 1024 * 1024,
        cache_size: args.cache_size_mb.max(1) * 1024 * 1024,
        enable_test_commands: args.enable_test_commands,
        auth: args.auth,
        allow_remote_without_auth: args.allow_remote_without_auth,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(odm_server::TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
                ca: args.tls_ca.clone(),
            }),
            _ => None,
        },
        argv: std::env::args().collect(),
        ..Config::in_memory()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("odm-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let handle = match Server::start(config).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!("cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        // Scripts wait for this line to know the port.
        match &handle.unix_socket {
            Some(path) => println!(
                "odm-server listening on {} and {}",
                handle.addr,
                path.display()
            ),
            None => println!("odm-server listening on {}", handle.addr),
        }
        wait_for_signal().await;
        tracing::info!("shutting down");
        handle.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
