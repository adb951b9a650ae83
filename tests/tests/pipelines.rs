//! Typed aggregation pipelines end to end, on the embedded server or the MongoDB that
//! `ODM_TEST_MONGODB_URI` names: a report (filter, group, sort, limit) into a named
//! struct, unwind then group, a lookup between two models, a facet with a count and a
//! top-N, computed fields, a projection, the raw escape hatch, a pipeline in a
//! transaction, and the errors of stages that cannot be built.

mod common;

use common::{db, finish};
use futures::TryStreamExt;
use odm::pipeline::{Expr, fields};
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "pipeline_customers")]
struct Customer {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
    city: String,
}

#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Line {
    sku: String,
    price: f64,
    qty: u32,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "pipeline_orders")]
struct Order {
    #[odm(id)]
    id: Option<ObjectId>,
    customer: ObjectId,
    status: String,
    amount: f64,
    qty: u32,
    #[serde(default)]
    lines: Vec<Line>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Three customers and their orders: Ann pays 100 + 50, Bob 70 (and has a cancelled
/// order of 500), Cid 10.
async fn seed(db: &Db) -> Vec<Customer> {
    let customers = db.collection::<Customer>();
    let mut people = vec![
        Customer {
            id: None,
            name: "Ann".into(),
            city: "Paris".into(),
        },
        Customer {
            id: None,
            name: "Bob".into(),
            city: "Lyon".into(),
        },
        Customer {
            id: None,
            name: "Cid".into(),
            city: "Paris".into(),
        },
    ];
    customers.insert_many(&mut people).await.unwrap();
    let id = |i: usize| people[i].id.unwrap();
    let line = |sku: &str, price: f64, qty: u32| Line {
        sku: sku.into(),
        price,
        qty,
    };
    let order = |customer, status: &str, amount, qty, lines, tags: &[&str]| Order {
        id: None,
        customer,
        status: status.into(),
        amount,
        qty,
        lines,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    let mut orders = vec![
        order(
            id(0),
            "paid",
            100.0,
            2,
            vec![line("pen", 10.0, 5), line("ink", 25.0, 2)],
            &["gift", "rush"],
        ),
        order(
            id(0),
            "paid",
            50.0,
            1,
            vec![line("pen", 10.0, 5)],
            &["gift"],
        ),
        order(id(1), "paid", 70.0, 7, vec![line("pad", 35.0, 2)], &[]),
        order(id(1), "cancelled", 500.0, 1, vec![], &["rush"]),
        order(id(2), "paid", 10.0, 1, vec![line("pen", 10.0, 1)], &[]),
    ];
    db.collection::<Order>()
        .insert_many(&mut orders)
        .await
        .unwrap();
    people
}

/// One row of the spending report.
#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Spending {
    #[serde(rename = "_id")]
    customer: ObjectId,
    total: f64,
    orders: i64,
    mean: f64,
    largest: f64,
    smallest: f64,
    statuses: Vec<String>,
    amounts: Vec<f64>,
}

#[tokio::test]
async fn report_filter_group_sort_limit() {
    let db = db().await;
    let people = seed(&db).await;
    let (o, s) = (Order::fields(), fields::<Spending>());
    let pipeline = Pipeline::new()
        .filter(o.status.eq("paid"))
        .sort(o.amount.desc())
        .group(o.customer, s.customer, |g| {
            g.sum(s.total, o.amount)
                .count(s.orders)
                .avg(s.mean, o.amount)
                .max(s.largest, o.amount)
                .min(s.smallest, o.amount)
                .add_to_set(s.statuses, o.status)
                .push(s.amounts, o.amount)
        })
        .sort(s.total.desc())
        .limit(2);
    assert_eq!(
        pipeline.to_documents().unwrap(),
        vec![
            doc! {"$match": {"status": "paid"}},
            doc! {"$sort": {"amount": -1}},
            doc! {"$group": {
                "_id": "$customer",
                "total": {"$sum": "$amount"},
                "orders": {"$sum": 1},
                "mean": {"$avg": "$amount"},
                "largest": {"$max": "$amount"},
                "smallest": {"$min": "$amount"},
                "statuses": {"$addToSet": "$status"},
                "amounts": {"$push": "$amount"},
            }},
            doc! {"$sort": {"total": -1}},
            doc! {"$limit": 2i64},
        ]
    );
    let report = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    assert_eq!(
        report,
        vec![
            Spending {
                customer: people[0].id.unwrap(),
                total: 150.0,
                orders: 2,
                mean: 75.0,
                largest: 100.0,
                smallest: 50.0,
                statuses: vec!["paid".into()],
                amounts: vec![100.0, 50.0],
            },
            Spending {
                customer: people[1].id.unwrap(),
                total: 70.0,
                orders: 1,
                mean: 70.0,
                largest: 70.0,
                smallest: 70.0,
                statuses: vec!["paid".into()],
                amounts: vec![70.0],
            },
        ]
    );
    finish(db).await;
}

/// Totals over the whole input, with the first and last values in a chosen order.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Totals {
    quantity: i64,
    revenue: f64,
    cheapest_status: String,
    dearest_status: String,
}

#[tokio::test]
async fn group_all_with_first_and_last() {
    let db = db().await;
    seed(&db).await;
    let (o, t) = (Order::fields(), fields::<Totals>());
    let totals = db
        .collection::<Order>()
        .aggregate(Pipeline::new().sort(o.amount.asc()).group_all(|g| {
            g.sum(t.quantity, o.qty)
                .sum(t.revenue, o.amount)
                .first(t.cheapest_status, o.status)
                .last(t.dearest_status, o.status)
        }))
        .await
        .unwrap();
    assert_eq!(
        totals,
        vec![Totals {
            quantity: 12,
            revenue: 730.0,
            cheapest_status: "paid".into(),
            dearest_status: "cancelled".into(),
        }]
    );
    finish(db).await;
}

/// An order with one of its lines in place of the array.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct OrderLine {
    status: String,
    lines: Line,
}

