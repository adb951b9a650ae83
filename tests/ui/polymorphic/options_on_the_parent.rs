use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(variant_of = Animal, shared(id))]
struct Dog {
    #[serde(rename = "_id")]
    id: ObjectId,
    breed: String,
}

// Timestamps and soft delete belong on the variants; an index here names shared fields.
#[derive(Model, Serialize, Deserialize)]
#[serde(tag = "kind")]
#[odm(timestamps, soft_delete, index(keys(breed = 1)))]
enum Animal {
    Dog(Dog),
}

fn main() {}
