use odm::pipeline::{Expr, fields};
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
struct Priced {
    total: i64,
}

fn main() {
    let (o, p) = (Order::fields(), fields::<Priced>());
    let _ = Pipeline::new().add_fields(|s| s.set(p.total, Expr::field(o.amount) * Expr::lit(2.0)));
}
