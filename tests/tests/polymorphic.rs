//! Polymorphic models: one collection of dogs, cats and birds, read and written through
//! the parent (`Animal`) and through each variant, with shared-field and per-variant
//! queries, per-variant rules, indexes on variant fields and the schema of the whole.

mod common;

use odm::Error;
use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind")]
#[odm(
    collection = "poly_animals",
    shared(id, name, age),
    index(keys(name = 1))
)]
enum Animal {
    Dog(Dog),
    Cat(Cat),
    Bird(Bird),
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(variant_of = Animal)]
struct Dog {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 1))]
    name: String,
    #[odm(range(max = 30))]
    age: u32,
    #[odm(index)]
    breed: String,
    /// Unique among the documents that have it: cats and birds have none.
    #[odm(unique)]
    chip: String,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(variant_of = Animal)]
struct Cat {
    #[odm(id)]
    id: Option<ObjectId>,
    #[odm(length(min = 1))]
    name: String,
    age: u32,
    #[odm(range(min = 0, max = 9))]
    lives: u8,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[odm(variant_of = Animal)]
struct Bird {
    #[odm(id)]
    id: Option<ObjectId>,
    name: String,
    age: u32,
    wingspan_cm: f64,
}

fn dog(name: &str, age: u32, breed: &str, chip: &str) -> Dog {
    Dog {
        name: name.into(),
        age,
        breed: breed.into(),
        chip: chip.into(),
        ..Default::default()
    }
}

fn cat(name: &str, age: u32, lives: u8) -> Cat {
    Cat {
        name: name.into(),
        age,
        lives,
        ..Default::default()
    }
}

/// Two dogs, two cats and a bird, written through the parent, a variant view and the
/// variant's own collection.
async fn zoo(db: &Db) {
    let animals = db.collection::<Animal>();
    for mut a in [
        Animal::Dog(dog("Rex", 5, "labrador", "c-1")),
        Animal::Cat(cat("Tom", 3, 9)),
    ] {
        animals.insert_one(&mut a).await.unwrap();
        assert!(
            a.id().is_some(),
            "the parent's insert gives the variant its id"
        );
    }
    animals
        .of::<Dog>()
        .insert_one(&mut dog("Fido", 2, "beagle", "c-2"))
        .await
        .unwrap();
    animals
        .of::<Cat>()
        .insert_one(&mut cat("Rex", 7, 4))
        .await
        .unwrap();
    let mut bird = Bird {
        name: "Tweety".into(),
        age: 1,
        wingspan_cm: 20.5,
        ..Default::default()
    };
    db.collection::<Bird>().insert_one(&mut bird).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn three_variants_answer_shared_and_per_variant_queries() {
    let db = common::db().await;
    zoo(&db).await;
    let animals = db.collection::<Animal>();
    let f = Animal::fields();

    // Shared paths on the parent: every kind comes back as what it is.
    let older: Vec<Animal> = animals.find(f.age.gte(3)).sort(f.age.asc()).await.unwrap();
    let kinds: Vec<(&str, &str)> = older
        .iter()
        .map(|a| match a {
            Animal::Dog(d) => ("dog", d.name.as_str()),
            Animal::Cat(c) => ("cat", c.name.as_str()),
            Animal::Bird(b) => ("bird", b.name.as_str()),
        })
        .collect();
    assert_eq!(kinds, [("cat", "Tom"), ("dog", "Rex"), ("cat", "Rex")]);
    assert_eq!(animals.count(Filter::all()).await.unwrap(), 5);
    assert_eq!(
        animals
            .count(Filter::variant::<Cat>() & f.name.eq("Rex"))
            .await
            .unwrap(),
        1
    );

    // Per variant: typed by the variant, with the tag condition added.
    let dogs = animals.of::<Dog>();
    let d = Dog::fields();
    let labs: Vec<Dog> = dogs.find(d.breed.eq("labrador")).await.unwrap();
    assert_eq!(labs.len(), 1);
    assert_eq!(labs[0].name, "Rex");
    // The cat named Rex is not a dog.
    let rexes: Vec<Dog> = dogs.find(d.name.eq("Rex")).await.unwrap();
    assert_eq!(rexes.len(), 1);
    assert_eq!(dogs.count(Filter::all()).await.unwrap(), 2);
    let cats = animals.of::<Cat>();
    let lives: Vec<u8> = cats
        .find(Filter::all())
        .sort(Cat::fields().lives.desc())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.lives)
        .collect();
    assert_eq!(lives, [9, 4]);
    assert_eq!(
        db.collection::<Bird>().count(Filter::all()).await.unwrap(),
        1
    );

    // Writes through a variant touch its documents only.
    let r = dogs
        .update_many(d.name.eq("Rex"), d.age.inc(1))
        .await
        .unwrap();
    assert_eq!((r.matched, r.modified), (1, 1));
    let cat_rex = cats
        .find(Cat::fields().name.eq("Rex"))
        .first()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cat_rex.age, 7, "the cat named Rex was not updated");
    // A replacement keeps the tag: the saved dog still reads back as a dog.
    let mut fido = dogs.find(d.name.eq("Fido")).first().await.unwrap().unwrap();
    fido.breed = "basset".into();
    dogs.save(&mut fido).await.unwrap();
    match animals.get(fido.id).await.unwrap() {
        Animal::Dog(stored) => assert_eq!(stored.breed, "basset"),
        other => panic!("expected a dog, got {other:?}"),
    }
    let raw = animals
        .raw()
        .find_one(doc! {"name": "Fido"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.get_str("kind").unwrap(), "Dog");
    assert_eq!(cats.delete_many(Filter::all()).await.unwrap(), 2);
    assert_eq!(animals.count(Filter::all()).await.unwrap(), 3);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_variant_is_checked_by_its_own_rules() {
    let db = common::db().await;
    let animals = db.collection::<Animal>();
    let mut nameless = Animal::Dog(dog("", 3, "pug", "c-9"));
    match animals.insert_one(&mut nameless).await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors.iter().next().unwrap().path, "name", "{errors}")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let mut ten_lives = Animal::Cat(cat("Felix", 2, 10));
    match animals.insert_one(&mut ten_lives).await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors.iter().next().unwrap().path, "lives", "{errors}")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    // An update through the parent meets the rules of the variants that have the field.
    let r = animals
        .update_many(Filter::all(), Animal::fields().name.set(String::new()))
        .await;
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    assert_eq!(animals.count(Filter::all()).await.unwrap(), 0);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn variant_fields_are_indexed_and_a_variant_unique_rule_ignores_the_others() {
    let db = common::db().await;
    let animals = db.collection::<Animal>();
    let report = animals.sync_indexes().await.unwrap();
    let mut created = report.created.clone();
    created.sort();
    assert_eq!(created, ["breed_1", "chip_1", "name_1"]);
    // The variant's collection is the same, with the same indexes.
    let again = db.collection::<Dog>().sync_indexes().await.unwrap();
    assert!(
        again.created.is_empty() && again.dropped.is_empty(),
        "{again:?}"
    );

    zoo(&db).await;
    // Several cats and a bird have no chip: no collision on null.
    animals
        .insert_one(&mut Animal::Cat(cat("Kitty", 1, 9)))
        .await
        .unwrap();
    let taken = animals
        .of::<Dog>()
        .insert_one(&mut dog("Copy", 4, "pug", "c-1"))
        .await;
    match taken {
        Err(Error::DuplicateKey { index, .. }) => assert_eq!(index, "chip_1"),
        other => panic!("expected a duplicate chip, got {other:?}"),
    }
    let plan = db
        .raw()
        .run_command(doc! {
            "explain": {"find": "poly_animals", "filter": {"breed": "beagle", "kind": "Dog"}},
        })
        .await
        .unwrap();
    assert!(
        format!("{plan}").contains("breed_1"),
        "a variant field's query uses its index: {plan}"
    );
    common::finish(db).await;
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
async fn the_schema_holds_each_document_to_its_variant() {
    let db = common::db().await;
    let animals = db.collection::<Animal>();
    let schema = animals.sync_schema().await.unwrap();
    assert_eq!(
        schema.get_document("properties").unwrap(),
        &doc! {"kind": {"enum": ["Dog", "Cat", "Bird"]}}
    );
    zoo(&db).await;
    let raw = animals.raw();
    raw.insert_one(doc! {"kind": "Cat", "name": "Raw", "age": 2, "lives": 5})
        .await
        .unwrap();
    let breaking = [
        ("no tag", doc! {"name": "Raw", "age": 2, "lives": 5}),
        (
            "unknown tag",
            doc! {"kind": "Fish", "name": "Raw", "age": 2, "lives": 5},
        ),
        (
            "the cat's range",
            doc! {"kind": "Cat", "name": "Raw", "age": 2, "lives": 12},
        ),
        (
            "a cat without the dog's fields is no dog",
            doc! {"kind": "Dog", "name": "Raw", "age": 2, "lives": 5},
        ),
        (
            "the dog's length",
            doc! {"kind": "Dog", "name": "", "age": 2, "breed": "pug", "chip": "c-7"},
        ),
    ];
    for (what, doc) in breaking {
        let err = raw.insert_one(doc).await.unwrap_err();
        assert_eq!(raw_error_code(&err), Some(121), "{what}: {err}");
    }
    assert_eq!(animals.count(Filter::all()).await.unwrap(), 6);
    common::finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_variant_watches_the_changes_of_its_own_documents() {
    let db = common::db().await;
    let animals = db.collection::<Animal>();
    let dogs = animals.of::<Dog>();
    let mut stream = dogs.watch().await.unwrap();
    animals
        .of::<Cat>()
        .insert_one(&mut cat("Tom", 3, 9))
        .await
        .unwrap();
    dogs.insert_one(&mut dog("Rex", 5, "labrador", "c-1"))
        .await
        .unwrap();
    let event = stream.next_event().await.unwrap().unwrap();
    match event.change {
        odm::Change::Inserted { document, .. } => assert_eq!(document.name, "Rex"),
        other => panic!("expected the dog's insert, got {other:?}"),
    }
    common::finish(db).await;
}
