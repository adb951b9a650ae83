use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(variant_of = Pet)]
struct Dog {
    #[serde(rename = "_id")]
    id: ObjectId,
}

// No tag: serde would store `{"Dog": {...}}`, a document the parent cannot query.
#[derive(Model, Serialize, Deserialize)]
enum Pet {
    Dog(Dog),
}

// Adjacently tagged: the variant's fields would sit under `content`.
#[derive(Model, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
enum Boxed {
    Dog(Dog),
}

#[derive(Model, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    Dog(Dog),
}

fn main() {}
