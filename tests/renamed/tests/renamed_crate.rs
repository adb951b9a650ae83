//! The derives work when the odm crate is known under another name (here
//! `renamed_odm`): generated code finds it through `proc-macro-crate`.

use renamed_odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, PartialEq)]
#[odm(collection = "things")]
struct Thing {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[odm(length(min = 1))]
    label: String,
    spot: Spot,
}

#[derive(Embedded, Serialize, Deserialize, Debug, PartialEq)]
struct Spot {
    x: i32,
}

#[test]
fn derives_resolve_a_renamed_crate() {
    let f = Thing::fields();
    assert_eq!(f.spot.x.path(), "spot.x");
    assert_eq!(Thing::COLLECTION, "things");
    let thing = Thing {
        id: ObjectId::new(),
        label: String::new(),
        spot: Spot { x: 1 },
    };
    let errors = thing.validate().unwrap_err();
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        vec!["label"]
    );
}
