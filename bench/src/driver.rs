//! Workloads 1 to 6 through the raw official driver (`doc!` documents; serde structs
//! where results are decoded), against any server that speaks the wire protocol:
//! odm-server, PoloDB, the canned server. Each function measures one workload on one
//! connection and returns its rows; a server error makes the row "unsupported".

use futures::TryStreamExt;
use mongodb::options::{CollectionOptions, WriteConcern};
use mongodb::{Client, Collection, Database};

use bson::{Document, doc};

use crate::Args;
use crate::data::{self, Tweet};
use crate::measure::{Outcome, failed, median_of, repeated};
use crate::report::{Metric, Row};

pub const HELLO: &str = "1. hello";
pub const FIND: &str = "2. find one by _id (10k tweets)";
pub const INSERT: &str = "3. insert one small (acknowledged)";
pub const INSERT_J: &str = "3. insert one small (j: true)";
pub const MANY_SMALL: &str = "4. insert_many 10k small";
pub const MANY_LARGE: &str = "4. insert_many 10 large (2.7 MB each)";
pub const DRAIN: &str = "5. find many, drain 10k tweets into structs";
pub const UPDATE: &str = "6. update one by _id ($set one field)";

/// The database every workload uses.
pub const DATABASE: &str = "bench";

/// Tweets seeded for workloads 2 and 5.
pub const TWEETS: usize = 10_000;

/// Drops what an earlier run left in a collection. Every workload writes under names
/// of its own on a fresh server, so a server that has no `drop` (PoloDB) has nothing to
/// drop, and its refusal is no failure.
pub async fn clear(collection: &Collection<Document>) {
    let _ = collection.drop().await;
}

/// A client for `uri` with at most `pool` connections.
pub async fn connect(uri: &str, pool: u32) -> Outcome<Client> {
    let separator = if uri.contains('?') { '&' } else { '?' };
    Client::with_uri_str(format!("{uri}{separator}maxPoolSize={pool}"))
        .await
        .map_err(failed)
}

/// Every workload here, in order, for a peer that can store data.
pub async fn run_all(args: &Args, peer: &'static str, client: &Client) -> Vec<Row> {
    let db = client.database(DATABASE);
    let mut rows = vec![hello(args, peer, client).await];
    let seeded = seed_tweets(&db, args.ops(TWEETS)).await;
    rows.push(match &seeded {
        Ok(_) => find_by_id(args, peer, &db, args.ops(TWEETS)).await,
        Err(why) => Row::new(FIND, peer, Metric::OpsPerSec, Err(why.clone())),
    });
    let n = args.ops(10_000);
    let inserted = insert_one(args, peer, &db, false, n).await;
    let updatable = inserted.value.is_ok();
    rows.push(inserted);
    rows.push(insert_one(args, peer, &db, true, n).await);
    rows.push(insert_many_small(args, peer, &db).await);
    rows.push(insert_many_large(args, peer, &db).await);
    match seeded {
        Ok(bytes) => rows.extend(drain(args, peer, &db, bytes).await),
        Err(why) => rows.push(Row::new(DRAIN, peer, Metric::MbPerSec, Err(why))),
    }
    let docs = n * args.rounds();
    rows.push(match updatable {
        true => update_one(args, peer, &db, docs).await,
        false => Row::new(UPDATE, peer, Metric::OpsPerSec, Err("no documents".into())),
    });
    rows
}

pub async fn hello(args: &Args, peer: &'static str, client: &Client) -> Row {
    let admin = client.database("admin");
    let value = repeated(args, args.ops(10_000), |_| {
        let admin = &admin;
        // `helloOk` as drivers send it: some servers only know `hello` by it.
        async move {
            admin
                .run_command(doc! {"hello": 1, "helloOk": true})
                .await
                .map(drop)
        }
    })
    .await;
    Row::new(HELLO, peer, Metric::OpsPerSec, value)
}

/// Inserts `n` tweets in one `insert_many`; their BSON size in bytes.
pub async fn seed_tweets(db: &Database, n: usize) -> Outcome<usize> {
    let tweets: Vec<Document> = (0..n as i64).map(data::tweet).collect();
    let bytes = tweets.iter().map(data::bson_len).sum();
    let collection = db.collection::<Document>("tweets");
    clear(&collection).await;
    collection.insert_many(tweets).await.map_err(failed)?;
    Ok(bytes)
}

