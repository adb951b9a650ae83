//! Starting and stopping the server: the listener, the background tasks (journal flush,
//! cursor, session and transaction expiry, TTL), and shutdown. What the connections
//! share lives in [`crate::state`].
//!
//! [`Server::start`] binds (port 0 picks a free port), spawns the accept loop on the
//! current tokio runtime and returns a [`ServerHandle`] with the bound address.
//! [`ServerHandle::shutdown`] stops accepting, closes connections between requests and
//! makes every acknowledged write durable before it returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use crate::config::{Config, StorageConfig};
use crate::conn::listen::{self, Connections};
use crate::cursor::CursorRegistry;
use crate::failpoint::FailPoints;
use crate::replset::ReplState;
use crate::replset::topology::Topology;
use crate::session::Sessions;
use crate::state::{Counters, LogRing, ServerState};
use crate::storage::Store;
use crate::storage::disk::RedbStore;
use crate::storage::memory::MemoryStore;

/// The entry point: see the module documentation.
pub struct Server;

/// A running server.
pub struct ServerHandle {
    /// The address the server listens on (with the real port when 0 was asked).
    pub addr: SocketAddr,
    /// The Unix socket the server listens on too, when the configuration names one.
    pub unix_socket: Option<PathBuf>,
    state: Arc<ServerState>,
    connections: Arc<Connections>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the storage, binds and starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<ServerHandle> {
        config.check_exposure()?;
        // Certificates are read before the store opens: a bad path fails fast.
        let tls = config
            .tls
            .as_ref()
            .map(crate::conn::tls::server_config)
            .transpose()?;
        let (store, warnings): (Box<dyn Store>, Vec<String>) = match &config.storage {
            StorageConfig::Disk(dir) => {
                let dir = dir.clone();
                let cache = config.cache_size;
                let store = tokio::task::spawn_blocking(move || RedbStore::open(&dir, cache))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(|e| std::io::Error::other(e.0))?;
                (Box::new(store), Vec::new())
            }
            StorageConfig::Memory => (
                Box::new(MemoryStore::new()),
                vec![
                    "This server stores data in memory only: everything is lost when it stops."
                        .to_string(),
                ],
            ),
        };
        Server::start_on(config, store, warnings, tls).await
    }

    /// Serves `store` (already open) as [`Server::start`] does: the fault-injection and
    /// power-loss tests hand it a store that fails on command.
    pub(crate) async fn start_on(
        config: Config,
        store: Box<dyn Store>,
        warnings: Vec<String>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<ServerHandle> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        #[cfg(unix)]
        let unix_listener = match &config.unix_socket {
            Some(path) => Some(bind_unix(path)?),
            None => None,
        };
        #[cfg(not(unix))]
        if config.unix_socket.is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "Unix sockets are not available on this platform",
            ));
        }
        let state = Arc::new(new_state(config, store, warnings, addr)?);
        let (stop, stopped) = watch::channel(false);
        let config = &state.config;
        let idle_check =
            (config.cursor_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(15));
        let connections = Arc::new(Connections::default());
        let mut tasks = vec![
            match tls {
                Some(config) => tokio::spawn(listen::accept_loop(
                    crate::conn::tls::TlsListener {
                        tcp: listener,
                        config,
                    },
                    state.clone(),
                    connections.clone(),
                    stopped.clone(),
                )),
                None => tokio::spawn(listen::accept_loop(
                    listener,
                    state.clone(),
                    connections.clone(),
                    stopped.clone(),
                )),
            },
            tokio::spawn(periodic(
                state.clone(),
                stopped.clone(),
                config.journal_commit_interval,
                "journal flush",
                flush,
            )),
            tokio::spawn(periodic(
                state.clone(),
                stopped.clone(),
                idle_check,
                "idle expiry",
                expire_idle,
            )),
            tokio::spawn(periodic(
                state.clone(),
                stopped.clone(),
                config.ttl_monitor_interval,
                "TTL monitor",
                expire_ttl,
            )),
        ];
        #[cfg(unix)]
        if let Some(listener) = unix_listener {
            tasks.push(tokio::spawn(listen::accept_loop(
                listener,
                state.clone(),
                connections.clone(),
                stopped.clone(),
            )));
        }
        let line = format!(
            "odm-server listening on {addr} ({})",
            storage_description(&state.config.storage)
        );
        tracing::info!("{line}");
        state.log.record(line);
        Ok(ServerHandle {
            addr,
            unix_socket: state.config.unix_socket.clone(),
            state,
            connections,
            stop,
            tasks,
        })
    }
}

