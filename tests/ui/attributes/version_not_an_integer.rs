use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Article {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(version)]
    version: String,
}

fn main() {}
