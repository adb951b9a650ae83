//! mongod's built-in roles, and what each command needs.
//!
//! A command needs one [`Need`]: nothing (the handshake, `ping`, `buildInfo`,
//! authentication itself), a logged-in user (sessions, transactions, cursors the user
//! opened), or an [`Action`] on a database. A role grants actions on its database, or
//! on every database for the `AnyDatabase` roles (defined on `admin`, as in mongod);
//! `root` grants everything. Commands this table does not name need `root`, so a
//! command added without a rule here is closed rather than open.

use bson::{Bson, Document};

/// What a role lets its holder do on a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read documents and the catalog (`find`, `aggregate`, `listCollections`...).
    Read,
    /// Write documents, and create or drop collections and indexes.
    Write,
    /// Administer the database without reading its data (`collMod`, `dropDatabase`...).
    DbAdmin,
    /// Manage the database's users.
    UserAdmin,
    /// Read the server's state (`serverStatus`, `currentOp`, `getLog`...).
    ClusterMonitor,
    /// Change the server itself (`setParameter`, fail points): `root` only.
    ClusterAdmin,
}

/// What a command needs before it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    Nothing,
    Login,
    /// Each action on its database.
    Actions(Vec<(Action, String)>),
}

/// A role held by a user: its name and the database it is defined on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRef {
    pub role: String,
    pub db: String,
}

/// The built-in roles: name, whether it is defined on `admin` only, actions.
const BUILT_IN: &[(&str, bool, &[Action])] = &[
    ("read", false, &[Action::Read]),
    ("readWrite", false, &[Action::Read, Action::Write]),
    ("dbAdmin", false, &[Action::DbAdmin]),
    ("userAdmin", false, &[Action::UserAdmin]),
    (
        "dbOwner",
        false,
        &[
            Action::Read,
            Action::Write,
            Action::DbAdmin,
            Action::UserAdmin,
        ],
    ),
    ("readAnyDatabase", true, &[Action::Read]),
    ("readWriteAnyDatabase", true, &[Action::Read, Action::Write]),
    ("dbAdminAnyDatabase", true, &[Action::DbAdmin]),
    ("userAdminAnyDatabase", true, &[Action::UserAdmin]),
    ("clusterMonitor", true, &[Action::ClusterMonitor]),
    (
        "root",
        true,
        &[
            Action::Read,
            Action::Write,
            Action::DbAdmin,
            Action::UserAdmin,
            Action::ClusterMonitor,
            Action::ClusterAdmin,
        ],
    ),
];

impl RoleRef {
    /// Whether the role exists (built-in roles only; `AnyDatabase` roles, `root` and
    /// `clusterMonitor` exist on `admin` only).
    pub fn exists(&self) -> bool {
        BUILT_IN
            .iter()
            .any(|(name, admin_only, _)| *name == self.role && (!admin_only || self.db == "admin"))
    }

    /// Whether the role grants `action` on `db`.
    pub fn grants(&self, action: Action, db: &str) -> bool {
        let Some((_, any_database, actions)) = BUILT_IN.iter().find(|(n, ..)| *n == self.role)
        else {
            return false;
        };
        if !actions.contains(&action) {
            return false;
        }
        match action {
            Action::ClusterMonitor | Action::ClusterAdmin => self.db == "admin",
            // The AnyDatabase roles reach every database but `local` and `config`,
            // which only `root` (and cluster roles) touch.
            _ if *any_database => {
                self.db == "admin" && (self.role == "root" || !matches!(db, "local" | "config"))
            }
            _ => self.db == db,
        }
    }

    /// `{role, db}` as mongod shows it.
    pub fn to_document(&self) -> Document {
        bson::doc! {"role": &self.role, "db": &self.db}
    }

    /// A role as a command names it: `"read"` (on `db`) or `{role, db}`.
    pub fn parse(value: &Bson, db: &str) -> Option<RoleRef> {
        match value {
            Bson::String(role) => Some(RoleRef {
                role: role.clone(),
                db: db.to_string(),
            }),
            Bson::Document(d) => Some(RoleRef {
                role: d.get_str("role").ok()?.to_string(),
                db: d.get_str("db").ok()?.to_string(),
            }),
            _ => None,
        }
    }
}

/// Commands anyone may run, logged in or not.
const OPEN: &[&str] = &[
    "hello",
    "isMaster",
    "ismaster",
    "saslStart",
    "saslContinue",
    "ping",
    "buildInfo",
    "buildinfo",
    "connectionStatus",
    "logout",
];

/// Commands any logged-in user may run.
const LOGGED_IN: &[&str] = &[
    "getMore",
    "killCursors",
    "startSession",
    "endSessions",
    "refreshSessions",
    "killSessions",
    "commitTransaction",
    "abortTransaction",
    "listCommands",
    "whatsmyuri",
    "listDatabases",
];

const READ: &[&str] = &[
    "mapReduce",
    "find",
    "count",
    "distinct",
    "aggregate",
    "listCollections",
    "listIndexes",
    "collStats",
    "dbStats",
    "explain",
];

const WRITE: &[&str] = &[
    "insert",
    "update",
    "delete",
    "findAndModify",
    "findandmodify",
];

/// Collection and index changes: `readWrite` and `dbAdmin` may both make them.
const COLLECTIONS: &[&str] = &[
    "create",
    "drop",
    "createIndexes",
    "dropIndexes",
    "deleteIndexes",
];

const DB_ADMIN: &[&str] = &["collMod", "dropDatabase", "validate", "profile"];

