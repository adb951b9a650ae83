//! The type operators: `$type`, `$isNumber`, `$convert` and its shorthands `$toString`,
//! `$toInt`, `$toLong`, `$toDouble`, `$toDecimal`, `$toBool` and `$toObjectId`.
//!
//! ```text
//! {$convert: {input: <expression>, to: <type name | number | {type, subtype}>,
//!             format?: "base64" | "base64url" | "hex" | "utf8" | "uuid" | "auto",
//!             onError?: <expression>, onNull?: <expression>}}
//! ```
//!
//! Every conversion goes through one table ([`convert`]), so a shorthand and `$convert`
//! agree on each pair of types, as mongod's do; a pair the table lacks, or a value that
//! does not fit, fails with `ConversionFailure` (241), which `onError` replaces. A null
//! or missing input gives `onNull` (else null) before `to` is even read; an error in the
//! input itself is never caught.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Decimal128, oid::ObjectId};

use super::{Arity, Eval, Expression, OpDef, Scope, nullish, operand, truthy, type_name};
use crate::engine::arith;
use crate::engine::decimal_arith::{Dec, Rounding};
use crate::engine::types::type_from_alias;
use crate::error::{CmdResult, CommandError, ErrorCode};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$isNumber",
        arity: Arity::Exactly(1),
        eval: Eval::Values(is_number),
    },
    OpDef {
        name: "$type",
        arity: Arity::Exactly(1),
        eval: Eval::Values(type_of),
    },
    OpDef {
        name: "$convert",
        arity: Arity::Exactly(1),
        eval: Eval::Lazy(convert_operator),
    },
    OpDef {
        name: "$toString",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toInt",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toLong",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toDouble",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toDecimal",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toBool",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
    OpDef {
        name: "$toObjectId",
        arity: Arity::Exactly(1),
        eval: Eval::Values(shorthand),
    },
];

/// 2^63: the first double past the int64 range (`i64::MAX as f64` rounds up to it).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// What a value converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Double,
    String,
    BinData(BinarySubtype),
    ObjectId,
    Bool,
    Date,
    Int,
    Long,
    Decimal,
    /// A type with no conversion to it (`"object"`, `"minKey"`, ...): its number.
    Unsupported(i32),
}

impl Target {
    fn from_number(n: i32) -> Target {
        match n {
            1 => Target::Double,
            2 => Target::String,
            5 => Target::BinData(BinarySubtype::Generic),
            7 => Target::ObjectId,
            8 => Target::Bool,
            9 => Target::Date,
            16 => Target::Int,
            18 => Target::Long,
            19 => Target::Decimal,
            other => Target::Unsupported(other),
        }
    }

    fn name(self) -> &'static str {
        let number = match self {
            Target::Double => 1,
            Target::String => 2,
            Target::BinData(_) => 5,
            Target::ObjectId => 7,
            Target::Bool => 8,
            Target::Date => 9,
            Target::Int => 16,
            Target::Long => 18,
            Target::Decimal => 19,
            Target::Unsupported(n) => n,
        };
        crate::engine::types::type_alias(number).unwrap_or("missing")
    }

    /// `to` as `$convert` takes it: a type's name or number, or `{type, subtype}`.
    fn parse(to: &Bson) -> CmdResult<Target> {
        let bad = |what: String| CommandError::new(ErrorCode::FailedToParse, what);
        match to {
            Bson::String(s) if s == "missing" => Ok(Target::Unsupported(0)),
            Bson::String(s) => type_from_alias(s)
                .map(Target::from_number)
                .ok_or_else(|| CommandError::bad_value(format!("Unknown type name: {s}"))),
            n if arith::is_number(n) => match arith::to_i64_exact(n) {
                Some(code) if crate::engine::types::type_alias(code as i32).is_some() => {
                    Ok(Target::from_number(code as i32))
                }
                _ => Err(bad(format!(
                    "In $convert, numeric 'to' argument is not a valid type: {n}"
                ))),
            },
            Bson::Document(d) => {
                let target = Target::parse(d.get("type").unwrap_or(&Bson::Null))?;
                match (target, d.get("subtype")) {
                    (Target::BinData(_), Some(s)) => {
                        let code = arith::to_i64_exact(s)
                            .and_then(|c| u8::try_from(c).ok())
                            .ok_or_else(|| {
                                bad(format!("In $convert, 'subtype' must be a valid binary subtype, found {s}"))
                            })?;
                        Ok(Target::BinData(BinarySubtype::from(code)))
                    }
                    (t, None) => Ok(t),
                    (_, Some(_)) => Err(bad(
                        "In $convert, 'subtype' is only allowed when 'type' is binData".into(),
                    )),
                }
            }
            other => Err(bad(format!(
                "$convert's 'to' argument must be a string or number, but is {}",
                type_name(&Some(other.clone()))
            ))),
        }
    }
}

