//! BSON type numbers and their aliases, as `$type` (query and expression) names them.

use bson::Bson;

/// The BSON type number of a value (`-1` for MinKey, `127` for MaxKey, as `$type` spells
/// them).
pub fn type_number(value: &Bson) -> i32 {
    match value {
        Bson::MinKey => -1,
        Bson::MaxKey => 127,
        other => other.element_type() as u8 as i32,
    }
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
}
