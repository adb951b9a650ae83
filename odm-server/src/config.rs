//! Server configuration: where to listen, where data lives, and timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the server keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageConfig {
    /// A redb file under this directory (created if missing).
    Disk(PathBuf),
    /// Memory only: gone when the server stops.
    Memory,
}

/// When an acknowledged write reaches the disk.
///
/// An embedded server dies with its process, so a write that was acknowledged but only
/// buffered would be lost by `std::process::exit` or a crash: the default waits for the
/// disk before replying, as SQLite does. Concurrent writers share one flush (group
/// commit), so the cost is one fsync per batch of concurrent writes, not per write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Journal {
    /// Every acknowledged write is on disk before its reply. A write concern with
    /// `j: false` opts one write out.
    #[default]
    OnAcknowledge,
    /// Writes are acknowledged once visible and flushed every
    /// [`Config::journal_commit_interval`] (mongod's behaviour as a standalone server):
    /// faster, but a crash or process exit loses up to one interval of acknowledged
    /// writes. `j: true`, `fsync: true` and `w: "majority"` still wait for the disk.
    Periodic,
}

/// Everything [`Server::start`](crate::server::Server::start) needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (see `ServerHandle::addr`).
    pub bind: SocketAddr,
    /// A Unix socket to listen on as well (mongod listens on one beside its TCP port):
    /// a client on the same machine skips the TCP stack. An existing file there is
    /// replaced; the server removes it when it stops.
    pub unix_socket: Option<PathBuf>,
    pub storage: StorageConfig,
    /// How long an unused cursor lives (mongod: `cursorTimeoutMillis`, 10 minutes).
    pub cursor_timeout: Duration,
    /// When acknowledged writes reach the disk (default: before the reply).
    pub journal: Journal,
    /// How often buffered writes are flushed to disk (mongod: `commitIntervalMs`, 100 ms).
    pub journal_commit_interval: Duration,
    /// How often expired documents of TTL indexes are deleted (mongod: 60 seconds).
    pub ttl_monitor_interval: Duration,
    /// How many bytes of documents a sort no index provides may hold before it fails
    /// with `QueryExceededMemoryLimitNoDiskUseAllowed` (292) unless the query allows
    /// disk use (mongod: `internalQueryMaxBlockingSortMemoryUsageBytes`, 100 MiB).
    pub sort_memory_limit: usize,
    /// The replica set this server is the one member (and primary) of; `None` answers
    /// as a standalone mongod (no transactions, change streams or retryable writes).
    pub replica_set: Option<String>,
    /// The `host:port` the member advertises (`me`, `hosts`, `primary` in `hello`);
    /// `None`: the bound address. Drivers connect to what the set advertises, so it
    /// must be reachable by them.
    pub advertise: Option<String>,
    /// The oplog's size limit in bytes; the oldest entries are dropped past it.
    pub oplog_size: u64,
    /// How many bytes of the data file a durable server keeps in memory (its page
    /// cache, as mongod's `--wiredTigerCacheSizeGB`); the operating system caches the
    /// rest of the file. Unused in memory.
    pub cache_size: usize,
    /// How long past snapshots stay readable `atClusterTime` (mongod:
    /// `minSnapshotHistoryWindowInSeconds`, 300); at most 1,000 are kept whatever the
    /// window.
    pub snapshot_history: Duration,
    /// How long a transaction may run before the server aborts it (mongod:
    /// `transactionLifetimeLimitSeconds`, 60; changeable with `setParameter`).
    pub transaction_lifetime: Duration,
    /// Test-only commands, such as `configureFailPoint` (mongod: `enableTestCommands`).
    pub enable_test_commands: bool,
    /// The command line the server was started with, for `getCmdLineOpts`.
    pub argv: Vec<String>,
    /// Access control (mongod's `--auth`): every command but the handshake and the
    /// login needs a user whose roles allow it.
    pub auth: bool,
    /// Listen on an address other machines can reach without access control. Refused
    /// unless this says the operator means it (see [`Config::check_exposure`]).
    pub allow_remote_without_auth: bool,
    /// TLS on the TCP port (the Unix socket stays plain).
    pub tls: Option<TlsConfig>,
    /// How long a client may go silent in the middle of a message, or leave a reply
    /// untaken, before its connection is closed (mongod has no such limit). Drivers
    /// send each message whole and read each reply at once, so only a broken or hostile
    /// client waits this long; without the limit, each one would hold a thread and its
    /// buffers for good. A silent client *between* messages is never closed for it.
    pub stall_timeout: Duration,
}

/// [`Config::stall_timeout`] unless told otherwise.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(1);

