use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Task {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(default = "three")]
    retries: u32,
}

fn main() {}