/// A conversion that failed: mongod's wording without the `onError` clause.
fn failure(message: String) -> CommandError {
    CommandError::new(
        ErrorCode::ConversionFailure,
        format!("{message} in $convert with no onError value"),
    )
}

fn unsupported(value: &Bson, to: Target) -> CommandError {
    failure(format!(
        "Unsupported conversion from {} to {}",
        crate::engine::types::type_name(value),
        to.name()
    ))
}

/// The conversion table: `value` (not null) as `to`.
pub(super) fn convert(value: &Bson, to: Target, format: Option<&str>) -> CmdResult<Bson> {
    match to {
        Target::Double => to_double(value),
        Target::String => to_string(value, format),
        Target::BinData(subtype) => to_bin_data(value, subtype, format),
        Target::ObjectId => match value {
            Bson::ObjectId(o) => Ok(Bson::ObjectId(*o)),
            Bson::String(s) => ObjectId::parse_str(s).map(Bson::ObjectId).map_err(|_| {
                let reason = if s.len() == 24 {
                    "Invalid character found in hex string".to_string()
                } else {
                    format!(
                        "Invalid string length for parsing to OID, expected 24 but found {}",
                        s.len()
                    )
                };
                failure(format!("Failed to parse objectId '{s}': {reason}"))
            }),
            other => Err(unsupported(other, to)),
        },
        Target::Bool => match value {
            Bson::Undefined => Err(unsupported(value, to)),
            v => Ok(Bson::Boolean(truthy(Some(v)))),
        },
        Target::Date => super::date::to_date(&Some(value.clone())).map(|d| d.unwrap_or(Bson::Null)),
        Target::Int => to_integer(value, false),
        Target::Long => to_integer(value, true),
        Target::Decimal => to_decimal(value),
        Target::Unsupported(_) => Err(unsupported(value, to)),
    }
}

fn to_double(value: &Bson) -> CmdResult<Bson> {
    Ok(Bson::Double(match value {
        Bson::Double(d) => *d,
        Bson::Int32(i) => f64::from(*i),
        Bson::Int64(i) => *i as f64,
        Bson::Decimal128(d) => {
            let x = crate::engine::compare::decimal_to_f64(d);
            if x.is_infinite() && matches!(Dec::from_decimal128(d), Dec::Finite(_)) {
                return Err(failure(format!(
                    "Conversion would overflow target type: {d}"
                )));
            }
            x
        }
        Bson::Boolean(b) => f64::from(u8::from(*b)),
        Bson::DateTime(d) => d.timestamp_millis() as f64,
        Bson::String(s) => {
            parse_double(s).ok_or_else(|| failure(format!("Failed to parse number '{s}'")))?
        }
        other => return Err(unsupported(other, Target::Double)),
    }))
}

