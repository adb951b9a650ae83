use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
#[odm(
    index(keys(title = "text"), weights(title = 0, body = 5), default_language = "klingon"),
    index(keys(body = 1), weights(body = 2)),
    index(keys(title = "txt"))
)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    title: String,
    body: String,
}

fn main() {}
