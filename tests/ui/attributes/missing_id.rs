use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    email: String,
}

fn main() {}
