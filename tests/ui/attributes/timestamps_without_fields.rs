use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(timestamps)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    created: Option<DateTime>,
}

fn main() {}
