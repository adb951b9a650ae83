//! The quickstart: a model, the embedded server, and a round of CRUD. Every step checks
//! that it did what it prints, and the program exits with an error when one did not.
//!
//! ```text
//! cargo run -p odm-examples --example quickstart            # data in ./data
//! cargo run -p odm-examples --example quickstart -- DIR     # data in DIR
//! ```

use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, Default)]
struct Address {
    #[odm(length(min = 1, max = 64))]
    city: String,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, Default)]
#[odm(collection = "users", index(keys(email = 1), unique), timestamps)]
struct User {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(email)]
    email: String,
    #[odm(length(min = 1, max = 64))]
    name: String,
    #[odm(range(min = 0, max = 150))]
    age: u32,
    address: Address, // its rules are checked too
    #[serde(default)]
    tags: Vec<String>,
    created_at: Option<DateTime>,
}

fn user(name: &str, age: u32, city: &str, tags: &[&str]) -> User {
    User {
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        age,
        address: Address { city: city.into() },
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

/// Fails the quickstart when a step did not do what it printed.
fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("the quickstart went wrong: {what}"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./data".into());
    let db = Db::open(&dir).await?; // every write that returns Ok is on disk
    println!("opened the embedded database in {dir}");

    // Indexes of every model, once at startup (the first write would create them too).
    db.sync_indexes_for::<(User,)>().await?;
    let users = db.collection::<User>();
    users.delete_many(Filter::all()).await?;

    let mut people = vec![
        user("Ada", 36, "London", &["admin"]),
        user("Grace", 45, "Paris", &["admin", "staff"]),
        user("Linus", 17, "Paris", &[]),
    ];
    users.insert_many(&mut people).await?;
    let ada = users.get(people[0].id).await?; // the id as the model holds it
    println!("inserted {} users; Ada's id is {:?}", people.len(), ada.id);
    expect(
        ada.name == "Ada" && ada.created_at.is_some(),
        "Ada read back",
    )?;

    let f = User::fields();
    let admins_in_paris = users
        .find(f.age.gte(18) & f.address.city.eq("Paris") & f.tags.contains("admin"))
        .sort(f.age.desc())
        .await?;
    for u in &admins_in_paris {
        println!("adult admin in Paris: {} ({})", u.name, u.age);
    }
    expect(
        admins_in_paris
            .iter()
            .map(|u| u.name.as_str())
            .eq(["Grace"]),
        "Grace is the one adult admin in Paris",
    )?;

    let minors = users
        .update_many(f.age.lt(18), f.age.inc(1) & f.tags.push("minor"))
        .await?;
    println!("updated {} minor(s)", minors.modified);
    expect(minors.modified == 1, "one minor updated")?;

    match users.insert_one(&mut user("Ada", 20, "Rome", &[])).await {
        Err(odm::Error::DuplicateKey { index, key }) => {
            println!("refused a second Ada: {key} is taken in {index}")
        }
        other => return Err(format!("a second Ada was not refused: {other:?}").into()),
    }
    match users.insert_one(&mut user("", 200, "", &[])).await {
        Err(odm::Error::Validation(errors)) => {
            println!("refused an invalid user: {errors}");
            expect(
                errors.len() == 4,
                "email, name, age and address.city refused",
            )?;
        }
        other => return Err(format!("an invalid user was not refused: {other:?}").into()),
    }

    expect(users.delete_by_id(people[2].id).await?, "Linus deleted")?;
    let stored = users.count(Filter::all()).await?;
    println!("{stored} users stored");
    expect(stored == 2, "two users stored")?;
    db.close().await;
    println!("closed; the data stays in {dir}");
    Ok(())
}
