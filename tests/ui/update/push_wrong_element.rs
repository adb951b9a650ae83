use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    tags: Vec<String>,
}

fn main() {
    let _ = User::fields().tags.push(42);
}
