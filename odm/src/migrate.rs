//! Versioned data migrations: named steps, each applied once, in order, recorded in the
//! database.
//!
//! ```no_run
//! # use odm::prelude::*;
//! use odm::migrate::Migration;
//! # #[odm::model] #[derive(Model, Serialize, Deserialize)]
//! # struct Post { #[odm(id)] id: Option<ObjectId>, title: String, slug: Option<String> }
//!
//! # async fn run(db: Db) -> odm::Result<()> {
//! let migrations = [
//!     Migration::new("0001_posts_get_slugs", |step| async move {
//!         let posts = step.collection::<Post>();
//!         for mut post in posts.find(Post::fields().slug.is_null()).await? {
//!             post.slug = Some(post.title.to_lowercase().replace(' ', "-"));
//!             posts.save(&mut post).await?;
//!         }
//!         Ok(())
//!     }),
//! ];
//! let report = db.migrate(&migrations).await?; // applied once; again, nothing to do
//! println!("applied {:?}", report.applied);
//! # Ok(())
//! # }
//! ```
//!
//! How it runs:
//!
//! - **Recorded.** Each applied step is a document in `_odm_migrations` (`_id`: its
//!   name, with the time), so running the list again applies only the new steps.
//! - **One step, one transaction.** Where the server has transactions (a replica set, the
//!   embedded server), a step's writes and its record commit together: a failed step
//!   leaves nothing behind and is tried again next time. On a standalone MongoDB the step
//!   runs without one and is recorded when it succeeds.
//! - **One runner at a time.** A lock document in `_odm_migration_lock` with an expiry
//!   (renewed before each step) keeps a second runner out: it gets
//!   `Error::MigrationLocked`. A runner that died leaves a lock that expires.
//! - **Backward.** A step may have a backward function; `db.rollback(&migrations, n)`
//!   undoes the last `n` applied steps, newest first.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{DateTime, Document, doc};
use futures::TryStreamExt;

use crate::collection::Collection;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::transaction::{Tx, send_in};

/// Where applied steps are recorded.
pub const APPLIED: &str = "_odm_migrations";
/// The runners' lock.
pub const LOCK: &str = "_odm_migration_lock";
/// How long a lock holds without being renewed.
const LOCK_TTL: Duration = Duration::from_secs(120);

type StepFn = Arc<dyn Fn(Step) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> + Send + Sync>;

/// One named step.
#[derive(Clone)]
pub struct Migration {
    name: &'static str,
    forward: StepFn,
    backward: Option<StepFn>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("name", &self.name)
            .field("backward", &self.backward.is_some())
            .finish()
    }
}

fn boxed<F, Fut>(f: F) -> StepFn
where
    F: Fn(Step) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |step| Box::pin(f(step)))
}

impl Migration {
    /// A step named `name` (names order nothing: the list's order does, and a name is
    /// what records the step as applied, so it must not change once released).
    pub fn new<F, Fut>(name: &'static str, forward: F) -> Self
    where
        F: Fn(Step) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        Migration {
            name,
            forward: boxed(forward),
            backward: None,
        }
    }

    /// What undoes the step, for `Db::rollback`.
    pub fn backward<F, Fut>(mut self, backward: F) -> Self
    where
        F: Fn(Step) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.backward = Some(boxed(backward));
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// What a step works with: collections in the step's transaction when it has one.
#[derive(Clone)]
pub struct Step {
    db: Db,
    tx: Option<Tx>,
}

impl Step {
    /// A model's collection, in the step's transaction when it has one.
    pub fn collection<M: Model>(&self) -> Collection<M> {
        match &self.tx {
            Some(tx) => tx.collection::<M>(),
            None => self.db.collection::<M>(),
        }
    }

