use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
}

fn main() {
    // A document without `name` would no longer deserialize as a `User`.
    let _ = User::fields().name.unset();
}
