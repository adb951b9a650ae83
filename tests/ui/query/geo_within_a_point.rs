use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Shop {
    #[serde(rename = "_id")]
    id: ObjectId,
    location: Point,
}

fn main() {
    // Within an area: a point is none (a disk around it is `Shape::center_sphere_meters`).
    let paris = Point::new(2.3522, 48.8566);
    let _ = Shop::fields().location.geo_within(paris);
}
