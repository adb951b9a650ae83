use odm::pipeline::fields;
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Order {
    #[odm(id)]
    id: Option<ObjectId>,
    status: String,
    amount: f64,
}

#[derive(Embedded, Serialize, Deserialize)]
struct Report {
    #[serde(rename = "_id")]
    status: String,
    total: f64,
}

fn main() {
    let (o, r) = (Order::fields(), fields::<Report>());
    let _ = Pipeline::new()
        .group(o.status, r.status, |g| g.sum(r.total, o.amount))
        .sort(o.amount.desc());
}
