//! The run as JSON: every row, the targets, the notes, the machine (CPU model, cores, OS) and when
//! it ran, so that runs on different days or machines can be set side by side.

use std::path::Path;

use serde_json::{Value, json};

use crate::Args;
use crate::report::Row;
use crate::targets::Target;

pub fn write(
    path: &Path,
    args: &Args,
    rows: &[Row],
    targets: &[Target],
    notes: &[&str],
) -> std::io::Result<()> {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "workload": r.workload,
                "peer": r.peer,
                "metric": r.metric,
                "median": r.value.as_ref().ok(),
                "unsupported": r.value.as_ref().err(),
                "reference": r.reference,
                "ratio": r.ratio(),
            })
        })
        .collect();
    let run = json!({
        "timestamp": bson::DateTime::now().try_to_rfc3339_string().unwrap_or_default(),
        "quick": args.quick,
        "rounds": args.rounds(),
        "machine": machine(),
        "rows": rows,
        "targets": targets,
        "notes": notes,
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(&run).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let distribution = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|l| l.trim_matches('"').to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "os": std::env::consts::OS,
        "distribution": distribution,
        "kernel": kernel,
        "arch": std::env::consts::ARCH,
    })
}
