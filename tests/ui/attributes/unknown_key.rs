use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(lenght(min = 1, max = 64))]
    name: String,
}

fn main() {
    // The mistake is the attribute only: the model is still usable.
    let _ = User::fields().name.eq("x");
}
