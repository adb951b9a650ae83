use odm::pipeline::fields;
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Order {
    #[odm(id)]
    id: Option<ObjectId>,
    customer: ObjectId,
    status: String,
    amount: f64,
    paid: bool,
    tags: Vec<String>,
}

#[derive(Embedded, Serialize, Deserialize)]
struct Report {
    #[serde(rename = "_id")]
    id: String,
    total: f64,
    label: String,
    flag: bool,
    amounts: Vec<f64>,
    count: i64,
}

fn main() {
    let (o, r) = (Order::fields(), fields::<Report>());
    let _ = Pipeline::new().group(o.customer, r.id, |g| g.count(r.count));
}
