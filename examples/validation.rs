//! Validation: every failed rule with its path, code and message, before anything is
//! written.
//!
//! `cargo run -p odm-examples --example validation`

use odm::prelude::*;

fn no_spaces(value: &str) -> Result<(), String> {
    if value.contains(' ') {
        Err("must not contain spaces".into())
    } else {
        Ok(())
    }
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone)]
struct Address {
    #[odm(non_empty)]
    street: String,
    #[odm(length(min = 5, max = 5), pattern = "^[0-9]+$")]
    zip: String,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone)]
struct Account {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(email)]
    email: String,
    #[odm(length(min = 3, max = 20), custom = no_spaces)]
    login: String,
    #[odm(range(min = 13, max = 130))]
    age: u8,
    #[odm(url)]
    homepage: Option<String>,
    #[odm(one_of("free", "pro", "team"))]
    plan: String,
    addresses: Vec<Address>,
}

#[tokio::main]
async fn main() -> Result<(), odm::Error> {
    let mut bad = Account {
        id: None,
        email: "not-an-email".into(),
        login: "a b".into(),
        age: 7,
        homepage: Some("example.com".into()),
        plan: "gold".into(),
        addresses: vec![Address {
            street: "".into(),
            zip: "12a".into(),
        }],
    };
    let errors = bad.validate().unwrap_err();
    println!("{} failures:", errors.len());
    for e in errors.iter() {
        println!("  {:<20} {:<10} {}", e.path, e.code, e.message);
    }

    let db = Db::memory().await?;
    let accounts = db.collection::<Account>();
    let refused = accounts.insert_one(&mut bad).await.is_err();
    println!(
        "insert refused: {refused}; stored: {}",
        accounts.count(Filter::all()).await?
    );

    let mut good = Account {
        email: "ann@example.com".into(),
        login: "ann".into(),
        age: 30,
        homepage: None,
        plan: "pro".into(),
        addresses: vec![Address {
            street: "1 Main St".into(),
            zip: "12345".into(),
        }],
        ..bad
    };
    accounts.insert_one(&mut good).await?;
    println!("stored a valid account with id {}", good.id.unwrap());
    db.close().await;
    Ok(())
}
