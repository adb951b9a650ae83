//! What a query knows of a document besides its fields: a `$text` query's score and a
//! `$near`'s (or `$geoNear`'s) distance and point, which `{$meta: "textScore" |
//! "geoNearDistance" | "geoNearPoint"}` reads in a find's projection and in the pipeline
//! stages after them.
//!
//! The values travel with the document as one reserved top-level field (no stored field
//! can start with `$`), so that every stage that passes documents on (`$match`, `$sort`,
//! `$limit`, `$addFields`, `$unwind`, `$lookup`...) keeps them, and stages that make new
//! documents (`$group`, `$bucket`, `$replaceRoot`) drop them, as mongod does. A pipeline
//! removes the field from what it outputs; `$$ROOT` never shows it.

use bson::{Bson, Document};

use crate::engine::matcher::Filter;

/// The reserved field.
const FIELD: &str = "$__odm_meta__";

/// The keywords of `$meta` that this server attaches.
pub const KEYWORDS: [&str; 3] = ["textScore", "geoNearDistance", "geoNearPoint"];

/// Attaches a value under a `$meta` keyword.
pub fn set(doc: &mut Document, keyword: &str, value: Bson) {
    match doc.get_mut(FIELD) {
        Some(Bson::Document(meta)) => {
            meta.insert(keyword, value);
        }
        _ => {
            let mut meta = Document::new();
            meta.insert(keyword, value);
            doc.insert(FIELD, meta);
        }
    }
}

/// The value attached under a keyword, if any.
pub fn get<'a>(doc: &'a Document, keyword: &str) -> Option<&'a Bson> {
    match doc.get(FIELD) {
        Some(Bson::Document(meta)) => meta.get(keyword),
        _ => None,
    }
}

/// Carries `from`'s metadata over to a document made from it (a `$project`'s output).
pub fn carry(from: &Document, to: &mut Document) {
    if let Some(meta) = from.get(FIELD) {
        to.insert(FIELD, meta.clone());
    }
}

/// Removes the metadata from a document leaving the pipeline.
pub fn strip(doc: &mut Document) {
    doc.remove(FIELD);
}

/// The document without its metadata, as `$$ROOT` shows it.
pub fn without(doc: &Document) -> Document {
    let mut copy = doc.clone();
    strip(&mut copy);
    copy
}

/// The text score a document carries (what `{$meta: "textScore"}` sorts by).
pub fn text_score(doc: &Document) -> Option<f64> {
    match get(doc, "textScore") {
        Some(Bson::Double(s)) => Some(*s),
        _ => None,
    }
}

/// Whether a query attaches anything to the documents it finds (`$text`, `$near`).
pub fn attaches(filter: &Filter) -> bool {
    filter.text().is_some() || filter.near().is_some()
}

/// Attaches what the query that found `doc` knows of it: its text score under `$text`,
/// its distance and nearest location under `$near`.
pub fn attach(filter: &Filter, doc: &mut Document) {
    if let Some(score) = filter.text_score(doc) {
        set(doc, "textScore", Bson::Double(score));
    }
    if let Some((path, near)) = filter.near()
        && let Some((distance, location)) = near.nearest(doc, path)
    {
        set(doc, "geoNearDistance", Bson::Double(distance));
        set(doc, "geoNearPoint", location);
    }
}

/// [`attach`] for every document a query found.
pub fn attach_all(filter: &Filter, docs: &mut [Document]) {
    if attaches(filter) {
        docs.iter_mut().for_each(|doc| attach(filter, doc));
    }
}
