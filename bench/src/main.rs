//! The side-by-side benchmark: every workload against every peer in one run, reported as
//! medians and as ratios to a reference measured in the same run (these machines are
//! noisy, so only ratios taken together mean anything), then as JSON and as a chart.
//!
//! # Layout
//!
//! - [`host`]: the runtime of two workers every server side runs on (never the
//!   client's): the floor's echo, the canned server, odm-server;
//! - [`floor`]: what the machine allows: a ping-pong over TCP loopback and over a Unix
//!   socket with the same message sizes as the workload it stands beside;
//! - [`canned`]: a server answering from memory: the raw driver's own ceiling;
//! - [`server`]: odm-server in this process (memory, disk) or as its binary;
//!   [`process`]: a server in a process of its own; [`polodb`]: PoloDB's server;
//! - [`sqlite`]: SQLite in this process with the same documents, for context;
//! - [`data`]: the seeded documents, as `doc!`s and as models;
//! - [`driver`]: workloads 1 to 6 through the raw driver against any URI; [`scale`]:
//!   7, a query against growing collections, and peak memory; [`concurrency`]: 8,
//!   eight connections at once; [`changes`]: 9, change stream delay; [`odm`]: 10, the
//!   ODM beside the raw driver;
//! - [`measure`]: rounds, medians, time limits, failures as "unsupported";
//! - [`report`]: rows, references and the table; [`targets`]: the targets;
//!   [`json`] and [`svg`]: the same figures written out.
//!
//! `cargo run --release -p odm-bench` runs it all; `--quick` is the smoke pass CI runs
//! (tiny sizes, one round, nothing asserted, every path taken).

mod canned;
mod changes;
mod concurrency;
mod data;
mod driver;
mod floor;
mod host;
mod json;
mod measure;
mod odm;
mod polodb;
mod process;
mod report;
mod scale;
mod server;
mod sqlite;
mod svg;
mod targets;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mongodb::Client;

use crate::canned::Canned;
use crate::host::Host;
use crate::measure::{Outcome, median_of};
use crate::report::{Metric, Referencing, Row};
use crate::scale::Memory;
use crate::server::Embedded;

/// What to run and where to write it.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "odm-server, the ODM, the raw driver, PoloDB and SQLite beside the machine's floor"
)]
pub struct Args {
    /// A smoke pass: tiny sizes, one round (for CI: nothing is asserted).
    #[arg(long)]
    quick: bool,
    /// Rounds of each measurement; the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds each round of a concurrent workload (8, 9) runs.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "target/bench/results.json")]
    json: PathBuf,
    /// Where to draw the chart.
    #[arg(long, default_value = "target/bench/chart.svg")]
    svg: PathBuf,
    /// PoloDB's `polodb` binary (else `$ODM_BENCH_POLODB`, else the workplace's cache).
    #[arg(long)]
    polodb: Option<PathBuf>,
    /// An odm-server binary to run workload 7 against on disk in its own process, so
    /// that its peak memory is the server's alone (default: this benchmark, started
    /// again as that server).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Be the server of `--server-bin`'s default instead: durable under this directory.
    #[arg(long, hide = true, requires = "serve_port")]
    serve_dbpath: Option<PathBuf>,
    #[arg(long, hide = true)]
    serve_port: Option<u16>,
}

impl Args {
    /// Operations per round for a workload whose full size is `full`.
    pub fn ops(&self, full: usize) -> usize {
        if self.quick { full.min(200) } else { full }
    }

    pub fn rounds(&self) -> usize {
        if self.quick { 1 } else { self.rounds.max(1) }
    }

    /// The longest a round of a fixed number of operations may run before it stops and
    /// its rate is taken on what it did.
    pub fn budget(&self) -> Duration {
        Duration::from_secs(if self.quick { 1 } else { 10 })
    }

    /// How long a round of a concurrent workload runs.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(if self.quick {
            0.3
        } else {
            self.seconds.max(0.1)
        })
    }
}

