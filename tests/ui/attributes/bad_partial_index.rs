use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(index(keys(email = 1), sparse, partial = User::active))]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
    active: bool,
}

impl User {
    fn active() -> Filter<User> {
        User::fields().active.eq(true)
    }
}

fn main() {}
