//! The model's rules in the database: `sync_schema()` installs the model's `$jsonSchema`
//! as the collection's validator, so that a raw driver write breaking a length, range,
//! pattern or enum rule is refused with 121.

mod common;

use odm::prelude::*;

#[odm::model]
#[derive(Embedded, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Line {
    #[odm(length(min = 1))]
    sku: String,
    #[odm(range(min = 1, max = 99))]
    qty: u32,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[odm(collection = "schema_orders")]
struct Order {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 3, max = 12), pattern = "^[A-Z]+-[0-9]+$")]
    code: String,
    #[odm(range(min = 0.0, max = 1000.0))]
    total: f64,
    #[odm(one_of("new", "paid", "shipped"))]
    status: String,
    note: Option<String>,
    #[odm(length(max = 3))]
    lines: Vec<Line>,
    #[odm(default = 1)]
    revision: u32,
}

fn raw_error_code(e: &odm::mongodb::error::Error) -> Option<i32> {
    match &*e.kind {
        odm::mongodb::error::ErrorKind::Write(odm::mongodb::error::WriteFailure::WriteError(w)) => {
            Some(w.code)
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_refuses_what_the_model_refuses() {
    let db = common::db().await;
    let orders = db.collection::<Order>();
    let schema = orders.sync_schema().await.unwrap();
    // What it says, in part.
    assert_eq!(
        schema.get_array("required").unwrap(),
        &vec![
            Bson::String("code".into()),
            Bson::String("total".into()),
            Bson::String("status".into()),
            Bson::String("lines".into())
        ]
    );
    let props = schema.get_document("properties").unwrap();
    assert_eq!(
        props.get_document("code").unwrap(),
        &doc! {"bsonType": "string", "minLength": 3_i64, "maxLength": 12_i64, "pattern": "^[A-Z]+-[0-9]+$"}
    );
    assert_eq!(
        props.get_document("note").unwrap(),
        &doc! {"bsonType": ["string", "null"]}
    );
    let lines = props.get_document("lines").unwrap();
    assert_eq!(lines.get_str("bsonType").unwrap(), "array");
    assert_eq!(lines.get_i64("maxItems").unwrap(), 3);
    assert_eq!(
        lines
            .get_document("items")
            .unwrap()
            .get_array("required")
            .unwrap(),
        &vec![Bson::String("sku".into()), Bson::String("qty".into())]
    );

    let mut good = Order {
        id: None,
        code: "AB-12".into(),
        total: 10.5,
        status: "new".into(),
        note: None,
        lines: vec![Line {
            sku: "x".into(),
            qty: 2,
        }],
        revision: 1,
    };
    orders.insert_one(&mut good).await.unwrap();
    let raw = orders.raw();
    let valid = doc! {"code": "CD-3", "total": 1, "status": "paid", "lines": []};
    raw.insert_one(valid.clone()).await.unwrap();

    let breaking = [
        ("too short", doc! {"code": "A"}),
        ("pattern", doc! {"code": "abc-1"}),
        ("range", doc! {"total": 1000.5}),
        ("enum", doc! {"status": "lost"}),
        ("type", doc! {"total": "ten"}),
        ("nested range", doc! {"lines": [{"sku": "x", "qty": 0}]}),
        (
            "too many items",
            doc! {"lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 1}, {"sku": "c", "qty": 1}, {"sku": "d", "qty": 1}]},
        ),
    ];
    for (what, change) in breaking {
        let mut doc = valid.clone();
        doc.extend(change);
        let err = raw.insert_one(doc).await.unwrap_err();
        assert_eq!(raw_error_code(&err), Some(121), "{what}: {err}");
    }
    // A required field missing.
    let mut missing = valid.clone();
    missing.remove("status");
    let err = raw.insert_one(missing).await.unwrap_err();
    assert_eq!(raw_error_code(&err), Some(121), "{err}");
    assert_eq!(orders.count(Filter::all()).await.unwrap(), 2);

    // Installed again (after a model change), it replaces the validator.
    orders.sync_schema_with("moderate", "warn").await.unwrap();
    raw.insert_one(doc! {"code": "x"}).await.unwrap();
    common::finish(db).await;
}
