//! Polymorphic models: one collection holding several kinds of documents, as MongoEngine's
//! `allow_inheritance` and Mongoose's discriminators do.
//!
//! The parent is a serde internally tagged enum whose variants each hold one model
//! struct; each struct says whose variant it is:
//!
//! ```
//! use odm::prelude::*;
//!
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! #[serde(tag = "kind")]
//! #[odm(collection = "animals", shared(id, name))]
//! enum Animal {
//!     Dog(Dog),
//!     Cat(Cat),
//! }
//!
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! #[odm(variant_of = Animal)]
//! struct Dog {
//!     #[serde(rename = "_id")]
//!     id: ObjectId,
//!     name: String,
//!     #[odm(index)]
//!     breed: String,
//! }
//!
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! #[odm(variant_of = Animal)]
//! struct Cat {
//!     #[serde(rename = "_id")]
//!     id: ObjectId,
//!     name: String,
//!     #[odm(range(min = 0, max = 9))]
//!     lives: u8,
//! }
//!
//! // Paths of the fields every variant shares, on the parent:
//! let by_name: Filter<Animal> = Animal::fields().name.eq("Rex");
//! // A variant's own paths, on the variant (its collection adds `kind: "Dog"`):
//! let labs: Filter<Dog> = Dog::fields().breed.eq("labrador");
//! assert_eq!(<Dog as Model>::COLLECTION, "animals");
//! ```
//!
//! What the parent gets from its variants:
//!
//! - **reads and writes of every kind** through `db.collection::<Animal>()`: documents
//!   come back as the variant their tag names; [`Filter::variant`] narrows a parent
//!   query to one variant;
//! - **one variant** through [`Collection::of`] (or `db.collection::<Dog>()`, the same
//!   collection): its reads and writes carry the tag condition, its inserts and
//!   replacements store the tag, and its own typed paths, rules, hooks, version and
//!   timestamps apply;
//! - **rules**: a parent's document is checked by its variant's rules; an update through
//!   the parent by the rules of every variant that has the field it sets;
//! - **indexes**: those the parent declares, and every variant's. A `unique` index that
//!   not every variant declares is made sparse, so that the documents of the other
//!   variants, which lack the field, do not collide on null; it still holds across the
//!   variants that have the field (an index limited to one tag needs partial indexes);
//! - **the schema**: `Animal::json_schema()` requires the tag, one of the variants'
//!   values, and a document to match the schema of the variant its tag names;
//! - **change streams**: a variant's `watch()` keeps the events whose document (or
//!   pre-image) has its tag; an event that carries neither (an update without
//!   `full_document`, a delete without pre-images) cannot be told apart and is kept.
//!
//! The variants must agree on what the parent delegates to them: the `_id` type, the
//! paths of the version, timestamps and soft-delete date (checked at compile time).

use bson::{Bson, Document, doc};

use crate::collection::Collection;
use crate::filter::Filter;
use crate::index::IndexSpec;
use crate::model::Model;

/// A polymorphic model: a serde internally tagged enum of model structs. Derived.
pub trait Polymorphic: Model {
    /// The key the tag is stored under (`#[serde(tag = "kind")]`).
    const TAG: &'static str;
    /// The tag values, one per variant, in declaration order.
    const VARIANTS: &'static [&'static str];
}

/// A model struct that is one variant of the polymorphic model `P`
/// (`#[odm(variant_of = P)]`). Implemented by `P`'s derive.
pub trait VariantOf<P: Polymorphic>: Model + Into<P> {
    /// This variant's tag value.
    const NAME: &'static str;
}

impl<P: Polymorphic> Filter<P> {
    /// The documents of one variant: `{kind: "Dog"}`. Combine it with the parent's
    /// shared paths (`Filter::variant::<Dog>() & Animal::fields().name.eq("Rex")`).
    pub fn variant<V: VariantOf<P>>() -> Filter<P> {
        Filter::raw_unchecked(doc! {P::TAG: V::NAME})
    }
}

