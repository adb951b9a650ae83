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
struct Joined {
    buyer: Vec<Order>,
}

fn main() {
    let (o, j) = (Order::fields(), fields::<Joined>());
    let _ = Pipeline::new().lookup(o.customer, Customer::fields().id, j.buyer);
}
