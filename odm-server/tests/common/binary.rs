//! The `odm-server` binary as a child process, for the tests that kill it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use mongodb::Client;

/// Starts the binary on a free port over `dbpath` and returns it with its address.
pub fn spawn_server(dbpath: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_odm-server"))
        .args(["--dbpath", dbpath.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("odm-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, addr)
}

/// A client of the server at `addr` that gives up on it within `timeout_ms`.
pub async fn connect_within(addr: &str, timeout_ms: u32) -> Client {
    Client::with_uri_str(format!(
        "mongodb://{addr}/?directConnection=true&serverSelectionTimeoutMS={timeout_ms}&connectTimeoutMS={timeout_ms}"
    ))
    .await
    .unwrap()
}

pub async fn connect(addr: &str) -> Client {
    connect_within(addr, 5000).await
}
