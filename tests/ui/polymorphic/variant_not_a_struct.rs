use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(variant_of = Shape)]
struct Circle {
    #[serde(rename = "_id")]
    id: ObjectId,
    radius: f64,
}

// Every variant holds one model struct: not fields of its own, not nothing.
#[derive(Model, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Shape {
    Circle(Circle),
    Square { id: ObjectId, side: f64 },
    Point,
}

fn main() {}
