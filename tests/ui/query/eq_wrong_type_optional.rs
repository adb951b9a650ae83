use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    published_at: Option<DateTime>,
}

fn main() {
    // The message must not call an `Option<DateTime>` field "a `DateTime` field".
    let _ = Post::fields().published_at.eq("yesterday");
}
