//! Every `Collection` method end to end, on the embedded server (or on the MongoDB that
//! `ODM_TEST_MONGODB_URI` names): results, validation failures that write nothing,
//! duplicate keys, timestamps and ids.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{Address, Everything, Geo, Item, Role, User, address, db, finish, user};
use futures::TryStreamExt;
use odm::prelude::*;

#[derive(Projection, Deserialize, Debug, PartialEq)]
#[odm(model = User)]
struct NameAge {
    name: String,
    age: u32,
}

async fn seeded(db: &Db) -> odm::Collection<User> {
    let users = db.collection::<User>();
    users.sync_indexes().await.unwrap();
    let mut people: Vec<User> = (0..20)
        .map(|i| {
            let mut u = user(&format!("P{i:02}"), 10 + i * 3);
            u.address = address(if i % 2 == 0 { "Paris" } else { "Lyon" });
            u.tags = if i % 3 == 0 {
                vec!["admin".into(), "staff".into()]
            } else {
                vec!["staff".into()]
            };
            u.role = if i % 5 == 0 { Role::Admin } else { Role::Staff };
            u
        })
        .collect();
    users.insert_many(&mut people).await.unwrap();
    users
}

#[tokio::test(flavor = "multi_thread")]
async fn insert_one_fills_id_and_timestamps_and_validates() {
    let db = db().await;
    let users = db.collection::<User>();
    users.sync_indexes().await.unwrap();
    let mut ann = user("Ann", 30);
    users.insert_one(&mut ann).await.unwrap();
    let id = ann.id.expect("the id is filled");
    let created = ann.created_at.expect("created_at is set");
    assert_eq!(ann.updated_at, Some(created));
    let stored = users.get(id).await.unwrap();
    assert_eq!(stored, ann);

    // Invalid: every failure is reported with its path, and nothing is written.
    let mut bad = user("", 200);
    bad.email = "not-an-email".into();
    bad.address.zip = "12a".into();
    bad.nickname = Some("x".into());
    bad.items = vec![Item {
        sku: "".into(),
        price: -1.0,
        qty: 1,
    }];
    let Err(Error::Validation(errors)) = users.insert_one(&mut bad).await else {
        panic!("expected a validation error")
    };
    let mut seen: Vec<(String, &str)> = errors.iter().map(|e| (e.path.clone(), e.code)).collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("address.zip".into(), "length"),
            ("address.zip".into(), "pattern"),
            ("age".into(), "range"),
            ("email".into(), "email"),
            ("items.0.price".into(), "range"),
            ("items.0.sku".into(), "length"),
            ("name".into(), "length"),
            ("nick_name".into(), "length"),
        ]
    );
    assert!(bad.id.is_none());
    assert_eq!(users.count(Filter::all()).await.unwrap(), 1);

    // Duplicate key: the index and the key are named.
    let mut again = user("Ann", 31);
    match users.insert_one(&mut again).await {
        Err(Error::DuplicateKey { index, key }) => {
            assert_eq!(index, "email_1");
            assert_eq!(key, doc! {"email": "ann@example.com"});
        }
        other => panic!("expected a duplicate key, got {other:?}"),
    }
    assert!(
        again.id.is_none(),
        "a failed insert leaves the model without an id"
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn insert_many_is_all_or_nothing_on_validation_and_ordered_on_duplicates() {
    let db = db().await;
    let users = db.collection::<User>();
    users.sync_indexes().await.unwrap();
    let mut batch = vec![user("A", 1), user("B", 999), user("C", 3)];
    let Err(Error::Validation(errors)) = users.insert_many(&mut batch).await else {
        panic!()
    };
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec!["1.age"]
    );
    assert_eq!(users.count(Filter::all()).await.unwrap(), 0);

    let mut batch = vec![user("A", 1), user("B", 2), user("A", 3), user("D", 4)];
    let err = users.insert_many(&mut batch).await.unwrap_err();
    assert!(
        matches!(err, Error::DuplicateKey { ref index, .. } if index == "email_1"),
        "{err:?}"
    );
    assert!(batch[0].id.is_some() && batch[1].id.is_some());
    assert!(batch[2].id.is_none() && batch[3].id.is_none());
    assert_eq!(users.count(Filter::all()).await.unwrap(), 2);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_insert_reports_each_position() {
    let db = db().await;
    let users = db.collection::<User>();
    users.sync_indexes().await.unwrap();
    let mut many: Vec<User> = (0..300).map(|i| user(&format!("U{i}"), 20)).collect();
    many[7].age = 500;
    many[42].email = many[41].email.clone();
    let report = users.bulk_insert(many).await.unwrap();
    assert_eq!(report.inserted.len(), 298);
    let failed: Vec<usize> = report.failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, vec![7, 42]);
    assert!(matches!(report.failed[0].1, Error::Validation(_)));
    assert!(
        matches!(&report.failed[1].1, Error::DuplicateKey { index, key } if index == "email_1" && key.get_str("email").unwrap() == "u41@example.com")
    );
    assert_eq!(users.count(Filter::all()).await.unwrap(), 298);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn find_builders_all_first_stream_project() {
    let db = db().await;
    let users = seeded(&db).await;
    let f = User::fields();

    let found = users
        .find(f.age.gte(40) & f.address.city.eq("Paris") & f.tags.contains("admin"))
        .sort(f.age.desc())
        .all()
        .await
        .unwrap();
    let names: Vec<&str> = found.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["P18", "P12"]);

    let page = users
        .find(Filter::all())
        .sort(f.age.asc())
        .skip(3)
        .limit(4)
        .batch_size(2)
        .all()
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|u| u.age).collect::<Vec<_>>(),
        vec![19, 22, 25, 28]
    );

    let oldest = users
        .find(f.role.eq(Role::Admin))
        .sort(f.age.desc())
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest.name, "P15");
    assert!(users.find(f.age.gt(1000)).first().await.unwrap().is_none());

    let stream = users
        .find(f.tags.contains("staff"))
        .batch_size(3)
        .stream()
        .await
        .unwrap();
    let streamed: Vec<User> = stream.try_collect().await.unwrap();
    assert_eq!(streamed.len(), 20);

    let projected = users
        .find(f.address.city.eq("Lyon"))
        .sort(f.age.asc())
        .limit(2)
        .project::<NameAge>()
        .all()
        .await
        .unwrap();
    assert_eq!(
        projected,
        vec![
            NameAge {
                name: "P01".into(),
                age: 13
            },
            NameAge {
                name: "P03".into(),
                age: 19
            }
        ]
    );

    let youngest_lyon = users
        .find(f.items.size(0) & f.address.city.starts_with("Ly"))
        .sort(f.age.asc())
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(youngest_lyon.name, "P01");
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn by_id_count_exists_distinct() {
    let db = db().await;
    let users = seeded(&db).await;
    let f = User::fields();
    let p3 = users.find(f.name.eq("P03")).first().await.unwrap().unwrap();
    let id = p3.id.unwrap();
    assert_eq!(users.find_by_id(id).await.unwrap(), Some(p3.clone()));
    assert_eq!(users.find_by_id(ObjectId::new()).await.unwrap(), None);
    assert!(matches!(
        users.get(ObjectId::new()).await,
        Err(Error::NotFound)
    ));

    assert_eq!(users.count(f.address.city.eq("Lyon")).await.unwrap(), 10);
    assert!(users.exists(f.age.eq(13)).await.unwrap());
    assert!(!users.exists(f.age.eq(14)).await.unwrap());

    let cities: Vec<String> = users.distinct(f.address.city, Filter::all()).await.unwrap();
    assert_eq!(cities, vec!["Lyon".to_string(), "Paris".to_string()]);
    let tags: Vec<String> = users.distinct(f.tags, f.age.lt(20)).await.unwrap();
    assert_eq!(tags, vec!["admin".to_string(), "staff".to_string()]);
    let mut roles: Vec<Role> = users.distinct(f.role, Filter::all()).await.unwrap();
    roles.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(roles, vec![Role::Admin, Role::Staff]);
    let ages: Vec<u32> = users.distinct(f.age, f.age.lt(16)).await.unwrap();
    assert_eq!(ages, vec![10, 13]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_are_validated_and_touch_updated_at() {
    let db = db().await;
    let users = seeded(&db).await;
    let f = User::fields();
    let before = users.find(f.name.eq("P01")).first().await.unwrap().unwrap();

    let r = users
        .update_many(f.age.lt(18), f.age.inc(1).push(f.tags, "minor"))
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (3, 3));
    let after = users.get(before.id.unwrap()).await.unwrap();
    assert_eq!(after.age, 14);
    assert_eq!(after.tags, vec!["staff".to_string(), "minor".to_string()]);
    assert!(after.updated_at.unwrap() >= before.updated_at.unwrap());
    assert_eq!(after.created_at, before.created_at);

    // A value the rules refuse is never sent: nothing changes.
    let err = users
        .update_one(f.name.eq("P01"), f.age.set(200))
        .await
        .unwrap_err();
    let Error::Validation(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.path.as_str(), e.code))
            .collect::<Vec<_>>(),
        vec![("age", "range")]
    );
    let err = users
        .update_one(f.name.eq("P01"), f.address.zip.set("1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref e) if e.iter().any(|x| x.path == "address.zip")),
        "{err:?}"
    );
    let err = users
        .update_one(
            f.name.eq("P01"),
            f.address.set(Address {
                city: "".into(),
                zip: "00000".into(),
                geo: None,
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref e) if e.iter().any(|x| x.path == "address.city")),
        "{err:?}"
    );
    let err = users
        .update_one(
            f.name.eq("P01"),
            f.address.geo.set(Geo {
                lat: 91.0,
                lng: 0.0,
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref e) if e.iter().any(|x| x.path == "address.geo.lat")),
        "{err:?}"
    );
    assert_eq!(users.get(before.id.unwrap()).await.unwrap().age, 14);

    // One document; unique constraint through an update.
    let r = users
        .update_one(f.name.eq("P02"), f.nickname.set("Pee"))
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    assert_eq!(
        users
            .find(f.nickname.eq("Pee"))
            .first()
            .await
            .unwrap()
            .unwrap()
            .name,
        "P02"
    );
    let err = users
        .update_one(f.name.eq("P02"), f.email.set("p01@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateKey { ref index, .. } if index == "email_1"),
        "{err:?}"
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_upsert_find_one_and_update_delete() {
    let db = db().await;
    let users = seeded(&db).await;
    let f = User::fields();

    let mut p4 = users.find(f.name.eq("P04")).first().await.unwrap().unwrap();
    p4.age = 99;
    p4.tags = vec![];
    let r = users
        .replace_one(f.id.eq(p4.id.unwrap()), &mut p4)
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    assert_eq!(users.get(p4.id.unwrap()).await.unwrap(), p4);
    p4.age = 151;
    assert!(matches!(
        users.replace_one(f.id.eq(p4.id.unwrap()), &mut p4).await,
        Err(Error::Validation(_))
    ));

    let r = users
        .upsert(
            f.email.eq("new@example.com"),
            f.name
                .set("New")
                .set(f.age, 5u32)
                .set(f.role, Role::Guest)
                .set(f.address, address("Nice")),
        )
        .await
        .unwrap();
    assert_eq!(r.matched, 0);
    let new_id = r.upserted_id.expect("an upsert inserted");
    let new = users
        .find(f.email.eq("new@example.com"))
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(Bson::ObjectId(new.id.unwrap())), Some(new_id));
    assert!(new.created_at.is_some() && new.updated_at.is_some());
    let r = users
        .upsert(f.email.eq("new@example.com"), f.age.set(6u32))
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));

    let before = users
        .find_one_and_update(f.name.eq("P05"), f.age.inc(100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.age, 25);
    let after = users
        .find_one_and_update(f.name.eq("P05"), f.age.inc(1))
        .return_after()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.age, 126);
    let oldest_lyon = users
        .find_one_and_update(f.address.city.eq("Lyon"), f.tags.push("picked"))
        .sort(f.age.desc())
        .return_after()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest_lyon.name, "P05");
    assert!(
        users
            .find_one_and_update(f.name.eq("nobody"), f.age.inc(1))
            .await
            .unwrap()
            .is_none()
    );
    let created = users
        .find_one_and_update(
            f.email.eq("fresh@example.com"),
            f.name
                .set("Fresh")
                .set(f.age, 1u32)
                .set(f.role, Role::Guest)
                .set(f.address, address("Nice")),
        )
        .upsert()
        .return_after()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.name, "Fresh");
    assert!(matches!(
        users
            .find_one_and_update(f.name.eq("Fresh"), f.age.set(1000))
            .await,
        Err(Error::Validation(_))
    ));

    assert_eq!(
        users.delete_one(f.address.city.eq("Paris")).await.unwrap(),
        1
    );
    assert_eq!(
        users.delete_many(f.address.city.eq("Lyon")).await.unwrap(),
        10
    );
    assert_eq!(users.delete_many(Filter::all()).await.unwrap(), 11);
    assert_eq!(users.count(Filter::all()).await.unwrap(), 0);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pagination() {
    let db = db().await;
    let users = seeded(&db).await;
    let f = User::fields();
    // Ties on the key (two users per city) are ordered by _id.
    let mut seen = Vec::new();
    let mut last: Option<User> = None;
    loop {
        let page = users
            .find(f.age.gte(16))
            .sort(f.address.city.asc())
            .page_after(last.as_ref(), 6)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 6);
        seen.extend(page.iter().map(|u| u.name.clone()));
        last = page.last().cloned();
    }
    let mut expected: Vec<User> = users.find(f.age.gte(16)).all().await.unwrap();
    expected.sort_by(|a, b| {
        a.address
            .city
            .cmp(&b.address.city)
            .then(a.id.unwrap().cmp(&b.id.unwrap()))
    });
    assert_eq!(
        seen,
        expected.iter().map(|u| u.name.clone()).collect::<Vec<_>>()
    );
    assert_eq!(seen.len(), 18);
    let by_id = users.find(Filter::all()).page_after(None, 5).await.unwrap();
    let next = users
        .find(Filter::all())
        .page_after(by_id.last(), 5)
        .await
        .unwrap();
    assert!(next[0].id > by_id[4].id);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_indexes_creates_drops_and_keeps_id() {
    let db = db().await;
    let users = db.collection::<User>();
    let report = users.sync_indexes().await.unwrap();
    assert_eq!(report.created, vec!["email_1", "age_name"]);
    assert!(report.dropped.is_empty());
    // An index the model does not declare, and one declared differently.
    users
        .raw()
        .create_index(
            odm::mongodb::IndexModel::builder()
                .keys(doc! {"stray": 1})
                .build(),
        )
        .await
        .unwrap();
    users.raw().drop_index("age_name").await.unwrap();
    users
        .raw()
        .create_index(
            odm::mongodb::IndexModel::builder()
                .keys(doc! {"age": 1})
                .options(
                    odm::mongodb::options::IndexOptions::builder()
                        .name("age_name".to_string())
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    let report = users.sync_indexes().await.unwrap();
    assert_eq!(report.unchanged, vec!["email_1"]);
    let mut dropped = report.dropped.clone();
    dropped.sort();
    assert_eq!(dropped, vec!["age_name", "stray_1"]);
    assert_eq!(report.created, vec!["age_name"]);
    let names = users.raw().list_index_names().await.unwrap();
    assert_eq!(names, vec!["_id_", "email_1", "age_name"]);
    let again = users.sync_indexes().await.unwrap();
    assert_eq!(
        (
            again.created.len(),
            again.dropped.len(),
            again.unchanged.len()
        ),
        (0, 0, 2)
    );
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_field_type_round_trips() {
    let db = db().await;
    let things = db.collection::<Everything>();
    let now = DateTime::from_millis(1_700_000_000_123);
    let mut attributes = BTreeMap::new();
    attributes.insert("color".to_string(), "red".to_string());
    let mut counts = HashMap::new();
    counts.insert("views".to_string(), 12i64);
    let mut thing = Everything {
        id: ObjectId::new(),
        text: "héllo \u{1F600}".into(),
        small: -7,
        big: i64::MAX - 1,
        unsigned: u32::MAX,
        ratio: 0.125,
        flag: true,
        maybe: Some(3),
        nothing: None,
        list: vec![3, 1, 2],
        nested: Address {
            city: "Oslo".into(),
            zip: "01500".into(),
            geo: Some(Geo {
                lat: 59.9,
                lng: 10.7,
            }),
        },
        nested_list: vec![Item {
            sku: "A".into(),
            price: 9.99,
            qty: 2,
        }],
        role: Role::Guest,
        when: now,
        chrono_when: now.to_chrono(),
        money: "12.34".parse().unwrap(),
        attributes,
        counts,
        raw: doc! {"free": ["form", 1, null]},
        binary: odm::bson::Binary {
            subtype: odm::bson::spec::BinarySubtype::Generic,
            bytes: vec![0, 1, 2, 255],
        },
    };
    things.insert_one(&mut thing).await.unwrap();
    let back = things.get(thing.id).await.unwrap();
    assert_eq!(back, thing);

    // Each type also works in a typed query.
    let e = Everything::fields();
    let q = e.text.eq("héllo \u{1F600}")
        & e.small.lt(0)
        & e.big.gt(0i64)
        & e.unsigned.eq(u32::MAX)
        & e.ratio.lte(0.125)
        & e.flag.eq(true)
        & e.maybe.eq(3)
        & e.nothing.is_null()
        & e.list.contains(2)
        & e.nested.geo.lat.gt(59.0)
        & e.nested_list.any().sku.eq("A")
        & e.role.eq(Role::Guest)
        & e.when.gte(now)
        & e.chrono_when.lte(now.to_chrono())
        & e.money
            .gt("12.00".parse::<odm::bson::Decimal128>().unwrap())
        & e.attributes.exists(true);
    assert_eq!(things.count(q).await.unwrap(), 1);
    // The chrono date is stored as a BSON date.
    let raw = things.raw().find_one(doc! {}).await.unwrap().unwrap();
    assert!(matches!(raw.get("chronoWhen"), Some(Bson::DateTime(_))));
    let whens: Vec<DateTime> = things.distinct(e.chrono_when, Filter::all()).await.unwrap();
    assert_eq!(whens, vec![now]);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_persists_on_disk() {
    let dir = std::env::temp_dir().join(format!("odm-open-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let db = Db::open(&dir).await.unwrap();
        let users = db.collection::<User>();
        users.sync_indexes().await.unwrap();
        users.insert_one(&mut user("Persisted", 40)).await.unwrap();
        db.close().await;
    }
    let db = Db::open(&dir).await.unwrap();
    let users = db.collection::<User>();
    let f = User::fields();
    assert_eq!(
        users
            .find(f.name.eq("Persisted"))
            .first()
            .await
            .unwrap()
            .unwrap()
            .age,
        40
    );
    assert_eq!(
        users.raw().list_index_names().await.unwrap(),
        vec!["_id_", "email_1", "age_name"]
    );
    db.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
