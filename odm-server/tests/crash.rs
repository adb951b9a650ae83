//! The crash harness: four writers with `j: true` (plain inserts and updates, and
//! transactions) against the `odm-server` binary, which is killed with SIGKILL at a
//! random moment, restarted over the same files and checked, again and again:
//!
//! - every acknowledged write is there (inserts, `$inc`s, committed transactions);
//! - nothing is there that was never sent, and no transaction is half there (each wrote
//!   one document to `a`, one to `b` and counted itself in `counters`);
//! - every index agrees with its documents (`validate`).
//!
//! 100 iterations in the test suite. The soak (see `docs/durability.md`):
//! `ODM_CRASH_ITERATIONS=2000 cargo test --release -p odm-server --test crash -- --nocapture`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bson::{Document, doc};
use common::binary::{connect_within, spawn_server};
use futures::TryStreamExt;
use mongodb::options::{IndexOptions, WriteConcern};
use mongodb::{Client, Collection, IndexModel};
use rand::{Rng, SeedableRng};

fn journaled() -> WriteConcern {
    WriteConcern::builder().journal(true).build()
}

/// What the writers sent and what they were told, over every iteration.
#[derive(Default)]
struct Ledger {
    /// Inserts sent to `plain`, and those acknowledged.
    sent: BTreeSet<i64>,
    acked: BTreeSet<i64>,
    /// Per writer, the `$inc`s on its counter in `tallies` sent and acknowledged.
    inc_sent: BTreeMap<i64, i64>,
    inc_acked: BTreeMap<i64, i64>,
    /// Transactions begun, and those whose commit was acknowledged.
    begun: BTreeSet<i64>,
    committed: BTreeSet<i64>,
}

impl Ledger {
    fn absorb(&mut self, other: Ledger) {
        self.sent.extend(other.sent);
        self.acked.extend(other.acked);
        self.begun.extend(other.begun);
        self.committed.extend(other.committed);
        for (w, n) in other.inc_sent {
            *self.inc_sent.entry(w).or_default() += n;
        }
        for (w, n) in other.inc_acked {
            *self.inc_acked.entry(w).or_default() += n;
        }
    }
}

/// Writes until the server is gone. Writer `w` of iteration `it` numbers its writes
/// from `(it * 4 + w) * 1_000_000`, so no two writes ever share an `_id`.
async fn write(client: Client, it: i64, w: i64, killed: Arc<AtomicBool>) -> Ledger {
    let db = client.database("app");
    let plain = db.collection::<Document>("plain");
    let tallies = db.collection::<Document>("tallies");
    let (a, b, counters) = (
        db.collection::<Document>("a"),
        db.collection::<Document>("b"),
        db.collection::<Document>("counters"),
    );
    let mut ledger = Ledger::default();
    for i in 0.. {
        let id = (it * 4 + w) * 1_000_000 + i;
        let ok = if w < 2 {
            if i % 4 == 3 {
                *ledger.inc_sent.entry(w).or_default() += 1;
                let done = tallies
                    .update_one(doc! {"_id": w}, doc! {"$inc": {"n": 1}})
                    .upsert(true)
                    .write_concern(journaled())
                    .await
                    .is_ok();
                if done {
                    *ledger.inc_acked.entry(w).or_default() += 1;
                }
                done
            } else {
                ledger.sent.insert(id);
                let done = plain
                    .insert_one(doc! {"_id": id, "k": id, "w": w, "pad": "x".repeat(300)})
                    .write_concern(journaled())
                    .await
                    .is_ok();
                if done {
                    ledger.acked.insert(id);
                }
                done
            }
        } else {
            ledger.begun.insert(id);
            let done = transaction(&client, &a, &b, &counters, id, w).await.is_ok();
            if done {
                ledger.committed.insert(id);
            }
            done
        };
        if !ok && killed.load(Ordering::SeqCst) {
            break;
        }
        if !ok {
            // A transient error while the server runs (a write conflict between the
            // two transaction writers): try the next write.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    ledger
}

async fn transaction(
    client: &Client,
    a: &Collection<Document>,
    b: &Collection<Document>,
    counters: &Collection<Document>,
    id: i64,
    w: i64,
) -> mongodb::error::Result<()> {
    let mut session = client.start_session().await?;
    session
        .start_transaction()
        .write_concern(journaled())
        .await?;
    a.insert_one(doc! {"_id": id, "k": id})
        .session(&mut session)
        .await?;
    b.insert_one(doc! {"_id": id}).session(&mut session).await?;
    counters
        .update_one(doc! {"_id": w}, doc! {"$inc": {"n": 1}})
        .upsert(true)
        .session(&mut session)
        .await?;
    session.commit_transaction().await
}

async fn ids(coll: &Collection<Document>) -> BTreeSet<i64> {
    coll.find(doc! {})
        .projection(doc! {"_id": 1})
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|d| d.get_i64("_id").unwrap())
        .collect()
}

async fn counts(coll: &Collection<Document>) -> BTreeMap<i64, i64> {
    coll.find(doc! {})
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|d| {
            let n = d.get_i32("n").map(i64::from).unwrap();
            (d.get_i64("_id").unwrap(), n)
        })
        .collect()
}

