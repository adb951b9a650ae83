use odm::prelude::*;

// `#[odm(id)]` without `#[odm::model]` above the derives: serde would store `id`.
#[derive(Model, Serialize, Deserialize)]
struct User {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
}

fn main() {}
