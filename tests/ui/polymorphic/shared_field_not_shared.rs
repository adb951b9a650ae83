use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[serde(tag = "kind")]
#[odm(shared(id, name, age))]
enum Animal {
    Dog(Dog),
    Cat(Cat),
}

#[derive(Model, Serialize, Deserialize)]
#[odm(variant_of = Animal)]
struct Dog {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    age: u32,
}

// `name` has another type, `age` is missing.
#[derive(Model, Serialize, Deserialize)]
#[odm(variant_of = Animal)]
struct Cat {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: Option<String>,
}

fn main() {}
