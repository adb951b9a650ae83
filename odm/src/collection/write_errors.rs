//! A write's driver error as an `Error`: duplicate keys with the key that collided
//! (taken from the document written when the server does not send it), and the first
//! failed position of a batch.

use bson::{Bson, Document, RawDocumentBuf};

use super::{Collection, get_path};
use crate::error::Error;
use crate::model::Model;

impl<M: Model> Collection<M> {
    /// Turns a driver error into an `Error`, filling a duplicate key's value from the
    /// document written when the server did not send it.
    pub(super) fn write_error(&self, e: mongodb::error::Error, written: &Document) -> Error {
        match Error::from(e) {
            Error::DuplicateKey { index, key } if key.is_empty() => Error::DuplicateKey {
                key: key_of(&index, written, &M::indexes()),
                index,
            },
            other => other,
        }
    }
}

/// The key a document has in an index, by the index's name.
fn key_of(index: &str, doc: &Document, declared: &[crate::index::IndexSpec]) -> Document {
    let paths: Vec<String> = if index == "_id_" {
        vec!["_id".to_string()]
    } else {
        declared
            .iter()
            .find(|d| d.name() == index)
            .map(|d| d.keys.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut key = Document::new();
    for p in paths {
        key.insert(p.clone(), get_path(doc, &p).cloned().unwrap_or(Bson::Null));
    }
    key
}

pub(super) fn write_error_of(
    code: i32,
    message: &str,
    doc: &Document,
    declared: &[crate::index::IndexSpec],
) -> Error {
    if code == 11000 {
        let index = crate::error::index_from_message(message);
        let key = key_of(&index, doc, declared);
        Error::DuplicateKey { index, key }
    } else {
        Error::Write {
            code,
            message: message.to_string(),
        }
    }
}

pub(super) fn first_failed_position(e: &mongodb::error::Error) -> Option<usize> {
    match &*e.kind {
        mongodb::error::ErrorKind::InsertMany(many) => {
            many.write_errors.as_ref()?.first().map(|w| w.index)
        }
        _ => None,
    }
}

/// A document this ODM encoded, decoded again for an error message.
pub(super) fn decoded(doc: &RawDocumentBuf) -> Document {
    Document::try_from(doc).unwrap_or_default()
}