    /// The database, for raw documents (`step.db().raw()`): outside the transaction.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Whether the step runs in a transaction.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MigrationReport {
    /// Steps applied (or, for a rollback, undone) by this run, in order.
    pub applied: Vec<&'static str>,
    /// Steps found already applied (or, for a rollback, not applied).
    pub skipped: Vec<&'static str>,
    /// Whether the steps ran in transactions.
    pub transactional: bool,
}

/// The lock this runner holds, released when done.
struct Lock {
    coll: mongodb::Collection<Document>,
    owner: ObjectId,
}

impl Lock {
    async fn acquire(db: &Db) -> Result<Lock> {
        let coll = db.raw().collection::<Document>(LOCK);
        let owner = ObjectId::new();
        let expires =
            DateTime::from_millis(DateTime::now().timestamp_millis() + LOCK_TTL.as_millis() as i64);
        let mine = doc! {"_id": "lock", "owner": owner, "expires_at": expires};
        match coll.insert_one(&mine).await {
            Ok(_) => return Ok(Lock { coll, owner }),
            Err(e) if Error::from(e.clone()).code() != Some(11000) => return Err(e.into()),
            Err(_) => {}
        }
        // Held: taken over only once it expired.
        let taken = coll
            .find_one_and_update(
                doc! {"_id": "lock", "expires_at": {"$lt": DateTime::now()}},
                doc! {"$set": {"owner": owner, "expires_at": expires}},
            )
            .await?;
        match taken {
            Some(_) => Ok(Lock { coll, owner }),
            None => {
                let held = coll.find_one(doc! {"_id": "lock"}).await?;
                Err(Error::MigrationLocked {
                    until: held
                        .and_then(|d| d.get_datetime("expires_at").ok().copied())
                        .unwrap_or(expires),
                })
            }
        }
    }

    /// Pushes the expiry on before a step, so that a long run keeps its lock.
    async fn renew(&self) -> Result<()> {
        let expires =
            DateTime::from_millis(DateTime::now().timestamp_millis() + LOCK_TTL.as_millis() as i64);
        let r = self
            .coll
            .update_one(
                doc! {"_id": "lock", "owner": self.owner},
                doc! {"$set": {"expires_at": expires}},
            )
            .await?;
        if r.matched_count == 0 {
            return Err(Error::MigrationLocked { until: expires });
        }
        Ok(())
    }

    async fn release(self) -> Result<()> {
        self.coll
            .delete_one(doc! {"_id": "lock", "owner": self.owner})
            .await?;
        Ok(())
    }
}

impl Db {
    /// Applies, in order, the steps of `migrations` not applied yet (see the
    /// [module documentation](crate::migrate)).
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<MigrationReport> {
        let lock = Lock::acquire(self).await?;
        let outcome = self.apply(migrations, &lock).await;
        let released = lock.release().await;
        let report = outcome?;
        released?;
        Ok(report)
    }

    /// Undoes the last `steps` applied steps of `migrations`, newest first, with their
    /// backward functions (a step without one stops the rollback with an error).
    pub async fn rollback(
        &self,
        migrations: &[Migration],
        steps: usize,
    ) -> Result<MigrationReport> {
        let lock = Lock::acquire(self).await?;
        let outcome = self.undo(migrations, steps, &lock).await;
        let released = lock.release().await;
        let report = outcome?;
        released?;
        Ok(report)
    }

