//! Validation: the rules declared with `#[odm(...)]` attributes, checked before every
//! write the ODM sends.
//!
//! `validate()` collects *every* failure, each with its dotted path (`address.zip`), a
//! machine-readable code (`length`, `range`, `email`, `url`, `pattern`, `one_of`,
//! `non_empty`, `custom`, `type`) and a message. The traits below are what generated code
//! calls for each rule; a rule on a field type it does not fit (`range` on a `String`)
//! fails to compile with a message saying so.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use bson::Bson;
use serde::de::DeserializeOwned;

/// One failed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The dotted path of the value (`address.zip`, `tags.2`).
    pub path: String,
    /// Which rule failed: `length`, `range`, `email`, `url`, `pattern`, `one_of`,
    /// `non_empty`, `custom` or `type`.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every failed rule of a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    errors: Vec<ValidationError>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(
        &mut self,
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.errors.push(ValidationError {
            path: path.into(),
            code,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ValidationError> {
        self.errors.iter()
    }

    /// The failures at one path.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a ValidationError> + 'a {
        self.errors.iter().filter(move |e| e.path == path)
    }

    /// `Ok` when nothing failed.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        write!(f, "{}", parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

/// Types with validation rules: models and embedded documents (derived).
pub trait Validate {
    /// Checks every rule, reporting failures under `at` (the dotted prefix of this value).
    fn validate_at(&self, at: &str, errors: &mut ValidationErrors);

    /// Checks a value an update is about to store at `path` (relative to this type),
    /// against the rules of the field it lands in. Paths that reach no rule are fine.
    fn validate_stored_value(path: &str, value: &Bson, at: &str, errors: &mut ValidationErrors);

    /// Every failed rule, or `Ok`.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.validate_at("", &mut errors);
        errors.into_result()
    }
}

/// Joins a prefix and a name into a dotted path.
pub fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

/// Splits the first segment off a dotted path.
pub fn split_path(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    }
}

/// `a == b` in a constant, for checks the derives make at compile time.
pub const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Reads a value an update would store as the field's Rust type; a value of the wrong
/// shape is a `type` failure.
pub fn stored_value<T: DeserializeOwned>(
    value: &Bson,
    at: &str,
    errors: &mut ValidationErrors,
) -> Option<T> {
    match bson::deserialize_from_bson::<T>(value.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(
                at,
                "type",
                format!("value {value} does not fit this field: {e}"),
            );
            None
        }
    }
}

/// `length(min, max)`: strings (in characters), arrays and maps (in elements).
#[diagnostic::on_unimplemented(
    message = "`length` needs a string, array or map field; `{Self}` is none of these",
    label = "`length` does not fit this field"
)]
pub trait HasLength {
    fn length(&self) -> usize;
}

impl HasLength for String {
    fn length(&self) -> usize {
        self.chars().count()
    }
}

impl<T> HasLength for Vec<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<K, V, S> HasLength for HashMap<K, V, S> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<K, V> HasLength for BTreeMap<K, V> {
    fn length(&self) -> usize {
        self.len()
    }
}

/// `non_empty`: strings, arrays and maps with at least one element.
#[diagnostic::on_unimplemented(
    message = "`non_empty` needs a string, array or map field; `{Self}` is none of these",
    label = "`non_empty` does not fit this field"
)]
pub trait CanBeEmpty {
    fn is_empty_value(&self) -> bool;
}

impl<T: HasLength> CanBeEmpty for T {
    fn is_empty_value(&self) -> bool {
        self.length() == 0
    }
}

/// `range(min, max)`: numbers.
#[diagnostic::on_unimplemented(
    message = "`range` needs a numeric field; `{Self}` is not a number",
    label = "`range` does not fit this field"
)]
pub trait InRange {
    fn as_number(&self) -> f64;
}

macro_rules! in_range {
    ($($t:ty),*) => {$(
        impl InRange for $t {
            fn as_number(&self) -> f64 {
                *self as f64
            }
        }
    )*};
}
in_range!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, isize, usize);

/// `email`, `url`, `pattern`: strings.
#[diagnostic::on_unimplemented(
    message = "`email`, `url` and `pattern` need a string field; `{Self}` is not a string",
    label = "this rule does not fit this field"
)]
pub trait IsText {
    fn text(&self) -> &str;
}

impl IsText for String {
    fn text(&self) -> &str {
        self
    }
}

/// Checks `length(min, max)`.
pub fn check_length(
    value: &impl HasLength,
    min: Option<usize>,
    max: Option<usize>,
    at: &str,
    errors: &mut ValidationErrors,
) {
    let n = value.length();
    let ok = min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
    if !ok {
        let message = match (min, max) {
            (Some(a), Some(b)) if a == b => format!("length must be {a} (is {n})"),
            (Some(a), Some(b)) => format!("length must be between {a} and {b} (is {n})"),
            (Some(a), None) => format!("length must be at least {a} (is {n})"),
            (None, Some(b)) => format!("length must be at most {b} (is {n})"),
            (None, None) => return,
        };
        errors.push(at, "length", message);
    }
}