/// Units and revenue per product.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Product {
    #[serde(rename = "_id")]
    sku: String,
    units: u64,
    revenue: f64,
}

#[tokio::test]
async fn unwind_then_group() {
    let db = db().await;
    seed(&db).await;
    let (o, l, p) = (Order::fields(), fields::<OrderLine>(), fields::<Product>());
    let pipeline = Pipeline::new()
        .filter(o.status.eq("paid"))
        .unwind(o.lines, l.lines)
        .add_fields(|s| {
            s.set(
                l.lines.price,
                Expr::field(l.lines.price) * Expr::field(l.lines.qty).to_f64(),
            )
        })
        .group(l.lines.sku, p.sku, |g| {
            g.sum(p.units, l.lines.qty).sum(p.revenue, l.lines.price)
        })
        .sort(p.revenue.desc().then(p.sku.asc()));
    assert_eq!(
        pipeline.to_documents().unwrap()[1],
        doc! {"$unwind": "$lines"}
    );
    let products = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    let product = |sku: &str, units, revenue| Product {
        sku: sku.into(),
        units,
        revenue,
    };
    assert_eq!(
        products,
        vec![
            product("pen", 11, 110.0),
            product("pad", 2, 70.0),
            product("ink", 2, 50.0)
        ]
    );
    finish(db).await;
}

/// An order with its customer joined in.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct OrderWithBuyer {
    amount: f64,
    buyer: Vec<Customer>,
}

#[tokio::test]
async fn lookup_between_two_models() {
    let db = db().await;
    let people = seed(&db).await;
    let (o, w) = (Order::fields(), fields::<OrderWithBuyer>());
    let pipeline = Pipeline::new()
        .filter(o.status.eq("paid"))
        .sort(o.amount.asc())
        .lookup(o.customer, Customer::fields().id, w.buyer);
    assert_eq!(
        pipeline.to_documents().unwrap()[2],
        doc! {"$lookup": {"from": "pipeline_customers", "localField": "customer", "foreignField": "_id", "as": "buyer"}}
    );
    let joined = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    let summary: Vec<(f64, Vec<&str>)> = joined
        .iter()
        .map(|j| (j.amount, j.buyer.iter().map(|c| c.name.as_str()).collect()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (10.0, vec!["Cid"]),
            (50.0, vec!["Ann"]),
            (70.0, vec!["Bob"]),
            (100.0, vec!["Ann"]),
        ]
    );
    assert_eq!(joined[0].buyer[0], people[2]);
    finish(db).await;
}

#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Count {
    n: i64,
}

/// How many orders there are, and the two largest.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Dashboard {
    count: Vec<Count>,
    top: Vec<Order>,
    cities: Vec<City>,
}

#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct City {
    #[serde(rename = "_id")]
    city: String,
    orders: i32,
}

#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct OrderWithCity {
    buyer: Vec<Customer>,
    city: String,
}

