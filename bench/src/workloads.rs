//! The workloads through the raw official driver, each beside the floor for its message
//! sizes. The data is seeded: "small" documents of about 250 bytes with 13 fields and
//! "tweet" documents of about 1.6 KB with a nested user and entities.

use std::future::Future;
use std::time::Instant;

use bson::{Document, doc};
use mongodb::Client;

use crate::Args;
use crate::floor;
use crate::report::{Row, median};

/// Request and reply sizes on the wire, in bytes, for the floor beside each workload
/// (measured from the driver's messages for these documents, rounded).
const HELLO: (usize, usize) = (260, 720);
const FIND_TWEET: (usize, usize) = (230, 1_950);
const INSERT_SMALL: (usize, usize) = (420, 230);
const UPDATE_ONE: (usize, usize) = (300, 250);

/// A document of about 250 bytes with 13 fields.
pub fn small(i: i64) -> Document {
    doc! {
        "_id": i, "name": format!("user{i:07}"), "email": format!("user{i}@example.com"),
        "age": (i % 90) as i32, "score": i as f64 * 0.5, "active": i % 2 == 0,
        "city": "Paris", "zip": "75001", "country": "FR", "tags": ["a", "b"],
        "created": bson::DateTime::from_millis(1_700_000_000_000 + i), "group": (i % 100) as i32,
        "note": "a short note of some forty characters ..",
    }
}

/// A document of about 1.6 KB: a tweet with its user and entities.
pub fn tweet(i: i64) -> Document {
    doc! {
        "_id": i,
        "text": "x".repeat(280),
        "created_at": bson::DateTime::from_millis(1_700_000_000_000 + i),
        "retweets": (i % 1000) as i32, "favorites": (i % 5000) as i32, "lang": "en",
        "user": {
            "id": i % 10_000, "screen_name": format!("user{i}"), "name": "A. Person",
            "description": "y".repeat(160), "followers": 1234, "friends": 321,
            "location": "Somewhere", "verified": false,
        },
        "entities": {
            "hashtags": [{"text": "rust", "indices": [1, 5]}, {"text": "mongodb", "indices": [7, 15]}],
            "urls": [{"url": "https://example.com/a", "expanded": "https://example.com/a/long/path", "indices": [20, 43]}],
            "mentions": [{"screen_name": "someone", "id": 42, "indices": [50, 58]}],
        },
        "source": "z".repeat(600),
    }
}

/// Runs `op(i)` for i in 0..n, `rounds` times; the median rate in operations per second.
async fn rate<F, Fut>(args: &Args, n: usize, mut op: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut rates = Vec::new();
    for round in 0..args.rounds() {
        let started = Instant::now();
        for i in 0..n {
            op(round * n + i).await;
        }
        rates.push(n as f64 / started.elapsed().as_secs_f64());
    }
    median(rates)
}

async fn floor_rate(args: &Args, n: usize, (request, reply): (usize, usize)) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..args.rounds() {
        rates.push(floor::ping_pong(n, request, reply).await);
    }
    median(rates)
}

pub async fn run_all(args: &Args, uri: &str) -> Vec<Row> {
    let client = Client::with_uri_str(format!("{uri}?maxPoolSize=1"))
        .await
        .expect("the driver connects");
    let db = client.database("bench");
    let mut rows = Vec::new();
    let mut row = |workload, rate, floor| {
        rows.push(Row {
            workload,
            peer: "odm-server, raw driver",
            rate,
            floor: Some(floor),
        })
    };

    let n = args.ops(10_000);
    let admin = client.database("admin");
    let hello = rate(args, n, |_| async {
        admin.run_command(doc! {"hello": 1}).await.expect("hello");
    })
    .await;
    row("1. hello", hello, floor_rate(args, n, HELLO).await);

    let tweets = db.collection::<Document>("tweets");
    let seeded = args.ops(10_000);
    tweets
        .insert_many((0..seeded as i64).map(tweet))
        .await
        .expect("seed tweets");
    let find = rate(args, n, |i| {
        let tweets = &tweets;
        async move {
            let id = (i % seeded) as i64;
            let found = tweets.find_one(doc! {"_id": id}).await.expect("find");
            assert!(found.is_some());
        }
    })
    .await;
    row(
        "2. find one by _id (tweets)",
        find,
        floor_rate(args, n, FIND_TWEET).await,
    );

    let smalls = db.collection::<Document>("small");
    let insert = rate(args, n, |i| {
        let smalls = &smalls;
        async move {
            smalls.insert_one(small(i as i64)).await.expect("insert");
        }
    })
    .await;
    row(
        "3. insert one small (acknowledged)",
        insert,
        floor_rate(args, n, INSERT_SMALL).await,
    );

    let inserted = n * args.rounds();
    let update = rate(args, n, |i| {
        let smalls = &smalls;
        async move {
            let id = (i % inserted) as i64;
            smalls
                .update_one(doc! {"_id": id}, doc! {"$set": {"score": i as f64}})
                .await
                .expect("update");
        }
    })
    .await;
    row(
        "6. update one by _id ($set)",
        update,
        floor_rate(args, n, UPDATE_ONE).await,
    );

    client.shutdown().await;
    rows
}
