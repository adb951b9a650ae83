use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
#[odm(hooks)]
struct Page {
    #[odm(id)]
    id: Option<ObjectId>,
    title: String,
}

fn main() {}
