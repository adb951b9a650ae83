//! The date operators: the parts of a date (`$year` ... `$isoDayOfWeek`, `$dateToParts`,
//! `$dateFromParts`), dates as text (`$dateToString`, `$dateFromString`, `$toDate`),
//! calendar arithmetic (`$dateAdd`, `$dateSubtract`, `$dateDiff`, `$dateTrunc`) and the
//! halves of a timestamp (`$tsSecond`, `$tsIncrement`).
//!
//! Every one of them reads its date in a time zone, so they share [`zone::Zone`] and the
//! calendar of [`calendar`]; what they take from mongod is the order in which they look at
//! their arguments (a null anywhere usually wins over a bad value later), each one's error
//! codes, and timelib's arithmetic, including its carries and its handling of the hours a
//! daylight-saving change skips or repeats.
//!
//! The operators that take an object of named arguments evaluate them themselves
//! ([`Eval::Lazy`]): mongod evaluates `onNull` and `onError` only when they are needed,
//! tells an argument left out from one that evaluates to missing, and accepts a date
//! operator's `{date, timezone}` object where an expression would be.

mod arith;
mod calendar;
mod format;
mod freeform;
mod parse;
mod parts;
mod zone;

use bson::{Bson, DateTime};

use self::zone::Zone;
use super::{Arity, Eval, Expression, OpDef, Scope, expr_error, nullish, operand, type_name};
use crate::error::{CmdResult, CommandError, ErrorCode};

pub(super) const OPS: &[OpDef] = &[
    lazy("$year", parts::year),
    lazy("$month", parts::month),
    lazy("$dayOfMonth", parts::day_of_month),
    lazy("$hour", parts::hour),
    lazy("$minute", parts::minute),
    lazy("$second", parts::second),
    lazy("$millisecond", parts::millisecond),
    lazy("$dayOfWeek", parts::day_of_week),
    lazy("$dayOfYear", parts::day_of_year),
    lazy("$week", parts::week),
    lazy("$isoWeek", parts::iso_week),
    lazy("$isoWeekYear", parts::iso_week_year),
    lazy("$isoDayOfWeek", parts::iso_day_of_week),
    lazy("$dateToParts", parts::date_to_parts),
    lazy("$dateFromParts", parts::date_from_parts),
    lazy("$dateToString", format::date_to_string),
    lazy("$dateFromString", parse::date_from_string),
    lazy("$dateAdd", arith::date_add),
    lazy("$dateSubtract", arith::date_subtract),
    lazy("$dateDiff", arith::date_diff),
    lazy("$dateTrunc", arith::date_trunc),
    OpDef {
        name: "$toDate",
        arity: Arity::Exactly(1),
        eval: Eval::Values(to_date_op),
    },
    OpDef {
        name: "$tsSecond",
        arity: Arity::Exactly(1),
        eval: Eval::Values(timestamp_half),
    },
    OpDef {
        name: "$tsIncrement",
        arity: Arity::Exactly(1),
        eval: Eval::Values(timestamp_half),
    },
];

/// An operator that checks its own arguments' shape: a part operator takes an expression,
/// a one-element array or `{date, timezone}`; the others one object of named arguments.
const fn lazy(name: &'static str, eval: super::LazyFn) -> OpDef {
    OpDef {
        name,
        arity: Arity::Any,
        eval: Eval::Lazy(eval),
    }
}

/// How an operator that takes one object words its refusals (mongod's codes differ per
/// operator).
struct Shape {
    name: &'static str,
    allowed: &'static [&'static str],
    /// Code and text for an argument that is not an object; `{found}` stands for its type.
    not_object: (i32, &'static str),
    /// Code for a name not in `allowed`, and what follows the name in the message.
    unknown: (i32, &'static str),
}

/// The named arguments of an operator, as written, each evaluated when asked for.
struct Args<'e> {
    fields: &'e [(String, Expression)],
}

