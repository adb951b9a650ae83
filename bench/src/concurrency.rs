//! Workload 8: eight connections at once (eight tasks, a pool of eight), each for a
//! fixed time: finds and updates by `_id` mixed 50/50 and 95/5, eight writers with
//! `j: true` (compared with one such writer, workload 3: what group commit gives), and
//! eight clients committing small transactions (two writes each).

use std::sync::atomic::{AtomicI64, Ordering};

use bson::{Document, doc};
use mongodb::error::TRANSIENT_TRANSACTION_ERROR;
use mongodb::{Client, Collection};

use crate::Args;
use crate::data;
use crate::driver::{DATABASE, clear, journaled};
use crate::measure::{Outcome, failed, for_time, median_of};
use crate::report::{Metric, Row};

pub const MIX_50: &str = "8. 8 connections, 50/50 find/update";
pub const MIX_95: &str = "8. 8 connections, 95/5 find/update";
pub const WRITERS_J: &str = "8. 8 writers, insert one (j: true)";
pub const TRANSACTIONS: &str = "8. 8 clients, transactions of 2 writes";

pub const TASKS: usize = 8;

/// Every workload here; `client` has a pool of [`TASKS`] connections.
pub async fn run_all(args: &Args, peer: &'static str, client: &Client) -> Vec<Row> {
    let mut rows = Vec::new();
    match seed(client, args.ops(10_000)).await {
        Ok(docs) => {
            for (workload, reads) in [(MIX_50, 50), (MIX_95, 95)] {
                rows.push(mix(args, peer, client, docs, reads, workload).await);
            }
        }
        Err(why) => {
            for workload in [MIX_50, MIX_95] {
                rows.push(Row::new(
                    workload,
                    peer,
                    Metric::OpsPerSec,
                    Err(why.clone()),
                ));
            }
        }
    }
    rows.push(writers(args, peer, client).await);
    rows.push(transactions(args, peer, client).await);
    rows
}

async fn seed(client: &Client, n: usize) -> Outcome<usize> {
    let collection = client.database(DATABASE).collection::<Document>("mixed");
    clear(&collection).await;
    let docs: Vec<Document> = (0..n as i64).map(data::small).collect();
    collection.insert_many(docs).await.map_err(failed)?;
    Ok(n)
}

/// A cheap, seeded pseudo-random sequence per task (xorshift), so every run does the
/// same mix.
fn shuffle(task: usize, i: u64) -> u64 {
    let mut x = (task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

async fn mix(
    args: &Args,
    peer: &'static str,
    client: &Client,
    docs: usize,
    reads: u64,
    workload: &'static str,
) -> Row {
    let collection = client.database(DATABASE).collection::<Document>("mixed");
    let value = median_of(args.rounds(), |_| {
        for_time(TASKS, args.duration(), |task, i| {
            let collection = &collection;
            let draw = shuffle(task, i);
            let id = (draw / 100 % docs as u64) as i64;
            async move {
                if draw % 100 < reads {
                    match collection.find_one(doc! {"_id": id}).await {
                        Ok(Some(_)) => Ok(()),
                        Ok(None) => Err("a seeded document was not found".into()),
                        Err(e) => Err(failed(e)),
                    }
                } else {
                    let set = doc! {"$set": {"score": i as f64}};
                    collection
                        .update_one(doc! {"_id": id}, set)
                        .await
                        .map(drop)
                        .map_err(failed)
                }
            }
        })
    })
    .await;
    Row::new(workload, peer, Metric::OpsPerSec, value)
}

pub async fn writers(args: &Args, peer: &'static str, client: &Client) -> Row {
    let collection = journaled(&client.database(DATABASE), "small_j8");
    let next = AtomicI64::new(0);
    let value = median_of(args.rounds(), |_| {
        for_time(TASKS, args.duration(), |_, _| {
            let (collection, id) = (&collection, next.fetch_add(1, Ordering::Relaxed));
            async move { collection.insert_one(data::small(id)).await.map(drop) }
        })
    })
    .await;
    Row::new(WRITERS_J, peer, Metric::OpsPerSec, value)
}

/// Each client inserts a document and counts it in a document of its own, in one
/// transaction: the clients never write the same document. A transaction the server
/// still aborts as transient is retried, as the drivers' convenient API does, and only
/// commits count.
async fn transactions(args: &Args, peer: &'static str, client: &Client) -> Row {
    let db = client.database(DATABASE);
    let events = db.collection::<Document>("tx_events");
    let counters = db.collection::<Document>("tx_counters");
    // The collections exist before the first transaction writes to them.
    let created = async {
        events.insert_one(doc! {"_id": -1_i64}).await?;
        counters.insert_one(doc! {"_id": -1}).await
    };
    if let Err(e) = created.await {
        return Row::new(TRANSACTIONS, peer, Metric::OpsPerSec, Err(failed(e)));
    }
    let next = AtomicI64::new(0);
    let value = median_of(args.rounds(), |_| {
        for_time(TASKS, args.duration(), |task, _| {
            let (events, counters, next) = (&events, &counters, &next);
            async move {
                let mut tries = 0;
                loop {
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    match transaction(client, events, counters, task, id).await {
                        Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && tries < 10 => {
                            tries += 1;
                        }
                        done => return done,
                    }
                }
            }
        })
    })
    .await;
    Row::new(TRANSACTIONS, peer, Metric::OpsPerSec, value)
}

async fn transaction(
    client: &Client,
    events: &Collection<Document>,
    counters: &Collection<Document>,
    task: usize,
    id: i64,
) -> mongodb::error::Result<()> {
    let mut session = client.start_session().await?;
    session.start_transaction().await?;
    events
        .insert_one(doc! {"_id": id, "task": task as i32})
        .session(&mut session)
        .await?;
    counters
        .update_one(doc! {"_id": task as i32}, doc! {"$inc": {"n": 1}})
        .upsert(true)
        .session(&mut session)
        .await?;
    session.commit_transaction().await
}