    /// The names of the applied steps, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>> {
        let docs: Vec<Document> = self
            .raw()
            .collection::<Document>(APPLIED)
            .find(doc! {})
            .sort(doc! {"applied_at": 1, "_id": 1})
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
            .collect())
    }

    async fn apply(&self, migrations: &[Migration], lock: &Lock) -> Result<MigrationReport> {
        let applied = self.applied_migrations().await?;
        let mut report = MigrationReport {
            transactional: true,
            ..Default::default()
        };
        for m in migrations {
            if applied.iter().any(|a| a == m.name) {
                report.skipped.push(m.name);
                continue;
            }
            lock.renew().await?;
            let record = doc! {"_id": m.name, "applied_at": DateTime::now()};
            let ran = self.run_step(&m.forward, Record::Insert(record)).await?;
            report.transactional &= ran;
            report.applied.push(m.name);
        }
        Ok(report)
    }

    async fn undo(
        &self,
        migrations: &[Migration],
        steps: usize,
        lock: &Lock,
    ) -> Result<MigrationReport> {
        let applied = self.applied_migrations().await?;
        let mut report = MigrationReport {
            transactional: true,
            ..Default::default()
        };
        for name in applied.iter().rev().take(steps) {
            let Some(m) = migrations.iter().find(|m| m.name == name.as_str()) else {
                return Err(Error::InvalidValue(format!(
                    "the applied migration `{name}` is not in the list given to rollback"
                )));
            };
            let Some(backward) = &m.backward else {
                return Err(Error::InvalidValue(format!(
                    "the migration `{name}` has no backward step"
                )));
            };
            lock.renew().await?;
            let ran = self.run_step(backward, Record::Remove(m.name)).await?;
            report.transactional &= ran;
            report.applied.push(m.name);
        }
        Ok(report)
    }

    /// Runs one step with its record, in a transaction when the server has them;
    /// returns whether it did.
    async fn run_step(&self, step: &StepFn, record: Record) -> Result<bool> {
        let in_transaction = self
            .transaction(|tx| {
                let (step, record) = (step.clone(), record.clone());
                let db = self.clone();
                async move {
                    step(Step {
                        db,
                        tx: Some(tx.clone()),
                    })
                    .await?;
                    let (db, session) = tx.parts();
                    let applied = db.raw().collection::<Document>(APPLIED);
                    match record {
                        Record::Insert(doc) => {
                            send_in!(&Some(session.clone()), applied.insert_one(doc))?;
                        }
                        Record::Remove(name) => {
                            send_in!(
                                &Some(session.clone()),
                                applied.delete_one(doc! {"_id": name})
                            )?;
                        }
                    }
                    Ok(())
                }
            })
            .await;
        match in_transaction {
            Ok(()) => Ok(true),
            Err(Error::ReplicaSetRequired { .. }) => {
                step(Step {
                    db: self.clone(),
                    tx: None,
                })
                .await?;
                let applied = self.raw().collection::<Document>(APPLIED);
                match record {
                    Record::Insert(doc) => {
                        applied.insert_one(doc).await?;
                    }
                    Record::Remove(name) => {
                        applied.delete_one(doc! {"_id": name}).await?;
                    }
                }
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// What a step writes in `_odm_migrations` with its changes.
#[derive(Clone)]
enum Record {
    Insert(Document),
    Remove(&'static str),
}

/// A command line over a list of migrations, for the binary an application ships them
/// in: `status` (applied and pending steps), `up` (apply the pending ones), `down <n>`
/// (undo the last n). Returns what to print.
///
/// ```no_run
/// # async fn run(migrations: Vec<odm::migrate::Migration>) -> odm::Result<()> {
/// let db = odm::Db::connect(&std::env::var("MONGODB_URI").unwrap()).await?;
/// let args: Vec<String> = std::env::args().skip(1).collect();
/// println!("{}", odm::migrate::cli(&db, &migrations, &args).await?);
/// # Ok(())
/// # }
/// ```
pub async fn cli(db: &Db, migrations: &[Migration], args: &[String]) -> Result<String> {
    let usage = "usage: status | up | down <n>";
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["status"] => {
            let applied = db.applied_migrations().await?;
            let mut out = String::new();
            for m in migrations {
                let state = if applied.iter().any(|a| a == m.name) {
                    "applied"
                } else {
                    "pending"
                };
                out.push_str(&format!("{state:8} {}\n", m.name));
            }
            for a in applied
                .iter()
                .filter(|a| !migrations.iter().any(|m| m.name == a.as_str()))
            {
                out.push_str(&format!("{:8} {a} (not in this list)\n", "applied"));
            }
            Ok(out)
        }
        ["up"] => {
            let report = db.migrate(migrations).await?;
            Ok(format!(
                "applied {} step(s): {:?}; {} already applied",
                report.applied.len(),
                report.applied,
                report.skipped.len()
            ))
        }
        ["down", n] => {
            let n: usize = n.parse().map_err(|_| {
                Error::InvalidValue(format!("`down` takes a number of steps; {usage}"))
            })?;
            let report = db.rollback(migrations, n).await?;
            Ok(format!(
                "undid {} step(s): {:?}",
                report.applied.len(),
                report.applied
            ))
        }
        _ => Err(Error::InvalidValue(usage.to_string())),
    }
}
