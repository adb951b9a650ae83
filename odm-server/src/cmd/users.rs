//! User management: `createUser`, `updateUser`, `dropUser`, `dropAllUsersFromDatabase`,
//! `usersInfo`, `grantRolesToUser`, `revokeRolesFromUser`, on the users of the
//! command's database.
//!
//! ```text
//! {createUser: "ann", pwd: "secret", roles: ["readWrite", {role: "read", db: "other"}],
//!  customData?: {...}, mechanisms?: ["SCRAM-SHA-256", "SCRAM-SHA-1"]}
//! {updateUser: "ann", pwd?, roles?, customData?, mechanisms?}
//! {dropUser: "ann"}          {dropAllUsersFromDatabase: 1}  -> {n}
//! {usersInfo: 1 | "ann" | {user, db} | [...], showCredentials?: false}
//!                            -> {users: [{_id, userId, user, db, roles, mechanisms, customData?}]}
//! {grantRolesToUser: "ann", roles: [...]}    {revokeRolesFromUser: "ann", roles: [...]}
//! ```
//!
//! Users live in `admin.system.users` ([`crate::auth::users`]); each change is one
//! write there. A role must exist (`RoleNotFound`, 31), a user being changed must
//! exist (`UserNotFound`, 11), and a new one must not (51003).

use bson::{Bson, Document, doc};

use super::Ctx;
use super::fields::Fields;
use super::write_concern::WriteConcern;
use super::writes::write;
use crate::auth::roles::RoleRef;
use crate::auth::scram::Mechanism;
use crate::auth::users::{self, USERS_COLLECTION, USERS_DB, User};
use crate::error::{CmdResult, CommandError, ErrorCode};

pub fn create_user(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name = user_name(ctx, "createUser")?;
    let password = password(ctx.body)?.ok_or_else(|| {
        CommandError::new(ErrorCode::BadValue, "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db")
    })?;
    let roles = roles(ctx, true)?.unwrap_or_default();
    let mechanisms = mechanisms(ctx.body)?;
    let credentials = users::credentials(&name, &password, &mechanisms).ok_or_else(|| {
        CommandError::new(
            ErrorCode::BadValue,
            "Error preflighting normalization: the password has characters SASLprep prohibits",
        )
    })?;
    let custom = custom_data(ctx.body)?;
    let document = users::new_document(ctx.db, &name, credentials, &roles, custom);
    write(ctx, WriteConcern::parse(&f)?, |w| {
        if users::get(w, ctx.db, &name)?.is_some() {
            return Err(CommandError::new(
                ErrorCode::Location(51003),
                format!("User \"{name}@{}\" already exists", ctx.db),
            ));
        }
        let mut meta = w.collection(USERS_DB, USERS_COLLECTION)?;
        w.insert(&mut meta, &document)
    })?;
    Ok(Document::new())
}

pub fn update_user(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name = user_name(ctx, "updateUser")?;
    let password = password(ctx.body)?;
    let roles = roles(ctx, false)?;
    let custom = custom_data(ctx.body)?;
    let mechanisms = mechanisms(ctx.body)?;
    if password.is_none() && roles.is_none() && custom.is_none() {
        return Err(CommandError::new(
            ErrorCode::BadValue,
            "Must specify at least one field to update in updateUser",
        ));
    }
    let credentials = match &password {
        Some(p) => Some(users::credentials(&name, p, &mechanisms).ok_or_else(|| {
            CommandError::new(
                ErrorCode::BadValue,
                "the password has characters SASLprep prohibits",
            )
        })?),
        None => None,
    };
    change(ctx, &f, &name, |d| {
        if let Some(c) = &credentials {
            d.insert("credentials", c.clone());
        }
        if let Some(r) = &roles {
            d.insert("roles", role_array(r));
        }
        if let Some(c) = &custom {
            d.insert("customData", c.clone());
        }
    })?;
    Ok(Document::new())
}

pub fn grant_roles(ctx: &Ctx<'_>) -> CmdResult<Document> {
    edit_roles(ctx, "grantRolesToUser", true)
}

pub fn revoke_roles(ctx: &Ctx<'_>) -> CmdResult<Document> {
    edit_roles(ctx, "revokeRolesFromUser", false)
}

fn edit_roles(ctx: &Ctx<'_>, command: &str, grant: bool) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name = user_name(ctx, command)?;
    let given = roles(ctx, grant)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::BadValue,
            format!("{command} needs a 'roles' array"),
        )
    })?;
    change(ctx, &f, &name, |d| {
        let mut current: Vec<RoleRef> = User::from_document(d.clone())
            .map(|u| u.roles)
            .unwrap_or_default();
        for role in &given {
            if grant && !current.contains(role) {
                current.push(role.clone());
            } else if !grant {
                current.retain(|r| r != role);
            }
        }
        d.insert("roles", role_array(&current));
    })?;
    Ok(Document::new())
}

pub fn drop_user(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let name = user_name(ctx, "dropUser")?;
    write(ctx, WriteConcern::parse(&f)?, |w| {
        let user = users::get(w, ctx.db, &name)?.ok_or_else(|| not_found(&name, ctx.db))?;
        let meta = w.collection(USERS_DB, USERS_COLLECTION)?;
        w.delete(&meta, user.document())
    })?;
    Ok(Document::new())
}

pub fn drop_all_users(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let f = Fields::new(ctx.body);
    let n = write(ctx, WriteConcern::parse(&f)?, |w| {
        let all = users::find(w, &doc! {"db": ctx.db})?;
        if all.is_empty() {
            return Ok(0);
        }
        let meta = w.collection(USERS_DB, USERS_COLLECTION)?;
        for user in &all {
            w.delete(&meta, user.document())?;
        }
        Ok(all.len())
    })?;
    Ok(doc! {"n": n as i32})
}