/// The state every connection shares, over an open store: the catalog's key format is
/// checked and the replica set's state (oplog, cluster time) read back.
pub(crate) fn new_state(
    config: Config,
    store: Box<dyn Store>,
    warnings: Vec<String>,
    addr: SocketAddr,
) -> std::io::Result<ServerState> {
    crate::storage::catalog::check_key_format(&*store).map_err(|e| std::io::Error::other(e.0))?;
    let me = config.advertise.clone().unwrap_or_else(|| advertised(addr));
    let topology = Topology::new(config.replica_set.clone(), me);
    let repl = ReplState::open(
        &*store,
        topology,
        config.oplog_size,
        config.snapshot_history,
    )
    .map_err(|e| std::io::Error::other(e.0))?;
    Ok(ServerState {
        repl,
        transaction_lifetime_secs: AtomicU64::new(config.transaction_lifetime.as_secs().max(1)),
        fail_points: FailPoints::default(),
        stopping: Default::default(),
        operations: Default::default(),
        profiler: Default::default(),
        store,
        cursors: CursorRegistry::new(config.cursor_timeout),
        sessions: Sessions::default(),
        counters: Counters::default(),
        log: LogRing::new(warnings),
        started: Instant::now(),
        addr,
        config,
    })
}

/// The address the member names itself by when not told: the bound one, or `localhost`
/// with the bound port when bound to every interface (no client can dial `0.0.0.0`).
fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn storage_description(storage: &StorageConfig) -> String {
    match storage {
        StorageConfig::Disk(dir) => format!("data in {}", dir.display()),
        StorageConfig::Memory => "in memory".to_string(),
    }
}

impl ServerHandle {
    /// A `mongodb://` URI for this server.
    pub fn uri(&self) -> String {
        format!("mongodb://{}/", self.addr)
    }

    /// A `mongodb://` URI for the Unix socket, when the server listens on one.
    pub fn unix_uri(&self) -> Option<String> {
        let path = self.unix_socket.as_ref()?.to_str()?;
        let encoded: String = path
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        Some(format!("mongodb://{encoded}/"))
    }

    /// Stops accepting, lets connections finish their current request, flushes every
    /// buffered write to disk, then returns.
    pub async fn shutdown(mut self) {
        self.stop_serving();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        let state = self.state.clone();
        let connections = self.connections.clone();
        let flushed = tokio::task::spawn_blocking(move || {
            connections.wait_closed();
            state.store.sync()
        })
        .await;
        match flushed {
            Ok(Ok(())) => tracing::info!("odm-server stopped; all writes are on disk"),
            Ok(Err(e)) => tracing::error!("final flush failed: {e}"),
            Err(e) => tracing::error!("final flush panicked: {e}"),
        }
    }
}

/// Dropping the handle stops the server as [`ServerHandle::shutdown`] does, without
/// waiting: its tasks end on their own. Its data directory can be opened again at once
/// (the open waits for the tasks to let go of it).
impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_serving();
        if let StorageConfig::Disk(dir) = &self.state.config.storage {
            crate::storage::disk::closing(dir);
        }
    }
}

impl ServerHandle {
    /// Tells the tasks to stop, wakes whatever waits for a client, closes every
    /// connection between requests and removes the Unix socket. Idempotent.
    fn stop_serving(&self) {
        let _ = self.stop.send(true);
        self.state.stopping.set();
        self.connections.close_all();
        if let Some(path) = &self.unix_socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds the Unix socket, replacing a file left there by a server that did not stop
/// cleanly (as mongod does); a socket some live server still answers on is refused.
#[cfg(unix)]
fn bind_unix(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("another server listens on {}", path.display()),
        ));
    }
    let _ = std::fs::remove_file(path);
    tokio::net::UnixListener::bind(path)
}

/// Runs `job` on the blocking pool every `period` until the server stops. A failure is
/// logged and the next tick tries again.
async fn periodic(
    state: Arc<ServerState>,
    mut stopped: watch::Receiver<bool>,
    period: Duration,
    name: &'static str,
    job: fn(&ServerState) -> Result<(), String>,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                let s = state.clone();
                match tokio::task::spawn_blocking(move || job(&s)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!("{name} failed: {e}"),
                    Err(e) => tracing::error!("{name} panicked: {e}"),
                }
            }
        }
    }
}

/// Makes buffered writes durable (every journal commit interval).
fn flush(state: &ServerState) -> Result<(), String> {
    state.store.sync().map_err(|e| e.to_string())
}

/// Kills idle cursors, forgets idle sessions (and their retry records), and aborts
/// transactions past their lifetime.
fn expire_idle(state: &ServerState) -> Result<(), String> {
    let now = Instant::now();
    let reaped = state.cursors.reap_idle(now);
    if reaped > 0 {
        let line = format!(
            "killed {reaped} cursor(s) idle for more than {:?}",
            state.cursors.timeout()
        );
        tracing::info!("{line}");
        state.log.record(line);
    }
    let expired = state.sessions.expire(now);
    state.abort_transactions_of(&expired);
    let aborted = state.abort_expired_transactions();
    if aborted > 0 {
        let line = format!(
            "aborted {aborted} transaction(s) running longer than transactionLifetimeLimitSeconds"
        );
        tracing::info!("{line}");
        state.log.record(line);
    }
    state
        .repl
        .forget_retry_records(&*state.store)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Deletes documents whose TTL index date has passed.
fn expire_ttl(state: &ServerState) -> Result<(), String> {
    let n = crate::ttl::expire(&*state.store, &state.repl, bson::DateTime::now())
        .map_err(|e| e.to_string())?;
    if n > 0 {
        tracing::debug!("TTL monitor deleted {n} expired document(s)");
    }
    Ok(())
}