pub async fn find_by_id(args: &Args, peer: &'static str, db: &Database, seeded: usize) -> Row {
    let tweets = db.collection::<Document>("tweets");
    let value = repeated(args, args.ops(10_000), |i| {
        let tweets = &tweets;
        async move {
            match tweets.find_one(doc! {"_id": (i % seeded) as i64}).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("a seeded tweet was not found".to_string()),
                Err(e) => Err(failed(e)),
            }
        }
    })
    .await;
    Row::new(FIND, peer, Metric::OpsPerSec, value)
}

/// A collection whose writes wait for the journal.
pub fn journaled(db: &Database, name: &str) -> Collection<Document> {
    let options = CollectionOptions::builder()
        .write_concern(WriteConcern::builder().journal(true).build())
        .build();
    db.collection_with_options(name, options)
}

/// `n` small documents a round with `_id`s 0.. into `small` (acknowledged) or
/// `small_j` (`j: true`).
pub async fn insert_one(
    args: &Args,
    peer: &'static str,
    db: &Database,
    journal: bool,
    n: usize,
) -> Row {
    let (workload, collection) = match journal {
        false => (INSERT, db.collection::<Document>("small")),
        true => (INSERT_J, journaled(db, "small_j")),
    };
    let value = repeated(args, n, |i| {
        let collection = &collection;
        async move { collection.insert_one(data::small(i as i64)).await.map(drop) }
    })
    .await;
    Row::new(workload, peer, Metric::OpsPerSec, value)
}

pub async fn insert_many_small(args: &Args, peer: &'static str, db: &Database) -> Row {
    let n = args.ops(10_000);
    let value = median_of(args.rounds(), |r| async move {
        let docs: Vec<Document> = (0..n as i64).map(data::small).collect();
        let seconds = timed_insert_many(db, &format!("many_small_{r}"), docs).await?;
        Ok(n as f64 / seconds)
    })
    .await;
    Row::new(MANY_SMALL, peer, Metric::DocsPerSec, value)
}

pub async fn insert_many_large(args: &Args, peer: &'static str, db: &Database) -> Row {
    let n = if args.quick { 2 } else { 10 };
    let value = median_of(args.rounds(), |r| async move {
        let docs: Vec<Document> = (0..n).map(data::large).collect();
        let megabytes = docs.iter().map(data::bson_len).sum::<usize>() as f64 / 1e6;
        let seconds = timed_insert_many(db, &format!("many_large_{r}"), docs).await?;
        Ok(megabytes / seconds)
    })
    .await;
    Row::new(MANY_LARGE, peer, Metric::MbPerSec, value)
}

/// One `insert_many` into a collection of its own, cleared after (a server in memory
/// keeps what it holds): its time in seconds.
async fn timed_insert_many(db: &Database, name: &str, docs: Vec<Document>) -> Outcome<f64> {
    let collection = db.collection::<Document>(name);
    clear(&collection).await;
    let started = std::time::Instant::now();
    collection.insert_many(docs).await.map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    clear(&collection).await;
    Ok(seconds)
}

/// Every seeded tweet read through a cursor and decoded into [`Tweet`]: MB/s of BSON
/// delivered and documents per second.
pub async fn drain(args: &Args, peer: &'static str, db: &Database, bytes: usize) -> Vec<Row> {
    let tweets = db.collection::<Tweet>("tweets");
    let expected = args.ops(TWEETS);
    let rate = median_of(args.rounds(), |_| async {
        let started = std::time::Instant::now();
        let all: Vec<Tweet> = tweets
            .find(doc! {})
            .await
            .map_err(failed)?
            .try_collect()
            .await
            .map_err(failed)?;
        if all.len() != expected {
            return Err(format!("{} tweets of {expected}", all.len()));
        }
        Ok(all.len() as f64 / started.elapsed().as_secs_f64())
    })
    .await;
    let per_doc_mb = bytes as f64 / expected as f64 / 1e6;
    vec![
        Row::new(
            DRAIN,
            peer,
            Metric::MbPerSec,
            rate.clone().map(|r| r * per_doc_mb),
        ),
        Row::new(DRAIN, peer, Metric::DocsPerSec, rate),
    ]
}

/// `$set` of one field on the small documents `_id` 0..`docs` (those workload 3 wrote).
pub async fn update_one(args: &Args, peer: &'static str, db: &Database, docs: usize) -> Row {
    let small = db.collection::<Document>("small");
    let value = repeated(args, args.ops(10_000), |i| {
        let small = &small;
        async move {
            small
                .update_one(
                    doc! {"_id": (i % docs) as i64},
                    doc! {"$set": {"score": i as f64}},
                )
                .await
                .map(drop)
        }
    })
    .await;
    Row::new(UPDATE, peer, Metric::OpsPerSec, value)
}