fn main() {
    let args = Args::parse();
    if let (Some(dbpath), Some(port)) = (&args.serve_dbpath, args.serve_port) {
        if let Err(e) = server::serve(dbpath, port) {
            eprintln!("odm-server on {}: {e}", dbpath.display());
            std::process::exit(1);
        }
        return;
    }
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut notes = Vec::new();
    let mut rows = client_runtime.block_on(measure_all(&args, &mut notes));
    rows.extend(sqlite::run_all(&args));
    // Over a Unix socket, the floor is the Unix-socket ping-pong.
    report::refer_to(&mut rows, server::MEMORY_UNIX, floor::UNIX);
    Referencing {
        floor: floor::TCP,
        links: &[
            (concurrency::WRITERS_J, driver::INSERT_J),
            (scale::AT_100K, scale::AT_10K),
            (scale::AT_1M, scale::AT_10K),
        ],
        base: server::MEMORY,
    }
    .apply(&mut rows);
    report::order(&mut rows);
    report::print(&rows);
    println!();
    let notes: Vec<&str> = notes
        .iter()
        .map(String::as_str)
        .chain(NOTES.iter().copied())
        .collect();
    for note in &notes {
        println!("note: {note}");
    }
    let targets = targets::compute(&rows);
    targets::print(&targets);
    let title = format!(
        "odm-bench{}: ratios to each row's reference",
        if args.quick {
            " --quick (tiny sizes)"
        } else {
            ""
        }
    );
    match json::write(&args.json, &args, &rows, &targets, &notes) {
        Ok(()) => println!("\nwrote {}", args.json.display()),
        Err(e) => eprintln!("could not write {}: {e}", args.json.display()),
    }
    match svg::write(&args.svg, &rows, &title) {
        Ok(()) => println!("wrote {}", args.svg.display()),
        Err(e) => eprintln!("could not write {}: {e}", args.svg.display()),
    }
}

const NOTES: &[&str] = &[
    "servers in this process (odm-server, the canned server, the floor's echo) run on a runtime of 2 workers; the client on 1",
    "peak RSS of odm-server in this process includes the client (this benchmark)",
    "odm-server (disk) has the default journal: every acknowledged write is on disk before its reply, so acknowledged and j: true cost the same; it does 2,000 writes a round",
    "SQLite runs in this process: no network hop, no protocol; WAL, synchronous=NORMAL (acknowledged) or FULL (j: true)",
];

async fn measure_all(args: &Args, notes: &mut Vec<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    let host = Host::new();
    rows.extend(floors(args, &host).await);
    rows.extend(ceilings(args, &host).await);
    drop(host);
    // First among the servers: the peak memory it reads is then the least polluted by
    // what other workloads allocated.
    rows.extend(odm_server_scale(args).await);
    rows.extend(odm_server(args, server::MEMORY, Embedded::memory()).await);
    rows.extend(odm_server_disk(args).await);
    #[cfg(unix)]
    rows.extend(odm_server_unix(args).await);
    rows.extend(polodb(args, notes).await);
    if args.quick {
        notes
            .push("--quick: tiny sizes and one round; the labels name the full run's sizes".into());
    }
    rows
}

async fn floors(args: &Args, host: &Host) -> Vec<Row> {
    let sizes = [
        (driver::HELLO, data::HELLO_WIRE),
        (driver::FIND, data::FIND_TWEET_WIRE),
        (driver::INSERT, data::INSERT_SMALL_WIRE),
        (driver::INSERT_J, data::INSERT_SMALL_WIRE),
        (driver::UPDATE, data::UPDATE_ONE_WIRE),
    ];
    let mut rows = Vec::new();
    for (workload, wire) in sizes {
        for transport in floor::Transport::all() {
            let n = args.ops(10_000);
            let rate = median_of(args.rounds(), |_| {
                floor::ping_pong(host, transport, n, wire)
            })
            .await;
            rows.push(Row::new(
                workload,
                transport.peer(),
                Metric::OpsPerSec,
                rate,
            ));
        }
    }
    rows
}

