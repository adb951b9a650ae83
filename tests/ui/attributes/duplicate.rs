use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(email)]
    #[odm(email)]
    email: String,
}

fn main() {}