pub const USER_ADMIN: &[&str] = &[
    "createUser",
    "updateUser",
    "dropUser",
    "dropAllUsersFromDatabase",
    "usersInfo",
    "grantRolesToUser",
    "revokeRolesFromUser",
];

const CLUSTER_MONITOR: &[&str] = &[
    "serverStatus",
    "currentOp",
    "hostInfo",
    "getCmdLineOpts",
    "getLog",
    "getParameter",
    "replSetGetStatus",
    "replSetGetConfig",
];

/// What `command` (named `name`, sent to `db`) needs.
pub fn need(name: &str, db: &str, command: &Document) -> Need {
    let on = |action: Action, db: &str| Need::Actions(vec![(action, db.to_string())]);
    if OPEN.contains(&name) {
        return Need::Nothing;
    }
    if LOGGED_IN.contains(&name) {
        return Need::Login;
    }
    if name == "aggregate" && writes_out(command) {
        return Need::Actions(vec![
            (Action::Read, db.to_string()),
            (Action::Write, db.to_string()),
        ]);
    }
    if READ.contains(&name) {
        return on(Action::Read, db);
    }
    if WRITE.contains(&name) {
        return on(Action::Write, db);
    }
    if COLLECTIONS.contains(&name) {
        // readWrite or dbAdmin: checked as either (see `Session::allows`).
        return Need::Actions(vec![(Action::Write, db.to_string())]);
    }
    if DB_ADMIN.contains(&name) {
        return on(Action::DbAdmin, db);
    }
    if USER_ADMIN.contains(&name) {
        return on(Action::UserAdmin, db);
    }
    if CLUSTER_MONITOR.contains(&name) {
        return on(Action::ClusterMonitor, "admin");
    }
    match name {
        // Admin commands naming their namespaces.
        "renameCollection" => {
            let mut needs = Vec::new();
            for key in ["renameCollection", "to"] {
                if let Some((target, _)) =
                    command.get_str(key).ok().and_then(|ns| ns.split_once('.'))
                {
                    needs.push((Action::Read, target.to_string()));
                    needs.push((Action::Write, target.to_string()));
                }
            }
            Need::Actions(needs)
        }
        "bulkWrite" => {
            let mut needs: Vec<(Action, String)> = Vec::new();
            for info in command.get_array("nsInfo").into_iter().flatten() {
                if let Some((target, _)) = info
                    .as_document()
                    .and_then(|d| d.get_str("ns").ok())
                    .and_then(|ns| ns.split_once('.'))
                    && !needs.iter().any(|(_, d)| d == target)
                {
                    needs.push((Action::Write, target.to_string()));
                }
            }
            Need::Actions(needs)
        }
        _ => on(Action::ClusterAdmin, "admin"),
    }
}

/// Whether a pipeline ends in `$out` or `$merge` (it then writes).
fn writes_out(command: &Document) -> bool {
    command
        .get_array("pipeline")
        .ok()
        .and_then(|p| p.last())
        .and_then(Bson::as_document)
        .is_some_and(|stage| stage.contains_key("$out") || stage.contains_key("$merge"))
}

/// Whether a command's `Write` need may also be met by `dbAdmin` (collection and index
/// changes, which both roles have).
pub fn collection_change(name: &str) -> bool {
    COLLECTIONS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn role(role: &str, db: &str) -> RoleRef {
        RoleRef {
            role: role.into(),
            db: db.into(),
        }
    }

    #[test]
    fn roles_grant_their_actions_on_their_databases() {
        assert!(role("read", "shop").grants(Action::Read, "shop"));
        assert!(!role("read", "shop").grants(Action::Write, "shop"));
        assert!(!role("read", "shop").grants(Action::Read, "other"));
        assert!(role("readWriteAnyDatabase", "admin").grants(Action::Write, "other"));
        assert!(!role("readWriteAnyDatabase", "admin").grants(Action::Write, "local"));
        assert!(!role("readWriteAnyDatabase", "shop").grants(Action::Write, "shop"));
        assert!(role("root", "admin").grants(Action::ClusterAdmin, "admin"));
        assert!(role("root", "admin").grants(Action::Write, "local"));
        assert!(!role("dbOwner", "shop").grants(Action::ClusterMonitor, "admin"));
        assert!(!role("root", "shop").exists());
        assert!(role("dbOwner", "shop").exists());
        assert!(!role("superuser", "admin").exists());
    }

    #[test]
    fn commands_need_what_mongod_asks() {
        assert_eq!(need("ping", "x", &doc! {}), Need::Nothing);
        assert_eq!(need("endSessions", "admin", &doc! {}), Need::Login);
        assert_eq!(
            need("find", "shop", &doc! {}),
            Need::Actions(vec![(Action::Read, "shop".into())])
        );
        assert_eq!(
            need(
                "aggregate",
                "shop",
                &doc! {"pipeline": [{"$match": {}}, {"$out": "x"}]}
            ),
            Need::Actions(vec![
                (Action::Read, "shop".into()),
                (Action::Write, "shop".into())
            ])
        );
        assert_eq!(
            need("configureFailPoint", "admin", &doc! {}),
            Need::Actions(vec![(Action::ClusterAdmin, "admin".into())])
        );
        assert_eq!(
            need(
                "renameCollection",
                "admin",
                &doc! {"renameCollection": "a.x", "to": "b.y"}
            ),
            Need::Actions(vec![
                (Action::Read, "a".into()),
                (Action::Write, "a".into()),
                (Action::Read, "b".into()),
                (Action::Write, "b".into())
            ])
        );
    }
}
