//! Ids as the model holds them. A model's id is often `Option<ObjectId>` (`None` until the
//! first insert), and the methods that take an id (`get`, `find_by_id`, `update_by_id`,
//! `delete_by_id`, `Filter::id`) accept it as it is, `None` being `Error::MissingId`, as
//! well as the bare value: no `unwrap` at every call.

use bson::Bson;

use crate::error::{Error, Result};
use crate::field::FieldType;

/// A value that names a document of a model whose id field has type `Id`: the id as
/// declared (`Option<ObjectId>`), a reference to it, or the value inside (`ObjectId`,
/// `&str` for a `String` id).
#[diagnostic::on_unimplemented(
    message = "a `{Self}` cannot name a document whose id is a `{Id}`",
    label = "expected the id as the model holds it, or the value inside it"
)]
pub trait IdValue<Id> {
    /// The id's BSON; `None` (or a null) is `Error::MissingId`.
    fn into_id(self) -> Result<Bson>;
}

fn present(id: Bson) -> Result<Bson> {
    match id {
        Bson::Null => Err(Error::MissingId),
        id => Ok(id),
    }
}

impl<T: FieldType> IdValue<T> for T {
    fn into_id(self) -> Result<Bson> {
        present(T::to_bson(&self)?)
    }
}

impl<T: FieldType> IdValue<T> for &T {
    fn into_id(self) -> Result<Bson> {
        present(T::to_bson(self)?)
    }
}

impl<T: FieldType + serde::Serialize> IdValue<Option<T>> for T {
    fn into_id(self) -> Result<Bson> {
        present(T::to_bson(&self)?)
    }
}

impl<T: FieldType + serde::Serialize> IdValue<Option<T>> for &T {
    fn into_id(self) -> Result<Bson> {
        present(T::to_bson(self)?)
    }
}

impl IdValue<String> for &str {
    fn into_id(self) -> Result<Bson> {
        Ok(Bson::String(self.to_owned()))
    }
}

impl IdValue<Option<String>> for &str {
    fn into_id(self) -> Result<Bson> {
        Ok(Bson::String(self.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;

    fn id<Id, V: IdValue<Id>>(v: V) -> Result<Bson> {
        v.into_id()
    }

    #[test]
    fn an_id_as_the_model_holds_it_or_bare() {
        let oid = ObjectId::new();
        let held = Some(oid);
        assert_eq!(
            id::<Option<ObjectId>, _>(held).unwrap(),
            Bson::ObjectId(oid)
        );
        assert_eq!(
            id::<Option<ObjectId>, _>(&held).unwrap(),
            Bson::ObjectId(oid)
        );
        assert_eq!(id::<Option<ObjectId>, _>(oid).unwrap(), Bson::ObjectId(oid));
        assert_eq!(
            id::<Option<ObjectId>, _>(&oid).unwrap(),
            Bson::ObjectId(oid)
        );
        assert_eq!(id::<ObjectId, _>(oid).unwrap(), Bson::ObjectId(oid));
        assert_eq!(id::<String, _>("a").unwrap(), Bson::String("a".to_string()));
        assert!(matches!(
            id::<Option<ObjectId>, _>(None::<ObjectId>),
            Err(Error::MissingId)
        ));
    }
}
