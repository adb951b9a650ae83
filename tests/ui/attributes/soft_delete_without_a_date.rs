use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
#[odm(soft_delete)]
struct Remark {
    #[odm(id)]
    id: Option<ObjectId>,
    deleted_at: bool,
}

fn main() {}
