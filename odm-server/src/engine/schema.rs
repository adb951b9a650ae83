//! `$jsonSchema`: MongoDB's dialect of JSON Schema draft 4, as a query operator and as a
//! collection validator.
//!
//! A schema is parsed once into [`Schema`] and checked against documents. As in JSON
//! Schema, a keyword constrains only values of the type it is about (`minimum` says nothing
//! of a string, `minLength` nothing of a number), and `properties` constrains only fields
//! that are present: absence is `required`'s business. MongoDB's additions: `bsonType`
//! (BSON type aliases, `"number"` for every numeric type) beside JSON's `type`, and no
//! `$ref`, `default`, `format` or `integer` type.

use std::cmp::Ordering;

use bson::{Bson, Document};
use regex::Regex;

use super::compare::{Number, compare, compare_number_values};
use super::types::{TypeSpec, type_from_alias};
use crate::error::{CmdResult, CommandError};

/// A parsed schema: the keywords of one level.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    types: Option<Vec<TypeSpec>>,
    json_types: Option<Vec<JsonType>>,
    required: Vec<String>,
    properties: Vec<(String, Schema)>,
    pattern_properties: Vec<(Regex, Schema)>,
    additional_properties: Option<Additional>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    dependencies: Vec<(String, Dependency)>,
    minimum: Option<(Bson, bool)>,
    maximum: Option<(Bson, bool)>,
    multiple_of: Option<Bson>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Regex>,
    enumeration: Option<Vec<Bson>>,
    items: Option<Items>,
    additional_items: Option<Additional>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    all_of: Vec<Schema>,
    any_of: Vec<Schema>,
    one_of: Vec<Schema>,
    not: Option<Box<Schema>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonType {
    Object,
    Array,
    Number,
    Boolean,
    String,
    Null,
}

#[derive(Clone, Debug)]
enum Additional {
    Allowed(bool),
    Schema(Box<Schema>),
}

#[derive(Clone, Debug)]
enum Items {
    Each(Box<Schema>),
    Tuple(Vec<Schema>),
}

#[derive(Clone, Debug)]
enum Dependency {
    Fields(Vec<String>),
    Schema(Box<Schema>),
}

fn failed(message: impl Into<String>) -> CommandError {
    CommandError::failed_to_parse(message)
}

fn keyword_type(keyword: &str, expected: &str) -> CommandError {
    CommandError::type_mismatch(format!(
        "$jsonSchema keyword '{keyword}' must be {expected}"
    ))
}

fn document<'a>(keyword: &str, value: &'a Bson) -> CmdResult<&'a Document> {
    value
        .as_document()
        .ok_or_else(|| keyword_type(keyword, "an object"))
}

fn count(keyword: &str, value: &Bson) -> CmdResult<usize> {
    let n = Number::from_bson(value).ok_or_else(|| keyword_type(keyword, "a number"))?;
    let f = n.as_f64();
    if f < 0.0 || f.fract() != 0.0 || !f.is_finite() {
        return Err(failed(format!(
            "$jsonSchema keyword '{keyword}' must be a non-negative integral number"
        )));
    }
    Ok(f as usize)
}

fn strings(keyword: &str, value: &Bson) -> CmdResult<Vec<String>> {
    let Bson::Array(items) = value else {
        return Err(keyword_type(keyword, "an array"));
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Bson::String(s) = item else {
            return Err(keyword_type(keyword, "an array of strings"));
        };
        if out.contains(s) {
            return Err(failed(format!(
                "$jsonSchema keyword '{keyword}' array cannot contain duplicate values"
            )));
        }
        out.push(s.clone());
    }
    Ok(out)
}

fn schemas(keyword: &str, value: &Bson) -> CmdResult<Vec<Schema>> {
    match value {
        Bson::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| Schema::parse(document(keyword, i)?))
            .collect(),
        Bson::Array(_) => Err(failed(format!(
            "$jsonSchema keyword '{keyword}' must be a non-empty array"
        ))),
        _ => Err(keyword_type(keyword, "an array")),
    }
}

