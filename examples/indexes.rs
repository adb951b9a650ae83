//! Indexes: declared on the model, synchronised with `sync_indexes`, used by queries,
//! and unique constraints reported as `Error::DuplicateKey`.
//!
//! `cargo run -p odm-examples --example indexes`

use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone)]
#[odm(
    index(keys(team = 1, score = -1), name = "leaderboard"),
    index(keys(expires_at = 1), expire_after_secs = 3600)
)]
struct Player {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(unique)]
    handle: String,
    #[odm(index)]
    team: String,
    score: i64,
    expires_at: DateTime,
}

#[tokio::main]
async fn main() -> Result<(), odm::Error> {
    let db = Db::memory().await?;
    let players = db.collection::<Player>();
    let report = players.sync_indexes().await?;
    println!("created: {:?}", report.created);

    let p = Player::fields();
    let mut roster: Vec<Player> = (0..6)
        .map(|i| Player {
            id: None,
            handle: format!("player{i}"),
            team: if i % 2 == 0 {
                "red".into()
            } else {
                "blue".into()
            },
            score: 100 - i * 7,
            expires_at: DateTime::now(),
        })
        .collect();
    players.insert_many(&mut roster).await?;

    let red = players
        .find(p.team.eq("red"))
        .sort(p.score.desc())
        .all()
        .await?;
    println!(
        "red team by score: {:?}",
        red.iter().map(|x| (&x.handle, x.score)).collect::<Vec<_>>()
    );

    // The server's plan for that query: the compound index.
    let plan = db
        .raw()
        .run_command(doc! {"explain": {"find": Player::COLLECTION, "filter": {"team": "red"}, "sort": {"score": -1}}})
        .await
        .map_err(odm::Error::from)?;
    let winning = plan
        .get_document("queryPlanner")
        .and_then(|q| q.get_document("winningPlan"))
        .map(|w| w.to_string());
    println!("plan: {}", winning.unwrap_or_default());

    let mut twin = roster[0].clone();
    twin.id = None;
    match players.insert_one(&mut twin).await {
        Err(odm::Error::DuplicateKey { index, key }) => {
            println!("duplicate handle refused by {index}: {key}")
        }
        other => println!("unexpected: {other:?}"),
    }

    // Declare less, sync again: the extra index is dropped (never _id_).
    players
        .raw()
        .create_index(
            odm::mongodb::IndexModel::builder()
                .keys(doc! {"score": 1})
                .build(),
        )
        .await
        .map_err(odm::Error::from)?;
    let report = players.sync_indexes().await?;
    println!(
        "dropped: {:?}, unchanged: {:?}",
        report.dropped, report.unchanged
    );
    db.close().await;
    Ok(())
}
