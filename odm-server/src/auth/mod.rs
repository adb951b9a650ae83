//! Authentication and authorization: who a connection is, and what it may run.
//!
//! Off unless the server is started with `--auth` ([`Config::auth`]); then every
//! command but the handshake, `ping`, `buildInfo` and the SASL conversation needs a
//! logged-in user (`Unauthorized`, 13, before), and each command the actions its
//! [`roles::need`] names, on its database. A connection logs in with SCRAM-SHA-256 or
//! SCRAM-SHA-1 ([`scram`]) against the users stored in `admin.system.users`
//! ([`users`]); it may hold several users at once (one per database), as mongod allows.
//!
//! The localhost exception is mongod's: while no user exists, a client on the loopback
//! interface (or the Unix socket) may create the first one, and nothing else.
//!
//! [`Config::auth`]: crate::config::Config::auth

pub mod roles;
pub mod scram;
pub mod users;

use bson::Document;

use crate::error::{CmdResult, CommandError, ErrorCode};
use roles::{Action, Need, RoleRef};
use scram::ServerFirst;

/// A user a connection has logged in as.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: String,
    pub db: String,
    pub roles: Vec<RoleRef>,
}

/// A SASL conversation in progress on a connection.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub id: i32,
    /// The database the user is defined on (the command's `$db`).
    pub db: String,
    /// The client asked to end with the proof's reply (`skipEmptyExchange`).
    pub skip_empty: bool,
    pub step: Step,
}

#[derive(Clone, Debug)]
pub enum Step {
    /// The server's first message was sent; the client's proof is next.
    Proof(ServerFirst),
    /// The proof was right and the server's signature sent; the client's empty
    /// message ends the conversation (unless it asked to skip it).
    Done(Identity),
}

/// One connection's authentication state.
#[derive(Debug, Default)]
pub struct Session {
    pub users: Vec<Identity>,
    pub conversation: Option<Conversation>,
    next_conversation: i32,
}

impl Session {
    /// The id of a new conversation.
    pub fn next_conversation_id(&mut self) -> i32 {
        self.next_conversation += 1;
        self.next_conversation
    }

    /// Records a login: a user replaces another of the same database.
    pub fn logged_in(&mut self, identity: Identity) {
        self.users.retain(|u| u.db != identity.db);
        self.users.push(identity);
    }

    /// Whether the logged-in users together may take `action` on `db`.
    fn may(&self, action: Action, db: &str) -> bool {
        self.users
            .iter()
            .flat_map(|u| &u.roles)
            .any(|r| r.grants(action, db))
    }

    /// The logged-in users as (`user`, `db`): who owns the cursors the connection opens.
    pub fn names(&self) -> Vec<(String, String)> {
        self.users
            .iter()
            .map(|u| (u.user.clone(), u.db.clone()))
            .collect()
    }

    /// Whether a cursor opened by `owners` is this connection's: they share a user, or
    /// neither has one.
    pub fn shares_owner(&self, owners: &[(String, String)]) -> bool {
        if owners.is_empty() {
            return self.users.is_empty();
        }
        self.users.iter().any(|u| {
            owners
                .iter()
                .any(|(user, db)| *user == u.user && *db == u.db)
        })
    }

    /// Whether `listDatabases` shows `db` to this connection: to a user with a role on
    /// it, or one that may list every database (`clusterMonitor`, the `AnyDatabase`
    /// roles, `root`).
    pub fn sees_database(&self, db: &str) -> bool {
        self.may(Action::ClusterMonitor, "admin")
            || [
                Action::Read,
                Action::Write,
                Action::DbAdmin,
                Action::UserAdmin,
            ]
            .into_iter()
            .any(|action| self.may(action, db))
    }

    /// Whether the connection may run the command `name` on `db`.
    pub fn allows(&self, name: &str, db: &str, command: &Document) -> Result<(), Refusal> {
        match roles::need(name, db, command) {
            Need::Nothing => Ok(()),
            _ if self.users.is_empty() => Err(Refusal::NotLoggedIn),
            Need::Login => Ok(()),
            Need::Actions(actions) => {
                for (action, target) in actions {
                    let met = self.may(action, &target)
                        || (action == Action::Write
                            && roles::collection_change(name)
                            && self.may(Action::DbAdmin, &target));
                    if !met {
                        return Err(Refusal::NotAllowed(target));
                    }
                }
                Ok(())
            }
        }
    }
}

/// Why a command may not run.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotLoggedIn,
    /// The database the missing action is on.
    NotAllowed(String),
}

impl Refusal {
    pub fn to_error(&self, name: &str) -> CommandError {
        match self {
            Refusal::NotLoggedIn => CommandError::new(
                ErrorCode::Unauthorized,
                format!("Command {name} requires authentication"),
            ),
            Refusal::NotAllowed(db) => CommandError::new(
                ErrorCode::Unauthorized,
                format!("not authorized on {db} to execute command {{ {name}: ... }}"),
            ),
        }
    }
}

/// `AuthenticationFailed` as mongod answers it: the same words whatever went wrong.
pub fn failed() -> CommandError {
    CommandError::new(ErrorCode::AuthenticationFailed, "Authentication failed.")
}

/// The localhost exception: with no user yet, a local client may create one.
pub fn localhost_exception(
    name: &str,
    loopback: bool,
    no_users: impl FnOnce() -> CmdResult<bool>,
) -> CmdResult<bool> {
    Ok(loopback && name == "createUser" && no_users()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn session(roles: &[(&str, &str)]) -> Session {
        let mut s = Session::default();
        s.logged_in(Identity {
            user: "u".into(),
            db: "admin".into(),
            roles: roles
                .iter()
                .map(|(r, d)| RoleRef {
                    role: (*r).into(),
                    db: (*d).into(),
                })
                .collect(),
        });
        s
    }

    #[test]
    fn a_read_user_reads_and_is_refused_writes() {
        let s = session(&[("read", "shop")]);
        assert_eq!(s.allows("find", "shop", &doc! {}), Ok(()));
        assert_eq!(
            s.allows("insert", "shop", &doc! {}),
            Err(Refusal::NotAllowed("shop".into()))
        );
        assert_eq!(
            s.allows("find", "other", &doc! {}),
            Err(Refusal::NotAllowed("other".into()))
        );
        assert_eq!(
            Session::default().allows("find", "shop", &doc! {}),
            Err(Refusal::NotLoggedIn)
        );
        assert_eq!(Session::default().allows("hello", "shop", &doc! {}), Ok(()));
    }

    #[test]
    fn db_admin_changes_collections_without_reading_them() {
        let s = session(&[("dbAdmin", "shop")]);
        assert_eq!(s.allows("createIndexes", "shop", &doc! {}), Ok(()));
        assert_eq!(s.allows("collMod", "shop", &doc! {}), Ok(()));
        assert!(s.allows("find", "shop", &doc! {}).is_err());
    }
}