fn compile(keyword: &str, value: &Bson) -> CmdResult<Regex> {
    let Bson::String(pattern) = value else {
        return Err(keyword_type(keyword, "a string"));
    };
    Regex::new(pattern).map_err(|e| failed(format!("$jsonSchema keyword '{keyword}': {e}")))
}

fn additional(keyword: &str, value: &Bson) -> CmdResult<Additional> {
    match value {
        Bson::Boolean(b) => Ok(Additional::Allowed(*b)),
        Bson::Document(d) => Ok(Additional::Schema(Box::new(Schema::parse(d)?))),
        _ => Err(keyword_type(keyword, "either an object or a boolean")),
    }
}

fn bound(keyword: &str, value: &Bson) -> CmdResult<Bson> {
    match Number::from_bson(value) {
        Some(_) => Ok(value.clone()),
        None => Err(keyword_type(keyword, "a number")),
    }
}

/// A keyword that takes one name or an array of names.
fn one_or_many<T>(value: &Bson, one: impl Fn(&Bson) -> CmdResult<T>) -> CmdResult<Vec<T>> {
    match value {
        Bson::Array(items) => items.iter().map(one).collect(),
        single => one(single).map(|t| vec![t]),
    }
}

fn bson_types(value: &Bson) -> CmdResult<Vec<TypeSpec>> {
    let one = |v: &Bson| -> CmdResult<TypeSpec> {
        match v {
            Bson::String(alias) if alias == "number" => Ok(TypeSpec::AnyNumber),
            Bson::String(alias) => type_from_alias(alias)
                .map(TypeSpec::Exactly)
                .ok_or_else(|| {
                    CommandError::bad_value(format!("Unknown type name alias: {alias}"))
                }),
            _ => Err(keyword_type(
                "bsonType",
                "either a string or an array of strings",
            )),
        }
    };
    one_or_many(value, one)
}

fn json_types(value: &Bson) -> CmdResult<Vec<JsonType>> {
    let one = |v: &Bson| -> CmdResult<JsonType> {
        match v.as_str() {
            Some("object") => Ok(JsonType::Object),
            Some("array") => Ok(JsonType::Array),
            Some("number") => Ok(JsonType::Number),
            Some("boolean") => Ok(JsonType::Boolean),
            Some("string") => Ok(JsonType::String),
            Some("null") => Ok(JsonType::Null),
            Some("integer") => Err(failed(
                "$jsonSchema type 'integer' is not currently supported.",
            )),
            Some(other) => Err(CommandError::bad_value(format!(
                "Unknown JSON Schema type name: {other}"
            ))),
            None => Err(keyword_type(
                "type",
                "either a string or an array of strings",
            )),
        }
    };
    one_or_many(value, one)
}

