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

#[odm::model]
#[derive(Model, Serialize, Deserialize)]
struct Customer {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
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
    let r = fields::<Report>();
    let _ = Pipeline::<Order>::new().group(Customer::fields().name, r.id, |g| g);
}
