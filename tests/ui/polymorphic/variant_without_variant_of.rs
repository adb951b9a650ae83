use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[serde(tag = "kind")]
#[odm(collection = "animals")]
enum Animal {
    Dog(Dog),
}

// Not marked `variant_of = Animal`: it would be stored in its own collection, untagged.
#[derive(Model, Serialize, Deserialize)]
struct Dog {
    #[serde(rename = "_id")]
    id: ObjectId,
}

fn main() {}
