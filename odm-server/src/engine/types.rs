//! BSON type numbers and their aliases, as `$type` (query and expression) names them,
//! and the size of a value once encoded.

use bson::{Bson, Document};

/// The bytes `doc` takes encoded, computed without encoding it (batches are cut by
/// size, and encoding every result twice to learn it cost as much as the reply).
pub fn encoded_len(doc: &Document) -> usize {
    4 + doc
        .iter()
        .map(|(k, v)| element_len(k.len(), v))
        .sum::<usize>()
        + 1
}

/// An element: type byte, key and its NUL, value.
fn element_len(key_len: usize, v: &Bson) -> usize {
    1 + key_len + 1 + value_len(v)
}

fn value_len(v: &Bson) -> usize {
    let string = |s: &str| 4 + s.len() + 1;
    match v {
        Bson::Double(_) | Bson::DateTime(_) | Bson::Timestamp(_) | Bson::Int64(_) => 8,
        Bson::Int32(_) => 4,
        Bson::Decimal128(_) => 16,
        Bson::ObjectId(_) => 12,
        Bson::Boolean(_) => 1,
        Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey => 0,
        Bson::String(s) | Bson::JavaScriptCode(s) | Bson::Symbol(s) => string(s),
        Bson::Document(d) => encoded_len(d),
        Bson::Array(items) => {
            let digits = |i: usize| if i == 0 { 1 } else { i.ilog10() as usize + 1 };
            4 + items
                .iter()
                .enumerate()
                .map(|(i, v)| element_len(digits(i), v))
                .sum::<usize>()
                + 1
        }
        Bson::Binary(b) => {
            // The old binary subtype repeats the length inside the data.
            let old = matches!(b.subtype, bson::spec::BinarySubtype::BinaryOld);
            4 + 1 + b.bytes.len() + if old { 4 } else { 0 }
        }
        Bson::RegularExpression(r) => r.pattern.as_str().len() + 1 + r.options.as_str().len() + 1,
        Bson::JavaScriptCodeWithScope(c) => 4 + string(&c.code) + encoded_len(&c.scope),
        Bson::DbPointer(_) => {
            // Its fields are private: measure it the slow way (it is deprecated and rare).
            bson::doc! {"": v.clone()}
                .to_vec()
                .map(|b| b.len() - 7)
                .unwrap_or(0)
        }
    }
}

/// The BSON type number of a value (`-1` for MinKey, `127` for MaxKey, as `$type` spells
/// them).
pub fn type_number(value: &Bson) -> i32 {
    match value {
        Bson::MinKey => -1,
        Bson::MaxKey => 127,
        other => other.element_type() as u8 as i32,
    }
}

/// A value's type as error messages name it (`"string"`, `"object"`, ...).
pub fn type_name(value: &Bson) -> &'static str {
    type_alias(type_number(value)).unwrap_or("unknown")
}

/// The alias `$type` accepts for a type number, and that the `$type` expression returns.
pub fn type_alias(number: i32) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(_, n)| *n == number)
        .map(|(name, _)| *name)
}

/// The type number for an alias (`"number"` is not a single type: see [`TypeSpec`]).
pub fn type_from_alias(alias: &str) -> Option<i32> {
    ALIASES
        .iter()
        .find(|(name, _)| *name == alias)
        .map(|(_, n)| *n)
}

const ALIASES: &[(&str, i32)] = &[
    ("double", 1),
    ("string", 2),
    ("object", 3),
    ("array", 4),
    ("binData", 5),
    ("undefined", 6),
    ("objectId", 7),
    ("bool", 8),
    ("date", 9),
    ("null", 10),
    ("regex", 11),
    ("dbPointer", 12),
    ("javascript", 13),
    ("symbol", 14),
    ("javascriptWithScope", 15),
    ("int", 16),
    ("timestamp", 17),
    ("long", 18),
    ("decimal", 19),
    ("minKey", -1),
    ("maxKey", 127),
];

/// One type a `$type` query accepts: a single BSON type or every numeric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeSpec {
    Exactly(i32),
    AnyNumber,
}

impl TypeSpec {
    /// Parses a `$type` operand element: a type number or an alias.
    pub fn parse(value: &Bson) -> Result<TypeSpec, String> {
        match value {
            Bson::String(s) if s == "number" => Ok(TypeSpec::AnyNumber),
            Bson::String(s) => type_from_alias(s)
                .map(TypeSpec::Exactly)
                .ok_or_else(|| format!("Unknown type name alias: {s}")),
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                let n = crate::engine::compare::Number::from_bson(value)
                    .map(|n| n.as_f64())
                    .unwrap_or(f64::NAN);
                if n.fract() != 0.0 || type_alias(n as i32).is_none() {
                    return Err(format!("Invalid numerical type code: {value}"));
                }
                Ok(TypeSpec::Exactly(n as i32))
            }
            other => Err(format!(
                "type must be represented as a number or a string, not {other}"
            )),
        }
    }

    pub fn matches(self, value: &Bson) -> bool {
        match self {
            TypeSpec::AnyNumber => {
                matches!(
                    value,
                    Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
                )
            }
            TypeSpec::Exactly(n) => type_number(value) == n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_aliases_agree() {
        assert_eq!(type_number(&Bson::Int32(1)), 16);
        assert_eq!(type_number(&Bson::MinKey), -1);
        assert_eq!(type_alias(18), Some("long"));
        assert_eq!(
            TypeSpec::parse(&Bson::String("number".into())),
            Ok(TypeSpec::AnyNumber)
        );
        assert_eq!(
            TypeSpec::parse(&Bson::Double(2.0)),
            Ok(TypeSpec::Exactly(2))
        );
        assert!(TypeSpec::parse(&Bson::Int32(99)).is_err());
        assert!(TypeSpec::parse(&Bson::String("nope".into())).is_err());
        assert!(TypeSpec::AnyNumber.matches(&Bson::Double(1.0)));
    }

    #[test]
    fn encoded_len_is_the_length_of_the_encoding() {
        use bson::spec::BinarySubtype;
        use bson::{Binary, DateTime, Decimal128, JavaScriptCodeWithScope, Regex, Timestamp};
        let many: Vec<Bson> = (0..12).map(Bson::Int32).collect();
        let doc = bson::doc! {
            "d": 1.5, "s": "héllo", "doc": {"a": [1, "x", {"b": null}]}, "arr": many,
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2, 3] },
            "old": Binary { subtype: BinarySubtype::BinaryOld, bytes: vec![1, 2, 3] },
            "undef": Bson::Undefined, "oid": bson::oid::ObjectId::new(), "t": true,
            "date": DateTime::from_millis(5), "null": null,
            "re": Regex { pattern: "a.c".to_string().try_into().unwrap(), options: "i".to_string().try_into().unwrap() },
            "js": Bson::JavaScriptCode("f()".into()),
            "scoped": JavaScriptCodeWithScope { code: "g()".into(), scope: bson::doc! {"x": 1} },
            "i": 7, "ts": Timestamp { time: 1, increment: 2 }, "l": 9i64,
            "dec": Decimal128::from_bytes([0; 16]), "min": Bson::MinKey, "max": Bson::MaxKey,
            "sym": Bson::Symbol("s".into()),
        };
        assert_eq!(encoded_len(&doc), doc.to_vec().unwrap().len());
        assert_eq!(encoded_len(&Document::new()), 5);
    }
}
