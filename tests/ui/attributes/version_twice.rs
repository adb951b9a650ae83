use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Article {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(version)]
    version: u64,
    #[odm(version)]
    revision: u64,
}

fn main() {}
