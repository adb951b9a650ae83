//! Every builder produces exactly the document MongoDB expects, with serde renames and
//! nested paths.

mod common;

use common::{Item, Role, User};
use odm::Sort;
use odm::prelude::*;

#[test]
fn paths_follow_serde_names() {
    let f = User::fields();
    assert_eq!(f.id.path(), "_id");
    assert_eq!(f.email.path(), "email");
    assert_eq!(f.nickname.path(), "nick_name");
    assert_eq!(f.address.path(), "address");
    assert_eq!(f.address.city.path(), "address.city");
    assert_eq!(f.address.geo.lat.path(), "address.geo.lat");
    assert_eq!(f.items.path(), "items");
    assert_eq!(f.items.any().price.path(), "items.price");
    let e = common::Everything::fields();
    assert_eq!(e.chrono_when.path(), "chronoWhen");
    assert_eq!(e.nested_list.any().sku.path(), "nestedList.sku");
    assert_eq!(User::COLLECTION, "users");
    assert_eq!(common::Everything::COLLECTION, "everythings");
}

#[test]
fn filters() {
    let f = User::fields();
    let filter = f.age.gte(18) & f.address.city.eq("Paris") & f.tags.contains("admin");
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"age": {"$gte": 18i64}, "address.city": "Paris", "tags": "admin"}
    );
    let filter = f.nickname.is_null() | f.nickname.starts_with("Al");
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"$or": [{"nick_name": null}, {"nick_name": {"$regex": "^Al"}}]}
    );
    let filter = f.role.in_([Role::Admin, Role::Staff]) & !f.address.geo.lat.lt(0.0);
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"role": {"$in": ["admin", "staff"]}, "$nor": [{"address.geo.lat": {"$lt": 0.0}}]}
    );
    let filter = f.items.elem_match(|i| i.price.gt(10.0) & i.qty.lte(3));
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"items": {"$elemMatch": {"price": {"$gt": 10.0}, "qty": {"$lte": 3i64}}}}
    );
    let filter = f.items.any().sku.eq("A-1") & f.tags.size(2) & f.tags.all(["a", "b"]);
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"items.sku": "A-1", "tags": {"$size": 2i64, "$all": ["a", "b"]}}
    );
    let filter = f.email.regex("@example\\.com$", "i")
        & f.id.exists(true)
        & f.name.ne("x")
        & f.age.nin([1u32, 2]);
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"email": {"$regex": "@example\\.com$", "$options": "i"}, "_id": {"$exists": true}, "name": {"$ne": "x"}, "age": {"$nin": [1i64, 2i64]}}
    );
    let item = Item {
        sku: "S".into(),
        price: 1.0,
        qty: 2,
    };
    assert_eq!(
        f.items.contains(item).to_document().unwrap(),
        doc! {"items": {"sku": "S", "price": 1.0, "qty": 2i64}}
    );
    let id = ObjectId::new();
    assert_eq!(f.id.eq(id).to_document().unwrap(), doc! {"_id": id});
    assert!(Filter::<User>::all().to_document().unwrap().is_empty());
    assert_eq!(
        Filter::<User>::raw_unchecked(doc! {"x": 1})
            .to_document()
            .unwrap(),
        doc! {"x": 1}
    );
}

#[test]
fn updates_sorts() {
    let f = User::fields();
    let u = f
        .age
        .inc(1)
        .push(f.tags, "minor")
        .set(f.address.city, "Lyon")
        .unset(f.nickname);
    assert_eq!(
        u.to_document().unwrap(),
        doc! {"$inc": {"age": 1i64}, "$push": {"tags": "minor"}, "$set": {"address.city": "Lyon"}, "$unset": {"nick_name": ""}}
    );
    let item = Item {
        sku: "S".into(),
        price: 2.5,
        qty: 1,
    };
    let u = f
        .items
        .push(item)
        .and(f.role.set(Role::Admin))
        .and(f.updated_at.current_date());
    assert_eq!(
        u.to_document().unwrap(),
        doc! {"$push": {"items": {"sku": "S", "price": 2.5, "qty": 1i64}}, "$set": {"role": "admin"}, "$currentDate": {"updated_at": {"$type": "date"}}}
    );
    let u = f
        .address
        .geo
        .lat
        .max(10.0)
        .min(f.age, 3u32)
        .add_to_set(f.tags, "x")
        .pull(f.tags, "y");
    assert_eq!(
        u.to_document().unwrap(),
        doc! {"$max": {"address.geo.lat": 10.0}, "$min": {"age": 3i64}, "$addToSet": {"tags": "x"}, "$pull": {"tags": "y"}}
    );
    let sort: Sort<User> = f.age.desc().then(f.address.city.asc());
    assert_eq!(sort.to_document(), doc! {"age": -1, "address.city": 1});
}

#[test]
fn the_remaining_operators() {
    let f = User::fields();
    let u = f
        .age
        .mul(2u32)
        .push_each(f.tags, ["a", "b"])
        .pop_first(f.items)
        .set_on_insert(f.nickname, "new");
    assert_eq!(
        u.to_document().unwrap(),
        doc! {"$mul": {"age": 2i64}, "$push": {"tags": {"$each": ["a", "b"]}}, "$pop": {"items": -1}, "$setOnInsert": {"nick_name": "new"}}
    );
    assert_eq!(
        f.items.pop_last().to_document().unwrap(),
        doc! {"$pop": {"items": 1}}
    );
    let since = DateTime::from_millis(1_700_000_000_000);
    let filter = f.nickname.is_some() & f.created_at.gt(since) & f.updated_at.lte(since);
    assert_eq!(
        filter.to_document().unwrap(),
        doc! {"nick_name": {"$ne": null}, "created_at": {"$gt": since}, "updated_at": {"$lte": since}}
    );
    // Operators on one path merge into one operator document.
    assert_eq!(
        (f.age.gte(18) & f.age.lt(65)).to_document().unwrap(),
        doc! {"age": {"$gte": 18i64, "$lt": 65i64}}
    );
}

/// A projection names the model's paths; its own fields carry the model's serde names.
#[derive(Projection, Deserialize)]
#[odm(model = User)]
#[allow(dead_code)]
struct Contact {
    email: String,
    #[serde(rename = "nick_name")]
    nickname: Option<String>,
    address: common::Address,
}

#[test]
fn projections() {
    assert_eq!(
        <Contact as odm::Projection<User>>::projection(),
        doc! {"email": 1, "nick_name": 1, "address": 1, "_id": 0}
    );
}

#[test]
fn declared_indexes() {
    let names: Vec<(String, bool)> = User::indexes()
        .iter()
        .map(|i| (i.name(), i.unique))
        .collect();
    assert_eq!(
        names,
        vec![
            ("email_1".to_string(), true),
            ("age_name".to_string(), false)
        ]
    );
    assert_eq!(User::indexes()[1].keys, doc! {"age": 1, "name": -1});
}
