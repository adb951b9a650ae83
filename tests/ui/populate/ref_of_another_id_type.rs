use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
}

fn main() {
    // A `Ref<User>` holds a `User` id: an ObjectId, not a string.
    let _ = Ref::<User>::new("ann");
}
