//! The one error type of the ODM.

use bson::{Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};

use crate::validate::ValidationErrors;

/// What can go wrong. Match the kinds you handle and let the rest bubble up:
///
/// ```
/// # fn handle(e: odm::Error) -> &'static str {
/// match e {
///     odm::Error::Validation(errors) => "show the form again with the errors",
///     odm::Error::DuplicateKey { .. } => "that email is taken",
///     odm::Error::NotFound => "404",
///     _ => "500",
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value breaks its model's validation rules; nothing was written.
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),

    /// A unique index already holds this key (MongoDB error 11000); nothing was written.
    #[error("duplicate key in index {index}: {key}")]
    DuplicateKey {
        /// The index's name (`email_1`).
        index: String,
        /// The duplicated key (`{email: "a@b.co"}`).
        key: Document,
    },

    /// The server refused one write of a batch, for a reason other than a duplicate key
    /// (such as its own validator, code 121).
    #[error("write error {code}: {message}")]
    Write { code: i32, message: String },

    /// `save` or `replace_one` found the stored document at another version than the one
    /// the model was loaded at: someone else wrote it since. Nothing was written; load it
    /// again, apply the change, and save.
    #[error(
        "version conflict in {collection}: the model was loaded at version {expected}, the stored document is at version {stored}"
    )]
    VersionConflict {
        collection: &'static str,
        /// The version the model holds (the one it was loaded at).
        expected: i64,
        /// The stored document's version.
        stored: i64,
    },

    /// Another `migrate` or `rollback` holds the migration lock (until `until`, unless it
    /// renews it); nothing was applied.
    #[error("another migration runner holds the lock (until {until})")]
    MigrationLocked { until: bson::DateTime },

    /// The document asked for does not exist.
    #[error("document not found")]
    NotFound,

    /// An id was given as the model holds it, and it is `None`: the document was never
    /// inserted (`insert_one` fills the id).
    #[error("the id is None: this document has not been inserted, so it has no id yet")]
    MissingId,

    /// A reference was read that the query did not populate (see [`crate::Ref::loaded`]).
    #[error(
        "the reference to {collection} {id} was not populated: add this path to the query's populate"
    )]
    NotPopulated {
        /// The referenced model's collection.
        collection: &'static str,
        /// The stored id.
        id: Box<Bson>,
    },

    /// A populated reference whose document does not exist (deleted, or never there).
    #[error("dangling reference: no document in {collection} has _id {id}")]
    Dangling {
        /// The referenced model's collection.
        collection: &'static str,
        /// The stored id that names nothing.
        id: Box<Bson>,
    },

    /// A value could not be converted to or from BSON.
    #[error("invalid value: {0}")]
    InvalidValue(String),

    /// A filter, update, pipeline or page that cannot be sent, found before anything
    /// was: [`BuildError`] says which part and why.
    #[error(transparent)]
    Build(#[from] BuildError),

    /// An operation on the collection itself (indexes, schema, drop) inside a
    /// transaction, which MongoDB does not run in one: call it outside the closure.
    #[error(
        "{operation} changes the collection itself, which is not part of a transaction: call it on db.collection(), outside the closure"
    )]
    NotInTransaction {
        /// The operation refused (`"sync_indexes"`).
        operation: &'static str,
    },

    /// The embedded server could not start.
    #[error("the embedded server could not start: {0}")]
    Server(String),

    /// A feature that needs a replica set or a sharded cluster (transactions, change
    /// streams) was used on a standalone MongoDB. The embedded server is a one-member
    /// replica set unless started standalone.
    #[error(
        "{feature} need a replica set or a sharded cluster, and this MongoDB is a standalone server: start mongod with --replSet (as docker-compose.yml does) or use the embedded server ({detail})"
    )]
    ReplicaSetRequired {
        /// What was asked for: `"transactions"`, `"change streams"`.
        feature: &'static str,
        /// What the driver or the server said.
        detail: String,
    },

    /// An application's own error, returned from a [`Db::transaction`](crate::Db::transaction)
    /// closure to abort it (see [`Error::custom`]); get it back with `source()` or by
    /// matching.
    #[error("{0}")]
    Custom(Box<dyn std::error::Error + Send + Sync>),

    /// Any other error of the MongoDB driver or server (also behind `source()`). Shown
    /// as the server's code, code name and message; the driver's own `Display` (with the
    /// raw reply) stays reachable through `source()`.
    #[error("MongoDB: {}", driver_summary(.0))]
    Driver(#[source] mongodb::error::Error),
}

