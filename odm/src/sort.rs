//! Sort orders: `f.age.desc().then(f.name.asc())` is `{age: -1, name: 1}`.

use std::fmt;
use std::marker::PhantomData;

use bson::Document;

use crate::field::Field;

/// A sort order for documents of model `M`.
pub struct Sort<M> {
    doc: Document,
    _model: PhantomData<fn() -> M>,
}

impl<M> Clone for Sort<M> {
    fn clone(&self) -> Self {
        Sort {
            doc: self.doc.clone(),
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
    fn key(path: &str, direction: i32) -> Self {
        let mut doc = Document::new();
        doc.insert(path, direction);
        Sort {
            doc,
            _model: PhantomData,
        }
    }

    /// Then by another order, for documents equal so far.
    pub fn then(mut self, next: Sort<M>) -> Self {
        for (k, v) in next.doc {
            if !self.doc.contains_key(&k) {
                self.doc.insert(k, v);
            }
        }
        self
    }

    /// The sort document MongoDB receives.
    pub fn to_document(&self) -> Document {
        self.doc.clone()
    }
}

impl<M, T> Field<M, T> {
    /// Ascending by this field (arrays by their smallest element, missing first).
    pub fn asc(&self) -> Sort<M> {
        Sort::key(self.path(), 1)
    }

    /// Descending by this field (arrays by their largest element, missing last).
    pub fn desc(&self) -> Sort<M> {
        Sort::key(self.path(), -1)
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
