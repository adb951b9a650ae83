//! A server in a process of its own (PoloDB's, or the odm-server binary): started on a
//! free loopback port with a temporary data directory, waited for until it accepts
//! connections, and killed when dropped. Its own peak memory can be read, apart from
//! the benchmark's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::measure::{Outcome, failed};

pub struct Child {
    pub uri: String,
    child: std::process::Child,
    /// The data directory (and the server's log, `server.log`).
    pub dir: TempDir,
}

impl Child {
    /// Runs `program` with the arguments `args(port, data_dir)` gives and waits until
    /// it accepts connections on that port.
    pub async fn spawn(
        program: &Path,
        args: impl FnOnce(u16, &Path) -> Vec<String>,
    ) -> Outcome<Child> {
        let dir = tempfile::tempdir().map_err(failed)?;
        let port = free_port().map_err(failed)?;
        let log = std::fs::File::create(dir.path().join("server.log")).map_err(failed)?;
        let child = Command::new(program)
            .args(args(port, dir.path()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(failed)?)
            .stderr(log)
            .spawn()
            .map_err(|e| failed(format!("{}: {e}", program.display())))?;
        let mut child = Child {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            child,
            dir,
        };
        child.wait_listening(port).await?;
        Ok(child)
    }

    async fn wait_listening(&mut self, port: u16) -> Outcome<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("server.log"));
                return Err(failed(format!(
                    "exited ({status}): {}",
                    log.unwrap_or_default().trim()
                )));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("not listening after 30 s".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now (the server binds it right after).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The peak resident memory of a process (`VmHWM`), in MB; `None` where /proc has none.
pub fn peak_rss_mb(pid: Option<u32>) -> Option<f64> {
    let status = match pid {
        Some(pid) => std::fs::read_to_string(format!("/proc/{pid}/status")),
        None => std::fs::read_to_string("/proc/self/status"),
    }
    .ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Starts this process's peak resident memory over from its current size (Linux:
/// `clear_refs`), so that a later `peak_rss_mb` speaks of what came after.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