impl Schema {
    /// Parses the argument of `$jsonSchema`.
    pub fn parse(spec: &Document) -> CmdResult<Schema> {
        crate::depth::guard(|| {
            let mut s = Schema::default();
            let exclusive = |key: &str| -> CmdResult<bool> {
                match spec.get(key) {
                    None => Ok(false),
                    Some(Bson::Boolean(b)) => Ok(*b),
                    Some(_) => Err(keyword_type(key, "a boolean")),
                }
            };
            for (keyword, value) in spec {
                match keyword.as_str() {
                    "bsonType" => s.types = Some(bson_types(value)?),
                    "type" => s.json_types = Some(json_types(value)?),
                    "required" => {
                        s.required = strings(keyword, value)?;
                        if s.required.is_empty() {
                            return Err(failed(
                                "$jsonSchema keyword 'required' cannot be an empty array",
                            ));
                        }
                    }
                    "properties" => {
                        for (name, sub) in document(keyword, value)? {
                            s.properties
                                .push((name.clone(), Schema::parse(document(keyword, sub)?)?));
                        }
                    }
                    "patternProperties" => {
                        for (pattern, sub) in document(keyword, value)? {
                            let regex = compile(keyword, &Bson::String(pattern.clone()))?;
                            s.pattern_properties
                                .push((regex, Schema::parse(document(keyword, sub)?)?));
                        }
                    }
                    "additionalProperties" => {
                        s.additional_properties = Some(additional(keyword, value)?)
                    }
                    "minProperties" => s.min_properties = Some(count(keyword, value)?),
                    "maxProperties" => s.max_properties = Some(count(keyword, value)?),
                    "dependencies" => {
                        for (name, dep) in document(keyword, value)? {
                            let dependency = match dep {
                                Bson::Document(d) => {
                                    Dependency::Schema(Box::new(Schema::parse(d)?))
                                }
                                Bson::Array(_) => Dependency::Fields(strings(keyword, dep)?),
                                _ => {
                                    return Err(keyword_type(
                                        keyword,
                                        "an object of objects or arrays",
                                    ));
                                }
                            };
                            s.dependencies.push((name.clone(), dependency));
                        }
                    }
                    "minimum" => {
                        s.minimum = Some((bound(keyword, value)?, exclusive("exclusiveMinimum")?))
                    }
                    "maximum" => {
                        s.maximum = Some((bound(keyword, value)?, exclusive("exclusiveMaximum")?))
                    }
                    "exclusiveMinimum" | "exclusiveMaximum" => {
                        let bound_key = if keyword == "exclusiveMinimum" {
                            "minimum"
                        } else {
                            "maximum"
                        };
                        exclusive(keyword)?;
                        if !spec.contains_key(bound_key) {
                            return Err(failed(format!(
                                "$jsonSchema keyword '{bound_key}' must be a present if {keyword} is present"
                            )));
                        }
                    }
                    "multipleOf" => {
                        let n = Number::from_bson(value)
                            .ok_or_else(|| keyword_type(keyword, "a number"))?;
                        if n.as_f64() <= 0.0 || n.is_nan() {
                            return Err(failed(
                                "$jsonSchema keyword 'multipleOf' must have a positive value",
                            ));
                        }
                        s.multiple_of = Some(value.clone());
                    }
                    "minLength" => s.min_length = Some(count(keyword, value)?),
                    "maxLength" => s.max_length = Some(count(keyword, value)?),
                    "pattern" => s.pattern = Some(compile(keyword, value)?),
                    "enum" => match value {
                        Bson::Array(items) if !items.is_empty() => {
                            s.enumeration = Some(items.clone())
                        }
                        Bson::Array(_) => {
                            return Err(failed(
                                "$jsonSchema keyword 'enum' cannot be an empty array",
                            ));
                        }
                        _ => return Err(keyword_type(keyword, "an array")),
                    },
                    "items" => {
                        s.items = Some(match value {
                            Bson::Document(d) => Items::Each(Box::new(Schema::parse(d)?)),
                            Bson::Array(items) => Items::Tuple(
                                items
                                    .iter()
                                    .map(|i| Schema::parse(document(keyword, i)?))
                                    .collect::<CmdResult<_>>()?,
                            ),
                            _ => return Err(keyword_type(keyword, "an array or an object")),
                        })
                    }
                    "additionalItems" => s.additional_items = Some(additional(keyword, value)?),
                    "minItems" => s.min_items = Some(count(keyword, value)?),
                    "maxItems" => s.max_items = Some(count(keyword, value)?),
                    "uniqueItems" => match value {
                        Bson::Boolean(b) => s.unique_items = *b,
                        _ => return Err(keyword_type(keyword, "a boolean")),
                    },
                    "allOf" => s.all_of = schemas(keyword, value)?,
                    "anyOf" => s.any_of = schemas(keyword, value)?,
                    "oneOf" => s.one_of = schemas(keyword, value)?,
                    "not" => s.not = Some(Box::new(Schema::parse(document(keyword, value)?)?)),
                    "title" | "description" => {
                        if !matches!(value, Bson::String(_)) {
                            return Err(keyword_type(keyword, "a string"));
                        }
                    }
                    "$ref" | "$schema" | "default" | "definitions" | "format" | "id" => {
                        return Err(failed(format!(
                            "$jsonSchema keyword '{keyword}' is not currently supported"
                        )));
                    }
                    other => {
                        return Err(failed(format!("Unknown $jsonSchema keyword: {other}")));
                    }
                }
            }
            if s.types.is_some() && s.json_types.is_some() {
                return Err(failed(
                    "Cannot specify both $jsonSchema keywords 'type' and 'bsonType'",
                ));
            }
            Ok(s)
        })
    }

