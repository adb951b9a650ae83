use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Shop {
    #[serde(rename = "_id")]
    id: ObjectId,
    // A legacy coordinate pair, not GeoJSON.
    coordinates: Option<Vec<f64>>,
}

fn main() {
    let area = Polygon::new([
        Point::new(0.0, 0.0),
        Point::new(1.0, 0.0),
        Point::new(1.0, 1.0),
    ]);
    let _ = Shop::fields().coordinates.geo_intersects(area);
}
