use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
}

#[derive(Model, Serialize, Deserialize)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    title: String,
    author: Ref<User>,
}

async fn run(db: Db) {
    let _ = db.collection::<Post>().find(Filter::all()).populate(Post::fields().title).await;
}

fn main() {}
