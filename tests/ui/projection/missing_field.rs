use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    age: u32,
}

#[derive(Projection, Deserialize)]
#[odm(model = User)]
struct Summary {
    name: String,
    nickname: String,
}

fn main() {}
