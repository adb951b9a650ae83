//! The ODM and the raw driver doing the same workload against an in-memory odm-server in
//! this process, for a profiler: wall-clock ratios between them move by more than the
//! ODM's cost on a noisy machine, instruction counts do not.
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/odm_vs_raw odm update 1500
//! valgrind --tool=callgrind target/release/examples/odm_vs_raw raw update 1500
//! ```
//!
//! Run each at two sizes and take the difference per operation to leave out the start
//! and the seeding; see `docs/performance.md`. Workloads: `find` (one by `_id`),
//! `insert` (one small document), `update` (`$set` one field), `drain` (a 1,000-document
//! cursor into structs, once per iteration).

use bson::doc;
use futures::TryStreamExt;
use odm::{Db, Filter, Model};
use odm_server::{Config, Server};

// The benchmark's own small document (13 fields, about 250 bytes), shared rather than
// copied; the example uses only part of that module.
#[allow(dead_code)]
#[path = "../src/data.rs"]
mod data;

use data::Small;

const SEEDED: i64 = 1_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(side), Some(workload)) = (args.next(), args.next()) else {
        eprintln!("usage: odm_vs_raw odm|raw find|insert|update|drain [iterations]");
        std::process::exit(2);
    };
    let n: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let odm = side == "odm";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(odm, &workload, n));
}

async fn run(odm: bool, workload: &str, n: i64) {
    let server = Server::start(Config::in_memory())
        .await
        .expect("the server");
    let uri = format!("{}?maxPoolSize=1&directConnection=true", server.uri());
    let db = Db::connect(&uri)
        .await
        .expect("the driver")
        .database("bench");
    let smalls = db.collection::<Small>();
    let raw = db.raw().collection::<Small>("small");
    raw.insert_many((0..SEEDED).map(Small::new))
        .await
        .expect("seeded");
    let f = Small::fields();
    for i in 0..n {
        let id = i % SEEDED;
        match (workload, odm) {
            ("find", true) => {
                smalls.find_by_id(id).await.expect("find").expect("found");
            }
            ("find", false) => {
                raw.find_one(doc! {"_id": id})
                    .await
                    .expect("find")
                    .expect("found");
            }
            ("insert", true) => {
                smalls
                    .insert_one(&mut Small::new(SEEDED + i))
                    .await
                    .expect("insert");
            }
            ("insert", false) => {
                raw.insert_one(Small::new(SEEDED + i))
                    .await
                    .expect("insert");
            }
            ("update", true) => {
                smalls
                    .update_by_id(id, f.score.set(i as f64))
                    .await
                    .expect("update");
            }
            ("update", false) => {
                raw.update_one(doc! {"_id": id}, doc! {"$set": {"score": i as f64}})
                    .await
                    .expect("update");
            }
            ("drain", true) => {
                let all = smalls.find(Filter::all()).all().await.expect("drain");
                assert_eq!(all.len() as i64, SEEDED);
            }
            ("drain", false) => {
                let all: Vec<Small> = raw
                    .find(doc! {})
                    .await
                    .expect("find")
                    .try_collect()
                    .await
                    .expect("drain");
                assert_eq!(all.len() as i64, SEEDED);
            }
            (other, _) => panic!("unknown workload {other}"),
        }
    }
}
