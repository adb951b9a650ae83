use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    active: bool,
}

fn main() {
    let _ = User::fields().active.gt(false);
}
