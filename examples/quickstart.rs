//! The quickstart: a model, the embedded server, and a round of CRUD.
//!
//! ```text
//! cargo run -p odm-examples --example quickstart            # data in ./data
//! cargo run -p odm-examples --example quickstart -- DIR     # data in DIR
//! ```

use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone)]
struct Address {
    #[odm(length(min = 1, max = 64))]
    city: String,
}

#[derive(Model, Serialize, Deserialize, Debug, Clone)]
#[odm(collection = "users", index(keys(email = 1), unique), timestamps)]
struct User {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    #[odm(email)]
    email: String,
    #[odm(length(min = 1, max = 64))]
    name: String,
    #[odm(range(min = 0, max = 150))]
    age: u32,
    address: Address,
    #[serde(default)]
    tags: Vec<String>,
    created_at: Option<DateTime>,
    updated_at: Option<DateTime>,
}

fn user(name: &str, age: u32, city: &str, tags: &[&str]) -> User {
    User {
        id: None,
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        age,
        address: Address { city: city.into() },
        tags: tags.iter().map(|t| t.to_string()).collect(),
        created_at: None,
        updated_at: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), odm::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./data".into());
    let db = Db::open(&dir).await?;
    println!("opened the embedded database in {dir}");

    let users = db.collection::<User>();
    users.delete_many(Filter::all()).await?;
    let report = users.sync_indexes().await?;
    println!(
        "indexes: created {:?}, unchanged {:?}",
        report.created, report.unchanged
    );

    let mut people = vec![
        user("Ada", 36, "London", &["admin"]),
        user("Grace", 45, "Paris", &["admin", "staff"]),
        user("Linus", 17, "Paris", &[]),
    ];
    users.insert_many(&mut people).await?;
    println!(
        "inserted {} users; Ada's id is {}",
        people.len(),
        people[0].id.unwrap()
    );

    let f = User::fields();
    let admins_in_paris = users
        .find(f.age.gte(18) & f.address.city.eq("Paris") & f.tags.contains("admin"))
        .sort(f.age.desc())
        .all()
        .await?;
    for u in &admins_in_paris {
        println!("adult admin in Paris: {} ({})", u.name, u.age);
    }

    let minors = users
        .update_many(f.age.lt(18), f.age.inc(1).push(f.tags, "minor"))
        .await?;
    println!("updated {} minor(s)", minors.modified);

    match users.insert_one(&mut user("Ada", 20, "Rome", &[])).await {
        Err(odm::Error::DuplicateKey { index, key }) => {
            println!("refused a second Ada: {key} is taken in {index}")
        }
        other => println!("unexpected: {other:?}"),
    }
    match users.insert_one(&mut user("", 200, "Rome", &[])).await {
        Err(odm::Error::Validation(errors)) => println!("refused an invalid user: {errors}"),
        other => println!("unexpected: {other:?}"),
    }

    println!("{} users stored", users.count(Filter::all()).await?);
    db.close().await;
    println!("closed; the data stays in {dir}");
    Ok(())
}
