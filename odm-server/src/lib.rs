//! odm-server: an embedded storage server that speaks the MongoDB wire protocol.
//!
//! The official drivers (Rust, Python, Node, mongosh) connect to it as to the primary of
//! a one-member replica set (or a standalone mongod, with `--standalone`). Data lives in
//! one redb file under `--dbpath` (or in memory), documents keyed by their `_id`, with
//! secondary indexes kept in the same transaction.
//!
//! The public API is what embedders use ([`Server`], [`ServerHandle`], [`Config`]) and
//! the pieces that stand on their own and are tested as such: MongoDB's semantics on
//! plain BSON ([`engine`], with [`error`] and [`depth`]) and the wire format ([`wire`]).
//! Everything else is `pub(crate)`.
//!
//! # Layout
//!
//! Data flows one way: bytes → [`wire`] → [`conn`] → [`cmd`] (parse, execute) →
//! [`engine`] / [`planner`] / [`exec`] → [`storage`] → reply document → [`wire`] → bytes.
//!
//! - [`auth`]: users (`admin.system.users`), SCRAM, built-in roles, and what each
//!   command needs under `--auth`.
//! - [`wire`]: framing only: message header, OP_MSG (with document sequences and
//!   crc32c), legacy OP_QUERY/OP_REPLY for handshakes, raw BSON validation.
//! - [`conn`]: one thread per connection (read a message, dispatch, write the reply)
//!   and the listeners (TCP, Unix socket) that start them.
//! - [`cmd`]: one module per command (family): parse the command document, execute,
//!   return a reply document or a [`CommandError`](error::CommandError).
//! - [`engine`]: MongoDB's semantics on plain BSON, no I/O: type order, paths, filters,
//!   updates, projection, sort, aggregation, text search, geometry (`engine::geo`).
//! - [`planner`]: picks an index for a filter and a sort; `explain` shows its choice.
//! - [`exec`]: runs a plan against a storage snapshot, batch by batch (`$near` in order of
//!   distance: `exec::near`).
//! - [`storage`]: the [`Store`](storage::Store) trait (redb and in-memory), the catalog,
//!   documents and index entries.
//! - [`depth`]: how deep nesting may go (mongod's limits) and the stack guard every
//!   recursive function runs under, so that no nesting within them overflows a thread.
//! - [`cursor`]: open cursors between `getMore`s, with an idle timeout.
//! - [`session`]: logical sessions (`lsid`): checked out per command, with their
//!   transaction.
//! - [`replset`]: the replica set of one: cluster time, the oplog, published snapshots,
//!   transactions, retry records, topology.
//! - [`change_stream`]: change events read from the oplog.
//! - [`capped_tail`]: tailable cursors on capped collections (new documents as they
//!   come, in insertion order).
//! - [`oplog_collection`]: the oplog read as `local.oplog.rs` (queries, tailable
//!   cursors) and the writes to it that are refused.
//! - [`failpoint`]: `failCommand` fail points for tests.
//! - `fuzzing` (feature `fuzzing`): a connection's request path without a socket, for
//!   the fuzzers in `fuzz/`.
//! - [`operations`]: the commands running now, which `$currentOp` reports.
//! - [`profiler`]: `profile` settings, `system.profile` entries, slow-query lines.
//! - [`raw_bson`]: BSON written as bytes on the hot paths (oplog entries, cursor
//!   batches handed from storage to the socket undecoded).
//! - [`state`]: the state every connection shares.
//! - [`ttl`]: the TTL monitor, deleting documents whose TTL index date has passed.
//! - [`server`]: [`Server::start`](server::Server::start) binds, accepts, runs the
//!   background tasks (journal flush, expiry) and shuts down.

pub(crate) mod auth;
pub(crate) mod capped_tail;
pub(crate) mod change_stream;
pub(crate) mod cmd;
pub mod config;
pub(crate) mod conn;
pub(crate) mod cursor;
pub mod depth;
pub mod engine;
pub mod error;
pub(crate) mod exec;
pub(crate) mod failpoint;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod operations;
pub(crate) mod oplog_collection;
pub(crate) mod planner;
pub(crate) mod profiler;
pub(crate) mod raw_bson;
pub(crate) mod replset;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod state;
pub(crate) mod storage;
pub(crate) mod ttl;
pub mod wire;

pub use config::{Config, Journal, StorageConfig, TlsConfig};
pub use server::{Server, ServerHandle};

/// A random 64-bit number (cursor ids, UUIDs). Seeded by the OS through std's hasher
/// keys, so no extra dependency is needed for non-cryptographic randomness.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}
