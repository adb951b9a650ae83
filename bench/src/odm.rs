//! Workload 10: the ODM (`Collection<M>` of `#[derive(Model)]` structs) doing workloads
//! 2, 3, 5 and 6, each beside the raw driver doing the same with the same structs
//! (serde, no ODM), rounds alternating between the two so that the machine's drift
//! falls on both. The ratio is the ODM's own cost.

use bson::{Document, doc};
use futures::TryStreamExt;
use mongodb::Database;
use odm::{Db, Filter, Model};

use crate::Args;
use crate::data::{Small, Tweet};
use crate::driver::{self, TWEETS};
use crate::measure::{Outcome, failed, median, sequence};
use crate::report::{Metric, Row};

pub const FIND: &str = "10. ODM: find one by _id (as 2)";
pub const INSERT: &str = "10. ODM: insert one small (as 3)";
pub const DRAIN: &str = "10. ODM: drain 10k tweets (as 5)";
pub const UPDATE: &str = "10. ODM: update one by _id (as 6)";

/// The database of this workload, apart from the raw driver's.
const DATABASE: &str = "bench_odm";

/// The reference of every row here.
const RAW: &str = "raw driver, same structs";

pub async fn run(args: &Args, peer: &'static str, uri: &str) -> Vec<Row> {
    let setup = async {
        let separator = if uri.contains('?') { '&' } else { '?' };
        let db = Db::connect(&format!("{uri}{separator}maxPoolSize=1"))
            .await
            .map_err(failed)?
            .database(DATABASE);
        driver::seed_tweets(db.raw(), args.ops(TWEETS)).await?;
        for name in ["small", "small_raw"] {
            driver::clear(&db.raw().collection::<Document>(name)).await;
        }
        Ok::<Db, String>(db)
    };
    let db = match setup.await {
        Ok(db) => db,
        Err(why) => {
            return [FIND, INSERT, DRAIN, UPDATE]
                .into_iter()
                .map(|w| Row::new(w, peer, Metric::OpsPerSec, Err(why.clone())))
                .collect();
        }
    };
    let n = args.ops(10_000);
    let seeded = args.ops(TWEETS);
    let raw = db.raw();
    let mut rows = Vec::new();
    rows.push(
        side_by_side(args, peer, FIND, Metric::OpsPerSec, |odm, r| {
            find(args, &db, raw, odm, r, seeded)
        })
        .await,
    );
    rows.push(
        side_by_side(args, peer, INSERT, Metric::OpsPerSec, |odm, r| {
            insert(args, &db, raw, odm, r)
        })
        .await,
    );
    rows.push(
        side_by_side(args, peer, DRAIN, Metric::DocsPerSec, |odm, _| {
            drain(&db, raw, odm, seeded)
        })
        .await,
    );
    let inserted = n * args.rounds();
    rows.push(
        side_by_side(args, peer, UPDATE, Metric::OpsPerSec, |odm, r| {
            update(args, &db, raw, odm, r, inserted)
        })
        .await,
    );
    rows
}

/// `round(odm, r)` alternating the raw driver (`odm` false) and the ODM: the ODM's
/// median against the raw driver's.
async fn side_by_side<F, Fut>(
    args: &Args,
    peer: &'static str,
    workload: &'static str,
    metric: Metric,
    mut round: F,
) -> Row
where
    F: FnMut(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let (mut raw, mut odm) = (Vec::new(), Vec::new());
    for r in 0..args.rounds() {
        // Which goes first alternates by round: the second of a pair meets a warmer
        // server and, for inserts, a larger collection.
        let measured = async {
            Ok::<_, String>(match r % 2 {
                0 => (round(false, r).await?, round(true, r).await?),
                _ => {
                    let odm = round(true, r).await?;
                    (round(false, r).await?, odm)
                }
            })
        };
        match measured.await {
            Ok((a, b)) => {
                raw.push(a);
                odm.push(b);
            }
            Err(why) => return Row::new(workload, peer, metric, Err(why)),
        }
    }
    Row::new(workload, peer, metric, Ok(median(odm))).against(RAW, median(raw))
}

async fn find(args: &Args, db: &Db, raw: &Database, odm: bool, r: usize, seeded: usize) -> Outcome {
    let n = args.ops(10_000);
    let (tweets, typed) = (db.collection::<Tweet>(), raw.collection::<Tweet>("tweets"));
    sequence(n, args.budget(), |i| {
        let (tweets, typed) = (&tweets, &typed);
        let id = ((r * n + i) % seeded) as i64;
        async move {
            let found = match odm {
                true => tweets.find_by_id(id).await.map_err(failed)?,
                false => typed.find_one(doc! {"_id": id}).await.map_err(failed)?,
            };
            found
                .map(drop)
                .ok_or_else(|| "a seeded tweet was not found".to_string())
        }
    })
    .await
}

/// The ODM inserts into `small` (its model's collection), the raw driver into
/// `small_raw`, the same `_id`s.
async fn insert(args: &Args, db: &Db, raw: &Database, odm: bool, r: usize) -> Outcome {
    let n = args.ops(10_000);
    let (smalls, typed) = (
        db.collection::<Small>(),
        raw.collection::<Small>("small_raw"),
    );
    sequence(n, args.budget(), |i| {
        let (smalls, typed) = (&smalls, &typed);
        let mut small = Small::new((r * n + i) as i64);
        async move {
            match odm {
                true => smalls.insert_one(&mut small).await.map_err(failed),
                false => typed.insert_one(&small).await.map(drop).map_err(failed),
            }
        }
    })
    .await
}

async fn drain(db: &Db, raw: &Database, odm: bool, seeded: usize) -> Outcome {
    let started = std::time::Instant::now();
    let all: Vec<Tweet> = match odm {
        true => db
            .collection::<Tweet>()
            .find(Filter::all())
            .all()
            .await
            .map_err(failed)?,
        false => {
            let cursor = raw
                .collection::<Tweet>("tweets")
                .find(doc! {})
                .await
                .map_err(failed)?;
            cursor.try_collect().await.map_err(failed)?
        }
    };
    if all.len() != seeded {
        return Err(format!("{} tweets of {seeded}", all.len()));
    }
    Ok(all.len() as f64 / started.elapsed().as_secs_f64())
}

async fn update(args: &Args, db: &Db, raw: &Database, odm: bool, r: usize, docs: usize) -> Outcome {
    let n = args.ops(10_000);
    let (smalls, typed) = (
        db.collection::<Small>(),
        raw.collection::<Small>("small_raw"),
    );
    let f = Small::fields();
    sequence(n, args.budget(), |i| {
        let (smalls, typed) = (&smalls, &typed);
        let (id, score) = (((r * n + i) % docs) as i64, (r * n + i) as f64);
        async move {
            match odm {
                true => smalls
                    .update_by_id(id, f.score.set(score))
                    .await
                    .map(drop)
                    .map_err(failed),
                false => typed
                    .update_one(doc! {"_id": id}, doc! {"$set": {"score": score}})
                    .await
                    .map(drop)
                    .map_err(failed),
            }
        }
    })
    .await
}
