use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Shop {
    #[serde(rename = "_id")]
    id: ObjectId,
    address: String,
}

fn main() {
    // A street address is not a location: no geo operator on a string.
    let paris = Point::new(2.3522, 48.8566);
    let _ = Shop::fields().address.near(paris, Distance::at_most(1_000.0));
}
