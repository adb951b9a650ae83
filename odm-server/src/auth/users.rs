//! Users, stored as mongod stores them: one document per user in `admin.system.users`,
//! written through the same storage and oplog as every collection (so they are as
//! durable as the data, and replicated with it).
//!
//! ```text
//! {_id: "<db>.<user>", userId: UUID, user, db,
//!  credentials: {"SCRAM-SHA-1":   {iterationCount, salt, storedKey, serverKey},
//!                "SCRAM-SHA-256": {iterationCount, salt, storedKey, serverKey}},
//!  roles: [{role, db}], customData?}
//! ```
//!
//! Salts and keys are base64 strings, as mongod writes them. No password is kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};

use super::roles::RoleRef;
use super::scram::{Credential, Mechanism};
use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::exec::{Query, collect};
use crate::storage::ReadTxn;
use crate::storage::catalog;

pub const USERS_DB: &str = "admin";
pub const USERS_COLLECTION: &str = "system.users";

/// Refuses a command that would change `admin.system.users` other than through the
/// user management commands: a user able to write there could give itself any role.
pub fn refuse_direct_writes(command: &str, db: &str, body: &Document) -> CmdResult<()> {
    const NS: &str = "admin.system.users";
    let names =
        |field: &str| db == USERS_DB && body.get_str(field).is_ok_and(|c| c == USERS_COLLECTION);
    let full_name = |field: &str| body.get_str(field).is_ok_and(|ns| ns == NS);
    let writes = match command {
        "insert" | "update" | "delete" | "findAndModify" | "findandmodify" | "create" | "drop"
        | "createIndexes" | "dropIndexes" | "deleteIndexes" | "collMod" => names(command),
        "renameCollection" => full_name("renameCollection") || full_name("to"),
        "bulkWrite" => body.get_array("nsInfo").into_iter().flatten().any(|info| {
            info.as_document()
                .and_then(|d| d.get_str("ns").ok())
                .is_some_and(|ns| ns == NS)
        }),
        _ => false,
    };
    if writes {
        return Err(crate::error::CommandError::new(
            crate::error::ErrorCode::InvalidNamespace,
            format!(
                "cannot change {NS} with {command}: use createUser, updateUser, grantRolesToUser, revokeRolesFromUser or dropUser"
            ),
        ));
    }
    Ok(())
}

/// A stored user, as authentication and authorization read it.
#[derive(Clone, Debug)]
pub struct User {
    pub user: String,
    pub db: String,
    pub roles: Vec<RoleRef>,
    document: Document,
}

/// The `_id` of a user's document.
pub fn user_id(db: &str, user: &str) -> String {
    format!("{db}.{user}")
}

impl User {
    pub fn from_document(document: Document) -> Option<User> {
        let roles = document
            .get_array("roles")
            .map(|roles| roles.iter().filter_map(|r| RoleRef::parse(r, "")).collect())
            .unwrap_or_default();
        Some(User {
            user: document.get_str("user").ok()?.to_string(),
            db: document.get_str("db").ok()?.to_string(),
            roles,
            document,
        })
    }

    /// The stored document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The user's key material for one mechanism, if it has some.
    pub fn credential(&self, mechanism: Mechanism) -> Option<Credential> {
        let c = self
            .document
            .get_document("credentials")
            .ok()?
            .get_document(mechanism.name())
            .ok()?;
        let bytes = |key: &str| BASE64.decode(c.get_str(key).ok()?).ok();
        Some(Credential {
            iterations: crate::engine::arith::to_i64_exact(c.get("iterationCount")?)? as u32,
            salt: bytes("salt")?,
            stored_key: bytes("storedKey")?,
            server_key: bytes("serverKey")?,
        })
    }

    /// The mechanisms the user can log in with.
    pub fn mechanisms(&self) -> Vec<&'static str> {
        Mechanism::ALL
            .into_iter()
            .filter(|m| self.credential(*m).is_some())
            .map(Mechanism::name)
            .collect()
    }
}

/// `credentials` for a password, one entry per mechanism.
pub fn credentials(user: &str, password: &str, mechanisms: &[Mechanism]) -> Option<Document> {
    let mut out = Document::new();
    for m in mechanisms {
        let c = Credential::new(*m, &m.prepared_password(user, password)?);
        out.insert(
            m.name(),
            doc! {
                "iterationCount": c.iterations as i32,
                "salt": BASE64.encode(&c.salt),
                "storedKey": BASE64.encode(&c.stored_key),
                "serverKey": BASE64.encode(&c.server_key),
            },
        );
    }
    Some(out)
}

/// A new user's document.
pub fn new_document(
    db: &str,
    user: &str,
    credentials: Document,
    roles: &[RoleRef],
    custom_data: Option<Document>,
) -> Document {
    let uuid: Vec<u8> = (0..16).map(|_| rand::random::<u8>()).collect();
    let mut d = doc! {
        "_id": user_id(db, user),
        "userId": Binary { subtype: BinarySubtype::Uuid, bytes: uuid },
        "user": user,
        "db": db,
        "credentials": credentials,
        "roles": roles.iter().map(|r| Bson::Document(r.to_document())).collect::<Vec<_>>(),
    };
    if let Some(data) = custom_data {
        d.insert("customData", data);
    }
    d
}

/// The users matching `filter` (a filter on the stored documents).
pub fn find(txn: &dyn ReadTxn, filter: &Document) -> CmdResult<Vec<User>> {
    let Some(meta) = catalog::get(txn, USERS_DB, USERS_COLLECTION)? else {
        return Ok(Vec::new());
    };
    let query = Query::matching(Filter::parse(filter)?);
    Ok(collect(txn, &meta, &query)?
        .into_iter()
        .filter_map(User::from_document)
        .collect())
}

/// One user, by name and database.
pub fn get(txn: &dyn ReadTxn, db: &str, user: &str) -> CmdResult<Option<User>> {
    Ok(find(txn, &doc! {"_id": user_id(db, user)})?
        .into_iter()
        .next())
}

/// Whether any user exists (the localhost exception ends with the first).
pub fn any(txn: &dyn ReadTxn) -> CmdResult<bool> {
    match catalog::get(txn, USERS_DB, USERS_COLLECTION)? {
        None => Ok(false),
        Some(meta) => {
            let query = Query {
                limit: Some(1),
                ..Query::matching(Filter::parse(&Document::new())?)
            };
            Ok(!collect(txn, &meta, &query)?.is_empty())
        }
    }
}
