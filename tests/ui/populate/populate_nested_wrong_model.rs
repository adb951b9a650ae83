use odm::prelude::*;

#[derive(Model, Serialize, Deserialize)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    best_friend: Option<Ref<User>>,
}

#[derive(Model, Serialize, Deserialize)]
struct Comment {
    #[serde(rename = "_id")]
    id: ObjectId,
    author: Ref<User>,
}

#[derive(Model, Serialize, Deserialize)]
struct Post {
    #[serde(rename = "_id")]
    id: ObjectId,
    author: Ref<User>,
}

async fn run(db: Db) {
    // `author` loads users: a path of `Comment` cannot be populated inside them.
    let path = Post::fields().author.with(Comment::fields().author);
    let _ = db.collection::<Post>().find(Filter::all()).populate(path).await;
}

fn main() {}
