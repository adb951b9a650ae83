//! PoloDB's server (`polodb serve`, from the `polodb` crate), another Rust server that
//! speaks the wire protocol, run as a process of its own on a temporary directory. It is
//! optional: found at `--polodb PATH`, `$ODM_BENCH_POLODB` or the workplace's cache, or
//! skipped with a note.

use std::path::{Path, PathBuf};

use crate::measure::Outcome;
use crate::process::Child;

pub const PEER: &str = "PoloDB (server)";

/// Where this workplace's build of PoloDB installs it.
const CACHED: &str = "/work/cache/polodb/bin/polodb";

/// The `polodb` binary to run, if there is one.
pub fn find(given: Option<&Path>) -> Option<PathBuf> {
    let candidates = [
        given.map(Path::to_path_buf),
        std::env::var_os("ODM_BENCH_POLODB").map(PathBuf::from),
        Some(PathBuf::from(CACHED)),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// `polodb serve` on a free loopback port with its data in a temporary directory.
pub async fn start(program: &Path) -> Outcome<Child> {
    Child::spawn(program, |port, dir| {
        let data = dir.join("polodb");
        vec![
            "serve".into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--path".into(),
            data.display().to_string(),
        ]
    })
    .await
}
