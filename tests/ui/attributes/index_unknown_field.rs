use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(index(keys(emial = 1), unique), colection = "people")]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
}

fn main() {}
