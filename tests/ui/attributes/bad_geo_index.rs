use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(
    index(keys(location = "2dsphere", title = "text")),
    index(keys(category = 1, grid = "2d")),
    index(keys(grid = "2d", other_grid = "2d")),
    index(keys(location = "2dshpere"))
)]
struct Place {
    #[serde(rename = "_id")]
    id: ObjectId,
    title: String,
    category: String,
    location: Point,
    grid: Vec<f64>,
    other_grid: Vec<f64>,
}

fn main() {}
