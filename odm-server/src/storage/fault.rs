//! Storage that fails on command, and the tests of what the server does when its disk
//! does.
//!
//! - [`FaultyStore`] wraps a [`Store`] and fails the Nth write (`put`), commit or sync,
//!   once each time it is armed: a failed commit must reach the client as an error,
//!   never as `ok: 1`, leave nothing of its transaction behind, and the server must go
//!   on serving.
//! - [`SimulatedDisk`] is a redb storage backend in memory that can lose power. SIGKILL
//!   leaves the operating system's page cache intact, so it cannot catch a missing
//!   fsync; a power loss can: everything written since the last `sync_data` is lost, or
//!   partly kept (some writes whole, some torn at a sector boundary, some not at all),
//!   as a disk's volatile cache may leave it. Every `j: true` write acknowledged before
//!   the cut must be there afterwards, and the file must open uncorrupted.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::{
    Durability, KeyRange, ReadTxn, Snapshot, StorageError, StorageResult, Store, Visitor, WriteTxn,
};

/// When the next failures happen: each counter is the number of operations of its kind
/// to let through before one fails (negative: none fails).
#[derive(Debug)]
pub(crate) struct Faults {
    puts: AtomicI64,
    commits: AtomicI64,
    syncs: AtomicI64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            puts: AtomicI64::new(-1),
            commits: AtomicI64::new(-1),
            syncs: AtomicI64::new(-1),
        }
    }
}

impl Faults {
    /// The `n`th `put` from now (1: the next one) fails.
    pub fn fail_put(&self, n: i64) {
        self.puts.store(n - 1, Ordering::SeqCst);
    }

    /// The `n`th commit from now fails.
    pub fn fail_commit(&self, n: i64) {
        self.commits.store(n - 1, Ordering::SeqCst);
    }

    /// The `n`th flush from now (a sync, or the flush of a durable commit) fails.
    pub fn fail_sync(&self, n: i64) {
        self.syncs.store(n - 1, Ordering::SeqCst);
    }

    /// Whether this operation is the one that fails (and counts it).
    fn trips(counter: &AtomicI64, what: &str) -> StorageResult<()> {
        match counter.fetch_sub(1, Ordering::SeqCst) {
            0 => Err(StorageError(format!("injected fault: the {what} failed"))),
            n if n < 0 => {
                counter.store(-1, Ordering::SeqCst);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A store whose operations fail when its [`Faults`] say so.
pub(crate) struct FaultyStore<S> {
    inner: S,
    faults: Arc<Faults>,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: S) -> (Self, Arc<Faults>) {
        let faults = Arc::new(Faults::default());
        (
            FaultyStore {
                inner,
                faults: faults.clone(),
            },
            faults,
        )
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn begin_read(&self) -> StorageResult<Snapshot> {
        self.inner.begin_read()
    }

    fn begin_write(&self) -> StorageResult<Box<dyn WriteTxn + '_>> {
        Ok(Box::new(FaultyWrite {
            inner: self.inner.begin_write()?,
            faults: &self.faults,
        }))
    }

    fn sync(&self) -> StorageResult<()> {
        // A sync with nothing to flush touches no disk, so it cannot fail.
        if !self.inner.is_durable() {
            Faults::trips(&self.faults.syncs, "sync")?;
        }
        self.inner.sync()
    }

    fn is_durable(&self) -> bool {
        self.inner.is_durable()
    }

    fn size_on_disk(&self) -> u64 {
        self.inner.size_on_disk()
    }
}

struct FaultyWrite<'a> {
    inner: Box<dyn WriteTxn + 'a>,
    faults: &'a Faults,
}

impl ReadTxn for FaultyWrite<'_> {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        self.inner.get(table, key)
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: super::Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        self.inner.scan(table, range, direction, visit)
    }
}

impl WriteTxn for FaultyWrite<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()> {
        Faults::trips(&self.faults.puts, "write")?;
        self.inner.put(table, key, value)
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        self.inner.delete(table, key)
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        self.inner.drop_table(table)
    }

    fn commit(self: Box<Self>, durability: Durability) -> StorageResult<()> {
        // A failed commit drops the transaction: nothing of it is applied. A durable
        // commit is a commit and a flush: either may fail.
        Faults::trips(&self.faults.commits, "commit")?;
        if durability == Durability::Immediate {
            Faults::trips(&self.faults.syncs, "sync")?;
        }
        self.inner.commit(durability)
    }

    fn can_park(&self) -> bool {
        self.inner.can_park()
    }

    fn park(self: Box<Self>) -> StorageResult<()> {
        self.inner.park()
    }
}

