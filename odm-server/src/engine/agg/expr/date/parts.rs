//! A date's parts, one at a time (`$year` ... `$isoDayOfWeek`) or all at once
//! (`$dateToParts`), and a date from its parts (`$dateFromParts`).
//!
//! `$dateFromParts` carries values past their range the way timelib does: month 14 is
//! February of the next year, hour -1 the last hour of the day before, day 0 the last day
//! of the month before. mongod bounds each part but the seconds and milliseconds to a
//! 16-bit integer, and the year to 1 through 9999, before any carry.

use bson::{Bson, Document};

use super::calendar::{Day, Local};
use super::zone::Zone;
use super::{Args, Shape, coerce_instant, date, present, zone_arg, zone_value};
use crate::engine::agg::expr::{Expression, Scope, display_string, expr_error, nullish, type_name};
use crate::engine::arith;
use crate::error::{CmdResult, ErrorCode};

/// What a part operator extracts.
#[derive(Clone, Copy)]
enum Part {
    Year,
    Month,
    DayOfMonth,
    Hour,
    Minute,
    Second,
    Millisecond,
    DayOfWeek,
    DayOfYear,
    Week,
    IsoWeek,
    IsoWeekYear,
    IsoDayOfWeek,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Year => "$year",
            Part::Month => "$month",
            Part::DayOfMonth => "$dayOfMonth",
            Part::Hour => "$hour",
            Part::Minute => "$minute",
            Part::Second => "$second",
            Part::Millisecond => "$millisecond",
            Part::DayOfWeek => "$dayOfWeek",
            Part::DayOfYear => "$dayOfYear",
            Part::Week => "$week",
            Part::IsoWeek => "$isoWeek",
            Part::IsoWeekYear => "$isoWeekYear",
            Part::IsoDayOfWeek => "$isoDayOfWeek",
        }
    }

    fn of(self, t: Local) -> Bson {
        let n = match self {
            Part::Year => t.day.year(),
            Part::Month => t.day.month(),
            Part::DayOfMonth => t.day.day(),
            Part::Hour => t.hour(),
            Part::Minute => t.minute(),
            Part::Second => t.second(),
            Part::Millisecond => t.millisecond(),
            Part::DayOfWeek => t.day.weekday_from_sunday(),
            Part::DayOfYear => t.day.day_of_year(),
            Part::Week => t.day.sunday_week(),
            Part::IsoWeek => t.day.iso_week().1,
            Part::IsoDayOfWeek => t.day.iso_weekday(),
            // mongod answers a long for this one part alone.
            Part::IsoWeekYear => return Bson::Int64(t.day.iso_week().0),
        };
        int(n)
    }
}

/// An int, as mongod's parts are (a year past ±2^31 is beyond any BSON date).
fn int(n: i64) -> Bson {
    Bson::Int32(i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
}

/// One evaluation function per part operator, as [`super::OPS`] names them.
macro_rules! part_operators {
    ($($f:ident: $part:ident),* $(,)?) => {
        $(pub(super) fn $f(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
            date_part(Part::$part, args, scope)
        })*
    };
}

part_operators!(
    year: Year,
    month: Month,
    day_of_month: DayOfMonth,
    hour: Hour,
    minute: Minute,
    second: Second,
    millisecond: Millisecond,
    day_of_week: DayOfWeek,
    day_of_year: DayOfYear,
    week: Week,
    iso_week: IsoWeek,
    iso_week_year: IsoWeekYear,
    iso_day_of_week: IsoDayOfWeek,
);

/// A part operator: `{$hour: <date>}`, `{$hour: [<date>]}` or `{$hour: {date, timezone}}`.
fn date_part(part: Part, args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let name = part.name();
    let (date_expr, zone_expr) = match args {
        [Expression::Object(fields)] => {
            if let Some((unknown, _)) = fields.iter().find(|(k, _)| k != "date" && k != "timezone")
            {
                return Err(expr_error(
                    40535,
                    format!("unrecognized option to {name}: \"{unknown}\""),
                ));
            }
            let find = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, e)| e);
            let Some(date_expr) = find("date") else {
                let given: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                return Err(expr_error(
                    40539,
                    format!(
                        "missing 'date' argument to {name}, provided: {{ {} }}",
                        given.join(", ")
                    ),
                ));
            };
            (date_expr, find("timezone"))
        }
        [single] => (single, None),
        _ => {
            return Err(expr_error(
                40536,
                format!(
                    "{name} accepts exactly one argument if given an array, but was given {}",
                    args.len()
                ),
            ));
        }
    };
    let Some(value) = present(date_expr.evaluate(scope)?) else {
        return Ok(Some(Bson::Null));
    };
    let millis = coerce_instant(&value)?;
    let zone = match zone_expr {
        Some(e) => zone_value(Some(e.evaluate(scope)?), "")?,
        None => Some(Zone::Utc),
    };
    Ok(Some(match zone {
        Some(zone) => part.of(zone.local(millis)),
        None => Bson::Null,
    }))
}

