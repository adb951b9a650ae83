use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(rename = "n")]
    name: String,
}

// Documents come back with the model's names: `name` is stored as `n`.
#[derive(Projection, Deserialize)]
#[odm(model = User)]
struct Summary {
    name: String,
}

fn main() {}