/// TLS on the TCP port: PEM files of the server's certificate chain and private key, and
/// of the CA whose certificates clients must then present (none: clients need none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: Option<PathBuf>,
}

/// A durable server's page cache unless told otherwise: enough for the hot pages of a
/// few million small documents, and a server that stays small beside its application.
pub const DEFAULT_CACHE_SIZE: usize = 128 * 1024 * 1024;

/// The replica set name servers use unless told otherwise.
pub const DEFAULT_REPLICA_SET: &str = "rs0";

impl Config {
    /// An in-memory server on `127.0.0.1` with a free port: what tests want.
    pub fn in_memory() -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            unix_socket: None,
            storage: StorageConfig::Memory,
            cursor_timeout: Duration::from_secs(600),
            journal: Journal::OnAcknowledge,
            journal_commit_interval: Duration::from_millis(100),
            ttl_monitor_interval: Duration::from_secs(60),
            sort_memory_limit: crate::exec::BLOCKING_SORT_LIMIT,
            replica_set: Some(DEFAULT_REPLICA_SET.to_owned()),
            advertise: None,
            oplog_size: 192 * 1024 * 1024,
            cache_size: DEFAULT_CACHE_SIZE,
            snapshot_history: Duration::from_secs(300),
            transaction_lifetime: Duration::from_secs(60),
            enable_test_commands: false,
            argv: Vec::new(),
            auth: false,
            allow_remote_without_auth: false,
            tls: None,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }

    /// A durable server storing under `dbpath`, on `127.0.0.1` with a free port.
    pub fn with_dbpath(dbpath: impl Into<PathBuf>) -> Config {
        Config {
            storage: StorageConfig::Disk(dbpath.into()),
            ..Config::in_memory()
        }
    }

    pub fn bind(mut self, bind: SocketAddr) -> Config {
        self.bind = bind;
        self
    }

    /// Listens on this Unix socket too (see [`Config::unix_socket`](Config#structfield.unix_socket)).
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Config {
        self.unix_socket = Some(path.into());
        self
    }

    pub fn cursor_timeout(mut self, timeout: Duration) -> Config {
        self.cursor_timeout = timeout;
        self
    }

    pub fn ttl_monitor_interval(mut self, interval: Duration) -> Config {
        self.ttl_monitor_interval = interval;
        self
    }

    /// See [`Journal`]: `Journal::Periodic` trades the last interval's writes for speed.
    pub fn journal(mut self, journal: Journal) -> Config {
        self.journal = journal;
        self
    }

    /// The replica set to be the primary of (`None`: a standalone server).
    pub fn replica_set(mut self, name: Option<String>) -> Config {
        self.replica_set = name;
        self
    }

    pub fn advertise(mut self, host_port: impl Into<String>) -> Config {
        self.advertise = Some(host_port.into());
        self
    }

    pub fn oplog_size(mut self, bytes: u64) -> Config {
        self.oplog_size = bytes;
        self
    }

    /// See [`Config::cache_size`](Config#structfield.cache_size).
    pub fn cache_size(mut self, bytes: usize) -> Config {
        self.cache_size = bytes;
        self
    }

    pub fn enable_test_commands(mut self, on: bool) -> Config {
        self.enable_test_commands = on;
        self
    }

    pub fn transaction_lifetime(mut self, limit: Duration) -> Config {
        self.transaction_lifetime = limit;
        self
    }

    pub fn sort_memory_limit(mut self, bytes: usize) -> Config {
        self.sort_memory_limit = bytes;
        self
    }

    /// The safe default: a server without `auth` listens on loopback only, unless
    /// `allow_remote_without_auth` says the network is trusted; anyone who could reach
    /// it could otherwise read and change every database.
    pub fn check_exposure(&self) -> std::io::Result<()> {
        let ip = self.bind.ip();
        if self.auth || self.allow_remote_without_auth || ip.is_loopback() {
            return Ok(());
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "refusing to listen on {ip} without access control: anyone who can reach that address could read and change every database. Start with --auth (then create the first user from this machine), bind to 127.0.0.1, or pass --allow-remote-without-auth if only trusted clients can reach it"
            ),
        ))
    }

    /// Serves TLS on the TCP port (see [`TlsConfig`]).
    pub fn tls(mut self, tls: TlsConfig) -> Config {
        self.tls = Some(tls);
        self
    }

    /// Turns access control on (see [`Config::auth`]).
    pub fn stall_timeout(mut self, timeout: Duration) -> Config {
        self.stall_timeout = timeout;
        self
    }

    pub fn auth(mut self, on: bool) -> Config {
        self.auth = on;
        self
    }
}
