//! The targets, each computed from the rows of the run: the value, the target
//! and whether it is met. Nothing is asserted (CI runs the smoke pass, whose tiny sizes
//! mean nothing); the figures are for reading beside the table.

use serde::Serialize;

use crate::report::{Metric, Row, thousands, times};
use crate::{canned, concurrency, driver, odm, polodb, scale, server};

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    /// `None` where the rows it needs are missing or failed.
    pub value: Option<f64>,
    pub shown: String,
    pub goal: String,
    pub pass: Option<bool>,
}

impl Target {
    /// `value` against `bound`: at least it, or at most it.
    fn new(name: String, value: Option<f64>, at_least: bool, bound: f64, unit: &str) -> Target {
        let shown = |v: f64| match unit {
            "docs/s" => format!("{} docs/s", thousands(v)),
            "x" => times(v),
            _ => format!("{v:.1} {unit}"),
        };
        Target {
            name,
            value,
            shown: value.map_or_else(|| "n/a".to_string(), shown),
            goal: format!("{} {}", if at_least { ">=" } else { "<=" }, shown(bound)),
            pass: value.map(|v| if at_least { v >= bound } else { v <= bound }),
        }
    }

    fn beside(mut self, note: String) -> Target {
        self.shown = format!("{} ({note})", self.shown);
        self
    }
}

fn find<'a>(rows: &'a [Row], workload: &str, peer: &str, metric: Metric) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.workload == workload && r.peer == peer && r.metric == metric)
}

fn value(rows: &[Row], workload: &str, peer: &str, metric: Metric) -> Option<f64> {
    find(rows, workload, peer, metric)?
        .value
        .as_ref()
        .ok()
        .copied()
}

fn ratio(rows: &[Row], workload: &str, peer: &str, metric: Metric) -> Option<f64> {
    find(rows, workload, peer, metric)?.ratio()
}

pub fn compute(rows: &[Row]) -> Vec<Target> {
    let memory = server::MEMORY;
    let mut targets = Vec::new();
    for (workload, bound) in [
        (driver::HELLO, 0.8),
        (driver::FIND, 0.6),
        (driver::INSERT, 0.5),
        (driver::UPDATE, 0.5),
    ] {
        let name = format!("{workload}: odm-server / TCP ping-pong");
        let ours = ratio(rows, workload, memory, Metric::OpsPerSec);
        let ceiling = ratio(rows, workload, canned::PEER, Metric::OpsPerSec);
        let note = ceiling.map_or("no driver ceiling".into(), |c| {
            format!("driver ceiling {}", times(c))
        });
        targets.push(Target::new(name, ours, true, bound, "x").beside(note));
    }
    let name = format!("{}: odm-server / Unix ping-pong", driver::FIND);
    let over_unix = ratio(rows, driver::FIND, server::MEMORY_UNIX, Metric::OpsPerSec);
    targets.push(Target::new(name, over_unix, true, 0.6, "x"));
    for (workload, metric, bound) in [
        (driver::MANY_SMALL, Metric::DocsPerSec, 200_000.0),
        (driver::DRAIN, Metric::MbPerSec, 150.0),
    ] {
        let name = format!("{workload}: odm-server");
        let ours = value(rows, workload, memory, metric);
        targets.push(Target::new(name, ours, true, bound, metric.unit()));
    }
    for peer in [memory, server::OWN_PROCESS] {
        let Some(at_1m) = find(rows, scale::AT_1M, peer, Metric::Micros) else {
            continue;
        };
        let name = format!("7. query time at 1M / at 10k: {peer}");
        targets.push(Target::new(name, at_1m.ratio(), false, 1.5, "x"));
    }
    // A server's memory, measured on the server that keeps its documents in its data
    // file; the in-memory server holds them all in memory by design (and shares this
    // process with the client), so its figure is reported but not held to the target.
    let rss = value(rows, scale::RSS, server::OWN_PROCESS, Metric::Megabytes);
    let name = format!("{}: {}", scale::RSS, server::OWN_PROCESS);
    targets.push(Target::new(name, rss, false, 300.0, "MB"));
    for peer in [server::DISK, memory] {
        let name = format!("{} / one writer: {peer}", concurrency::WRITERS_J);
        let r = ratio(rows, concurrency::WRITERS_J, peer, Metric::OpsPerSec);
        targets.push(Target::new(name, r, true, 4.0, "x"));
    }
    for workload in [odm::FIND, odm::INSERT, odm::DRAIN, odm::UPDATE] {
        let row = rows.iter().find(|r| r.workload == workload);
        // The rows are rates: the ODM's time over the raw driver's is their inverse.
        let time = row.and_then(Row::ratio).map(|r| 1.0 / r);
        let name = format!("{workload}: ODM time / raw driver time");
        targets.push(Target::new(name, time, false, 1.05, "x"));
    }
    for theirs in rows.iter().filter(|r| r.peer == polodb::PEER) {
        let (Ok(polo), Some(ours)) = (
            &theirs.value,
            value(rows, theirs.workload, memory, theirs.metric),
        ) else {
            continue;
        };
        let speedup = match theirs.metric.higher_is_better() {
            true => ours / polo,
            false => polo / ours,
        };
        let name = format!(
            "{} ({}): odm-server / PoloDB",
            theirs.workload,
            theirs.metric.unit()
        );
        targets.push(Target::new(name, Some(speedup), true, 1.5, "x"));
    }
    targets
}

pub fn print(targets: &[Target]) {
    println!("\ntargets (computed from the rows above; nothing is asserted)");
    for t in targets {
        let verdict = match t.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "n/a",
        };
        println!(
            "  {:<4}  {:<78} {:<34} target {}",
            verdict, t.name, t.shown, t.goal
        );
    }
}
