//! References between models: a `Ref<T>` field stores the id of a `T` document and,
//! once populated, holds that document too.
//!
//! ```
//! use odm::prelude::*;
//! use odm::Ref;
//!
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! struct User {
//!     #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
//!     id: Option<ObjectId>,
//!     name: String,
//! }
//!
//! #[derive(Model, Serialize, Deserialize, Debug)]
//! struct Post {
//!     #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
//!     id: Option<ObjectId>,
//!     author: Ref<User>,              // stored as the user's _id
//!     reviewers: Vec<Ref<User>>,      // an array of ids
//!     editor: Option<Ref<User>>,      // an id or nothing
//! }
//!
//! let ann = ObjectId::new();
//! let post = Post { id: None, author: Ref::new(ann)?, reviewers: vec![], editor: None };
//! assert_eq!(post.author.key(), &Bson::ObjectId(ann));
//! assert!(post.author.get().is_none()); // not loaded: `populate` loads it
//! # Ok::<(), odm::Error>(())
//! ```
//!
//! A reference is typed by its target: `Ref::<User>::new` takes what names a `User`
//! (its id as the model holds it, or the value inside), and `populate` loads it from
//! `User`'s collection. It is stored as the bare id, so other drivers, `$lookup` and
//! indexes see an ordinary field. Reading a populated reference gives the document;
//! a reference whose document does not exist reads as [`Error::Dangling`], never a panic.

use std::fmt;
use std::marker::PhantomData;

use bson::Bson;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::field::{Field, FieldType};
use crate::id::IdValue;
use crate::model::Model;

/// The key under which `populate` hands a loaded document to `Ref`'s deserializer.
pub(crate) const LOADED: &str = "$odm.loaded";
/// The key under which `populate` marks an id whose document does not exist.
pub(crate) const DANGLING: &str = "$odm.dangling";

/// A reference to a document of model `T`, stored as its id.
pub struct Ref<T: Model> {
    key: Bson,
    state: State<T>,
    _target: PhantomData<fn() -> T>,
}

enum State<T> {
    /// Only the id is known: the reference was not populated.
    Id,
    Loaded(Box<T>),
    /// Populated, and no document has this id.
    Dangling,
}

impl<T: Model> Ref<T> {
    /// A reference to the `T` with this id: the id as `T` holds it (`Option<ObjectId>`)
    /// or the value inside (`ObjectId`). `None` is `Error::MissingId`.
    pub fn new(id: impl IdValue<T::Id>) -> Result<Self> {
        Ok(Ref {
            key: id.into_id()?,
            state: State::Id,
            _target: PhantomData,
        })
    }

    /// A reference to `target`, which must have its id (inserted, or given one).
    pub fn to(target: &T) -> Result<Self> {
        match bson::serialize_to_bson(target.id())? {
            Bson::Null => Err(Error::MissingId),
            key => Ok(Ref {
                key,
                state: State::Id,
                _target: PhantomData,
            }),
        }
    }

    /// The stored id, as BSON.
    pub fn key(&self) -> &Bson {
        &self.key
    }

    /// The referenced document when `populate` loaded it.
    pub fn get(&self) -> Option<&T> {
        match &self.state {
            State::Loaded(doc) => Some(doc),
            _ => None,
        }
    }

    /// The referenced document: `Error::NotPopulated` when the query did not populate
    /// this path, `Error::Dangling` when no document has the id.
    pub fn loaded(&self) -> Result<&T> {
        match &self.state {
            State::Loaded(doc) => Ok(doc),
            State::Id => Err(Error::NotPopulated {
                collection: T::COLLECTION,
                id: Box::new(self.key.clone()),
            }),
            State::Dangling => Err(Error::Dangling {
                collection: T::COLLECTION,
                id: Box::new(self.key.clone()),
            }),
        }
    }

    /// Takes the loaded document out, leaving the id.
    pub fn take(&mut self) -> Option<T> {
        match std::mem::replace(&mut self.state, State::Id) {
            State::Loaded(doc) => Some(*doc),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// Whether `populate` found that no document has this id.
    pub fn is_dangling(&self) -> bool {
        matches!(self.state, State::Dangling)
    }
}

impl<T: Model> From<&Ref<T>> for Bson {
    fn from(r: &Ref<T>) -> Bson {
        r.key.clone()
    }
}

impl<T: Model + Clone> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Ref {
            key: self.key.clone(),
            state: match &self.state {
                State::Id => State::Id,
                State::Loaded(doc) => State::Loaded(doc.clone()),
                State::Dangling => State::Dangling,
            },
            _target: PhantomData,
        }
    }
}

/// Two references are equal when they name the same document, loaded or not.
impl<T: Model> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T: Model + fmt::Debug> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Ref");
        s.field("collection", &T::COLLECTION).field("id", &self.key);
        match &self.state {
            State::Id => {}
            State::Loaded(doc) => {
                s.field("loaded", doc);
            }
            State::Dangling => {
                s.field("dangling", &true);
            }
        }
        s.finish()
    }
}

/// Stored as the bare id, whether loaded or not.
impl<T: Model> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.key.serialize(serializer)
    }
}

impl<'de, T: Model> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Bson::deserialize(deserializer)?;
        let (key, state) = match value {
            Bson::Document(mut d) if d.len() == 1 && d.contains_key(LOADED) => {
                let Some(Bson::Document(doc)) = d.remove(LOADED) else {
                    return Err(serde::de::Error::custom(
                        "a populated reference holds a document",
                    ));
                };
                let key = doc.get("_id").cloned().unwrap_or(Bson::Null);
                let loaded: T = bson::deserialize_from_document(doc).map_err(|e| {
                    serde::de::Error::custom(format!(
                        "the referenced {} document does not read as the model: {e}",
                        T::COLLECTION
                    ))
                })?;
                (key, State::Loaded(Box::new(loaded)))
            }
            Bson::Document(mut d) if d.len() == 1 && d.contains_key(DANGLING) => {
                (d.remove(DANGLING).unwrap_or(Bson::Null), State::Dangling)
            }
            key => (key, State::Id),
        };
        Ok(Ref {
            key,
            state,
            _target: PhantomData,
        })
    }
}

impl<T: Model> FieldType for Ref<T> {
    type Scalar = Ref<T>;
    type Item = Ref<T>;
    type Paths<M: 'static> = Field<M, Ref<T>>;

    fn to_bson(value: &Self) -> std::result::Result<Bson, bson::error::Error> {
        Ok(value.key.clone())
    }
}