/// A disk in memory with a volatile write cache: what was written since the last
/// `sync_data` is only in the cache until then. Clones share the disk.
#[derive(Clone, Default)]
pub(crate) struct SimulatedDisk(Arc<Mutex<DiskState>>);

#[derive(Default)]
struct DiskState {
    /// What a reader sees: the cache over the platters.
    current: Vec<u8>,
    /// What survives a power loss whatever happens.
    durable: Vec<u8>,
    /// Writes and length changes since the last sync, in order.
    unsynced: Vec<Change>,
    /// Set by a power loss: the running process's disk is gone.
    dead: bool,
}

enum Change {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

/// A disk's sector: the unit a torn write is cut at.
const SECTOR: usize = 512;

impl std::fmt::Debug for SimulatedDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        write!(
            f,
            "SimulatedDisk({} bytes, {} unsynced changes)",
            state.current.len(),
            state.unsynced.len()
        )
    }
}

fn dead() -> std::io::Error {
    std::io::Error::other("the simulated disk lost power")
}

impl SimulatedDisk {
    /// A disk holding `image`, all of it durable (what a power loss left).
    pub fn from_image(image: Vec<u8>) -> SimulatedDisk {
        SimulatedDisk(Arc::new(Mutex::new(DiskState {
            current: image.clone(),
            durable: image,
            unsynced: Vec::new(),
            dead: false,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many writes and length changes wait for the next sync.
    pub fn unsynced_changes(&self) -> usize {
        self.state().unsynced.len()
    }

    /// Cuts the power: from now on every write and sync of the running process fails.
    /// Returns what the disk holds when it comes back: the durable image with each
    /// unsynced change, in order, applied whole, torn after a random number of sectors,
    /// or dropped, as `seed` decides; and how many changes were in the cache.
    pub fn cut_power(&self, seed: u64) -> (Vec<u8>, usize) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut state = self.state();
        state.dead = true;
        let mut image = state.durable.clone();
        for change in &state.unsynced {
            match change {
                Change::SetLen(len) => {
                    if rng.random_bool(0.5) {
                        image.resize(*len as usize, 0);
                    }
                }
                Change::Write(offset, data) => {
                    let kept = match rng.random_range(0..3) {
                        0 => 0,
                        1 => data.len(),
                        _ => (rng.random_range(0..=data.len() / SECTOR) * SECTOR).min(data.len()),
                    };
                    let (at, end) = (*offset as usize, *offset as usize + kept);
                    if kept > 0 {
                        if image.len() < end {
                            image.resize(end, 0);
                        }
                        image[at..end].copy_from_slice(&data[..kept]);
                    }
                }
            }
        }
        (image, state.unsynced.len())
    }
}

impl redb::StorageBackend for SimulatedDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.state().current.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let state = self.state();
        let (at, end) = (offset as usize, offset as usize + out.len());
        let Some(bytes) = state.current.get(at..end) else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut state = self.state();
        if state.dead {
            return Err(dead());
        }
        state.current.resize(len as usize, 0);
        state.unsynced.push(Change::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        let mut state = self.state();
        if state.dead {
            return Err(dead());
        }
        state.durable = state.current.clone();
        state.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut state = self.state();
        if state.dead {
            return Err(dead());
        }
        let (at, end) = (offset as usize, offset as usize + data.len());
        if state.current.len() < end {
            state.current.resize(end, 0);
        }
        state.current[at..end].copy_from_slice(data);
        state.unsynced.push(Change::Write(offset, data.to_vec()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use bson::{Document, doc};
    use mongodb::options::{IndexOptions, WriteConcern};
    use mongodb::{Client, Collection, IndexModel};

    use super::*;
    use crate::storage::disk::RedbStore;
    use crate::{Config, Server, ServerHandle};

    async fn serve(store: impl Store, config: Config) -> (ServerHandle, Client) {
        let handle = Server::start_on(config, Box::new(store), Vec::new(), None)
            .await
            .unwrap();
        let client = Client::with_uri_str(format!(
            "{}?directConnection=true&serverSelectionTimeoutMS=5000",
            handle.uri()
        ))
        .await
        .unwrap();
        (handle, client)
    }

    fn journaled() -> WriteConcern {
        WriteConcern::builder().journal(true).build()
    }

    async fn unique_k(coll: &Collection<Document>) {
        coll.create_index(
            IndexModel::builder()
                .keys(doc! {"k": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        )
        .await
        .unwrap();
    }

    /// `validate` on `coll` says its documents and indexes agree.
    async fn assert_valid(client: &Client, db: &str, coll: &str) -> Document {
        let reply = client
            .database(db)
            .run_command(doc! {"validate": coll})
            .await
            .unwrap();
        assert_eq!(reply.get_bool("valid").ok(), Some(true), "{reply}");
        reply
    }

    async fn ids(coll: &Collection<Document>) -> BTreeSet<i64> {
        use futures::TryStreamExt;
        coll.find(doc! {})
            .await
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .iter()
            .map(|d| d.get_i64("_id").unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn failed_writes_commits_and_syncs_answer_errors_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path(), 8 << 20).unwrap();
        let (store, faults) = FaultyStore::new(store);
        let mut config = Config::with_dbpath(dir.path());
        // No flush on a timer: the armed fault is for the write's own.
        config.journal_commit_interval = Duration::from_secs(3600);
        let (handle, client) = serve(store, config).await;
        let coll = client.database("app").collection::<Document>("c");
        unique_k(&coll).await;

        // A failed commit: an error, and nothing of the insert.
        faults.fail_commit(1);
        let err = coll
            .insert_one(doc! {"_id": 1i64, "k": 1})
            .await
            .expect_err("a failed commit is an error");
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert_eq!(ids(&coll).await, BTreeSet::new());

        // A failed write at each step of an insert (the document, its index entry, its
        // oplog entry): an error, and no part of it stored.
        let mut failed = 0;
        for n in 1..=4 {
            faults.fail_put(n);
            let id = 10 + n;
            match coll.insert_one(doc! {"_id": id, "k": id}).await {
                Ok(_) => assert!(ids(&coll).await.contains(&id)),
                Err(e) => {
                    assert!(e.to_string().contains("injected fault"), "{e}");
                    assert!(!ids(&coll).await.contains(&id));
                    failed += 1;
                }
            }
            faults.fail_put(0);
        }
        assert!(failed >= 2, "the document and its index entry are written");
        assert_valid(&client, "app", "c").await;

        // A failed flush under `j: true`: the client hears of it.
        faults.fail_sync(1);
        let err = coll
            .insert_one(doc! {"_id": 20i64, "k": 20})
            .with_options(
                mongodb::options::InsertOneOptions::builder()
                    .write_concern(journaled())
                    .build(),
            )
            .await
            .expect_err("a failed flush is an error");
        assert!(err.to_string().contains("injected fault"), "{err}");

        // And the server goes on.
        coll.insert_one(doc! {"_id": 30i64, "k": 30}).await.unwrap();
        assert!(ids(&coll).await.contains(&30));
        assert_valid(&client, "app", "c").await;
        handle.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_writers_under_failing_commits_never_hear_ok_for_a_lost_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path(), 8 << 20).unwrap();
        let (store, faults) = FaultyStore::new(store);
        let (handle, client) = serve(store, Config::with_dbpath(dir.path())).await;
        let coll = client.database("app").collection::<Document>("c");
        unique_k(&coll).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let saboteur = {
            let (faults, stop) = (faults.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    faults.fail_commit(1 + n % 4);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                faults.fail_commit(0);
            })
        };
        let writers: Vec<_> = (0..4i64)
            .map(|w| {
                let coll = coll.clone();
                tokio::spawn(async move {
                    let (mut acked, mut refused) = (Vec::new(), Vec::new());
                    for i in 0..100 {
                        let id = w * 1000 + i;
                        match coll.insert_one(doc! {"_id": id, "k": id}).await {
                            Ok(_) => acked.push(id),
                            Err(e) => {
                                assert!(e.to_string().contains("injected fault"), "{e}");
                                refused.push(id);
                            }
                        }
                    }
                    (acked, refused)
                })
            })
            .collect();
        let (mut acked, mut refused) = (BTreeSet::new(), BTreeSet::new());
        for w in writers {
            let (a, r) = w.await.unwrap();
            acked.extend(a);
            refused.extend(r);
        }
        stop.store(true, Ordering::SeqCst);
        saboteur.await.unwrap();
        assert!(
            !refused.is_empty() && !acked.is_empty(),
            "{} / {}",
            acked.len(),
            refused.len()
        );
        let stored = ids(&coll).await;
        assert_eq!(
            stored,
            acked,
            "stored = acknowledged ({} refused)",
            refused.len()
        );
        assert_valid(&client, "app", "c").await;
        handle.shutdown().await;
    }

    /// What the writers of a power-loss round were told.
    #[derive(Default)]
    struct Told {
        /// Plain inserts acknowledged with `j: true`.
        inserted: BTreeSet<i64>,
        /// Transactions committed with `j: true`: each wrote one document to `a` and one
        /// to `b`, and counted itself in `counters`.
        committed: BTreeSet<i64>,
    }

    async fn write_until_dead(client: Client, writer: i64) -> Told {
        let db = client.database("app");
        let (plain, a, b) = (
            db.collection::<Document>("plain"),
            db.collection::<Document>("a"),
            db.collection::<Document>("b"),
        );
        let counters = db.collection::<Document>("counters");
        let mut told = Told::default();
        let mut failures = 0;
        for i in 0.. {
            let id = writer * 1_000_000 + i;
            let ok = if writer % 2 == 0 {
                let done = plain
                    .insert_one(doc! {"_id": id, "k": id, "pad": "x".repeat(200)})
                    .with_options(
                        mongodb::options::InsertOneOptions::builder()
                            .write_concern(journaled())
                            .build(),
                    )
                    .await
                    .is_ok();
                if done {
                    told.inserted.insert(id);
                }
                done
            } else {
                let mut session = client.start_session().await.unwrap();
                let attempt = async {
                    session
                        .start_transaction()
                        .write_concern(journaled())
                        .await?;
                    a.insert_one(doc! {"_id": id, "k": id})
                        .session(&mut session)
                        .await?;
                    b.insert_one(doc! {"_id": id, "k": id})
                        .session(&mut session)
                        .await?;
                    counters
                        .update_one(doc! {"_id": writer}, doc! {"$inc": {"n": 1}})
                        .upsert(true)
                        .session(&mut session)
                        .await?;
                    session.commit_transaction().await
                };
                let done = attempt.await.is_ok();
                if done {
                    told.committed.insert(id);
                }
                done
            };
            if !ok {
                failures += 1;
                if failures > 20 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        told
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn journaled_writes_survive_a_power_loss() {
        let mut lost_in_cache = 0;
        for round in 0..12u64 {
            let disk = SimulatedDisk::default();
            let store = RedbStore::on_backend(disk.clone()).unwrap();
            let (handle, client) = serve(store, Config::in_memory()).await;
            let db = client.database("app");
            unique_k(&db.collection("plain")).await;
            unique_k(&db.collection("a")).await;
            for name in ["b", "counters"] {
                db.create_collection(name).await.unwrap();
            }
            let writers: Vec<_> = (0..4)
                .map(|w| tokio::spawn(write_until_dead(client.clone(), w)))
                .collect();
            // Then cut while something waits in the cache, the moment a missing fsync
            // would show (a cut right after a sync would prove nothing).
            tokio::time::sleep(Duration::from_millis(40 + round * 25)).await;
            let give_up = std::time::Instant::now() + Duration::from_secs(2);
            while disk.unsynced_changes() == 0 && std::time::Instant::now() < give_up {
                tokio::time::sleep(Duration::from_micros(50)).await;
            }
            let (image, in_cache) = disk.cut_power(round);
            lost_in_cache += in_cache;
            let mut told = Told::default();
            for w in writers {
                let t = w.await.unwrap();
                told.inserted.extend(t.inserted);
                told.committed.extend(t.committed);
            }
            drop(client);
            drop(handle);

            // Power back: the file opens, and every acknowledged write is there.
            let store = RedbStore::on_backend(SimulatedDisk::from_image(image))
                .unwrap_or_else(|e| panic!("round {round}: the file does not open: {e}"));
            let (handle, client) = serve(store, Config::in_memory()).await;
            let db = client.database("app");
            let plain = ids(&db.collection("plain")).await;
            assert!(
                told.inserted.is_subset(&plain),
                "round {round}: {} acknowledged inserts lost",
                told.inserted.difference(&plain).count()
            );
            let (a, b) = (
                ids(&db.collection("a")).await,
                ids(&db.collection("b")).await,
            );
            assert_eq!(a, b, "round {round}: a transaction is half there");
            assert!(
                told.committed.is_subset(&a),
                "round {round}: a committed transaction lost"
            );
            let counted: i64 = {
                use futures::TryStreamExt;
                db.collection::<Document>("counters")
                    .find(doc! {})
                    .await
                    .unwrap()
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap()
                    .iter()
                    .map(|d| d.get_i32("n").map(i64::from).unwrap())
                    .sum()
            };
            assert_eq!(
                counted,
                a.len() as i64,
                "round {round}: counters and documents disagree"
            );
            for coll in ["plain", "a", "b", "counters"] {
                assert_valid(&client, "app", coll).await;
            }
            eprintln!(
                "round {round}: {} + {} acknowledged, {} + {} present after the power loss",
                told.inserted.len(),
                told.committed.len(),
                plain.len(),
                a.len()
            );
            handle.shutdown().await;
        }
        // Otherwise every cut fell between a sync and the next write, and proved nothing.
        assert!(lost_in_cache > 0, "no cut caught unsynced writes");
        eprintln!("{lost_in_cache} unsynced writes were in the cache at the cuts");
    }
}