pub fn users_info(ctx: &Ctx<'_>) -> CmdResult<Document> {
    let show_credentials = ctx.body.get_bool("showCredentials").unwrap_or(false);
    let named = |v: &Bson| -> CmdResult<Document> {
        match v {
            Bson::String(user) => Ok(doc! {"_id": users::user_id(ctx.db, user)}),
            Bson::Document(d) => match (d.get_str("user"), d.get_str("db")) {
                (Ok(user), Ok(db)) => Ok(doc! {"_id": users::user_id(db, user)}),
                _ => Err(bad_user_spec()),
            },
            _ => Err(bad_user_spec()),
        }
    };
    let mut filter = match ctx.body.get("usersInfo") {
        Some(Bson::Array(list)) => {
            let ids = list
                .iter()
                .map(|v| named(v).map(|d| d.get("_id").cloned().unwrap_or(Bson::Null)))
                .collect::<CmdResult<Vec<_>>>()?;
            doc! {"_id": {"$in": ids}}
        }
        Some(Bson::Document(d)) if d.contains_key("forAllDBs") => Document::new(),
        Some(v @ (Bson::String(_) | Bson::Document(_))) => named(v)?,
        Some(_) => doc! {"db": ctx.db},
        None => return Err(bad_user_spec()),
    };
    if let Ok(extra) = ctx.body.get_document("filter") {
        filter = doc! {"$and": [filter, extra.clone()]};
    }
    let snapshot = ctx.state.repl.snapshot();
    let found = users::find(&*snapshot.snapshot, &filter)?;
    let shown: Vec<Bson> = found
        .iter()
        .map(|u| {
            let mut d = u.document().clone();
            if !show_credentials {
                d.remove("credentials");
            }
            d.insert("mechanisms", u.mechanisms());
            Bson::Document(d)
        })
        .collect();
    Ok(doc! {"users": shown})
}

/// Rewrites one user's document with `edit`.
fn change(
    ctx: &Ctx<'_>,
    f: &Fields<'_>,
    name: &str,
    edit: impl Fn(&mut Document),
) -> CmdResult<()> {
    write(ctx, WriteConcern::parse(f)?, |w| {
        let user = users::get(w, ctx.db, name)?.ok_or_else(|| not_found(name, ctx.db))?;
        let before = user.document().clone();
        let mut after = before.clone();
        edit(&mut after);
        let mut meta = w.collection(USERS_DB, USERS_COLLECTION)?;
        w.update(&mut meta, &before, &after, true)
    })
}

fn user_name(ctx: &Ctx<'_>, command: &str) -> CmdResult<String> {
    match ctx.body.get_str(command) {
        Ok(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(CommandError::new(
            ErrorCode::BadValue,
            format!("{command} takes the user's name, a non-empty string"),
        )),
    }
}

fn password(body: &Document) -> CmdResult<Option<String>> {
    match body.get("pwd") {
        None => Ok(None),
        Some(Bson::String(p)) if !p.is_empty() => Ok(Some(p.clone())),
        Some(_) => Err(CommandError::new(
            ErrorCode::BadValue,
            "'pwd' must be a non-empty string",
        )),
    }
}

/// The `roles` array, each checked to exist; `None` when absent. `required`: a
/// missing array is an error.
fn roles(ctx: &Ctx<'_>, required: bool) -> CmdResult<Option<Vec<RoleRef>>> {
    let list = match ctx.body.get("roles") {
        None if required => {
            return Err(CommandError::new(
                ErrorCode::BadValue,
                "\"roles\" field is required",
            ));
        }
        None => return Ok(None),
        Some(Bson::Array(list)) => list,
        Some(_) => {
            return Err(CommandError::new(
                ErrorCode::BadValue,
                "\"roles\" must be an array",
            ));
        }
    };
    let mut out = Vec::new();
    for value in list {
        let role = RoleRef::parse(value, ctx.db).ok_or_else(|| {
            CommandError::new(
                ErrorCode::BadValue,
                format!("a role is a name or {{role, db}}, not {value}"),
            )
        })?;
        if !role.exists() {
            return Err(CommandError::new(
                ErrorCode::RoleNotFound,
                format!("Could not find role: {}@{}", role.role, role.db),
            ));
        }
        out.push(role);
    }
    Ok(Some(out))
}

fn role_array(roles: &[RoleRef]) -> Vec<Bson> {
    roles
        .iter()
        .map(|r| Bson::Document(r.to_document()))
        .collect()
}

fn mechanisms(body: &Document) -> CmdResult<Vec<Mechanism>> {
    let Ok(list) = body.get_array("mechanisms") else {
        return Ok(Mechanism::ALL.to_vec());
    };
    list.iter()
        .map(|v| {
            v.as_str().and_then(Mechanism::from_name).ok_or_else(|| {
                CommandError::new(ErrorCode::BadValue, format!("Unknown auth mechanism '{v}'"))
            })
        })
        .collect()
}

fn custom_data(body: &Document) -> CmdResult<Option<Document>> {
    match body.get("customData") {
        None => Ok(None),
        Some(Bson::Document(d)) => Ok(Some(d.clone())),
        Some(_) => Err(CommandError::new(
            ErrorCode::BadValue,
            "\"customData\" must be an object",
        )),
    }
}

fn not_found(name: &str, db: &str) -> CommandError {
    CommandError::new(
        ErrorCode::UserNotFound,
        format!("Could not find user \"{name}\" for db \"{db}\""),
    )
}

fn bad_user_spec() -> CommandError {
    CommandError::new(
        ErrorCode::BadValue,
        "usersInfo takes 1, a user name, {user, db}, or an array of them",
    )
}
