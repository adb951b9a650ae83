//! Workload 7: an indexed equality query on a secondary field (`name`, unique-ish, with
//! an index made by `createIndexes`) against 10k, 100k and 1M small documents, seeded
//! with `insert_many` in large batches, and the server's peak memory once it holds 1M.
//! What should not grow with the collection is the time of one query.

use bson::{Document, doc};
use futures::TryStreamExt;
use mongodb::{Client, IndexModel};

use crate::Args;
use crate::data;
use crate::driver::{DATABASE, clear};
use crate::measure::{Outcome, failed, repeated};
use crate::report::{Metric, Row};

pub const AT_10K: &str = "7. indexed equality query, 10k docs";
pub const AT_100K: &str = "7. indexed equality query, 100k docs";
pub const AT_1M: &str = "7. indexed equality query, 1M docs";
pub const SEEDING: &str = "7. seeding 1M (insert_many, 100k a batch)";
pub const RSS: &str = "7. peak RSS holding 1M docs";

/// The collection sizes and what each is called, the full run's or the smoke pass's.
pub fn sizes(args: &Args) -> [(usize, &'static str); 3] {
    match args.quick {
        false => [(10_000, AT_10K), (100_000, AT_100K), (1_000_000, AT_1M)],
        true => [(200, AT_10K), (1_000, AT_100K), (3_000, AT_1M)],
    }
}

const BATCH: usize = 100_000;

/// Where the server's peak memory is read: this process (an embedded server, so the
/// figure includes the client) or the server's own.
#[derive(Clone, Copy)]
pub enum Memory {
    ThisProcess,
    Process(u32),
}

pub async fn run(args: &Args, peer: &'static str, client: &Client, memory: Memory) -> Vec<Row> {
    let collection = client.database(DATABASE).collection::<Document>("scale");
    let mut rows = Vec::new();
    let prepared = async {
        clear(&collection).await;
        let index = IndexModel::builder().keys(doc! {"name": 1}).build();
        let created = collection.create_index(index).await;
        created.map_err(|e| format!("createIndexes: {}", failed(e)))
    };
    if let Err(why) = prepared.await {
        for (_, workload) in sizes(args) {
            rows.push(Row::new(workload, peer, Metric::Micros, Err(why.clone())));
        }
        return rows;
    }
    if let Memory::ThisProcess = memory {
        crate::process::reset_peak_rss();
    }
    let (mut seeded, mut seeding_time) = (0, 0.0);
    for (size, workload) in sizes(args) {
        let started = std::time::Instant::now();
        if let Err(why) = seed(&collection, seeded, size).await {
            rows.push(Row::new(workload, peer, Metric::Micros, Err(why)));
            return rows;
        }
        seeding_time += started.elapsed().as_secs_f64();
        seeded = size;
        let rate = repeated(args, args.ops(10_000), |i| {
            let collection = &collection;
            // A stride through the collection, so queries do not hit one page of the index.
            let wanted = data::name(((i * 7_919) % size) as i64);
            async move {
                let found: Vec<Document> = collection
                    .find(doc! {"name": wanted})
                    .await
                    .map_err(failed)?
                    .try_collect()
                    .await
                    .map_err(failed)?;
                match found.len() {
                    1 => Ok(()),
                    n => Err(format!("{n} documents matched a unique name")),
                }
            }
        })
        .await;
        rows.push(Row::new(
            workload,
            peer,
            Metric::Micros,
            rate.map(|r| 1e6 / r),
        ));
    }
    let seeding = seeded as f64 / seeding_time;
    rows.push(Row::new(SEEDING, peer, Metric::DocsPerSec, Ok(seeding)));
    let rss = match memory {
        Memory::ThisProcess => crate::process::peak_rss_mb(None),
        Memory::Process(pid) => crate::process::peak_rss_mb(Some(pid)),
    };
    if let Some(mb) = rss {
        rows.push(Row::new(RSS, peer, Metric::Megabytes, Ok(mb)));
    }
    clear(&collection).await;
    rows
}

/// Grows the collection from `from` documents to `to`, `BATCH` at a time.
async fn seed(collection: &mongodb::Collection<Document>, from: usize, to: usize) -> Outcome<()> {
    let mut next = from;
    while next < to {
        let end = (next + BATCH).min(to);
        let docs: Vec<Document> = (next as i64..end as i64).map(data::small).collect();
        collection.insert_many(docs).await.map_err(failed)?;
        next = end;
    }
    Ok(())
}
