//! Typed updates: operators combined into one `Update`, upserts, find-and-modify,
//! replacement.
//!
//! `cargo run -p odm-examples --example updates`

use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone)]
struct Counter {
    #[serde(rename = "_id")]
    id: String,
    #[odm(range(min = 0))]
    hits: i64,
    #[serde(default)]
    visitors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_seen: Option<DateTime>,
}

#[tokio::main]
async fn main() -> Result<(), odm::Error> {
    let db = Db::memory().await?;
    let counters = db.collection::<Counter>();
    let c = Counter::fields();

    // Upsert: the first call inserts (the _id comes from the filter), the next ones update.
    for visitor in ["ann", "bob", "ann"] {
        let r = counters
            .upsert(
                c.id.eq("home"),
                c.hits
                    .inc(1)
                    .add_to_set(c.visitors, visitor)
                    .current_date(c.last_seen),
            )
            .await?;
        println!(
            "visit by {visitor}: matched {}, upserted {:?}",
            r.matched, r.upserted_id
        );
    }
    let home = counters.get("home".to_string()).await?;
    println!("home: {} hits, visitors {:?}", home.hits, home.visitors);

    // Find and modify: the document after the update.
    let after = counters
        .find_one_and_update(c.id.eq("home"), c.hits.mul(10).pull(c.visitors, "bob"))
        .return_after()
        .await?;
    println!("after: {after:?}");

    // An update that would break a rule is refused before it is sent.
    match counters.update_one(c.id.eq("home"), c.hits.set(-5)).await {
        Err(odm::Error::Validation(errors)) => println!("refused: {errors}"),
        other => println!("unexpected: {other:?}"),
    }

    // Replacement of the whole document.
    let mut fresh = Counter {
        id: "home".into(),
        hits: 0,
        visitors: vec![],
        last_seen: None,
    };
    let r = counters.replace_one(c.id.eq("home"), &mut fresh).await?;
    println!("replaced {} document", r.modified);
    println!("now: {:?}", counters.get("home".to_string()).await?);
    db.close().await;
    Ok(())
}