const TO_PARTS: Shape = Shape {
    name: "$dateToParts",
    allowed: &["date", "timezone", "iso8601"],
    not_object: (40524, "only supports an object as its argument"),
    unknown: (40520, ""),
};

pub(super) fn date_to_parts(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let args = Args::read(&TO_PARTS, args)?;
    if !args.given("date") {
        return Err(expr_error(
            40522,
            "Missing 'date' parameter to $dateToParts",
        ));
    }
    let value = args.value("date", scope)?;
    let Some(zone) = zone_arg(&args, scope, "")? else {
        return Ok(Some(Bson::Null));
    };
    let iso = match args.eval("iso8601", scope)? {
        None => false,
        Some(v) if nullish(&v) => return Ok(Some(Bson::Null)),
        Some(Some(Bson::Boolean(b))) => b,
        Some(other) => {
            return Err(expr_error(
                40521,
                format!(
                    "iso8601 must evaluate to a bool, found {}",
                    type_name(&other)
                ),
            ));
        }
    };
    let Some(value) = present(value) else {
        return Ok(Some(Bson::Null));
    };
    let t = zone.local(coerce_instant(&value)?);
    let mut out = Document::new();
    if iso {
        let (year, week) = t.day.iso_week();
        out.insert("isoWeekYear", int(year));
        out.insert("isoWeek", int(week));
        out.insert("isoDayOfWeek", int(t.day.iso_weekday()));
    } else {
        out.insert("year", int(t.day.year()));
        out.insert("month", int(t.day.month()));
        out.insert("day", int(t.day.day()));
    }
    out.insert("hour", int(t.hour()));
    out.insert("minute", int(t.minute()));
    out.insert("second", int(t.second()));
    out.insert("millisecond", int(t.millisecond()));
    Ok(Some(Bson::Document(out)))
}

const FROM_PARTS: Shape = Shape {
    name: "$dateFromParts",
    allowed: &[
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "millisecond",
        "isoWeekYear",
        "isoWeek",
        "isoDayOfWeek",
        "timezone",
    ],
    not_object: (40519, "only supports an object as its argument"),
    unknown: (40518, ""),
};

