//! The side-by-side benchmark: every workload against every peer in one run, reported as
//! medians and as ratios to a floor measured in the same run (these machines are noisy,
//! so only ratios taken together mean anything).
//!
//! # Layout
//!
//! - [`floor`]: what the machine allows: a tokio ping-pong over TCP loopback with the
//!   same message sizes as the workload it stands beside;
//! - [`server`]: odm-server started in this process on its own runtime, so that its
//!   threads and the client's do not share a scheduler;
//! - [`workloads`]: each workload through the raw official driver;
//! - [`report`]: medians, ratios and the table.
//!
//! `cargo run --release -p odm-bench` runs it all; `--quick` is the smoke pass CI runs
//! (a few hundred operations, nothing asserted).

mod floor;
mod report;
mod server;
mod workloads;

use clap::Parser;

/// How many operations each measurement does, and how many times it is repeated.
#[derive(Parser, Debug, Clone, Copy)]
#[command(about = "odm-server, the raw driver and the machine's floor, side by side")]
pub struct Args {
    /// A smoke pass: few operations, one round (for CI: nothing is asserted).
    #[arg(long)]
    quick: bool,
    /// Rounds of each measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

impl Args {
    /// Operations per round for a workload whose full size is `full`.
    pub fn ops(&self, full: usize) -> usize {
        if self.quick { full.min(200) } else { full }
    }

    pub fn rounds(&self) -> usize {
        if self.quick { 1 } else { self.rounds.max(1) }
    }
}

fn main() {
    let args = Args::parse();
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = server::Embedded::start();
    let rows = client_runtime.block_on(workloads::run_all(&args, &server.uri));
    report::print(&rows);
    server.stop();
}
