use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(index(keys(name = 1), name = "by_name"), index(keys(age = -1), name = "by_name"))]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    age: u32,
}

fn main() {}
