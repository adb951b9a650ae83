//! Commands: one module per command (or family of commands).
//!
//! Each module parses its command document into typed arguments (reporting MongoDB's
//! error codes for bad input) and executes it against the shared state, returning the
//! reply document. [`execute`] looks the command up by its first field name; an unknown
//! name is `CommandNotFound` (59), and so is every command this server does not have.
//!
//! Replies get `ok: 1.0` added when the command succeeded; errors become
//! `{ok: 0, errmsg, code, codeName}`.

pub mod aggregate;
pub mod bulk_write;
pub mod change_stream;
pub mod coll_mod;
mod collection_kinds;
pub mod count;
pub mod create;
pub mod create_indexes;
pub mod current_op;
pub mod delete;
pub mod distinct;
pub mod drop;
pub mod drop_indexes;
pub mod explain;
pub mod fields;
pub mod find;
pub mod find_and_modify;
pub mod get_more;
pub mod handshake;
pub mod insert;
pub mod kill_cursors;
pub mod list_collections;
pub mod list_databases;
pub mod list_indexes;
pub mod map_reduce;
mod out_merge;
pub mod profile;
pub mod rename_collection;
pub mod sasl;
pub mod server_info;
pub mod sessions;
pub mod stats;
pub mod update;
pub mod users;
pub mod validate;
mod views;
pub mod write_concern;
mod writes;

mod context;
mod dispatch;
pub mod fail_point;
pub mod replset;
pub mod transaction;

use bson::Document;

pub use context::{Ctx, Reader, Reply};
pub use dispatch::{execute, stamp_cluster_time};

use crate::error::CmdResult;

