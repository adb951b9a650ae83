//! Sort orders: `f.age.desc().then(f.name.asc())` is `{age: -1, name: 1}`.

use std::fmt;
use std::marker::PhantomData;

use bson::Document;

use crate::field::{Field, FieldType};

/// A sort order for documents of model `M`.
pub struct Sort<M> {
    doc: Document,
    /// Keys with no single value per document (arrays, paths through array elements):
    /// keyset pages cannot resume after one.
    multivalued: Vec<&'static str>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Sort<M> {
    fn clone(&self) -> Self {
        Sort {
            doc: self.doc.clone(),
            multivalued: self.multivalued.clone(),
            _model: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Sort<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sort({})", self.doc)
    }
}

impl<M> Sort<M> {
    fn key(path: &'static str, direction: i32, multivalued: bool) -> Self {
        let mut doc = Document::new();
        doc.insert(path, direction);
        Sort {
            doc,
            multivalued: if multivalued { vec![path] } else { Vec::new() },
            _model: PhantomData,
        }
    }

    /// A sort document built by the crate itself (keyset pages add `_id`).
    pub(crate) fn from_document(doc: Document) -> Self {
        Sort {
            doc,
            multivalued: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Then by another order, for documents equal so far.
    pub fn then(mut self, next: Sort<M>) -> Self {
        for (k, v) in next.doc {
            if !self.doc.contains_key(&k) {
                if let Some(path) = next.multivalued.iter().find(|p| **p == k) {
                    self.multivalued.push(path);
                }
                self.doc.insert(k, v);
            }
        }
        self
    }

    /// The keys in order, each with its direction (1 or -1).
    pub fn keys(&self) -> impl Iterator<Item = (&str, i32)> {
        self.doc
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_i32().unwrap_or(1)))
    }

    /// The first key with no single value per document, if any.
    pub(crate) fn multivalued_key(&self) -> Option<&'static str> {
        self.multivalued.first().copied()
    }

    /// The sort document MongoDB receives.
    pub fn to_document(&self) -> Document {
        self.doc.clone()
    }
}

impl<M, T: FieldType> Field<M, T> {
    /// Ascending by this field (arrays by their smallest element, missing first).
    pub fn asc(&self) -> Sort<M> {
        Sort::key(self.path(), 1, self.through_array() || T::IS_ARRAY)
    }

    /// Descending by this field (arrays by their largest element, missing last).
    pub fn desc(&self) -> Sort<M> {
        Sort::key(self.path(), -1, self.through_array() || T::IS_ARRAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    struct User;

    #[test]
    fn keys_in_order() {
        let age: Field<User, u32> = Field::new("age");
        let name: Field<User, String> = Field::new("n");
        assert_eq!(
            age.desc().then(name.asc()).to_document(),
            doc! {"age": -1, "n": 1}
        );
        assert_eq!(age.desc().then(age.asc()).to_document(), doc! {"age": -1});
    }
}