#[tokio::test]
async fn facet_with_a_count_and_a_top_n() {
    let db = db().await;
    seed(&db).await;
    let (o, d, c) = (Order::fields(), fields::<Dashboard>(), fields::<Count>());
    let (w, cities) = (fields::<OrderWithCity>(), fields::<City>());
    let pipeline = Pipeline::new().filter(o.status.eq("paid")).facet(|f| {
        f.facet(d.count, |all| all.count(c.n))
            .facet(d.top, |all| all.sort(o.amount.desc()).limit(2))
            .facet(d.cities, |all| {
                all.lookup(o.customer, Customer::fields().id, w.buyer)
                    .raw_stage_as::<OrderWithCity>(
                        doc! {"$set": {"city": {"$first": "$buyer.city"}}},
                    )
                    .group(w.city, cities.city, |g| g.count(cities.orders))
                    .sort(cities.city.asc())
            })
    });
    let dashboard = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    assert_eq!(dashboard.len(), 1);
    let dashboard = &dashboard[0];
    assert_eq!(dashboard.count, vec![Count { n: 4 }]);
    let top: Vec<f64> = dashboard.top.iter().map(|o| o.amount).collect();
    assert_eq!(top, vec![100.0, 70.0]);
    assert_eq!(
        dashboard.cities,
        vec![
            City {
                city: "Lyon".into(),
                orders: 1
            },
            City {
                city: "Paris".into(),
                orders: 3
            },
        ]
    );
    finish(db).await;
}

/// An order with computed fields beside its own.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Priced {
    amount: f64,
    unit_price: f64,
    with_fee: f64,
    label: String,
    tag_count: i32,
    double_qty: u32,
}

#[tokio::test]
async fn add_fields_with_arithmetic() {
    let db = db().await;
    seed(&db).await;
    let (o, p) = (Order::fields(), fields::<Priced>());
    let pipeline = Pipeline::new()
        .filter(o.status.eq("paid"))
        .sort(o.amount.desc())
        .limit(1)
        .add_fields(|s| {
            s.set(
                p.unit_price,
                Expr::field(o.amount) / Expr::field(o.qty).to_f64(),
            )
            .set(p.with_fee, Expr::field(o.amount) + Expr::lit(1.5))
            .set(
                p.label,
                Expr::field(o.status)
                    .concat(Expr::text(" x"))
                    .concat(Expr::field(o.qty).to_text()),
            )
            .set(p.tag_count, Expr::size(o.tags))
            .set(p.double_qty, Expr::field(o.qty) * Expr::lit(2))
        });
    assert_eq!(
        pipeline.to_documents().unwrap()[3],
        doc! {"$addFields": {
            "unit_price": {"$divide": ["$amount", {"$toDouble": "$qty"}]},
            "with_fee": {"$add": ["$amount", {"$literal": 1.5}]},
            "label": {"$concat": ["$status", {"$literal": " x"}, {"$toString": "$qty"}]},
            "tag_count": {"$size": "$tags"},
            "double_qty": {"$multiply": ["$qty", {"$literal": 2i64}]},
        }}
    );
    let priced = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    assert_eq!(
        priced,
        vec![Priced {
            amount: 100.0,
            unit_price: 50.0,
            with_fee: 101.5,
            label: "paid x2".into(),
            tag_count: 2,
            double_qty: 4,
        }]
    );
    finish(db).await;
}

#[derive(Projection, Deserialize, Debug, PartialEq)]
#[odm(model = Order)]
struct AmountOnly {
    status: String,
    amount: f64,
}

#[tokio::test]
async fn project_into_a_projection_type() {
    let db = db().await;
    seed(&db).await;
    let o = Order::fields();
    let pipeline = Pipeline::new()
        .filter(o.amount.gte(70.0))
        .sort(o.amount.asc())
        .project::<AmountOnly>();
    assert_eq!(
        pipeline.to_documents().unwrap()[2],
        doc! {"$project": {"status": 1, "amount": 1, "_id": 0}}
    );
    let rows = db.collection::<Order>().aggregate(pipeline).await.unwrap();
    let row = |status: &str, amount| AmountOnly {
        status: status.into(),
        amount,
    };
    assert_eq!(
        rows,
        vec![
            row("paid", 70.0),
            row("paid", 100.0),
            row("cancelled", 500.0)
        ]
    );
    finish(db).await;
}

/// What `$sortByCount` yields.
#[derive(Deserialize, Debug, PartialEq)]
struct TagCount {
    #[serde(rename = "_id")]
    tag: String,
    count: i64,
}

