use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(
    index(keys(email = "hashed"), unique),
    index(keys(name = "hashed", age = "hashed")),
    index(keys(age = "hash"))
)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
    name: String,
    age: u32,
}

fn main() {}
