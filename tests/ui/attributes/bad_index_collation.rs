use odm::prelude::*;

// Every mistake is reported at once, each at its token.
#[derive(Model, Serialize, Deserialize)]
#[odm(
    index(keys(email = 1), unique, collation(locale = "en", strength = 6)),
    index(keys(name = 1), collation(strength = 2)),
    index(keys(age = 1), collation(locale = "en", case_frist = "upper")),
    index(keys(nick = 1), collation(locale = "en", alternate = "ignore"))
)]
struct User {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
    name: String,
    age: u32,
    nick: String,
}

fn main() {}