/// Everything the ledger promises holds on the restarted server.
async fn check(client: &Client, ledger: &Ledger, it: usize) {
    let db = client.database("app");
    let plain = ids(&db.collection("plain")).await;
    let lost: Vec<_> = ledger.acked.difference(&plain).collect();
    assert!(
        lost.is_empty(),
        "iteration {it}: acknowledged inserts lost: {lost:?}"
    );
    let invented: Vec<_> = plain.difference(&ledger.sent).collect();
    assert!(
        invented.is_empty(),
        "iteration {it}: never sent: {invented:?}"
    );

    for (w, n) in counts(&db.collection("tallies")).await {
        let (acked, sent) = (ledger.inc_acked.get(&w), ledger.inc_sent.get(&w));
        assert!(
            acked.copied().unwrap_or(0) <= n && n <= sent.copied().unwrap_or(0),
            "iteration {it}: writer {w}'s tally is {n}, {acked:?} acknowledged, {sent:?} sent"
        );
    }
    for w in ledger.inc_acked.keys() {
        assert!(
            counts(&db.collection("tallies")).await.contains_key(w),
            "iteration {it}: writer {w}'s acknowledged tally is gone"
        );
    }

    let (a, b) = (
        ids(&db.collection("a")).await,
        ids(&db.collection("b")).await,
    );
    assert_eq!(a, b, "iteration {it}: a transaction is half there");
    let lost: Vec<_> = ledger.committed.difference(&a).collect();
    assert!(
        lost.is_empty(),
        "iteration {it}: committed transactions lost: {lost:?}"
    );
    let invented: Vec<_> = a.difference(&ledger.begun).collect();
    assert!(
        invented.is_empty(),
        "iteration {it}: never begun: {invented:?}"
    );
    let counted: i64 = counts(&db.collection("counters")).await.values().sum();
    assert_eq!(
        counted,
        a.len() as i64,
        "iteration {it}: counters disagree with documents"
    );

    for coll in ["plain", "tallies", "a", "b", "counters"] {
        let reply = db.run_command(doc! {"validate": coll}).await.unwrap();
        assert_eq!(
            reply.get_bool("valid").ok(),
            Some(true),
            "iteration {it}: {reply}"
        );
    }
}

async fn unique_k(coll: &Collection<Document>) {
    coll.create_index(
        IndexModel::builder()
            .keys(doc! {"k": 1})
            .options(IndexOptions::builder().unique(true).build())
            .build(),
    )
    .write_concern(journaled())
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill_at_any_moment() {
    let iterations: usize = std::env::var("ODM_CRASH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("ODM_CRASH_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash harness: {iterations} iterations, ODM_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (mut server, mut addr) = spawn_server(dir.path());
    {
        let client = connect_within(&addr, 5000).await;
        let db = client.database("app");
        unique_k(&db.collection("plain")).await;
        unique_k(&db.collection("a")).await;
        for name in ["b", "counters", "tallies"] {
            db.create_collection(name)
                .write_concern(journaled())
                .await
                .unwrap();
        }
    }
    let mut ledger = Ledger::default();
    for it in 0..iterations {
        let client = connect_within(&addr, 500).await;
        let killed = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|w| tokio::spawn(write(client.clone(), it as i64, w, killed.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..200))).await;
        killed.store(true, Ordering::SeqCst);
        server.kill().expect("SIGKILL");
        server.wait().unwrap();
        for w in writers {
            ledger.absorb(w.await.unwrap());
        }
        drop(client);

        (server, addr) = spawn_server(dir.path());
        let client = connect_within(&addr, 5000).await;
        check(&client, &ledger, it).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    eprintln!(
        "crash harness: {} inserts, {} $inc and {} transactions acknowledged over {iterations} kills; all present",
        ledger.acked.len(),
        ledger.inc_acked.values().sum::<i64>(),
        ledger.committed.len()
    );
}