/// A string as a double: decimal or exponent notation, `Infinity`, `-Infinity`, `NaN`;
/// no surrounding white space.
fn parse_double(s: &str) -> Option<f64> {
    if s.is_empty() || s.trim() != s {
        return None;
    }
    match s {
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ if s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

fn to_integer(value: &Bson, long: bool) -> CmdResult<Bson> {
    let target = if long { Target::Long } else { Target::Int };
    let fit = |n: i64, shown: &dyn std::fmt::Display| -> CmdResult<Bson> {
        if long {
            return Ok(Bson::Int64(n));
        }
        i32::try_from(n)
            .map(Bson::Int32)
            .map_err(|_| failure(format!("Conversion would overflow target type: {shown}")))
    };
    match value {
        Bson::Int32(i) => fit(i64::from(*i), i),
        Bson::Int64(i) => fit(*i, i),
        Bson::Boolean(b) => fit(i64::from(*b), b),
        Bson::Double(d) => {
            if d.is_nan() {
                return Err(failure(
                    "Attempt to convert NaN value to integer type: NaN".into(),
                ));
            }
            if d.is_infinite() {
                return Err(failure(format!(
                    "Attempt to convert infinity value to integer type: {}",
                    if *d > 0.0 { "inf" } else { "-inf" }
                )));
            }
            let t = d.trunc();
            if !(-TWO_POW_63..TWO_POW_63).contains(&t) {
                return Err(failure(format!(
                    "Conversion would overflow target type: {}",
                    format_double(*d)
                )));
            }
            fit(t as i64, &format_double(*d))
        }
        Bson::Decimal128(d) => {
            let dec = Dec::from_decimal128(d);
            match dec {
                Dec::NaN => {
                    return Err(failure(format!(
                        "Attempt to convert NaN value to integer type: {d}"
                    )));
                }
                Dec::Infinite { .. } => {
                    return Err(failure(format!(
                        "Attempt to convert infinity value to integer type: {d}"
                    )));
                }
                Dec::Finite(_) => {}
            }
            match dec.to_integral(Rounding::TowardZero).to_i64() {
                Some(n) => fit(n, d),
                None => Err(failure(format!(
                    "Conversion would overflow target type: {d}"
                ))),
            }
        }
        Bson::DateTime(d) if long => Ok(Bson::Int64(d.timestamp_millis())),
        Bson::String(s) => {
            // Base ten digits with an optional sign, nothing else.
            let digits = s.strip_prefix('-').unwrap_or(s);
            let parsed = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else if long {
                s.parse::<i64>().ok().map(Bson::Int64)
            } else {
                s.parse::<i32>().ok().map(Bson::Int32)
            };
            parsed.ok_or_else(|| failure(format!("Failed to parse number '{s}'")))
        }
        other => Err(unsupported(other, target)),
    }
}

fn to_decimal(value: &Bson) -> CmdResult<Bson> {
    Ok(Bson::Decimal128(match value {
        Bson::Decimal128(d) => *d,
        Bson::Double(d) => Dec::from_f64(*d).to_decimal128(),
        Bson::Int32(i) => Dec::from_i64(i64::from(*i)).to_decimal128(),
        Bson::Int64(i) => Dec::from_i64(*i).to_decimal128(),
        Bson::Boolean(b) => Dec::from_i64(i64::from(*b)).to_decimal128(),
        Bson::DateTime(d) => Dec::from_i64(d.timestamp_millis()).to_decimal128(),
        Bson::String(s) if !s.is_empty() && s.trim() == s => {
            Decimal128::from_str(s).map_err(|_| failure(format!("Failed to parse number '{s}'")))?
        }
        Bson::String(s) => return Err(failure(format!("Failed to parse number '{s}'"))),
        other => return Err(unsupported(other, Target::Decimal)),
    }))
}

fn to_string(value: &Bson, format: Option<&str>) -> CmdResult<Bson> {
    Ok(Bson::String(match value {
        Bson::String(s) => s.clone(),
        Bson::Double(d) => format_double(*d),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Decimal128(d) => d.to_string(),
        Bson::Boolean(b) => b.to_string(),
        Bson::ObjectId(o) => o.to_hex(),
        Bson::DateTime(d) => super::date::iso_string(*d)?,
        Bson::Binary(b) => binary_to_string(b, format)?,
        other => return Err(unsupported(other, Target::String)),
    }))
}

/// A double as C's `%g` prints it (six significant digits), which is how mongod
/// converts one to a string: `1234567.891` becomes `"1.23457e+06"`.
pub(super) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let scientific = format!("{d:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (-4..6).contains(&exponent) {
        let decimals = usize::try_from(5 - exponent).unwrap_or(0);
        trim(format!("{d:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            trim(mantissa.to_string()),
            exponent.unsigned_abs()
        )
    }
}

/// The `format` a binData ↔ string conversion needs.
fn binary_format(format: Option<&str>, value: &Bson) -> CmdResult<&'static str> {
    match format {
        Some("base64") => Ok("base64"),
        Some("base64url") => Ok("base64url"),
        Some("hex") => Ok("hex"),
        Some("utf8") => Ok("utf8"),
        Some("uuid") => Ok("uuid"),
        Some("auto") => Ok("auto"),
        Some(other) => Err(CommandError::bad_value(format!(
            "Invalid 'format' argument for $convert: {other}"
        ))),
        None => Err(failure(format!(
            "Format must be specified when converting from '{}' to 'string'",
            crate::engine::types::type_name(value)
        ))),
    }
}

fn binary_to_string(b: &Binary, format: Option<&str>) -> CmdResult<String> {
    let value = Bson::Binary(b.clone());
    let format = match binary_format(format, &value)? {
        // `auto` shows a UUID as one and anything else in base64.
        "auto" if b.subtype == BinarySubtype::Uuid => "uuid",
        "auto" => "base64",
        f => f,
    };
    match format {
        "base64" => Ok(STANDARD.encode(&b.bytes)),
        "base64url" => Ok(URL_SAFE.encode(&b.bytes)),
        "hex" => Ok(hex::encode_upper(&b.bytes)),
        "utf8" => String::from_utf8(b.bytes.clone())
            .map_err(|_| failure("Failed to convert binData to utf8 string".into())),
        _ => match <[u8; 16]>::try_from(b.bytes.as_slice()) {
            Ok(bytes) if b.subtype == BinarySubtype::Uuid => {
                Ok(bson::Uuid::from_bytes(bytes).to_string())
            }
            _ => Err(failure(
                "Only UUID binData (subtype 4, 16 bytes) converts to a string with format 'uuid'"
                    .into(),
            )),
        },
    }
}

fn to_bin_data(value: &Bson, subtype: BinarySubtype, format: Option<&str>) -> CmdResult<Bson> {
    match value {
        Bson::Binary(b) if b.subtype == subtype => Ok(value.clone()),
        Bson::Binary(b) => Err(failure(format!(
            "Conversions between different binData subtypes are not supported: {:?} to {subtype:?}",
            b.subtype
        ))),
        Bson::String(s) => {
            let format = binary_format(format, value)?;
            let parse_failure = || failure(format!("Failed to parse BinData '{s}'"));
            let bytes = match format {
                "base64" | "auto" => STANDARD.decode(s).map_err(|_| parse_failure())?,
                "base64url" => URL_SAFE.decode(s).map_err(|_| parse_failure())?,
                "hex" => hex::decode(s).map_err(|_| parse_failure())?,
                "utf8" => s.as_bytes().to_vec(),
                _ => {
                    if subtype != BinarySubtype::Uuid {
                        return Err(failure(
                            "Only the UUID subtype (4) is allowed with the 'uuid' format".into(),
                        ));
                    }
                    bson::Uuid::parse_str(s)
                        .map_err(|_| parse_failure())?
                        .bytes()
                        .to_vec()
                }
            };
            Ok(Bson::Binary(Binary { subtype, bytes }))
        }
        other => Err(unsupported(other, Target::BinData(subtype))),
    }
}

/// `{$convert: {...}}`: its arguments evaluated one by one, so that `onError` and
/// `onNull` are only evaluated when needed and `$$REMOVE` there means missing.
fn convert_operator(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let fields = match args.first() {
        Some(Expression::Object(fields)) => fields,
        Some(other) => {
            let found = other.evaluate(scope)?;
            return Err(CommandError::new(
                ErrorCode::FailedToParse,
                format!(
                    "$convert expects an object of named arguments but found: {}",
                    type_name(&found)
                ),
            ));
        }
        None => {
            return Err(CommandError::new(
                ErrorCode::FailedToParse,
                "$convert needs an argument",
            ));
        }
    };
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, e)| e);
    if let Some((unknown, _)) = fields.iter().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "input" | "to" | "onError" | "onNull" | "format" | "base" | "byteOrder"
        )
    }) {
        return Err(CommandError::new(
            ErrorCode::FailedToParse,
            format!("$convert found an unknown argument: {unknown}"),
        ));
    }
    if let Some((name, _)) = fields
        .iter()
        .find(|(k, _)| matches!(k.as_str(), "base" | "byteOrder"))
    {
        return Err(CommandError::bad_value(format!(
            "$convert's '{name}' (numbers to and from binData, strings in other bases) is not supported by this server yet"
        )));
    }
    let input = get("input").ok_or_else(|| {
        CommandError::new(
            ErrorCode::FailedToParse,
            "Missing 'input' parameter to $convert",
        )
    })?;
    let to = get("to").ok_or_else(|| {
        CommandError::new(
            ErrorCode::FailedToParse,
            "Missing 'to' parameter to $convert",
        )
    })?;
    let value = input.evaluate(scope)?;
    if nullish(&value) {
        return match get("onNull") {
            Some(on_null) => on_null.evaluate(scope),
            None => Ok(Some(Bson::Null)),
        };
    }
    let to = to.evaluate(scope)?;
    let Some(to) = to.filter(|t| !matches!(t, Bson::Null | Bson::Undefined)) else {
        return Ok(Some(Bson::Null));
    };
    let target = Target::parse(&to)?;
    let format = match get("format")
        .map(|f| f.evaluate(scope))
        .transpose()?
        .flatten()
    {
        None => None,
        Some(Bson::String(s)) => Some(s),
        Some(other) => {
            return Err(CommandError::bad_value(format!(
                "$convert's 'format' must be a string, found {}",
                type_name(&Some(other))
            )));
        }
    };
    let Some(value) = value else {
        return Ok(Some(Bson::Null));
    };
    match convert(&value, target, format.as_deref()) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == ErrorCode::ConversionFailure => match get("onError") {
            Some(on_error) => on_error.evaluate(scope),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// `$toInt` and the other shorthands: `$convert` to one type, null for null.
fn shorthand(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let target = match op.name {
        "$toString" => Target::String,
        "$toInt" => Target::Int,
        "$toLong" => Target::Long,
        "$toDouble" => Target::Double,
        "$toDecimal" => Target::Decimal,
        "$toBool" => Target::Bool,
        "$toObjectId" => Target::ObjectId,
        _ => return Err(super::broken_invariant(op, "is no conversion")),
    };
    match operand(op, &values, 0)? {
        v if nullish(v) => Ok(Some(Bson::Null)),
        Some(v) => convert(v, target, None).map(Some),
        None => Ok(Some(Bson::Null)),
    }
}

/// The type's alias (`"missing"` for a missing value).
fn type_of(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::String(
        type_name(operand(op, &values, 0)?).to_string(),
    )))
}