/// A command implementation.
pub(crate) type Handler = fn(&Ctx<'_>) -> CmdResult<Document>;

/// Every command, by name: name, handler, help text (for `listCommands`), admin only.
pub const COMMANDS: &[(&str, Handler, &str, bool)] = &[
    (
        "hello",
        handshake::hello,
        "the handshake: server limits and topology",
        false,
    ),
    (
        "isMaster",
        handshake::hello,
        "the legacy handshake (same as hello)",
        false,
    ),
    (
        "ismaster",
        handshake::hello,
        "the legacy handshake (same as hello)",
        false,
    ),
    (
        "saslStart",
        sasl::sasl_start,
        "logs in: the first step of a SCRAM conversation",
        false,
    ),
    (
        "saslContinue",
        sasl::sasl_continue,
        "logs in: the next step of a SCRAM conversation",
        false,
    ),
    (
        "logout",
        sasl::logout,
        "forgets the user logged in on this database",
        false,
    ),
    ("createUser", users::create_user, "creates a user", false),
    (
        "updateUser",
        users::update_user,
        "changes a user's password, roles or custom data",
        false,
    ),
    ("dropUser", users::drop_user, "removes a user", false),
    (
        "dropAllUsersFromDatabase",
        users::drop_all_users,
        "removes every user of the database",
        false,
    ),
    ("usersInfo", users::users_info, "describes users", false),
    (
        "grantRolesToUser",
        users::grant_roles,
        "gives a user roles",
        false,
    ),
    (
        "revokeRolesFromUser",
        users::revoke_roles,
        "takes roles from a user",
        false,
    ),
    (
        "ping",
        server_info::ping,
        "checks that the server answers",
        false,
    ),
    (
        "mapReduce",
        map_reduce::run,
        "refused: map and reduce are JavaScript, which this server does not run",
        false,
    ),
    (
        "profile",
        profile::run,
        "reads and sets the database profiler",
        false,
    ),
    (
        "buildInfo",
        server_info::build_info,
        "server version and build",
        false,
    ),
    (
        "buildinfo",
        server_info::build_info,
        "server version and build",
        false,
    ),
    (
        "getParameter",
        server_info::get_parameter,
        "server parameters",
        true,
    ),
    (
        "hostInfo",
        server_info::host_info,
        "the host the server runs on",
        false,
    ),
    (
        "getCmdLineOpts",
        server_info::get_cmd_line_opts,
        "the server's command line",
        true,
    ),
    (
        "serverStatus",
        server_info::server_status,
        "counters and uptime",
        false,
    ),
    (
        "connectionStatus",
        server_info::connection_status,
        "authentication state of this connection",
        false,
    ),
    (
        "whatsmyuri",
        server_info::whats_my_uri,
        "this client's address as the server sees it",
        false,
    ),
    ("getLog", server_info::get_log, "recent log lines", true),
    (
        "listCommands",
        server_info::list_commands,
        "the commands this server knows",
        false,
    ),
    ("insert", insert::run, "inserts documents", false),
    (
        "currentOp",
        current_op::run,
        "the commands running now (and idle cursors with $all)",
        true,
    ),
    (
        "bulkWrite",
        bulk_write::run,
        "inserts, updates and deletes over several namespaces",
        true,
    ),
    ("find", find::run, "queries a collection", false),
    (
        "getMore",
        get_more::run,
        "the next batch of a cursor",
        false,
    ),
    ("killCursors", kill_cursors::run, "closes cursors", false),
    ("update", update::run, "updates documents", false),
    ("delete", delete::run, "deletes documents", false),
    (
        "findAndModify",
        find_and_modify::run,
        "updates or removes one document and returns it",
        false,
    ),
    (
        "findandmodify",
        find_and_modify::run,
        "updates or removes one document and returns it",
        false,
    ),
    ("count", count::run, "counts documents", false),
    (
        "distinct",
        distinct::run,
        "the distinct values of a field",
        false,
    ),
    (
        "aggregate",
        aggregate::run,
        "runs an aggregation pipeline",
        false,
    ),
    ("create", create::run, "creates a collection", false),
    ("drop", drop::drop_collection, "drops a collection", false),
    (
        "dropDatabase",
        drop::drop_database,
        "drops a database",
        false,
    ),
    (
        "listDatabases",
        list_databases::run,
        "lists databases",
        true,
    ),
    (
        "listCollections",
        list_collections::run,
        "lists collections",
        false,
    ),
    (
        "renameCollection",
        rename_collection::run,
        "renames a collection",
        true,
    ),
    (
        "createIndexes",
        create_indexes::run,
        "creates indexes",
        false,
    ),
    (
        "listIndexes",
        list_indexes::run,
        "lists a collection's indexes",
        false,
    ),
    ("dropIndexes", drop_indexes::run, "drops indexes", false),
    (
        "deleteIndexes",
        drop_indexes::run,
        "drops indexes (old name)",
        false,
    ),
    (
        "collMod",
        coll_mod::run,
        "changes collection options",
        false,
    ),
    ("explain", explain::run, "shows the plan of a query", false),
    ("dbStats", stats::db_stats, "database statistics", false),
    (
        "validate",
        validate::run,
        "checks a collection's documents and indexes against each other",
        false,
    ),
    (
        "collStats",
        stats::coll_stats,
        "collection statistics",
        false,
    ),
    (
        "startSession",
        sessions::start_session,
        "starts a logical session",
        false,
    ),
    (
        "endSessions",
        sessions::end_sessions,
        "ends logical sessions",
        false,
    ),
    (
        "refreshSessions",
        sessions::refresh_sessions,
        "keeps logical sessions alive",
        false,
    ),
    (
        "killSessions",
        sessions::kill_sessions,
        "kills logical sessions and their cursors",
        false,
    ),
    (
        "killAllSessions",
        sessions::kill_all_sessions,
        "kills every logical session",
        false,
    ),
    (
        "commitTransaction",
        transaction::commit,
        "commits a multi-document transaction",
        true,
    ),
    (
        "abortTransaction",
        transaction::abort,
        "aborts a multi-document transaction",
        true,
    ),
    (
        "replSetGetStatus",
        replset::get_status,
        "the replica set's members and their state",
        true,
    ),
    (
        "replSetGetConfig",
        replset::get_config,
        "the replica set's configuration",
        true,
    ),
    (
        "replSetInitiate",
        replset::initiate,
        "initiates the replica set (it always is)",
        true,
    ),
    (
        "configureFailPoint",
        fail_point::configure,
        "switches a fail point on or off (test commands only)",
        true,
    ),
    (
        "waitForFailPoint",
        fail_point::wait_for,
        "waits until a fail point has been entered (test commands only)",
        true,
    ),
    (
        "setParameter",
        server_info::set_parameter,
        "changes a server parameter",
        true,
    ),
];
