//! The model's rules in the database: `sync_schema()` installs the model's `$jsonSchema`
//! as the collection's validator, and then a write from any client (here the raw driver,
//! as pymongo or mongosh would send it) that breaks a rule is refused with code 121.
//!
//! `cargo run -p odm-examples --example schema_validator`

use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug)]
struct Product {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 2, max = 40))]
    name: String,
    #[odm(pattern = "^[A-Z]{3}-[0-9]{4}$")]
    sku: String,
    #[odm(range(min = 0.0))]
    price: f64,
    #[odm(one_of("draft", "listed", "retired"))]
    state: String,
    tags: Vec<String>,
}

#[tokio::main]
async fn main() -> odm::Result<()> {
    let db = Db::memory().await?;
    let products = db.collection::<Product>();
    let schema = products.sync_schema().await?;
    println!("installed validator:\n{schema:#}\n");

    let raw = products.raw();
    raw.insert_one(
        doc! {"name": "Lamp", "sku": "LMP-0001", "price": 25.0, "state": "listed", "tags": []},
    )
    .await?;
    println!("a document that keeps the rules: stored");
    for (what, doc) in [
        (
            "a negative price",
            doc! {"name": "Lamp", "sku": "LMP-0002", "price": -1.0, "state": "listed", "tags": []},
        ),
        (
            "a malformed sku",
            doc! {"name": "Lamp", "sku": "lamp", "price": 1.0, "state": "listed", "tags": []},
        ),
        (
            "an unknown state",
            doc! {"name": "Lamp", "sku": "LMP-0003", "price": 1.0, "state": "lost", "tags": []},
        ),
        (
            "no name",
            doc! {"sku": "LMP-0004", "price": 1.0, "state": "draft", "tags": []},
        ),
    ] {
        match raw.insert_one(doc).await {
            Ok(_) => println!("{what}: stored (unexpected)"),
            Err(e) => println!("{what}: refused ({})", odm::Error::from(e)),
        }
    }
    db.close().await;
    Ok(())
}
