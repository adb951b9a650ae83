//! Models shared by the tests, and the database the end-to-end tests run on: the
//! embedded server in memory, or the MongoDB named by `ODM_TEST_MONGODB_URI`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Address {
    #[odm(length(min = 1, max = 64))]
    pub city: String,
    #[odm(length(min = 5, max = 5), pattern = "^[0-9]+$")]
    pub zip: String,
    pub geo: Option<Geo>,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Geo {
    #[odm(range(min = -90, max = 90))]
    pub lat: f64,
    #[odm(range(min = -180, max = 180))]
    pub lng: f64,
}

#[derive(Value, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    Guest,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Item {
    #[odm(length(min = 1))]
    pub sku: String,
    #[odm(range(min = 0))]
    pub price: f64,
    pub qty: u32,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "users", index(keys(email = 1), unique), index(keys(age = 1, name = -1), name = "age_name"), timestamps)]
pub struct User {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    #[odm(email)]
    pub email: String,
    #[odm(length(min = 1, max = 64))]
    pub name: String,
    #[odm(range(min = 0, max = 150))]
    pub age: u32,
    pub address: Address,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "nick_name", default, skip_serializing_if = "Option::is_none")]
    #[odm(length(min = 2))]
    pub nickname: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub items: Vec<Item>,
    pub created_at: Option<DateTime>,
    pub updated_at: Option<DateTime>,
}

pub fn address(city: &str) -> Address {
    Address {
        city: city.into(),
        zip: "75001".into(),
        geo: None,
    }
}

pub fn user(name: &str, age: u32) -> User {
    User {
        id: None,
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        age,
        address: address("Paris"),
        tags: Vec::new(),
        nickname: None,
        role: Role::Staff,
        items: Vec::new(),
        created_at: None,
        updated_at: None,
    }
}

/// A model with every field type users put in models.
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Everything {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub text: String,
    pub small: i32,
    pub big: i64,
    pub unsigned: u32,
    pub ratio: f64,
    pub flag: bool,
    pub maybe: Option<i32>,
    pub nothing: Option<String>,
    pub list: Vec<i32>,
    pub nested: Address,
    pub nested_list: Vec<Item>,
    pub role: Role,
    pub when: DateTime,
    #[serde(with = "odm::chrono_datetime")]
    pub chrono_when: chrono::DateTime<chrono::Utc>,
    pub money: odm::bson::Decimal128,
    pub attributes: BTreeMap<String, String>,
    pub counts: std::collections::HashMap<String, i64>,
    pub raw: odm::bson::Document,
    pub binary: odm::bson::Binary,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// A fresh database: the embedded server in memory, or a new database on the MongoDB
/// `ODM_TEST_MONGODB_URI` names (dropped by `finish`).
pub async fn db() -> Db {
    match std::env::var("ODM_TEST_MONGODB_URI") {
        Ok(uri) if !uri.is_empty() => {
            let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
            let name = format!("odm_test_{}_{n}", std::process::id());
            Db::connect(&uri)
                .await
                .expect("ODM_TEST_MONGODB_URI connects")
                .database(&name)
        }
        _ => Db::memory().await.expect("the embedded server starts"),
    }
}

/// A fresh database for a test that sets fail points. On the MongoDB of
/// `ODM_TEST_MONGODB_URI`, which the tests running at once share, its client is named
/// `app`, and [`fail_next`] sets fail points for that name only; the embedded server is
/// the test's own.
pub async fn db_for_fail_points(app: &str) -> Db {
    match std::env::var("ODM_TEST_MONGODB_URI") {
        Ok(uri) if !uri.is_empty() => {
            let after_scheme = uri.split_once("://").map_or("", |(_, rest)| rest);
            let separator = if uri.contains('?') {
                "&"
            } else if after_scheme.contains('/') {
                "?"
            } else {
                "/?"
            };
            let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
            let name = format!("odm_test_{}_{n}", std::process::id());
            Db::connect(&format!("{uri}{separator}appName={app}"))
                .await
                .expect("ODM_TEST_MONGODB_URI connects")
                .database(&name)
        }
        _ => Db::memory().await.expect("the embedded server starts"),
    }
}

/// Makes the next command named in `data.failCommands` from `db`'s client fail as
/// `data` says (`configureFailPoint` `failCommand`, once).
pub async fn fail_next(db: &Db, app: &str, mut data: odm::bson::Document) {
    if db.embedded_uri().is_none() {
        data.insert("appName", app);
    }
    db.client()
        .database("admin")
        .run_command(doc! {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": data})
        .await
        .expect("fail points are on (mongod needs --setParameter enableTestCommands=1)");
}

/// Drops the test database (on MongoDB) and closes the handle.
pub async fn finish(db: Db) {
    if db.embedded_uri().is_none() {
        let _ = db.raw().drop().await;
    }
    db.close().await;
}

/// A type that contains itself, through a `Vec` and through a `Box`.
#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Comment {
    #[odm(non_empty)]
    pub text: String,
    #[serde(default)]
    pub replies: Vec<Comment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<Box<Comment>>,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Thread {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    pub root: Comment,
    /// A chrono date kept as a BSON date, with a rule checked on updates too.
    #[serde(with = "odm::chrono_datetime")]
    #[odm(custom = not_in_the_future)]
    pub opened: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[odm(unique)]
    pub slug: Option<String>,
    pub score: Option<i32>,
}

pub fn not_in_the_future(at: &chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    if *at > chrono::Utc::now() + chrono::Duration::minutes(1) {
        Err("is in the future".into())
    } else {
        Ok(())
    }
}

pub fn comment(text: &str) -> Comment {
    Comment {
        text: text.into(),
        replies: Vec::new(),
        quoted: None,
    }
}