pub(super) fn date_from_parts(
    args: &[Expression],
    scope: &mut Scope<'_>,
) -> CmdResult<Option<Bson>> {
    let args = Args::read(&FROM_PARTS, args)?;
    let calendar = args.given("year");
    let iso = args.given("isoWeekYear");
    if !calendar && !iso {
        return Err(expr_error(
            40516,
            "$dateFromParts requires either 'year' or 'isoWeekYear' to be present",
        ));
    }
    if calendar
        && ["isoWeekYear", "isoWeek", "isoDayOfWeek"]
            .iter()
            .any(|k| args.given(k))
    {
        return Err(expr_error(
            40489,
            "$dateFromParts does not allow mixing natural dates with ISO dates",
        ));
    }
    if iso && ["year", "month", "day"].iter().any(|k| args.given(k)) {
        return Err(expr_error(
            40525,
            "$dateFromParts does not allow mixing ISO dates with natural dates",
        ));
    }
    // mongod reads the time first, then the zone, then the date; the first null or
    // missing part makes the result null, and the parts after it are not looked at.
    let mut time = [0i64; 4];
    for (slot, (name, bounded)) in time.iter_mut().zip([
        ("hour", true),
        ("minute", true),
        ("second", false),
        ("millisecond", false),
    ]) {
        match number(&args, scope, name, 0, bounded)? {
            Some(n) => *slot = n,
            None => return Ok(Some(Bson::Null)),
        }
    }
    let Some(zone) = zone_arg(&args, scope, "")? else {
        return Ok(Some(Bson::Null));
    };
    let names = if calendar {
        ["year", "month", "day"]
    } else {
        ["isoWeekYear", "isoWeek", "isoDayOfWeek"]
    };
    let mut ymd = [0i64; 3];
    for (i, name) in names.iter().enumerate() {
        let default = if i == 0 { 1970 } else { 1 };
        match number(&args, scope, name, default, i > 0)? {
            Some(n) => ymd[i] = n,
            None => return Ok(Some(Bson::Null)),
        }
    }
    let [year, a, b] = ymd;
    if !(1..=9999).contains(&year) {
        let (code, which) = if calendar {
            (40523, "year")
        } else {
            (31095, "isoWeekYear")
        };
        return Err(expr_error(
            code,
            format!("'{which}' must evaluate to an integer in the range 1 to 9999, found {year}"),
        ));
    }
    let day = if calendar {
        // Months carry into years first; the day then counts on from the first.
        let carried = year + (a - 1).div_euclid(12);
        Day::from_ymd(carried, (a - 1).rem_euclid(12) + 1, 1)
            .and_then(|first| first.epoch_days().checked_add(b - 1))
    } else {
        Day::from_iso_week(year, a, b - 1).map(Day::epoch_days)
    };
    let [hour, minute, second, millisecond] = time;
    let local = day
        .and_then(|d| d.checked_mul(86_400_000))
        .and_then(|ms| ms.checked_add(hour * 3_600_000 + minute * 60_000))
        .and_then(|ms| ms.checked_add(second.checked_mul(1000)?))
        .and_then(|ms| ms.checked_add(millisecond));
    let instant = local.and_then(|ms| {
        let seconds = zone.instant(ms.div_euclid(1000))?;
        seconds.checked_mul(1000)?.checked_add(ms.rem_euclid(1000))
    });
    match instant {
        Some(ms) => Ok(Some(date(ms))),
        None => Err(crate::error::CommandError::new(
            ErrorCode::Overflow,
            "$dateFromParts: the date is outside the range of a BSON date",
        )),
    }
}

/// An integral part of `$dateFromParts`: `default` when not given, `None` for null or
/// missing; `bounded` parts must fit a 16-bit integer (31034).
fn number(
    args: &Args<'_>,
    scope: &mut Scope<'_>,
    name: &str,
    default: i64,
    bounded: bool,
) -> CmdResult<Option<i64>> {
    let value = match args.eval(name, scope)? {
        None => return Ok(Some(default)),
        Some(v) if nullish(&v) => return Ok(None),
        Some(v) => v,
    };
    let Some(n) = value.as_ref().and_then(arith::to_i64_exact) else {
        return Err(expr_error(
            40515,
            format!(
                "'{name}' must evaluate to an integer, found {} with value {}",
                type_name(&value),
                value.as_ref().map_or_else(String::new, shown)
            ),
        ));
    };
    if bounded && !(i64::from(i16::MIN)..=i64::from(i16::MAX)).contains(&n) {
        return Err(expr_error(
            31034,
            format!(
                "'{name}' must evaluate to a value in the range [-32768, 32767]; value {n} is not in range"
            ),
        ));
    }
    Ok(Some(n))
}

/// A value as mongod prints one in a message: strings quoted.
fn shown(v: &Bson) -> String {
    match v {
        Bson::String(s) => format!("\"{s}\""),
        other => display_string(other),
    }
}
