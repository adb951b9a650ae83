use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    // `None` would be stored as null, and a unique index allows only one null.
    #[odm(unique)]
    nickname: Option<String>,
}

fn main() {}
