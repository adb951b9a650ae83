use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(pattern = "([a-z]")]
    code: String,
    #[odm(length(min = 10, max = 2))]
    name: String,
}

fn main() {}
