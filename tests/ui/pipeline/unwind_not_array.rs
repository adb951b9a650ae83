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
struct Unwound {
    status: String,
}

fn main() {
    let (o, u) = (Order::fields(), fields::<Unwound>());
    let _ = Pipeline::new().unwind(o.status, u.status);
}
