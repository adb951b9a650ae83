//! Errors as MongoDB reports them: a numeric `code`, its `codeName`, and an `errmsg`.
//!
//! Every failure a client can see goes through [`CommandError`], so that every error reply
//! carries the numeric code the drivers branch on (`11000` for a duplicate key, `43` for a
//! dead cursor, ...). The codes and names are MongoDB's own (`src/mongo/base/error_codes.yml`
//! in the server's source); only the ones this server produces are listed.

use std::fmt;

use bson::{Document, doc};

/// Declares the codes this server sends, once: variant, number, `codeName`.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// A MongoDB error code together with its canonical name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($variant,)*
            /// A code without a name of its own here: shown as `Location<code>`.
            Location(i32),
        }

        impl ErrorCode {
            /// The numeric code sent as `code`.
            pub fn code(self) -> i32 {
                match self {
                    $(ErrorCode::$variant => $code,)*
                    ErrorCode::Location(n) => n,
                }
            }

            /// The `codeName` sent with it.
            pub fn name(self) -> String {
                match self {
                    $(ErrorCode::$variant => $name.to_owned(),)*
                    ErrorCode::Location(n) => format!("Location{n}"),
                }
            }

            /// The code with this number (a `Location` code when it has no name here).
            pub fn from_code(code: i32) -> ErrorCode {
                match code {
                    $($code => ErrorCode::$variant,)*
                    n => ErrorCode::Location(n),
                }
            }
        }
    };
}

error_codes! {
    InternalError = 1, "InternalError";
    BadValue = 2, "BadValue";
    NoSuchKey = 4, "NoSuchKey";
    UserNotFound = 11, "UserNotFound";
    HostUnreachable = 6, "HostUnreachable";
    FailedToParse = 9, "FailedToParse";
    Unauthorized = 13, "Unauthorized";
    TypeMismatch = 14, "TypeMismatch";
    Overflow = 15, "Overflow";
    InvalidLength = 16, "InvalidLength";
    ProtocolError = 17, "ProtocolError";
    AuthenticationFailed = 18, "AuthenticationFailed";
    IllegalOperation = 20, "IllegalOperation";
    AlreadyInitialized = 23, "AlreadyInitialized";
    NamespaceNotFound = 26, "NamespaceNotFound";
    RoleNotFound = 31, "RoleNotFound";
    IndexNotFound = 27, "IndexNotFound";
    PathNotViable = 28, "PathNotViable";
    ConflictingUpdateOperators = 40, "ConflictingUpdateOperators";
    CursorNotFound = 43, "CursorNotFound";
    NoMatchingDocument = 47, "NoMatchingDocument";
    NamespaceExists = 48, "NamespaceExists";
    MaxTimeMSExpired = 50, "MaxTimeMSExpired";
    InvalidIdField = 53, "InvalidIdField";
    CommandNotFound = 59, "CommandNotFound";
    ImmutableField = 66, "ImmutableField";
    CannotCreateIndex = 67, "CannotCreateIndex";
    InvalidOptions = 72, "InvalidOptions";
    InvalidNamespace = 73, "InvalidNamespace";
    IndexOptionsConflict = 85, "IndexOptionsConflict";
    IndexKeySpecsConflict = 86, "IndexKeySpecsConflict";
    ViewDepthLimitExceeded = 149, "ViewDepthLimitExceeded";
    CommandNotSupportedOnView = 166, "CommandNotSupportedOnView";
    OptionNotSupportedOnView = 167, "OptionNotSupportedOnView";
    GraphContainsCycle = 5, "GraphContainsCycle";
    InvalidPipelineOperator = 168, "InvalidPipelineOperator";
    NotSingleValueField = 102, "NotSingleValueField";
    WriteConflict = 112, "WriteConflict";
    IndexOptionsNotSupported = 115, "IndexOptionsNotSupported";
    ConflictingOperationInProgress = 117, "ConflictingOperationInProgress";
    DocumentValidationFailure = 121, "DocumentValidationFailure";
    CannotIndexParallelArrays = 171, "CannotIndexParallelArrays";
    InvalidIndexSpecificationOption = 197, "InvalidIndexSpecificationOption";
    TransactionTooOld = 225, "TransactionTooOld";
    SnapshotTooOld = 239, "SnapshotTooOld";
    ConversionFailure = 241, "ConversionFailure";
    CannotConvertIndexToUnique = 359, "CannotConvertIndexToUnique";
    QueryFeatureNotAllowed = 224, "QueryFeatureNotAllowed";
    NoSuchTransaction = 251, "NoSuchTransaction";
    TransactionCommitted = 256, "TransactionCommitted";
    InvalidResumeToken = 260, "InvalidResumeToken";
    OperationNotSupportedInTransaction = 263, "OperationNotSupportedInTransaction";
    ChangeStreamFatalError = 280, "ChangeStreamFatalError";
    CursorInUse = 282, "CursorInUse";
    ChangeStreamHistoryLost = 286, "ChangeStreamHistoryLost";
    QueryExceededMemoryLimitNoDiskUseAllowed = 292, "QueryExceededMemoryLimitNoDiskUseAllowed";
    MechanismUnavailable = 334, "MechanismUnavailable";
    UnsupportedOpQueryCommand = 352, "UnsupportedOpQueryCommand";
    NotWritablePrimary = 10107, "NotWritablePrimary";
    BsonObjectTooLarge = 10334, "BSONObjectTooLarge";
    DuplicateKey = 11000, "DuplicateKey";
    InterruptedAtShutdown = 11600, "InterruptedAtShutdown";
}

/// An error reply: `{ok: 0, errmsg, code, codeName}` plus optional extra fields (such as
/// `keyPattern`/`keyValue` on a duplicate key) and error labels.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
    /// Fields merged into the error reply or the `writeErrors` entry.
    pub info: Option<Box<Document>>,
    /// `errorLabels` of the reply (`TransientTransactionError`, ...): drivers decide
    /// from them whether to retry.
    pub labels: Vec<String>,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
            info: None,
            labels: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
        self
    }

    pub fn with_info(mut self, info: Document) -> Self {
        self.info = Some(Box::new(info));
        self
    }

    pub fn bad_value(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadValue, message)
    }

    /// A document read as bytes that does not decode (bytes the wire check let through
    /// are always readable; this names what went wrong if they are not).
    pub fn unreadable_document(e: impl std::fmt::Display) -> Self {
        Self::bad_value(format!("unreadable document: {e}"))
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
            for (k, v) in info.iter() {
                reply.insert(k.clone(), v.clone());
            }
        }
        if !self.labels.is_empty() {
            reply.insert("errorLabels", self.labels.clone());
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
            for (k, v) in info.iter() {
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
