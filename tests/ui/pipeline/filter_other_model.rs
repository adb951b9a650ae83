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

fn main() {
    let _ = Pipeline::<Order>::new().filter(Customer::fields().name.eq("Ann"));
}
