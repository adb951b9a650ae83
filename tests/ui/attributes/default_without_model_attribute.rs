use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Task {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(default = 3)]
    retries: u32,
}

fn main() {}
