//! What a pipeline knows of a document besides its fields: a `$text` query's score and a
//! `$geoNear`'s distance and point, which `{$meta: "textScore" | "geoNearDistance" |
//! "geoNearPoint"}` reads in the stages after them.
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

/// Attaches each document's text score when the query that found them has `$text`.
pub fn attach_text_scores(filter: &Filter, docs: &mut [Document]) {
    if filter.text().is_none() {
        return;
    }
    for doc in docs {
        if let Some(score) = filter.text_score(doc) {
            set(doc, "textScore", Bson::Double(score));
        }
    }
}