impl<'e> Args<'e> {
    fn read(shape: &Shape, args: &'e [Expression]) -> CmdResult<Args<'e>> {
        let fields = match args {
            [Expression::Object(fields)] => fields,
            _ => {
                let (code, text) = shape.not_object;
                return Err(expr_error(
                    code,
                    format!(
                        "{} {}",
                        shape.name,
                        text.replace("{found}", written_type(args))
                    ),
                ));
            }
        };
        if let Some((unknown, _)) = fields
            .iter()
            .find(|(k, _)| !shape.allowed.contains(&k.as_str()))
        {
            let (code, suffix) = shape.unknown;
            return Err(expr_error(
                code,
                format!("Unrecognized argument to {}: {unknown}{suffix}", shape.name),
            ));
        }
        Ok(Args { fields })
    }

    fn given(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// The argument's value (`None` for missing), or `None` when it was not given.
    fn eval(&self, name: &str, scope: &mut Scope<'_>) -> CmdResult<Option<Option<Bson>>> {
        match self.fields.iter().find(|(k, _)| k == name) {
            Some((_, e)) => Ok(Some(e.evaluate(scope)?)),
            None => Ok(None),
        }
    }

    /// The argument's value; missing when it was not given.
    fn value(&self, name: &str, scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
        Ok(self.eval(name, scope)?.flatten())
    }
}

/// The BSON type an operator's argument was written as, for mongod's "found: ..." texts.
fn written_type(args: &[Expression]) -> &'static str {
    match args {
        [Expression::Literal(v)] => type_name(&Some(v.clone())),
        [Expression::Path(_) | Expression::Variable(..)] => "string",
        [Expression::Object(_) | Expression::Operator(..)] => "object",
        _ => "array",
    }
}

/// A value, or `None` for null, undefined or missing: mongod's "nullish", which makes most
/// date operators answer null.
fn present(value: Option<Bson>) -> Option<Bson> {
    value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined))
}

/// The instant (milliseconds after the epoch) a value stands for, as mongod coerces a
/// value to a date: a date, a timestamp's seconds, an ObjectId's creation second.
fn instant(value: &Bson) -> Option<i64> {
    match value {
        Bson::DateTime(d) => Some(d.timestamp_millis()),
        Bson::Timestamp(t) => Some(i64::from(t.time) * 1000),
        Bson::ObjectId(o) => Some(o.timestamp().timestamp_millis()),
        _ => None,
    }
}

/// [`instant`], or mongod's refusal (16006).
fn coerce_instant(value: &Bson) -> CmdResult<i64> {
    instant(value).ok_or_else(|| {
        expr_error(
            16006,
            format!(
                "can't convert from BSON type {} to Date",
                type_name(&Some(value.clone()))
            ),
        )
    })
}

/// The `timezone` argument: UTC when not given, `None` when it evaluates to null or
/// missing. `context` prefixes a lookup failure, as `$dateDiff` and `$dateTrunc` do.
fn zone_arg(args: &Args<'_>, scope: &mut Scope<'_>, context: &str) -> CmdResult<Option<Zone>> {
    zone_value(args.eval("timezone", scope)?, context)
}

/// [`zone_arg`] from the argument's value (`None` when it was not given).
fn zone_value(value: Option<Option<Bson>>, context: &str) -> CmdResult<Option<Zone>> {
    let Some(value) = value else {
        return Ok(Some(Zone::Utc));
    };
    let zone = match value {
        v if nullish(&v) => return Ok(None),
        Some(Bson::String(name)) => Zone::parse(&name),
        other => {
            return Err(expr_error(
                40517,
                format!(
                    "timezone must evaluate to a string, found {}",
                    type_name(&other)
                ),
            ));
        }
    };
    zone.map(Some).map_err(|e| {
        if context.is_empty() {
            e
        } else {
            CommandError::new(e.code, format!("{context} :: caused by :: {}", e.message))
        }
    })
}

/// A calendar unit of `$dateAdd`, `$dateDiff` and `$dateTrunc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

impl Unit {
    fn named(name: &str) -> Option<Unit> {
        Some(match name {
            "year" => Unit::Year,
            "quarter" => Unit::Quarter,
            "month" => Unit::Month,
            "week" => Unit::Week,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            "minute" => Unit::Minute,
            "second" => Unit::Second,
            "millisecond" => Unit::Millisecond,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Year => "year",
            Unit::Quarter => "quarter",
            Unit::Month => "month",
            Unit::Week => "week",
            Unit::Day => "day",
            Unit::Hour => "hour",
            Unit::Minute => "minute",
            Unit::Second => "second",
            Unit::Millisecond => "millisecond",
        }
    }

    /// Milliseconds in one unit, for the units of fixed length.
    fn fixed_millis(self) -> Option<i64> {
        match self {
            Unit::Hour => Some(3_600_000),
            Unit::Minute => Some(60_000),
            Unit::Second => Some(1000),
            Unit::Millisecond => Some(1),
            _ => None,
        }
    }
}

/// `$dateDiff`'s and `$dateTrunc`'s `unit` (5439013, 5439014).
fn unit_arg(op: &str, value: &Bson) -> CmdResult<Unit> {
    let Bson::String(name) = value else {
        return Err(expr_error(
            5439013,
            format!(
                "{op} requires 'unit' to be a string, but got {}",
                type_name(&Some(value.clone()))
            ),
        ));
    };
    Unit::named(name).ok_or_else(|| {
        expr_error(
            5439014,
            format!("{op} parameter 'unit' value cannot be recognized as a time unit: {name}"),
        )
    })
}

/// The first day of a week, 1 (Monday) to 7 (Sunday): `startOfWeek` (5439015, 5439016).
fn start_of_week_arg(op: &str, value: &Bson) -> CmdResult<i64> {
    let Bson::String(name) = value else {
        return Err(expr_error(
            5439015,
            format!(
                "{op} requires 'startOfWeek' to be a string, but got {}",
                type_name(&Some(value.clone()))
            ),
        ));
    };
    let day = match name.to_lowercase().as_str() {
        "monday" | "mon" => 1,
        "tuesday" | "tue" => 2,
        "wednesday" | "wed" => 3,
        "thursday" | "thu" => 4,
        "friday" | "fri" => 5,
        "saturday" | "sat" => 6,
        "sunday" | "sun" => 7,
        _ => {
            return Err(expr_error(
                5439016,
                format!(
                    "{op} parameter 'startOfWeek' value cannot be recognized as a day of a week: {name}"
                ),
            ));
        }
    };
    Ok(day)
}

/// A date from milliseconds after the epoch.
fn date(millis: i64) -> Bson {
    Bson::DateTime(DateTime::from_millis(millis))
}

/// mongod's ConversionFailure (241), what `onError` catches.
fn conversion_failure(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::ConversionFailure, message)
}

