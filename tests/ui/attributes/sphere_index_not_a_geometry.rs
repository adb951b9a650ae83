use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(index(keys(address = "2dsphere")))]
struct Shop {
    #[serde(rename = "_id")]
    id: ObjectId,
    address: String,
    // Geometries, in an `Option` or a `Vec`, and paths are accepted.
    #[serde(default)]
    area: Option<Polygon>,
    #[serde(default)]
    stops: Vec<Point>,
    legacy: Vec<f64>,
}

#[derive(Model, Serialize, Deserialize)]
#[odm(
    index(keys(area = "2dsphere", category = 1)),
    index(keys(stops = "2dsphere")),
    index(keys("legacy" = "2dsphere")),
    index(keys(legacy = "2d"))
)]
struct Zone {
    #[serde(rename = "_id")]
    id: ObjectId,
    category: String,
    area: Option<Polygon>,
    stops: Vec<Point>,
    legacy: Vec<f64>,
}

fn main() {}
