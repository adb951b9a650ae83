use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    age: u32,
}

#[derive(Projection, Deserialize)]
#[odm(model = User)]
struct Summary {
    age: String,
}

fn main() {}
