//! Multi-document transactions: [`Db::transaction`] runs a closure in a transaction and
//! retries it as the drivers' convenient API does; [`Tx`] hands out collections whose
//! every operation belongs to that transaction.
//!
//! The driver ties an operation to a transaction by passing its `ClientSession` by
//! `&mut`. A `Collection<M>` is a cloneable value that a closure may hold several of, so
//! the session lives behind an async mutex that each operation locks only while it runs
//! (a stream locks it for each batch it fetches, so reading a stream and writing in
//! between do not wait on each other).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::ClientSession;
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

use crate::collection::Collection;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::model::Model;

/// A session shared by the collections of one transaction.
pub(crate) type SharedSession = Arc<tokio::sync::Mutex<ClientSession>>;

/// Sends a driver action (`$action` is an expression building it, such as
/// `self.raw.insert_one(doc)`), inside `$session`'s transaction when there is one.
macro_rules! send_in {
    ($session:expr, $action:expr) => {
        match $session {
            Some(session) => {
                let mut session = session.lock().await;
                $action.session(&mut *session).await
            }
            None => $action.await,
        }
    };
}
pub(crate) use send_in;

/// How long [`Db::transaction`] keeps retrying, as the drivers' convenient API: 120 s.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Settings of [`Db::transaction_with`].
#[derive(Clone, Debug)]
pub struct TransactionOptions {
    time_limit: Duration,
    max_commit_time: Option<Duration>,
}

impl Default for TransactionOptions {
    fn default() -> Self {
        TransactionOptions {
            time_limit: DEFAULT_TIME_LIMIT,
            max_commit_time: None,
        }
    }
}

impl TransactionOptions {
    /// How long to keep retrying after transient errors, counted from the first attempt
    /// (default [`DEFAULT_TIME_LIMIT`]). A retry never starts once it has passed.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// The longest a commit may take on the server (`maxCommitTimeMS`).
    pub fn max_commit_time(mut self, limit: Duration) -> Self {
        self.max_commit_time = Some(limit);
        self
    }
}

/// The transaction a [`Db::transaction`] closure runs in. Cheap to clone.
#[derive(Clone)]
pub struct Tx {
    db: Db,
    session: SharedSession,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("database", &self.db.name())
            .finish()
    }
}

impl Tx {
    /// A model's collection, every operation of which is part of this transaction.
    pub fn collection<M: Model>(&self) -> Collection<M> {
        self.db
            .collection::<M>()
            .in_session(Some(self.session.clone()))
    }

    /// The transaction's session and database, for the ODM's own writes in it.
    pub(crate) fn parts(&self) -> (&Db, &SharedSession) {
        (&self.db, &self.session)
    }

    /// The same transaction in another database of the same server (a transaction may
    /// span databases).
    pub fn database(&self, name: &str) -> Tx {
        Tx {
            db: self.db.database(name),
            session: self.session.clone(),
        }
    }
}

impl Db {
    /// Runs `work` in a multi-document transaction and commits it: either every write
    /// `work` made through its [`Tx`] is stored, or none is. `work` returning an error
    /// aborts the transaction and returns that error ([`Error::custom`] carries an
    /// application's own).
    ///
    /// As the drivers' convenient API, it retries: the whole of `work` when an error has
    /// the `TransientTransactionError` label (a write conflict with another
    /// transaction), and the commit when its outcome is unknown
    /// (`UnknownTransactionCommitResult`), for up to [`DEFAULT_TIME_LIMIT`]. `work` may
    /// therefore run more than once: keep side effects other than its writes out of it.
    ///
    /// ```no_run
    /// # use odm::prelude::*;
    /// # #[odm::model] #[derive(Model, Serialize, Deserialize, Debug, Default)]
    /// # struct Account { #[odm(id)] id: Option<ObjectId>, balance: i64 }
    /// # async fn run(db: Db, from: ObjectId, to: ObjectId) -> odm::Result<()> {
    /// let f = Account::fields();
    /// db.transaction(|tx| async move {
    ///     let accounts = tx.collection::<Account>();
    ///     accounts.update_by_id(from, f.balance.inc(-10)).await?;
    ///     accounts.update_by_id(to, f.balance.inc(10)).await?;
    ///     Ok(())
    /// })
    /// .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Transactions need a replica set (the embedded server is one) or a sharded cluster;
    /// on a standalone MongoDB this is [`Error::ReplicaSetRequired`].
    pub async fn transaction<T, F, Fut>(&self, work: F) -> Result<T>
    where
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.transaction_with(TransactionOptions::default(), work)
            .await
    }

    /// [`Db::transaction`] with settings of its own.
    pub async fn transaction_with<T, F, Fut>(
        &self,
        options: TransactionOptions,
        mut work: F,
    ) -> Result<T>
    where
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let within_limit = || started.elapsed() < options.time_limit;
        let driver_options = mongodb::options::TransactionOptions::builder()
            .max_commit_time(options.max_commit_time)
            .build();
        let session: SharedSession = Arc::new(tokio::sync::Mutex::new(
            self.client().start_session().await?,
        ));
        let mut attempt: u32 = 0;
        'attempts: loop {
            attempt += 1;
            session
                .lock()
                .await
                .start_transaction()
                .with_options(driver_options.clone())
                .await
                .map_err(|e| Error::needing_replica_set(e, "transactions"))?;
            let outcome = work(Tx {
                db: self.clone(),
                session: session.clone(),
            })
            .await;
            let mut guard = session.lock().await;
            let value = match outcome {
                Ok(value) => value,
                Err(e) => {
                    // `work` may have failed before, during or after the server ended
                    // the transaction; aborting one that already ended is harmless.
                    let _ = guard.abort_transaction().await;
                    let e = e.needing_replica_set_for("transactions");
                    if e.has_label(TRANSIENT_TRANSACTION_ERROR) && within_limit() {
                        drop(guard);
                        backoff(attempt).await;
                        continue 'attempts;
                    }
                    return Err(e);
                }
            };
            loop {
                match guard.commit_transaction().await {
                    Ok(()) => return Ok(value),
                    Err(e) => {
                        let timed_out = crate::error::driver_code(&e) == Some(50);
                        if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                            && !timed_out
                            && within_limit()
                        {
                            continue;
                        }
                        if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && within_limit() {
                            drop(guard);
                            backoff(attempt).await;
                            continue 'attempts;
                        }
                        return Err(e.into());
                    }
                }
            }
        }
    }
}

/// A short pause before another attempt, growing with the attempts and jittered, so that
/// transactions that conflicted do not collide again in lockstep.
async fn backoff(attempt: u32) {
    let ceiling_ms = 5u64.saturating_mul(1 << attempt.min(6));
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    );
    tokio::time::sleep(Duration::from_millis(jitter % ceiling_ms.max(1))).await;
}
