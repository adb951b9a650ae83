//! `$dateToString`, and the format strings it shares with `$dateFromString`.
//!
//! Each specifier prints one part of the date, zero-padded to its width; like mongod, any
//! part outside 0 to 9999 (a year before 0 or after 9999) refuses the whole string (18537)
//! rather than print something another reader would misparse. Without a format, a date in
//! mongod's own UTC ends in `Z` and one in any other zone (even `"GMT"`) does not.

use bson::Bson;

use super::zone::Zone;
use super::{Args, Shape, coerce_instant, present, zone_arg};
use crate::engine::agg::expr::{Expression, Scope, display_string, expr_error, nullish, type_name};
use crate::error::CmdResult;

/// The specifiers `$dateToString` prints (besides `%%`).
pub(super) const TO_STRING_SPECIFIERS: &str = "bBdGHjLmMSwuUVYzZ";
/// The ones `$dateFromString` reads: no day of week counted from Sunday, no `%U`.
pub(super) const FROM_STRING_SPECIFIERS: &str = "bBdGHjLmMSuVYzZ";

pub(super) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Refuses a format whose `%` is last (18535) or followed by a letter not in `allowed`
/// (18536).
pub(super) fn check_format(format: &str, allowed: &str) -> CmdResult<()> {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            None => return Err(expr_error(18535, "Unmatched '%' at end of format string")),
            Some(s) if s == '%' || allowed.contains(s) => {}
            Some(s) => {
                return Err(expr_error(
                    18536,
                    format!("Invalid format character '%{s}' in format string"),
                ));
            }
        }
    }
    Ok(())
}

const TO_STRING: Shape = Shape {
    name: "$dateToString",
    allowed: &["date", "format", "timezone", "onNull"],
    not_object: (18629, "only supports an object as its argument"),
    unknown: (18534, ""),
};

pub(super) fn date_to_string(
    args: &[Expression],
    scope: &mut Scope<'_>,
) -> CmdResult<Option<Bson>> {
    let args = Args::read(&TO_STRING, args)?;
    if !args.given("date") {
        return Err(expr_error(
            18628,
            "Missing 'date' parameter to $dateToString",
        ));
    }
    let value = args.value("date", scope)?;
    // mongod checks the format, then the zone, before it looks at the date.
    let format = match args.eval("format", scope)? {
        None => None,
        Some(f) if nullish(&f) => Some(None),
        Some(Some(Bson::String(f))) => {
            check_format(&f, TO_STRING_SPECIFIERS)?;
            Some(Some(f))
        }
        Some(other) => {
            return Err(expr_error(
                18533,
                format!(
                    "$dateToString requires that 'format' be a string, found: {} with value {}",
                    type_name(&other),
                    other.as_ref().map_or_else(String::new, display_string)
                ),
            ));
        }
    };
    let zone = zone_arg(&args, scope, "")?;
    let Some(value) = present(value) else {
        return match args.eval("onNull", scope)? {
            Some(on_null) => Ok(on_null),
            None => Ok(Some(Bson::Null)),
        };
    };
    let Some(zone) = zone else {
        return Ok(Some(Bson::Null));
    };
    let format = match format {
        Some(Some(f)) => f,
        Some(None) => return Ok(Some(Bson::Null)),
        None if zone.is_utc() => "%Y-%m-%dT%H:%M:%S.%LZ".to_string(),
        None => "%Y-%m-%dT%H:%M:%S.%L".to_string(),
    };
    let millis = coerce_instant(&value)?;
    Ok(Some(Bson::String(format_date(&format, millis, &zone)?)))
}

/// `millis` printed by a checked `format` in `zone`.
pub(super) fn format_date(format: &str, millis: i64, zone: &Zone) -> CmdResult<String> {
    let t = zone.local(millis);
    let offset = zone.offset_at(millis.div_euclid(1000));
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else { break };
        match spec {
            'Y' => padded(&mut out, t.day.year(), 4)?,
            'm' => padded(&mut out, t.day.month(), 2)?,
            'd' => padded(&mut out, t.day.day(), 2)?,
            'H' => padded(&mut out, t.hour(), 2)?,
            'M' => padded(&mut out, t.minute(), 2)?,
            'S' => padded(&mut out, t.second(), 2)?,
            'L' => padded(&mut out, t.millisecond(), 3)?,
            'j' => padded(&mut out, t.day.day_of_year(), 3)?,
            'w' => padded(&mut out, t.day.weekday_from_sunday(), 1)?,
            'U' => padded(&mut out, t.day.sunday_week(), 2)?,
            'G' => padded(&mut out, t.day.iso_week().0, 4)?,
            'V' => padded(&mut out, t.day.iso_week().1, 2)?,
            'u' => padded(&mut out, t.day.iso_weekday(), 1)?,
            'b' | 'B' => {
                let name = usize::try_from(t.day.month() - 1)
                    .ok()
                    .and_then(|i| MONTH_NAMES.get(i))
                    .copied()
                    .unwrap_or_default();
                out.push_str(if spec == 'b' {
                    name.get(..3).unwrap_or(name)
                } else {
                    name
                });
            }
            'z' => {
                out.push(if offset < 0 { '-' } else { '+' });
                // Whole hours and minutes, each truncated towards zero as mongod's
                // durations are.
                padded(&mut out, (offset / 3600).abs(), 2)?;
                padded(&mut out, (offset / 60).abs() % 60, 2)?;
            }
            'Z' => out.push_str(&(offset / 60).to_string()),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// `n` zero-padded to `width` digits; mongod prints only 0 to 9999.
fn padded(out: &mut String, n: i64, width: usize) -> CmdResult<()> {
    if !(0..=9999).contains(&n) {
        return Err(expr_error(
            18537,
            format!(
                "Could not convert date to string: date component was outside the supported range of 0-9999: {n}"
            ),
        ));
    }
    out.push_str(&format!("{n:0width$}"));
    Ok(())
}
