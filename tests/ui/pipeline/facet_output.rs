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
struct Count {
    n: i64,
}

#[derive(Embedded, Serialize, Deserialize)]
struct Page {
    total: Vec<Count>,
    top: Vec<Count>,
}

fn main() {
    let (o, p, c) = (Order::fields(), fields::<Page>(), fields::<Count>());
    let _ = Pipeline::new().facet(|f| {
        f.facet(p.total, |all| all.count(c.n))
            .facet(p.top, |all| all.sort(o.amount.desc()).limit(3))
    });
}