/// Why a typed builder (a [`Filter`](crate::Filter), [`Update`](crate::Update),
/// [`Pipeline`](crate::Pipeline) or keyset page) cannot be sent. The builders record
/// their first mistake and report it when used, as `Error::Build`, before anything
/// reaches the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A value given for `path` could not be converted to BSON.
    #[error("{path}: {message}")]
    Value {
        /// Where the value was given.
        path: String,
        /// What the conversion said.
        message: String,
    },
    /// A condition, update or expression on a flattened field, which has no path of its
    /// own: its fields' paths are the ones to use.
    #[error("{place} on a flattened field: it has no path of its own, use the paths of its fields")]
    Flattened {
        /// `"a condition"`, `"an update"` or `"an expression"`.
        place: &'static str,
    },
    /// One path given twice to one update operator (`$set` of `age` twice).
    #[error("`{path}` is given twice to {operator} in one update")]
    Repeated {
        /// The path.
        path: String,
        /// The operator (`$set`).
        operator: String,
    },
    /// An update of a path through every element of an array (from `any()`).
    #[error(
        "`{path}` reaches into array elements (from `any()`): an update needs one field, not every element"
    )]
    ThroughArray {
        /// The path.
        path: String,
    },
    /// An update without any operator.
    #[error("an update needs at least one operator")]
    EmptyUpdate,
    /// `elem_match` on an array of values with conditions joined by `|` or `!`.
    #[error(
        "elem_match on an array of values takes conditions on the element joined with `&` (no `|` or `!`)"
    )]
    ElementConditions,
    /// `page_after` on a query that also has a `limit`.
    #[error("page_after takes the page size ({size}); it cannot also honour limit({limit})")]
    PageWithLimit {
        /// The page size given to `page_after`.
        size: u64,
        /// The query's limit.
        limit: i64,
    },
    /// A keyset page sorted by a path with no single value per document.
    #[error(
        "`{path}` has no single value per document (an array, or a path through one): keyset pages need one"
    )]
    MultivaluedSortKey {
        /// The sort key.
        path: String,
    },
    /// A pipeline stage that cannot be built (counted from 1).
    #[error("stage {position} ({stage}): {reason}")]
    Stage {
        /// The stage's position in the pipeline, from 1.
        position: usize,
        /// The stage's operator (`$group`).
        stage: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An aggregation expression that cannot be built, outside a pipeline's stages.
    #[error("{reason}")]
    Expression {
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result<T, odm::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<ValidationErrors> for Error {
    fn from(e: ValidationErrors) -> Self {
        Error::Validation(e)
    }
}

impl From<bson::error::Error> for Error {
    fn from(e: bson::error::Error) -> Self {
        Error::InvalidValue(e.to_string())
    }
}

impl From<mongodb::error::Error> for Error {
    fn from(e: mongodb::error::Error) -> Self {
        match duplicate_key(&e) {
            Some((index, key)) => Error::DuplicateKey { index, key },
            None => Error::Driver(e),
        }
    }
}

impl Error {
    /// Wraps an application's own error, so that a transaction closure can return it
    /// (and abort) with `?`-friendly code: `return Err(Error::custom(Overdrawn))`.
    pub fn custom(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Custom(e.into())
    }

    /// Whether the server or the driver put this label on the error
    /// (`TransientTransactionError`, `UnknownTransactionCommitResult`, ...).
    pub fn has_label(&self, label: &str) -> bool {
        match self {
            Error::Driver(e) => e.contains_label(label),
            _ => false,
        }
    }

    /// The driver's error, as [`Error::ReplicaSetRequired`] when it says that the
    /// deployment is a standalone server.
    pub(crate) fn needing_replica_set(e: mongodb::error::Error, feature: &'static str) -> Error {
        Error::from(e).needing_replica_set_for(feature)
    }

    /// This error, as [`Error::ReplicaSetRequired`] when it says that the deployment is
    /// a standalone server: the driver refusing to start a transaction, the server
    /// refusing a transaction number (20) or a change stream (40573).
    pub(crate) fn needing_replica_set_for(self, feature: &'static str) -> Error {
        let standalone = match &self {
            Error::Driver(e) => match &*e.kind {
                ErrorKind::Transaction { message, .. } => {
                    message.contains("not supported by this deployment")
                }
                ErrorKind::Command(c) => {
                    // The driver rewrites mongod's "Transaction numbers are only allowed
                    // on a replica set member" to advice about retryable writes.
                    c.code == 40573
                        || (c.code == 20
                            && (c.message.contains("replica set")
                                || c.message.contains("retryable writes")))
                }
                _ => false,
            },
            _ => false,
        };
        if standalone {
            Error::ReplicaSetRequired {
                feature,
                detail: self.to_string(),
            }
        } else {
            self
        }
    }

    /// The MongoDB error code, when the server gave one.
    pub fn code(&self) -> Option<i32> {
        match self {
            Error::DuplicateKey { .. } => Some(11000),
            Error::Write { code, .. } => Some(*code),
            Error::Driver(e) => driver_code(e),
            _ => None,
        }
    }
}

/// `code (CodeName): message` for a server error, the driver's description otherwise.
fn driver_summary(e: &mongodb::error::Error) -> String {
    let server = |code: i32, name: Option<&str>, message: &str| match name {
        Some(name) if !name.is_empty() => format!("error {code} ({name}): {message}"),
        _ => format!("error {code}: {message}"),
    };
    match &*e.kind {
        ErrorKind::Command(c) => server(c.code, Some(&c.code_name), &c.message),
        ErrorKind::Write(WriteFailure::WriteError(w)) => {
            server(w.code, w.code_name.as_deref(), &w.message)
        }
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => {
            server(w.code, Some(&w.code_name), &w.message)
        }
        ErrorKind::InsertMany(m) => {
            if let Some(w) = m.write_errors.as_ref().and_then(|w| w.first()) {
                server(w.code, w.code_name.as_deref(), &w.message)
            } else if let Some(w) = &m.write_concern_error {
                server(w.code, Some(&w.code_name), &w.message)
            } else {
                "insert_many failed".to_string()
            }
        }
        kind => kind.to_string(),
    }
}

pub(crate) fn driver_code(e: &mongodb::error::Error) -> Option<i32> {
    match &*e.kind {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .and_then(|w| w.first())
            .map(|w| w.code)
            .or_else(|| m.write_concern_error.as_ref().map(|w| w.code)),
        _ => None,
    }
}

/// The index and key of an E11000 error, read from its message
/// (`... index: email_1 dup key: { email: "a@b.co" }`) and, when the server sent them,
/// from `keyValue`.
pub(crate) fn duplicate_key(e: &mongodb::error::Error) -> Option<(String, Document)> {
    if driver_code(e) != Some(11000) {
        return None;
    }
    let message = match &*e.kind {
        ErrorKind::Command(c) => c.message.clone(),
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.message.clone(),
        ErrorKind::InsertMany(m) => m.write_errors.as_ref()?.first()?.message.clone(),
        _ => return None,
    };
    let index = index_from_message(&message);
    let key = e
        .server_response()
        .and_then(|raw| bson::Document::try_from(raw).ok())
        .and_then(|doc| key_value_of(&doc))
        .unwrap_or_default();
    Some((index, key))
}

/// The index name in an E11000 message (`... index: email_1 dup key: ...`).
pub(crate) fn index_from_message(message: &str) -> String {
    message
        .split(" index: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

fn key_value_of(reply: &Document) -> Option<Document> {
    if let Ok(k) = reply.get_document("keyValue") {
        return Some(k.clone());
    }
    reply
        .get_array("writeErrors")
        .ok()?
        .iter()
        .filter_map(|w| w.as_document())
        .find_map(|w| w.get_document("keyValue").ok().cloned())
}