/// Whether the value is an int, a long, a double or a decimal (false for missing).
fn is_number(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let v = operand(op, &values, 0)?;
    Ok(Some(Bson::Boolean(
        v.as_ref().is_some_and(arith::is_number),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::DateTime;

    #[test]
    fn doubles_print_as_percent_g() {
        for (d, s) in [
            (1.9, "1.9"),
            (1234567.891, "1.23457e+06"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (1.0 / 3.0, "0.333333"),
            (-0.0, "-0"),
        ] {
            assert_eq!(format_double(d), s, "{d}");
        }
    }

    #[test]
    fn the_table_refuses_what_mongod_refuses() {
        let cases = [
            (Bson::Double(1.9), Target::ObjectId),
            (Bson::Boolean(false), Target::Date),
            (Bson::Int32(1), Target::Date),
            (Bson::DateTime(DateTime::from_millis(1)), Target::Int),
            (Bson::Double(1.9), Target::Unsupported(3)),
            (Bson::String("1.5".into()), Target::Int),
            (Bson::Double(1e10), Target::Int),
            (Bson::Double(f64::NAN), Target::Long),
        ];
        for (value, to) in cases {
            let err = convert(&value, to, None).unwrap_err();
            assert_eq!(err.code, ErrorCode::ConversionFailure, "{value} to {to:?}");
        }
    }
}
