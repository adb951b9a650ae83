//! Errors as MongoDB reports them: a numeric `code`, its `codeName`, and an `errmsg`.
//!
//! Every failure a client can see goes through [`CommandError`], so that every error reply
//! carries the numeric code the drivers branch on (`11000` for a duplicate key, `43` for a
//! dead cursor, ...). The codes and names are MongoDB's own (`src/mongo/base/error_codes.yml`
//! in the server's source); only the ones this server produces are listed.

use std::fmt;

use bson::{Document, doc};

/// A MongoDB error code together with its canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    InternalError,
    BadValue,
    NoSuchKey,
    FailedToParse,
    TypeMismatch,
    Unauthorized,
    AuthenticationFailed,
    IllegalOperation,
    IndexNotFound,
    NamespaceNotFound,
    ImmutableField,
    ConflictingUpdateOperators,
    CursorNotFound,
    CommandNotFound,
    InvalidOptions,
    InvalidNamespace,
    IndexOptionsConflict,
    IndexKeySpecsConflict,
    NamespaceExists,
    CannotCreateIndex,
    InvalidIdField,
    CannotIndexParallelArrays,
    DocumentValidationFailure,
    NoSuchTransaction,
    OperationNotSupportedInTransaction,
    QueryExceededMemoryLimitNoDiskUseAllowed,
    UnsupportedOpQueryCommand,
    Location(i32),
    DuplicateKey,
    BsonObjectTooLarge,
    InvalidLength,
    PathNotViable,
    NotSingleValueField,
    Overflow,
    CursorInUse,
    IndexOptionsNotSupported,
    InvalidIndexSpecificationOption,
}

impl ErrorCode {
    /// The numeric code sent as `code`.
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::InternalError => 1,
            ErrorCode::BadValue => 2,
            ErrorCode::NoSuchKey => 4,
            ErrorCode::FailedToParse => 9,
            ErrorCode::Unauthorized => 13,
            ErrorCode::TypeMismatch => 14,
            ErrorCode::Overflow => 15,
            ErrorCode::InvalidLength => 16,
            ErrorCode::AuthenticationFailed => 18,
            ErrorCode::IllegalOperation => 20,
            ErrorCode::IndexNotFound => 27,
            ErrorCode::NamespaceNotFound => 26,
            ErrorCode::PathNotViable => 28,
            ErrorCode::ConflictingUpdateOperators => 40,
            ErrorCode::CursorNotFound => 43,
            ErrorCode::NamespaceExists => 48,
            ErrorCode::CommandNotFound => 59,
            ErrorCode::ImmutableField => 66,
            ErrorCode::CannotCreateIndex => 67,
            ErrorCode::InvalidOptions => 72,
            ErrorCode::InvalidNamespace => 73,
            ErrorCode::IndexOptionsConflict => 85,
            ErrorCode::IndexKeySpecsConflict => 86,
            ErrorCode::NotSingleValueField => 102,
            ErrorCode::IndexOptionsNotSupported => 115,
            ErrorCode::DocumentValidationFailure => 121,
            ErrorCode::CannotIndexParallelArrays => 171,
            ErrorCode::InvalidIndexSpecificationOption => 197,
            ErrorCode::InvalidIdField => 53,
            ErrorCode::NoSuchTransaction => 251,
            ErrorCode::OperationNotSupportedInTransaction => 263,
            ErrorCode::CursorInUse => 282,
            ErrorCode::QueryExceededMemoryLimitNoDiskUseAllowed => 292,
            ErrorCode::UnsupportedOpQueryCommand => 352,
            ErrorCode::DuplicateKey => 11000,
            ErrorCode::BsonObjectTooLarge => 10334,
            ErrorCode::Location(n) => n,
        }
    }

    /// The canonical `codeName`; location codes (numbered assertions) have none, and the
    /// server sends `Location<n>` for them, as mongod does.
    pub fn name(self) -> String {
        let name = match self {
            ErrorCode::InternalError => "InternalError",
            ErrorCode::BadValue => "BadValue",
            ErrorCode::NoSuchKey => "NoSuchKey",
            ErrorCode::FailedToParse => "FailedToParse",
            ErrorCode::Unauthorized => "Unauthorized",
            ErrorCode::TypeMismatch => "TypeMismatch",
            ErrorCode::Overflow => "Overflow",
            ErrorCode::InvalidLength => "InvalidLength",
            ErrorCode::AuthenticationFailed => "AuthenticationFailed",
            ErrorCode::IllegalOperation => "IllegalOperation",
            ErrorCode::IndexNotFound => "IndexNotFound",
            ErrorCode::NamespaceNotFound => "NamespaceNotFound",
            ErrorCode::PathNotViable => "PathNotViable",
            ErrorCode::ConflictingUpdateOperators => "ConflictingUpdateOperators",
            ErrorCode::CursorNotFound => "CursorNotFound",
            ErrorCode::NamespaceExists => "NamespaceExists",
            ErrorCode::CommandNotFound => "CommandNotFound",
            ErrorCode::ImmutableField => "ImmutableField",
            ErrorCode::CannotCreateIndex => "CannotCreateIndex",
            ErrorCode::InvalidOptions => "InvalidOptions",
            ErrorCode::InvalidNamespace => "InvalidNamespace",
            ErrorCode::IndexOptionsConflict => "IndexOptionsConflict",
            ErrorCode::IndexKeySpecsConflict => "IndexKeySpecsConflict",
            ErrorCode::NotSingleValueField => "NotSingleValueField",
            ErrorCode::IndexOptionsNotSupported => "IndexOptionsNotSupported",
            ErrorCode::DocumentValidationFailure => "DocumentValidationFailure",
            ErrorCode::CannotIndexParallelArrays => "CannotIndexParallelArrays",
            ErrorCode::InvalidIndexSpecificationOption => "InvalidIndexSpecificationOption",
            ErrorCode::InvalidIdField => "InvalidIdField",
            ErrorCode::NoSuchTransaction => "NoSuchTransaction",
            ErrorCode::OperationNotSupportedInTransaction => "OperationNotSupportedInTransaction",
            ErrorCode::CursorInUse => "CursorInUse",
            ErrorCode::QueryExceededMemoryLimitNoDiskUseAllowed => {
                "QueryExceededMemoryLimitNoDiskUseAllowed"
            }
            ErrorCode::UnsupportedOpQueryCommand => "UnsupportedOpQueryCommand",
            ErrorCode::DuplicateKey => "DuplicateKey",
            ErrorCode::BsonObjectTooLarge => "BSONObjectTooLarge",
            ErrorCode::Location(n) => return format!("Location{n}"),
        };
        name.to_owned()
    }
}