impl<P: Polymorphic> Collection<P> {
    /// The collection as one variant sees it: typed by `V`, reading only `V`'s documents
    /// and writing `V`'s tag, in the same transaction and with the same view of
    /// soft-deleted documents as this one.
    pub fn of<V: VariantOf<P>>(&self) -> Collection<V> {
        self.retyped()
    }
}

/// `P::json_schema()`: the tag is required and one of the variants' values, and a
/// document matches the schema of the variant its tag names.
pub fn schema_of_variants(tag: &str, variants: Vec<(&str, Document)>) -> Document {
    let names: Vec<Bson> = variants.iter().map(|(n, _)| Bson::from(*n)).collect();
    let any_of: Vec<Bson> = variants
        .into_iter()
        .map(|(name, mut schema)| {
            let mut properties = schema
                .get_document("properties")
                .cloned()
                .unwrap_or_default();
            properties.insert(tag, doc! {"enum": [name]});
            schema.insert("properties", properties);
            let mut required = schema.get_array("required").cloned().unwrap_or_default();
            required.insert(0, Bson::from(tag));
            schema.insert("required", required);
            Bson::Document(schema)
        })
        .collect();
    doc! {
        "bsonType": "object",
        "required": [tag],
        "properties": {tag: {"enum": names}},
        "anyOf": any_of,
    }
}

/// `P::indexes()`: the parent's own, then each variant's once. A unique index that not
/// every variant declares becomes sparse: the other variants' documents lack its
/// fields, and would otherwise all index as null and collide.
pub fn merge_variant_indexes(own: Vec<IndexSpec>, variants: Vec<Vec<IndexSpec>>) -> Vec<IndexSpec> {
    let mut merged = own;
    let declared_by_all = |spec: &IndexSpec| variants.iter().all(|v| v.contains(spec));
    for spec in variants.iter().flatten() {
        let mut spec = spec.clone();
        if spec.unique && !declared_by_all(&spec) {
            spec.sparse = true;
        }
        if !merged.iter().any(|m| m.name() == spec.name()) {
            merged.push(spec);
        }
    }
    merged
}

/// Whether a variant's `VARIANT` is `(tag, name)`: the compile-time check that a
/// parent's variant declares `variant_of` the parent.
pub const fn is_variant(variant: Option<(&str, &str)>, tag: &str, name: &str) -> bool {
    match variant {
        Some((t, n)) => {
            crate::validate::const_str_eq(t, tag) && crate::validate::const_str_eq(n, name)
        }
        None => false,
    }
}

/// Whether two optional paths are the same: the compile-time check that variants agree
/// on the fields their parent delegates to them.
pub const fn same_path(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => crate::validate::const_str_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_index_of_one_variant_becomes_sparse_and_a_shared_one_stays() {
        let chip = IndexSpec {
            unique: true,
            ..IndexSpec::new(doc! {"chip": 1})
        };
        let name = IndexSpec {
            unique: true,
            ..IndexSpec::new(doc! {"name": 1})
        };
        let merged = merge_variant_indexes(
            Vec::new(),
            vec![vec![chip.clone(), name.clone()], vec![name.clone()]],
        );
        assert_eq!(
            merged,
            vec![
                IndexSpec {
                    sparse: true,
                    ..chip
                },
                name
            ]
        );
    }

    #[test]
    fn the_schema_requires_the_tag_and_matches_each_variant_by_it() {
        let schema = schema_of_variants(
            "kind",
            vec![
                ("Dog", doc! {"bsonType": "object", "required": ["name"]}),
                ("Cat", doc! {"bsonType": "object"}),
            ],
        );
        assert_eq!(
            schema.get_array("required").unwrap(),
            &vec![Bson::from("kind")]
        );
        let any_of = schema.get_array("anyOf").unwrap();
        assert_eq!(
            any_of[0],
            Bson::Document(doc! {
                "bsonType": "object",
                "required": ["kind", "name"],
                "properties": {"kind": {"enum": ["Dog"]}},
            })
        );
        assert_eq!(
            schema.get_document("properties").unwrap(),
            &doc! {"kind": {"enum": ["Dog", "Cat"]}}
        );
    }
}
