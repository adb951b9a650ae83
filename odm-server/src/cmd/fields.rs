//! Typed access to a command document's fields, with the errors mongod's parser gives:
//! `BSON field 'find.filter' is the wrong type 'int', expected type 'object'`
//! (TypeMismatch, 14), or `BSON field 'insert.documents' is missing but a required field`
//! (code 40414).

use bson::{Bson, Document};

use crate::engine::arith;
use crate::engine::collation::{self, Collator};
use crate::engine::types::{type_alias, type_number};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A command document and its name, for error messages.
pub struct Fields<'a> {
    pub command: &'a str,
    pub doc: &'a Document,
}

fn type_name(v: &Bson) -> &'static str {
    type_alias(type_number(v)).unwrap_or("unknown")
}

impl<'a> Fields<'a> {
    pub fn new(doc: &'a Document) -> Self {
        Fields {
            command: doc.keys().next().map(String::as_str).unwrap_or(""),
            doc,
        }
    }

    /// `TypeMismatch` for `field` holding `value` where `expected` was due.
    pub fn wrong_type(&self, field: &str, value: &Bson, expected: &str) -> CommandError {
        CommandError::type_mismatch(format!(
            "BSON field '{}.{field}' is the wrong type '{}', expected type '{expected}'",
            self.command,
            type_name(value)
        ))
    }

    pub fn missing(&self, field: &str) -> CommandError {
        CommandError::new(
            ErrorCode::Location(40414),
            format!(
                "BSON field '{}.{field}' is missing but a required field",
                self.command
            ),
        )
    }

    /// An operation's `collation`: `None` when absent or empty (the collection's default
    /// applies), `Some(None)` for the simple collation asked for.
    pub fn collation(&self) -> CmdResult<Option<Option<Collator>>> {
        collation::parse_option(self.document("collation")?)
    }

    /// The collection name a command names in its first field.
    pub fn collection(&self) -> CmdResult<&'a str> {
        match self.doc.get(self.command) {
            Some(Bson::String(s)) if !s.is_empty() => Ok(s),
            Some(Bson::String(_)) => Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                "Invalid namespace specified: collection name is empty",
            )),
            Some(other) => Err(CommandError::new(
                ErrorCode::InvalidNamespace,
                format!("collection name has invalid type {}", type_name(other)),
            )),
            None => Err(self.missing(self.command)),
        }
    }

    pub fn document(&self, field: &str) -> CmdResult<Option<&'a Document>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Document(d)) => Ok(Some(d)),
            Some(other) => Err(self.wrong_type(field, other, "object")),
        }
    }

    pub fn array(&self, field: &str) -> CmdResult<Option<&'a Vec<Bson>>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.wrong_type(field, other, "array")),
        }
    }

    /// An array of documents (`documents`, `updates`, `deletes`, `indexes`).
    pub fn documents(&self, field: &str) -> CmdResult<Vec<&'a Document>> {
        let items = self.array(field)?.ok_or_else(|| self.missing(field))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Bson::Document(d) => Ok(d),
                other => Err(self.wrong_type(&format!("{field}.{i}"), other, "object")),
            })
            .collect()
    }

    pub fn string(&self, field: &str) -> CmdResult<Option<&'a str>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, other, "string")),
        }
    }

    /// A boolean; numbers are accepted as mongod does (non-zero is true).
    pub fn bool(&self, field: &str) -> CmdResult<Option<bool>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::Boolean(b)) => Ok(Some(*b)),
            Some(n) if arith::is_number(n) => Ok(Some(arith::to_f64(n) != Some(0.0))),
            Some(other) => Err(self.wrong_type(field, other, "bool")),
        }
    }

    /// A whole number (int32, int64, or a double without fraction).
    pub fn integer(&self, field: &str) -> CmdResult<Option<i64>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(v) if arith::is_number(v) => arith::to_i64_exact(v).map(Some).ok_or_else(|| {
                CommandError::bad_value(format!(
                    "BSON field '{}.{field}' must be a whole number, got {v}",
                    self.command
                ))
            }),
            Some(other) => Err(self.wrong_type(field, other, "long")),
        }
    }

    /// A whole number that may not be negative.
    pub fn non_negative(&self, field: &str) -> CmdResult<Option<u64>> {
        match self.integer(field)? {
            Some(n) if n < 0 => Err(CommandError::new(
                ErrorCode::Location(51024),
                format!("BSON field '{field}' value must be >= 0, actual value '{n}'"),
            )),
            other => Ok(other.map(|n| n as u64)),
        }
    }
}

/// The `db.collection` namespace string.
pub fn namespace(db: &str, collection: &str) -> String {
    format!("{db}.{collection}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn errors_name_the_field_and_types() {
        let d = doc! {"find": "c", "filter": 5, "limit": -1, "skip": 1.5};
        let f = Fields::new(&d);
        assert_eq!(f.collection().unwrap(), "c");
        let err = f.document("filter").unwrap_err();
        assert_eq!(err.code, ErrorCode::TypeMismatch);
        assert_eq!(
            err.message,
            "BSON field 'find.filter' is the wrong type 'int', expected type 'object'"
        );
        assert!(f.non_negative("limit").is_err());
        assert!(f.integer("skip").is_err());
        assert_eq!(f.documents("documents").unwrap_err().code.code(), 40414);
        let d = doc! {"find": 1};
        assert_eq!(
            Fields::new(&d).collection().unwrap_err().code,
            ErrorCode::InvalidNamespace
        );
    }
}