    /// Whether a whole document satisfies the schema.
    pub fn matches_document(&self, doc: &Document) -> bool {
        self.matches(&Bson::Document(doc.clone()))
    }

    /// Whether a value satisfies the schema.
    pub fn matches(&self, value: &Bson) -> bool {
        crate::depth::guard(|| {
            self.type_ok(value)
                && self.number_ok(value)
                && self.string_ok(value)
                && self.array_ok(value)
                && self.object_ok(value)
                && self
                    .enumeration
                    .as_ref()
                    .is_none_or(|items| items.iter().any(|e| compare(e, value) == Ordering::Equal))
                && self.all_of.iter().all(|s| s.matches(value))
                && (self.any_of.is_empty() || self.any_of.iter().any(|s| s.matches(value)))
                && (self.one_of.is_empty()
                    || self.one_of.iter().filter(|s| s.matches(value)).count() == 1)
                && self.not.as_ref().is_none_or(|s| !s.matches(value))
        })
    }

    fn type_ok(&self, value: &Bson) -> bool {
        let bson_ok = self
            .types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t.matches(value)));
        let json_ok = self.json_types.as_ref().is_none_or(|types| {
            let t = match value {
                Bson::Document(_) => Some(JsonType::Object),
                Bson::Array(_) => Some(JsonType::Array),
                Bson::Boolean(_) => Some(JsonType::Boolean),
                Bson::String(_) => Some(JsonType::String),
                Bson::Null => Some(JsonType::Null),
                v if Number::from_bson(v).is_some() => Some(JsonType::Number),
                _ => None,
            };
            t.is_some_and(|t| types.contains(&t))
        });
        bson_ok && json_ok
    }

    fn number_ok(&self, value: &Bson) -> bool {
        let Some(n) = Number::from_bson(value) else {
            return true;
        };
        let within = |bound: &Option<(Bson, bool)>, lower: bool| {
            bound.as_ref().is_none_or(|(b, exclusive)| {
                let Some(b) = Number::from_bson(b) else {
                    return true;
                };
                if n.is_nan() || b.is_nan() {
                    return false;
                }
                let ord = compare_number_values(n, b);
                match (lower, exclusive) {
                    (true, false) => ord != Ordering::Less,
                    (true, true) => ord == Ordering::Greater,
                    (false, false) => ord != Ordering::Greater,
                    (false, true) => ord == Ordering::Less,
                }
            })
        };
        let multiple = self.multiple_of.as_ref().is_none_or(|m| {
            let m = Number::from_bson(m).map(|m| m.as_f64()).unwrap_or(1.0);
            let x = n.as_f64();
            x.is_finite() && (x % m) == 0.0
        });
        within(&self.minimum, true) && within(&self.maximum, false) && multiple
    }

    fn string_ok(&self, value: &Bson) -> bool {
        let Bson::String(s) = value else {
            return true;
        };
        let chars = s.chars().count();
        self.min_length.is_none_or(|m| chars >= m)
            && self.max_length.is_none_or(|m| chars <= m)
            && self.pattern.as_ref().is_none_or(|re| re.is_match(s))
    }

    fn array_ok(&self, value: &Bson) -> bool {
        let Bson::Array(items) = value else {
            return true;
        };
        let items_ok = match &self.items {
            None => true,
            Some(Items::Each(schema)) => items.iter().all(|i| schema.matches(i)),
            Some(Items::Tuple(schemas)) => {
                items.iter().zip(schemas).all(|(i, s)| s.matches(i))
                    && match &self.additional_items {
                        None | Some(Additional::Allowed(true)) => true,
                        Some(Additional::Allowed(false)) => items.len() <= schemas.len(),
                        Some(Additional::Schema(s)) => {
                            items.iter().skip(schemas.len()).all(|i| s.matches(i))
                        }
                    }
            }
        };
        let unique = !self.unique_items
            || items.iter().enumerate().all(|(i, a)| {
                items[i + 1..]
                    .iter()
                    .all(|b| compare(a, b) != Ordering::Equal)
            });
        items_ok
            && unique
            && self.min_items.is_none_or(|m| items.len() >= m)
            && self.max_items.is_none_or(|m| items.len() <= m)
    }

    fn object_ok(&self, value: &Bson) -> bool {
        let Bson::Document(doc) = value else {
            return true;
        };
        let required = self.required.iter().all(|r| doc.contains_key(r));
        let properties = self
            .properties
            .iter()
            .all(|(name, s)| doc.get(name).is_none_or(|v| s.matches(v)));
        let patterns_and_rest = doc.iter().all(|(key, v)| {
            let mut matched = self.properties.iter().any(|(name, _)| name == key);
            for (re, s) in &self.pattern_properties {
                if re.is_match(key) {
                    matched = true;
                    if !s.matches(v) {
                        return false;
                    }
                }
            }
            matched
                || match &self.additional_properties {
                    None | Some(Additional::Allowed(true)) => true,
                    Some(Additional::Allowed(false)) => false,
                    Some(Additional::Schema(s)) => s.matches(v),
                }
        });
        let dependencies = self.dependencies.iter().all(|(name, dep)| {
            !doc.contains_key(name)
                || match dep {
                    Dependency::Fields(fields) => fields.iter().all(|f| doc.contains_key(f)),
                    Dependency::Schema(s) => s.matches(value),
                }
        });
        required
            && properties
            && patterns_and_rest
            && dependencies
            && self.min_properties.is_none_or(|m| doc.len() >= m)
            && self.max_properties.is_none_or(|m| doc.len() <= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn ok(schema: Document, d: Document) -> bool {
        Schema::parse(&schema).unwrap().matches_document(&d)
    }

    #[test]
    fn keywords_constrain_only_their_type_and_present_fields() {
        let s = doc! {"required": ["name"], "properties": {"name": {"bsonType": "string", "minLength": 2}, "age": {"bsonType": "int", "minimum": 0}}};
        assert!(ok(s.clone(), doc! {"name": "Al"}));
        assert!(!ok(s.clone(), doc! {"name": "A"}));
        assert!(!ok(s.clone(), doc! {"age": 3}));
        assert!(!ok(s.clone(), doc! {"name": "Al", "age": -1}));
        assert!(!ok(s, doc! {"name": "Al", "age": 1.5}));
        // minimum says nothing about a string.
        assert!(ok(
            doc! {"properties": {"a": {"minimum": 5}}},
            doc! {"a": "x"}
        ));
    }

    #[test]
    fn arrays_enums_and_closed_objects() {
        let s = doc! {"properties": {"tags": {"bsonType": "array", "items": {"bsonType": "string"}, "maxItems": 2, "uniqueItems": true}}};
        assert!(ok(s.clone(), doc! {"tags": ["a", "b"]}));
        assert!(!ok(s.clone(), doc! {"tags": ["a", 1]}));
        assert!(!ok(s.clone(), doc! {"tags": ["a", "a"]}));
        assert!(!ok(s, doc! {"tags": ["a", "b", "c"]}));
        let closed = doc! {"additionalProperties": false, "properties": {"_id": {}, "a": {"enum": [1, "x"]}}};
        assert!(ok(closed.clone(), doc! {"_id": 1, "a": 1.0}));
        assert!(!ok(closed.clone(), doc! {"_id": 1, "a": 2}));
        assert!(!ok(closed, doc! {"_id": 1, "b": 1}));
    }

    #[test]
    fn bad_schemas_are_refused() {
        assert!(Schema::parse(&doc! {"frob": 1}).is_err());
        assert!(Schema::parse(&doc! {"bsonType": "nope"}).is_err());
        assert!(Schema::parse(&doc! {"type": "integer"}).is_err());
        assert!(Schema::parse(&doc! {"required": []}).is_err());
        assert!(Schema::parse(&doc! {"minLength": -1}).is_err());
    }
}
