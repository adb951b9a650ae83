use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    age: u32,
}

fn main() {
    let _ = User::fields().age.eq("eighteen");
}