/// An error reply: `{ok: 0, errmsg, code, codeName}` plus optional extra fields (such as
/// `keyPattern`/`keyValue` on a duplicate key) and error labels.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
    /// Fields merged into the error reply or the `writeErrors` entry.
    pub info: Option<Document>,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
            info: None,
        }
    }

    pub fn with_info(mut self, info: Document) -> Self {
        self.info = Some(info);
        self
    }

    pub fn bad_value(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadValue, message)
    }

    pub fn failed_to_parse(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::FailedToParse, message)
    }

    pub fn type_mismatch(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TypeMismatch, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// The reply document of a failed command.
    pub fn to_reply(&self) -> Document {
        let mut reply = doc! {
            "ok": 0.0,
            "errmsg": self.message.clone(),
            "code": self.code.code(),
            "codeName": self.code.name(),
        };
        if let Some(info) = &self.info {
            for (k, v) in info {
                reply.insert(k.clone(), v.clone());
            }
        }
        reply
    }

    /// The entry of a `writeErrors` array for the operation at `index` of a batch.
    pub fn to_write_error(&self, index: usize) -> Document {
        let mut entry = doc! {
            "index": index as i32,
            "code": self.code.code(),
            "errmsg": self.message.clone(),
        };
        if let Some(info) = &self.info {
            for (k, v) in info {
                entry.insert(k.clone(), v.clone());
            }
        }
        entry
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code.name(),
            self.code.code(),
            self.message
        )
    }
}

impl std::error::Error for CommandError {}

/// The result type of everything that can fail with a MongoDB error.
pub type CmdResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_carries_numeric_code_and_name() {
        let err = CommandError::new(ErrorCode::CommandNotFound, "no such command: 'frob'");
        let reply = err.to_reply();
        assert_eq!(reply.get_f64("ok").unwrap(), 0.0);
        assert_eq!(reply.get_i32("code").unwrap(), 59);
        assert_eq!(reply.get_str("codeName").unwrap(), "CommandNotFound");
        assert_eq!(reply.get_str("errmsg").unwrap(), "no such command: 'frob'");
    }

    #[test]
    fn location_codes_are_named_like_mongod() {
        assert_eq!(ErrorCode::Location(40352).name(), "Location40352");
        assert_eq!(ErrorCode::Location(40352).code(), 40352);
    }
}
