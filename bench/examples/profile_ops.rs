//! One workload in a loop against an in-memory odm-server in this process, for a
//! profiler: `valgrind --tool=callgrind target/release/examples/profile_ops find 2000`
//! counts instructions, which stay the same however loaded the machine is. Run it at two
//! sizes and take the difference to leave out the start and the seeding; see
//! `docs/performance.md`.
//!
//! Workloads: `hello`, `find` (one by `_id`), `insert` (one small document), `update`
//! (`$set` one field), `many` (`insert_many` of 10,000 small documents), `drain` (a
//! 1,000-document cursor).

use bson::{Document, doc};
use futures::TryStreamExt;
use mongodb::Client;
use odm_server::{Config, Server};

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "find".into());
    let n: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(&workload, n));
}

async fn run(workload: &str, n: i64) {
    let server = Server::start(Config::in_memory())
        .await
        .expect("the server");
    let uri = format!("{}?maxPoolSize=1&directConnection=true", server.uri());
    let client = Client::with_uri_str(uri).await.expect("the driver");
    let docs = client.database("bench").collection::<Document>("t");
    let seed: Vec<Document> = (0..1_000i64)
        .map(|i| {
            doc! {
                "_id": i, "text": "x".repeat(280), "n": i,
                "user": {"id": i, "name": "A. Person", "description": "y".repeat(160)},
            }
        })
        .collect();
    docs.insert_many(seed).await.expect("seeded");
    let admin = client.database("admin");
    for i in 0..n {
        match workload {
            "hello" => {
                admin.run_command(doc! {"hello": 1}).await.expect("hello");
            }
            "find" => {
                let found = docs.find_one(doc! {"_id": i % 1_000}).await.expect("find");
                assert!(found.is_some());
            }
            "insert" => {
                let d = doc! {"_id": 10_000 + i, "a": i, "b": "some text here"};
                docs.insert_one(d).await.expect("insert");
            }
            "update" => {
                let set = doc! {"$set": {"n": i + 1}};
                docs.update_one(doc! {"_id": i % 1_000}, set)
                    .await
                    .expect("update");
            }
            "many" => {
                let batch: Vec<Document> = (0..10_000i64)
                    .map(|j| {
                        let mut d = doc! {"_id": 100_000 + i * 10_000 + j};
                        d.extend(odm_bench_small(j));
                        d
                    })
                    .collect();
                docs.insert_many(batch).await.expect("insert_many");
            }
            "drain" => {
                let all: Vec<Document> = docs
                    .find(doc! {})
                    .await
                    .expect("find")
                    .try_collect()
                    .await
                    .expect("drain");
                assert_eq!(all.len(), 1_000);
            }
            other => panic!("unknown workload {other}: hello, find, insert, update, many, drain"),
        }
    }
    client.shutdown().await;
    server.shutdown().await;
}

/// A small document of about 250 bytes (the benchmark's, without its `_id`).
fn odm_bench_small(j: i64) -> Document {
    doc! {
        "name": format!("user{j:07}"), "email": format!("user{j}@example.com"),
        "age": (j % 90) as i32, "score": j as f64 * 0.5, "active": j % 2 == 0,
        "city": "Paris", "zip": "75001", "country": "FR", "tags": ["a", "b"],
        "group": (j % 100) as i32, "note": "a short note of some forty characters ..",
    }
}
