//! odm-server in this process, on a [`Host`] of its own (two worker threads, as the
//! binary has on this machine), so that the client's scheduler does not run its tasks:
//! in memory, or durable under a temporary directory.
//!
//! Another transport is a constructor here and one call in `main::measure_all` (a Unix
//! socket: its config, and `mongodb://%2Fpath%2Fto.sock` as the URI).

use std::path::Path;

use odm_server::{Config, ServerHandle};
use tempfile::TempDir;

use crate::host::Host;
use crate::measure::{Outcome, failed};
use crate::process::Child;

pub const MEMORY: &str = "odm-server (memory)";
/// The default journal (`Journal::OnAcknowledge`): every acknowledged write is on disk
/// before its reply, so acknowledged and `j: true` cost the same here.
pub const DISK: &str = "odm-server (disk)";
/// The in-memory server reached over its Unix socket (what `Db::memory` does).
pub const MEMORY_UNIX: &str = "odm-server (memory, Unix socket)";

/// odm-server on disk in a process of its own, for workload 7: its memory is then the
/// server's alone, and its documents live in its data file, as a server's do, rather
/// than in its memory.
pub const OWN_PROCESS: &str = "odm-server (disk, own process)";

/// A durable odm-server in a process of its own, on a free port under a temporary
/// directory: the binary `program` when given, else this benchmark started again as
/// that server (`--serve-dbpath`, [`serve`]), which is the same library and defaults.
pub async fn own_process(program: Option<&Path>) -> Outcome<Child> {
    let this = std::env::current_exe().map_err(failed)?;
    let given = program.is_some();
    Child::spawn(program.unwrap_or(&this), |port, dir| {
        let dbpath = dir.join("data").display().to_string();
        let port = port.to_string();
        let args: &[&str] = match given {
            true => &["--dbpath", &dbpath, "--bind", "127.0.0.1", "--port", &port],
            false => &["--serve-dbpath", &dbpath, "--serve-port", &port],
        };
        args.iter().map(|a| a.to_string()).collect()
    })
    .await
}

/// Runs a durable odm-server with the default configuration on `127.0.0.1:port` until
/// the process is killed: what [`own_process`] starts when no binary is given.
pub fn serve(dbpath: &Path, port: u16) -> std::io::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let config = Config::with_dbpath(dbpath).bind(([127, 0, 0, 1], port).into());
        let _server = odm_server::Server::start(config).await?;
        std::future::pending::<()>().await;
        Ok(())
    })
}

pub struct Embedded {
    pub uri: String,
    handle: Option<ServerHandle>,
    host: Host,
    /// Where a durable server keeps its data; removed after the server stops.
    _dir: Option<TempDir>,
}

impl Embedded {
    pub async fn memory() -> Outcome<Embedded> {
        Self::start(Config::in_memory(), None).await
    }

    pub async fn disk() -> Outcome<Embedded> {
        let dir = tempfile::tempdir().map_err(failed)?;
        let config = Config::with_dbpath(dir.path());
        Self::start(config, Some(dir)).await
    }

    /// In memory, the driver connected over a Unix socket.
    pub async fn memory_unix() -> Outcome<Embedded> {
        let dir = tempfile::tempdir().map_err(failed)?;
        let config = Config::in_memory().unix_socket(dir.path().join("odm.sock"));
        Self::start(config, Some(dir)).await
    }

    async fn start(config: Config, dir: Option<TempDir>) -> Outcome<Embedded> {
        let host = Host::new();
        let handle = host
            .run(odm_server::Server::start(config))
            .await
            .map_err(failed)?;
        // The Unix socket when there is one: the transport the peer is named for.
        let uri = handle
            .unix_uri()
            .map(|u| format!("{u}?directConnection=true"))
            .unwrap_or_else(|| handle.uri());
        Ok(Embedded {
            uri,
            handle: Some(handle),
            host,
            _dir: dir,
        })
    }

    /// Stops the server after its writes are on disk.
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            self.host.run(handle.shutdown()).await;
        }
    }
}
