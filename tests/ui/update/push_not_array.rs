use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
}

fn main() {
    let f = User::fields();
    let _ = Update::new().push(f.name, "x");
}
