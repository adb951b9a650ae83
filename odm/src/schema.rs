//! The `$jsonSchema` of a model: the same rules the model checks, for the database to
//! enforce on every write, the ODM's or anyone else's.
//!
//! Each field contributes what its type stores (`bsonType`, `items` of arrays, the
//! `properties` of embedded documents) and what its rules say: `length` as
//! `minLength`/`maxLength` (or `minItems`/`maxItems` on arrays), `range` as
//! `minimum`/`maximum`, `pattern`, `one_of` as `enum`. `required` lists the stored fields
//! that are neither `Option` nor defaulted. `email`, `url` and `custom` rules have no
//! JSON Schema form and stay the model's own.
//!
//! [`Collection::sync_schema`](crate::Collection::sync_schema) installs it as the
//! collection's validator.

use std::cell::Cell;

use bson::{Bson, Document, doc};

/// `schema` with null allowed too (an `Option` field).
pub fn nullable(mut schema: Document) -> Document {
    match schema.get("bsonType").cloned() {
        Some(Bson::String(t)) => {
            schema.insert("bsonType", vec![t, "null".to_string()]);
        }
        Some(Bson::Array(mut types)) => {
            types.push(Bson::String("null".into()));
            schema.insert("bsonType", types);
        }
        _ => {}
    }
    if let Ok(values) = schema.get_array("enum") {
        let mut values = values.clone();
        values.push(Bson::Null);
        schema.insert("enum", values);
    }
    schema
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// How deep embedded schemas nest before a type that contains itself (`replies:
/// Vec<Comment>` in `Comment`) is described as any object.
const MAX_DEPTH: u32 = 8;

/// Held while an embedded type builds its schema; `None` past [`MAX_DEPTH`].
pub struct DepthGuard(());

impl DepthGuard {
    pub fn enter() -> Option<DepthGuard> {
        DEPTH.with(|d| {
            if d.get() >= MAX_DEPTH {
                return None;
            }
            d.set(d.get() + 1);
            Some(DepthGuard(()))
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// An object schema from its properties and required names (what the derive builds).
pub fn object(properties: Document, required: Vec<&'static str>) -> Document {
    let mut schema = doc! {"bsonType": "object"};
    if !required.is_empty() {
        schema.insert("required", required);
    }
    if !properties.is_empty() {
        schema.insert("properties", properties);
    }
    schema
}
