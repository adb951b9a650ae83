use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize)]
struct Stats {
    #[odm(range(min = 0))]
    views: i64,
}

#[derive(Model, Serialize, Deserialize)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    // Once needed for `Stats`' rules to apply; they always do now.
    #[odm(nested)]
    stats: Stats,
}

fn main() {}