#[tokio::test]
async fn raw_stages_escape_the_types() {
    let db = db().await;
    seed(&db).await;
    let o = Order::fields();
    let pipeline = Pipeline::new()
        .raw_stage(doc! {"$match": {"tags": {"$exists": true, "$ne": []}}})
        .filter(o.status.eq("paid"))
        .raw_stage_as::<TagCount>(doc! {"$unwind": "$tags"})
        .raw_stage(doc! {"$sortByCount": "$tags"});
    let tags = db
        .collection::<Order>()
        .aggregate_stream(pipeline)
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(
        tags,
        vec![
            TagCount {
                tag: "gift".into(),
                count: 2
            },
            TagCount {
                tag: "rush".into(),
                count: 1
            },
        ]
    );
    finish(db).await;
}

/// The total of the orders.
#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Total {
    total: f64,
}

#[tokio::test]
async fn runs_in_the_transaction_of_its_collection() {
    let db = db().await;
    seed(&db).await;
    let (o, t) = (Order::fields(), fields::<Total>());
    let paid_total = move || {
        Pipeline::new()
            .filter(o.status.eq("paid"))
            .group_all(|g| g.sum(t.total, o.amount))
    };
    let outer = db.clone();
    let inside = db
        .transaction(|tx| {
            let outer = outer.clone();
            async move {
                let orders = tx.collection::<Order>();
                orders
                    .update_many(o.status.eq("cancelled"), o.status.set("paid"))
                    .await?;
                // The transaction's own write is visible to its pipeline; outside, it is
                // not yet.
                let outside = outer.collection::<Order>().aggregate(paid_total()).await?;
                assert_eq!(outside, vec![Total { total: 230.0 }]);
                orders.aggregate(paid_total()).await
            }
        })
        .await
        .unwrap();
    assert_eq!(inside, vec![Total { total: 730.0 }]);
    let after = db
        .collection::<Order>()
        .aggregate(paid_total())
        .await
        .unwrap();
    assert_eq!(after, vec![Total { total: 730.0 }]);
    finish(db).await;
}

#[tokio::test]
async fn stages_that_cannot_be_built_are_errors_before_sending() {
    let db = db().await;
    seed(&db).await;
    let orders = db.collection::<Order>();
    let (o, l, s) = (Order::fields(), fields::<OrderLine>(), fields::<Spending>());
    // `unwind` writes the element at the array's own path.
    #[derive(Embedded, Serialize, Deserialize, Debug)]
    struct Elsewhere {
        lines: Vec<Line>,
        first: Line,
    }
    let e = fields::<Elsewhere>();
    let err = orders
        .aggregate(Pipeline::new().unwind(o.lines, e.first))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Build(odm::BuildError::Stage { position: 1, stage, reason })
            if stage == "$unwind" && reason == "the element is written at the array's own path `lines`, and the output field given is `first`"),
        "{err}"
    );
    // The group key lands in `_id`.
    let err = Pipeline::new()
        .group(o.amount, s.total, |g| g)
        .to_documents()
        .unwrap_err();
    assert!(
        err.to_string().contains("`total` is another field"),
        "{err}"
    );
    // Accumulators write top-level fields, each once, never `_id`.
    let err = Pipeline::new()
        .filter(o.status.eq("paid"))
        .unwind(o.lines, l.lines)
        .add_fields(|f| f.set(l.lines.qty, Expr::lit(1u32)))
        .group_all(|g| g.sum(l.lines.price, l.lines.price))
        .to_documents()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("stage 4 ($group): `lines.price` is a nested path"),
        "{err}"
    );
    let err = Pipeline::new()
        .group(o.customer, s.customer, |g| {
            g.count(s.orders).sum(s.orders, o.qty)
        })
        .to_documents()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`orders` is written by two accumulators"),
        "{err}"
    );
    // A path through array elements has no single value.
    let err = Pipeline::new()
        .group_all(|g| g.sum(s.total, o.lines.any().price))
        .to_documents()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`lines.price` goes through array elements"),
        "{err}"
    );
    assert!(matches!(
        Pipeline::<Order>::new().limit(0).to_documents(),
        Err(Error::Build(odm::BuildError::Stage { position: 1, .. }))
    ));
    // Nothing was sent: the orders are as seeded.
    assert_eq!(orders.count(Filter::all()).await.unwrap(), 5);
    finish(db).await;
}