async fn canned_client(host: &Host, reply: bson::Document) -> Outcome<(Canned, Client)> {
    let canned = canned::start(host, reply).await.map_err(measure::failed)?;
    let client = driver::connect(&canned.uri, 1).await?;
    Ok((canned, client))
}

/// The raw driver against the canned server: its ceiling on workloads 1, 2, 3 and 6.
async fn ceilings(args: &Args, host: &Host) -> Vec<Row> {
    let peer = canned::PEER;
    let failed = |workload, why| Row::new(workload, peer, Metric::OpsPerSec, Err(why));
    let mut rows = Vec::new();
    let tweet = canned::find_reply("bench.tweets", data::tweet(0));
    let replies = [
        (driver::HELLO, canned::hello_reply()),
        (driver::FIND, tweet),
        (driver::INSERT, canned::insert_reply()),
        (driver::UPDATE, canned::update_reply()),
    ];
    for (workload, reply) in replies {
        let (canned, client) = match canned_client(host, reply).await {
            Ok(started) => started,
            Err(why) => {
                rows.push(failed(workload, why));
                continue;
            }
        };
        let db = client.database(driver::DATABASE);
        rows.push(match workload {
            driver::HELLO => driver::hello(args, peer, &client).await,
            driver::FIND => driver::find_by_id(args, peer, &db, 1).await,
            driver::INSERT => driver::insert_one(args, peer, &db, false, args.ops(10_000)).await,
            _ => driver::update_one(args, peer, &db, 1).await,
        });
        client.shutdown().immediate(true).await;
        drop(canned);
    }
    rows
}

/// Workload 7 on a fresh in-memory odm-server in this process, then on a durable one
/// in a process of its own.
async fn odm_server_scale(args: &Args) -> Vec<Row> {
    let in_process = async {
        let server = Embedded::memory().await?;
        let client = driver::connect(&server.uri, 1).await?;
        let rows = scale::run(args, server::MEMORY, &client, Memory::ThisProcess).await;
        client.shutdown().immediate(true).await;
        server.stop().await;
        Ok(rows)
    };
    let own_process = async {
        let child = server::own_process(args.server_bin.as_deref()).await?;
        let client = driver::connect(&child.uri, 1).await?;
        let memory = Memory::Process(child.pid());
        let rows = scale::run(args, server::OWN_PROCESS, &client, memory).await;
        client.shutdown().immediate(true).await;
        Ok(rows)
    };
    let failed = |peer| move |why| vec![Row::new(scale::AT_10K, peer, Metric::Micros, Err(why))];
    let mut rows = in_process.await.unwrap_or_else(failed(server::MEMORY));
    rows.extend(
        own_process
            .await
            .unwrap_or_else(failed(server::OWN_PROCESS)),
    );
    rows
}

/// Every other workload on an odm-server `started` (in memory; another transport is
/// one more call in `measure_all`): 1 to 6 on one connection, then 8 and 9 on eight,
/// then the ODM.
async fn odm_server(
    args: &Args,
    peer: &'static str,
    started: impl Future<Output = Outcome<Embedded>>,
) -> Vec<Row> {
    let server = match started.await {
        Ok(server) => server,
        Err(why) => return vec![Row::new(driver::HELLO, peer, Metric::OpsPerSec, Err(why))],
    };
    let mut rows = on_each_pool(args, peer, &server.uri).await;
    rows.extend(odm::run(args, peer, &server.uri).await);
    server.stop().await;
    rows
}

