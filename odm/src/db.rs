//! `Db`: a connection to one database, on the embedded server or on any MongoDB.

use std::sync::Arc;

use crate::collection::Collection;
#[cfg(feature = "embedded")]
use crate::error::Error;
use crate::error::Result;
use crate::index::{EnsuredIndexes, IndexReport};
use crate::model::Model;

/// The database used when none is named (`Db::open`, `Db::memory`, or a URI without one).
pub const DEFAULT_DATABASE: &str = "odm";

/// A database: where models' collections live.
#[derive(Clone)]
pub struct Db {
    client: mongodb::Client,
    database: mongodb::Database,
    /// Which models' declared indexes this handle (and its clones) created before
    /// their first write; `None` once `auto_index(false)` turned that off.
    auto_index: Option<EnsuredIndexes>,
    /// The embedded server this handle started, stopped when the last clone is dropped.
    #[cfg(feature = "embedded")]
    server: Option<Arc<odm_server::ServerHandle>>,
    #[cfg(not(feature = "embedded"))]
    server: Option<Arc<()>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("database", &self.database.name())
            .field("embedded", &self.server.is_some())
            .finish()
    }
}

impl Db {
    /// Starts the embedded server in this process with its data under `path` (created if
    /// missing) and connects to it. Needs a tokio runtime.
    ///
    /// A write that returned `Ok` is on disk, even if the process exits right after:
    /// concurrent writes share one flush, so this costs an fsync per group of writes.
    /// To trade the last 100 ms of writes for speed, start it with
    /// `Db::start(Config::with_dbpath(path).journal(Journal::Periodic))` (see
    /// [`crate::server::Journal`]).
    #[cfg(feature = "embedded")]
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Db> {
        Self::start(odm_server::Config::with_dbpath(path.as_ref())).await
    }

    /// Starts the embedded server in memory (nothing on disk): for tests. Its fail points
    /// (`configureFailPoint`) are on, so that tests can make the server fail on purpose.
    #[cfg(feature = "embedded")]
    pub async fn memory() -> Result<Db> {
        Self::start(odm_server::Config::in_memory().enable_test_commands(true)).await
    }

    /// Starts the embedded server with a configuration of your own (where the data
    /// lives, when writes reach the disk, the address it listens on) and connects to it.
    ///
    /// Where the platform has Unix sockets, the server also listens on one of its own
    /// (unless the configuration names one) and this handle talks to it over that
    /// socket, which skips the TCP stack; other clients can still use the TCP port.
    #[cfg(feature = "embedded")]
    pub async fn start(config: odm_server::Config) -> Result<Db> {
        #[cfg(unix)]
        let config = match config.unix_socket {
            Some(_) => config,
            None => config.unix_socket(private_socket_path()),
        };
        let handle = odm_server::Server::start(config)
            .await
            .map_err(|e| Error::Server(e.to_string()))?;
        let uri = handle.unix_uri().unwrap_or_else(|| handle.uri());
        let client = mongodb::Client::with_uri_str(format!("{uri}?directConnection=true")).await?;
        let database = client.database(DEFAULT_DATABASE);
        Ok(Db {
            client,
            database,
            auto_index: Some(EnsuredIndexes::default()),
            server: Some(Arc::new(handle)),
        })
    }

    /// Connects to a MongoDB (`mongodb://...` or `mongodb+srv://...`). The database is
    /// the one the URI names, or `odm`.
    pub async fn connect(uri: &str) -> Result<Db> {
        Self::connect_with_options(mongodb::options::ClientOptions::parse(uri).await?)
    }

    /// Connects with driver options of your own: a connection pool's size, an app name,
    /// command monitoring (`command_event_handler`), TLS settings. The database is the
    /// options' default one, or `odm`.
    pub fn connect_with_options(options: mongodb::options::ClientOptions) -> Result<Db> {
        let name = options
            .default_database
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let client = mongodb::Client::with_options(options)?;
        let database = client.database(&name);
        Ok(Db {
            client,
            database,
            auto_index: Some(EnsuredIndexes::default()),
            server: None,
        })
    }

    /// The same server, another database.
    pub fn database(&self, name: &str) -> Db {
        Db {
            client: self.client.clone(),
            database: self.client.database(name),
            auto_index: self.auto_index.as_ref().map(|_| EnsuredIndexes::default()),
            server: self.server.clone(),
        }
    }