/// Checks `range(min, max)`.
pub fn check_range(
    value: &impl InRange,
    min: Option<f64>,
    max: Option<f64>,
    at: &str,
    errors: &mut ValidationErrors,
) {
    let n = value.as_number();
    let ok = !n.is_nan() && min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
    if !ok {
        let message = match (min, max) {
            (Some(a), Some(b)) => format!("must be between {a} and {b} (is {n})"),
            (Some(a), None) => format!("must be at least {a} (is {n})"),
            (None, Some(b)) => format!("must be at most {b} (is {n})"),
            (None, None) => format!("must be a number (is {n})"),
        };
        errors.push(at, "range", message);
    }
}

/// Checks `non_empty`.
pub fn check_non_empty(value: &impl CanBeEmpty, at: &str, errors: &mut ValidationErrors) {
    if value.is_empty_value() {
        errors.push(at, "non_empty", "must not be empty");
    }
}

/// Checks `email`: one `@`, a non-empty local part, a domain with a dot and no empty
/// label, no whitespace. (Deliverability is for a confirmation mail to decide.)
pub fn check_email(value: &impl IsText, at: &str, errors: &mut ValidationErrors) {
    if !is_email(value.text()) {
        errors.push(at, "email", "must be an email address");
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
        && !s.chars().any(char::is_whitespace)
}

/// Checks `url`: an `http`, `https` (or other) scheme, `://`, and a host.
pub fn check_url(value: &impl IsText, at: &str, errors: &mut ValidationErrors) {
    if !is_url(value.text()) {
        errors.push(at, "url", "must be a URL");
    }
}

fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host_name = host.split(':').next().unwrap_or("");
    !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !host_name.is_empty()
        && !s.chars().any(char::is_whitespace)
}

/// Checks `pattern = "..."` against a regex compiled once by the caller.
pub fn check_pattern(
    value: &impl IsText,
    regex: &regex::Regex,
    at: &str,
    errors: &mut ValidationErrors,
) {
    if !regex.is_match(value.text()) {
        errors.push(
            at,
            "pattern",
            format!("must match the pattern {}", regex.as_str()),
        );
    }
}

/// Checks `one_of(...)`.
pub fn check_one_of<T: PartialEq<U> + fmt::Debug, U: fmt::Debug>(
    value: &T,
    allowed: &[U],
    at: &str,
    errors: &mut ValidationErrors,
) {
    if !allowed.iter().any(|a| value == a) {
        errors.push(
            at,
            "one_of",
            format!("must be one of {allowed:?} (is {value:?})"),
        );
    }
}

/// Checks `custom = path::to::fn`, a `fn(&T) -> Result<(), String>` where the field
/// borrows as `T` (so a `String` field takes `fn(&str)` or `fn(&String)`).
pub fn check_custom<F: Borrow<T> + ?Sized, T: ?Sized>(
    value: &F,
    rule: fn(&T) -> Result<(), String>,
    at: &str,
    errors: &mut ValidationErrors,
) {
    if let Err(message) = rule(value.borrow()) {
        errors.push(at, "custom", message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_urls() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@b..co", "a b@c.de", "a@b@c.de", "a@-b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for ok in [
            "https://example.com",
            "http://localhost:8080/x?y#z",
            "mongodb://u@h:27017/db",
        ] {
            assert!(is_url(ok), "{ok}");
        }
        for bad in ["", "example.com", "https://", "ht tp://x.y", "://x.y"] {
            assert!(!is_url(bad), "{bad}");
        }
    }

    #[test]
    fn messages_and_codes() {
        let mut e = ValidationErrors::new();
        check_length(&"abcd".to_string(), Some(5), Some(5), "address.zip", &mut e);
        check_range(&200u32, Some(0.0), Some(150.0), "age", &mut e);
        check_non_empty(&Vec::<i32>::new(), "tags", &mut e);
        check_one_of(&"x".to_string(), &["a", "b"], "role", &mut e);
        check_custom(
            &3i32,
            |v| {
                if *v > 2 {
                    Err("too big".into())
                } else {
                    Ok(())
                }
            },
            "n",
            &mut e,
        );
        let shown: Vec<String> = e.iter().map(|x| format!("{} [{}]", x, x.code)).collect();
        assert_eq!(
            shown,
            vec![
                "address.zip: length must be 5 (is 4) [length]",
                "age: must be between 0 and 150 (is 200) [range]",
                "tags: must not be empty [non_empty]",
                "role: must be one of [\"a\", \"b\"] (is \"x\") [one_of]",
                "n: too big [custom]",
            ]
        );
    }
}
