use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Event {
    #[serde(rename = "_id")]
    id: ObjectId,
    at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