/// Parses a date string as `$toDate` (and `$convert` to a date) does: any form
/// `$dateFromString` accepts without a format, in UTC unless the string names an offset.
pub(super) fn parse_date_string(text: &str) -> CmdResult<DateTime> {
    parse::from_string(text, None, &Zone::Utc).map(DateTime::from_millis)
}

/// `millis` moved by `amount` `unit`s in UTC as `$dateAdd` moves it (calendar units
/// keep the day of the month, clamped to the month's end), for the stages that step by
/// time units (`$densify`, range windows).
pub(super) fn add_units(millis: i64, unit: &str, amount: i64) -> CmdResult<i64> {
    let unit = Unit::named(unit)
        .ok_or_else(|| CommandError::failed_to_parse(format!("unknown time unit value: {unit}")))?;
    arith::add(millis, unit, amount, &Zone::Utc)
}

/// A date as `$toString` and `$convert` show it: `%Y-%m-%dT%H:%M:%S.%LZ` in UTC.
pub(super) fn iso_string(d: DateTime) -> CmdResult<String> {
    format::format_date("%Y-%m-%dT%H:%M:%S.%LZ", d.timestamp_millis(), &Zone::Utc)
}

/// Converts a value to a date as `$toDate` does (null for null or missing): a double, long
/// or decimal counts milliseconds, a string is parsed, an ObjectId or a timestamp gives its
/// time. Anything else, an int included, is refused with 241.
pub(super) fn to_date(value: &Option<Bson>) -> CmdResult<Option<Bson>> {
    let fail = |why: String| conversion_failure(format!("{why} in $convert with no onError value"));
    let Some(v) = value else {
        return Ok(Some(Bson::Null));
    };
    Ok(Some(match v {
        Bson::Null | Bson::Undefined => Bson::Null,
        Bson::DateTime(_) => v.clone(),
        Bson::Timestamp(_) | Bson::ObjectId(_) => date(instant(v).unwrap_or_default()),
        Bson::String(s) => Bson::DateTime(parse_date_string(s)?),
        Bson::Int64(n) => date(*n),
        Bson::Double(_) | Bson::Decimal128(_) => {
            let d = crate::engine::arith::to_f64(v).unwrap_or(f64::NAN);
            if d.is_nan() {
                return Err(fail(
                    "Attempt to convert NaN value to integer type".to_string(),
                ));
            }
            // Doubles at or past 2^63 do not fit a long.
            if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d) {
                return Err(fail("Conversion would overflow target type".to_string()));
            }
            date(d.trunc() as i64)
        }
        other => {
            return Err(fail(format!(
                "Unsupported conversion from {} to date",
                type_name(&Some(other.clone()))
            )));
        }
    }))
}

fn to_date_op(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    to_date(operand(op, &values, 0)?)
}

/// `$tsSecond` and `$tsIncrement`: a long, null for null or missing.
fn timestamp_half(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        v if nullish(v) => Ok(Some(Bson::Null)),
        Some(Bson::Timestamp(t)) => Ok(Some(Bson::Int64(i64::from(if op.name == "$tsSecond" {
            t.time
        } else {
            t.increment
        })))),
        other => Err(expr_error(
            if op.name == "$tsSecond" {
                5687301
            } else {
                5687302
            },
            format!(
                " Argument to {} must be a timestamp, but is {}",
                op.name,
                type_name(other)
            ),
        )),
    }
}
