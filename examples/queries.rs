//! Typed queries: filters, combinators, sorting, paging, projection, distinct, streams.
//!
//! `cargo run -p odm-examples --example queries` (in memory, nothing written to disk).

use futures::TryStreamExt;
use odm::prelude::*;

#[derive(Embedded, Serialize, Deserialize, Debug, Clone)]
struct Line {
    sku: String,
    qty: u32,
    price: f64,
}

#[derive(Value, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Open,
    Paid,
    Shipped,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone)]
struct Order {
    #[odm(id)]
    id: Option<ObjectId>,
    customer: String,
    status: Status,
    total: f64,
    lines: Vec<Line>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Projection, Deserialize, Debug)]
#[odm(model = Order)]
struct Summary {
    customer: String,
    total: f64,
}

#[tokio::main]
async fn main() -> Result<(), odm::Error> {
    let db = Db::memory().await?;
    let orders = db.collection::<Order>();
    let mut all: Vec<Order> = (0..12)
        .map(|i| Order {
            id: None,
            customer: format!("customer-{}", i % 4),
            status: [Status::Open, Status::Paid, Status::Shipped][i % 3],
            total: 10.0 * (i + 1) as f64,
            lines: vec![Line {
                sku: format!("SKU-{}", i % 5),
                qty: (i % 3 + 1) as u32,
                price: 10.0,
            }],
            note: (i % 4 == 0).then(|| "gift".to_string()),
        })
        .collect();
    orders.insert_many(&mut all).await?;

    let o = Order::fields();
    let big_paid = orders
        .find(o.status.eq(Status::Paid) & o.total.gte(50.0))
        .sort(o.total.desc())
        .all()
        .await?;
    println!(
        "paid orders of 50 or more: {:?}",
        big_paid.iter().map(|x| x.total).collect::<Vec<_>>()
    );

    let either = orders
        .count(o.customer.eq("customer-1") | o.note.is_some())
        .await?;
    println!("orders of customer-1 or with a note: {either}");

    let bulk_lines = orders
        .find(
            o.lines
                .elem_match(|l| l.qty.gte(3) & l.sku.starts_with("SKU-")),
        )
        .all()
        .await?;
    println!("orders with a line of 3 or more: {}", bulk_lines.len());

    let not_shipped = orders.count(!o.status.eq(Status::Shipped)).await?;
    println!("not shipped: {not_shipped}");

    let summaries = orders
        .find(o.lines.any().sku.eq("SKU-2"))
        .project::<Summary>()
        .all()
        .await?;
    for s in &summaries {
        println!("order with SKU-2: {} paid {}", s.customer, s.total);
    }

    let customers: Vec<String> = orders.distinct(o.customer, Filter::all()).await?;
    println!("customers: {customers:?}");

    let mut pages = 0;
    let mut last: Option<Order> = None;
    loop {
        let page = orders
            .find(Filter::all())
            .sort(o.total.desc())
            .page_after(last.as_ref(), 5)
            .await?;
        if page.is_empty() {
            break;
        }
        pages += 1;
        last = page.last().cloned();
    }
    println!("read every order in {pages} pages of 5, largest total first");

    let mut stream = orders
        .find(o.status.in_([Status::Open, Status::Paid]))
        .batch_size(3)
        .stream()
        .await?;
    let mut streamed = 0;
    while let Some(order) = stream.try_next().await? {
        streamed += usize::from(order.total > 0.0);
    }
    println!("streamed {streamed} open or paid orders");
    db.close().await;
    Ok(())
}