    /// A model's collection.
    pub fn collection<M: Model>(&self) -> Collection<M> {
        Collection::new(&self.database, self.auto_index.clone())
    }

    /// Whether a model's first write through this handle creates the indexes it declares
    /// (on by default, as Mongoose's `autoIndex`): a unique rule then holds from the
    /// first document without any call. Creating an index that exists does nothing.
    /// Turn it off where index builds belong to a deployment step (a large production
    /// collection), and run [`Db::sync_indexes_for`] there.
    pub fn auto_index(mut self, on: bool) -> Db {
        self.auto_index = match (on, self.auto_index.take()) {
            (true, Some(ensured)) => Some(ensured),
            (true, None) => Some(EnsuredIndexes::default()),
            (false, _) => None,
        };
        self
    }

    /// Makes the indexes of every model in `Ms` (a tuple: `(User, Post, Comment)`) what
    /// they declare, as `Collection::sync_indexes` does for one: creates the missing
    /// ones, drops those no longer declared. Call it once at startup or in a deployment
    /// step; returns each collection's report, in order.
    pub async fn sync_indexes_for<Ms: Models>(&self) -> Result<Vec<(&'static str, IndexReport)>> {
        let mut reports = Vec::new();
        for sync in Ms::syncs() {
            reports.push(sync(self).await?);
        }
        Ok(reports)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.database.name()
    }

    /// The driver's database, for what the ODM does not cover.
    pub fn raw(&self) -> &mongodb::Database {
        &self.database
    }

    /// The driver's client.
    pub fn client(&self) -> &mongodb::Client {
        &self.client
    }

    /// The URI of the embedded server, for other clients (mongosh, pymongo) to connect.
    #[cfg(feature = "embedded")]
    pub fn embedded_uri(&self) -> Option<String> {
        self.server.as_ref().map(|s| s.uri())
    }

    /// For the last handle of an embedded server: closes the connections and stops the
    /// server after making every write durable. Otherwise the same as dropping the handle.
    pub async fn close(self) {
        let Db { client, server, .. } = self;
        #[cfg(feature = "embedded")]
        if let Some(handle) = server.and_then(|s| Arc::try_unwrap(s).ok()) {
            client.shutdown().immediate(true).await;
            handle.shutdown().await;
        }
        #[cfg(not(feature = "embedded"))]
        drop((client, server));
    }
}

/// The `sync_indexes` of one model, as `Db::sync_indexes_for` runs it.
pub type IndexSync = for<'a> fn(&'a Db) -> BoxFuture<'a, Result<(&'static str, IndexReport)>>;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A tuple of models, for [`Db::sync_indexes_for`]: `(User,)`, `(User, Post)`, up to 12.
pub trait Models {
    /// Each model's index sync, in order.
    fn syncs() -> Vec<IndexSync>;
}

fn sync_one<M: Model>(db: &Db) -> BoxFuture<'_, Result<(&'static str, IndexReport)>> {
    Box::pin(async move {
        let report = db.collection::<M>().sync_indexes().await?;
        Ok((M::COLLECTION, report))
    })
}

macro_rules! models_tuple {
    ($($m:ident),+) => {
        impl<$($m: Model),+> Models for ($($m,)+) {
            fn syncs() -> Vec<IndexSync> {
                vec![$(sync_one::<$m>),+]
            }
        }
    };
}

models_tuple!(A);
models_tuple!(A, B);
models_tuple!(A, B, C);
models_tuple!(A, B, C, D);
models_tuple!(A, B, C, D, E);
models_tuple!(A, B, C, D, E, F);
models_tuple!(A, B, C, D, E, F, G);
models_tuple!(A, B, C, D, E, F, G, H);
models_tuple!(A, B, C, D, E, F, G, H, I);
models_tuple!(A, B, C, D, E, F, G, H, I, J);
models_tuple!(A, B, C, D, E, F, G, H, I, J, K);
models_tuple!(A, B, C, D, E, F, G, H, I, J, K, L);

/// A socket path no other server in this process or on this machine uses: the process
/// id and a counter, in the temporary directory (short enough for the 104-byte limit
/// on socket paths as long as that directory's path is).
#[cfg(all(unix, feature = "embedded"))]
fn private_socket_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("odm-{}-{n}.sock", std::process::id()))
}
