use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
}

fn main() {
    let _ = User::fields().name.current_date();
}
