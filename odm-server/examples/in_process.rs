//! Starts the embedded server in-process on a data directory and talks to it through the
//! official MongoDB driver: what `Db::open(path)` does under the hood.
//!
//! ```text
//! cargo run -p odm-server --example in_process            # data in ./data
//! cargo run -p odm-server --example in_process -- DIR     # data in DIR
//! ```

use bson::{Document, doc};
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Client, IndexModel};
use odm_server::{Config, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./data".to_string());
    let server = Server::start(Config::with_dbpath(&dir)).await?;
    println!("embedded odm-server on {} (data in {dir})", server.addr);

    let client = Client::with_uri_str(server.uri()).await?;
    let users = client
        .database("quickstart")
        .collection::<Document>("users");
    users.drop().await?;
    users
        .create_index(
            IndexModel::builder()
                .keys(doc! {"email": 1})
                .options(IndexOptions::builder().unique(true).build())
                .build(),
        )
        .await?;
    users
        .insert_many(vec![
            doc! {"name": "Ada", "email": "ada@example.com", "age": 36, "tags": ["admin"]},
            doc! {"name": "Grace", "email": "grace@example.com", "age": 45, "tags": ["staff"]},
            doc! {"name": "Linus", "email": "linus@example.com", "age": 17, "tags": []},
        ])
        .await?;
    println!("inserted 3 users");

    let adults: Vec<Document> = users
        .find(doc! {"age": {"$gte": 18}})
        .sort(doc! {"age": -1})
        .await?
        .try_collect()
        .await?;
    for u in &adults {
        println!("adult: {} ({})", u.get_str("name")?, u.get_i32("age")?);
    }
    let updated = users
        .update_many(doc! {"age": {"$lt": 18}}, doc! {"$push": {"tags": "minor"}})
        .await?;
    println!("tagged {} minor(s)", updated.modified_count);
    match users
        .insert_one(doc! {"name": "Ada again", "email": "ada@example.com"})
        .await
    {
        Err(e) => println!(
            "duplicate email refused: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
        Ok(_) => println!("unexpected: a duplicate email was accepted"),
    }
    println!("{} users stored", users.count_documents(doc! {}).await?);

    client.shutdown().await;
    server.shutdown().await;
    println!("stopped; the data stays in {dir}");
    Ok(())
}