/// Workloads 1 to 6 on one connection over the in-memory server's Unix socket, each
/// beside the Unix-socket floor.
#[cfg(unix)]
async fn odm_server_unix(args: &Args) -> Vec<Row> {
    let peer = server::MEMORY_UNIX;
    let server = match Embedded::memory_unix().await {
        Ok(server) => server,
        Err(why) => return vec![Row::new(driver::HELLO, peer, Metric::OpsPerSec, Err(why))],
    };
    let rows = match driver::connect(&server.uri, 1).await {
        Ok(client) => {
            let rows = driver::run_all(args, peer, &client).await;
            client.shutdown().immediate(true).await;
            rows
        }
        Err(why) => vec![Row::new(driver::HELLO, peer, Metric::OpsPerSec, Err(why))],
    };
    server.stop().await;
    rows
}

/// The raw-driver workloads any wire-protocol server is given: 1 to 6 on one
/// connection, 8 on a pool of eight, 9.
async fn on_each_pool(args: &Args, peer: &'static str, uri: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    match driver::connect(uri, 1).await {
        Ok(client) => {
            rows.extend(driver::run_all(args, peer, &client).await);
            client.shutdown().immediate(true).await;
        }
        Err(why) => rows.push(Row::new(driver::HELLO, peer, Metric::OpsPerSec, Err(why))),
    }
    match driver::connect(uri, concurrency::TASKS as u32).await {
        Ok(pool) => {
            rows.extend(concurrency::run_all(args, peer, &pool).await);
            pool.shutdown().immediate(true).await;
        }
        Err(why) => rows.push(Row::new(
            concurrency::MIX_50,
            peer,
            Metric::OpsPerSec,
            Err(why),
        )),
    }
    rows.extend(changes::run(args, peer, uri).await);
    rows
}

/// Writes a round on the durable server, where each costs a flush.
const DISK_WRITES: usize = 2_000;

/// Workload 3 and the eight `j: true` writers on a durable odm-server: where `j: true`
/// means a flush to disk.
async fn odm_server_disk(args: &Args) -> Vec<Row> {
    let peer = server::DISK;
    let outcome = async {
        let server = Embedded::disk().await?;
        let client = driver::connect(&server.uri, 1).await?;
        let db = client.database(driver::DATABASE);
        // Each write waits for a flush: fewer of them give the rate as well.
        let n = args.ops(DISK_WRITES);
        let mut rows = vec![
            driver::insert_one(args, peer, &db, false, n).await,
            driver::insert_one(args, peer, &db, true, n).await,
        ];
        client.shutdown().immediate(true).await;
        let pool = driver::connect(&server.uri, concurrency::TASKS as u32).await?;
        rows.push(concurrency::writers(args, peer, &pool).await);
        pool.shutdown().immediate(true).await;
        server.stop().await;
        Ok(rows)
    };
    outcome.await.unwrap_or_else(|why: String| {
        vec![Row::new(driver::INSERT, peer, Metric::OpsPerSec, Err(why))]
    })
}

/// PoloDB's server, when there is one, given what odm-server is given.
async fn polodb(args: &Args, notes: &mut Vec<String>) -> Vec<Row> {
    let Some(program) = polodb::find(args.polodb.as_deref()) else {
        notes.push(
            "PoloDB: no `polodb` binary (--polodb PATH or $ODM_BENCH_POLODB); skipped".into(),
        );
        return Vec::new();
    };
    let child = match polodb::start(&program).await {
        Ok(child) => child,
        Err(why) => {
            notes.push(format!(
                "PoloDB ({}) did not start: {why}",
                program.display()
            ));
            return Vec::new();
        }
    };
    notes.push(format!(
        "PoloDB: {} (killed after its workloads)",
        program.display()
    ));
    let mut rows = on_each_pool(args, polodb::PEER, &child.uri).await;
    match driver::connect(&child.uri, 1).await {
        Ok(client) => {
            let memory = Memory::Process(child.pid());
            rows.extend(scale::run(args, polodb::PEER, &client, memory).await);
            client.shutdown().immediate(true).await;
        }
        Err(why) => rows.push(Row::new(
            scale::AT_10K,
            polodb::PEER,
            Metric::Micros,
            Err(why),
        )),
    }
    drop(child);
    rows
}
