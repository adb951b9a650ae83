use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(range(min = 1, max = 10))]
    name: String,
}

fn main() {}
