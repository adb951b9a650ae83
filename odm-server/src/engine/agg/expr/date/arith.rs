//! Calendar arithmetic: `$dateAdd`, `$dateSubtract`, `$dateDiff` and `$dateTrunc`.
//!
//! Days, weeks, months, quarters and years are counted on the wall clock of the time zone,
//! so that adding a day across a daylight-saving change keeps the time of day; hours and
//! shorter units are counted on the instant. A month added to the 31st lands on the last
//! day of a shorter month. `$dateDiff` counts the unit boundaries crossed, not whole units
//! elapsed: from 23:59 to 00:01 is one day. `$dateTrunc` cuts into bins of `binSize`
//! units counted from 2000-01-01 in the zone (for weeks, the first `startOfWeek` on or
//! after it). Each step checks for overflow where mongod does, with mongod's codes.

use bson::Bson;

use super::calendar::{Day, Local, days_in_month};
use super::zone::Zone;
use super::{Args, Shape, Unit, date, instant, present, start_of_week_arg, unit_arg, zone_arg};
use crate::engine::agg::expr::{Expression, Scope, display_string, expr_error, nullish, type_name};
use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};

const ADD: Shape = Shape {
    name: "$dateAdd",
    allowed: &["startDate", "unit", "amount", "timezone"],
    not_object: (5166400, "expects an object as its argument"),
    unknown: (
        5166401,
        ". Expected arguments are startDate, unit, amount, and optionally timezone.",
    ),
};

const SUBTRACT: Shape = Shape {
    name: "$dateSubtract",
    ..ADD
};

pub(super) fn date_add(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    add_or_subtract(&ADD, args, scope)
}

pub(super) fn date_subtract(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    add_or_subtract(&SUBTRACT, args, scope)
}

fn add_or_subtract(
    shape: &Shape,
    args: &[Expression],
    scope: &mut Scope<'_>,
) -> CmdResult<Option<Bson>> {
    let op = shape.name;
    let args = Args::read(shape, args)?;
    if !["startDate", "unit", "amount"]
        .iter()
        .all(|k| args.given(k))
    {
        return Err(expr_error(
            5166402,
            format!("{op} requires startDate, unit, and amount to be present"),
        ));
    }
    let mut values = Vec::with_capacity(3);
    for name in ["startDate", "unit", "amount"] {
        match present(args.value(name, scope)?) {
            Some(v) => values.push(v),
            None => return Ok(Some(Bson::Null)),
        }
    }
    let Some(zone) = zone_arg(&args, scope, "")? else {
        return Ok(Some(Bson::Null));
    };
    let [start, unit, amount] = <[Bson; 3]>::try_from(values)
        .map_err(|_| CommandError::internal(format!("{op}: three arguments expected")))?;
    let Some(start) = instant(&start) else {
        return Err(expr_error(
            5166403,
            format!("{op} requires startDate to be convertible to a date"),
        ));
    };
    let Bson::String(unit) = unit else {
        return Err(expr_error(
            5166404,
            format!("{op} expects string defining the time unit"),
        ));
    };
    let Some(unit) = Unit::named(&unit) else {
        return Err(CommandError::new(
            ErrorCode::FailedToParse,
            format!("unknown time unit value: {unit}"),
        ));
    };
    let Some(mut amount) = arith::to_i64_exact(&amount) else {
        return Err(expr_error(
            5166405,
            format!("{op} expects integer amount of time units"),
        ));
    };
    if op == "$dateSubtract" {
        amount = amount.checked_neg().ok_or_else(|| {
            expr_error(
                6045000,
                format!("invalid $dateSubtract 'amount' parameter value: {amount}"),
            )
        })?;
    }
    add(start, unit, amount, &zone).map(|ms| Some(date(ms)))
}

/// The largest amount of each unit mongod lets `$dateAdd` try (exclusive): about the
/// length of the whole BSON date range, beyond which its arithmetic could overflow.
fn amount_limit(unit: Unit) -> i64 {
    const MAX_DAYS: i64 = (u64::MAX / 86_400_000) as i64 + 1;
    const MAX_YEARS: i64 = MAX_DAYS / 365 + 1;
    match unit {
        Unit::Year => MAX_YEARS,
        Unit::Quarter => MAX_YEARS * 4,
        Unit::Month => MAX_YEARS * 12,
        Unit::Week => MAX_DAYS / 7,
        Unit::Day => MAX_DAYS,
        Unit::Hour => MAX_DAYS * 24,
        Unit::Minute => MAX_DAYS * 24 * 60,
        Unit::Second | Unit::Millisecond => MAX_DAYS * 24 * 60 * 60,
    }
}

/// mongod's dateAdd: `amount` units after the instant `millis` (before it when negative),
/// counted in `zone`.
pub(super) fn add(millis: i64, unit: Unit, amount: i64, zone: &Zone) -> CmdResult<i64> {
    let overflow = || expr_error(5166406, "dateAdd overflowed");
    if unit == Unit::Millisecond {
        return millis.checked_add(amount).ok_or_else(overflow);
    }
    let limit = amount_limit(unit);
    if amount <= -limit || amount >= limit {
        return Err(expr_error(
            5976500,
            format!(
                "invalid dateAdd 'amount' parameter value: {amount} {}",
                unit.name()
            ),
        ));
    }
    if let Some(unit_millis) = unit.fixed_millis() {
        // Hours and shorter are counted on the instant, so that a daylight-saving change
        // between the two does not move the result.
        return amount
            .checked_mul(unit_millis)
            .and_then(|d| millis.checked_add(d))
            .ok_or_else(overflow);
    }
    let t = zone.local(millis);
    let days = match unit {
        Unit::Year => month_days(t.day, amount * 12),
        Unit::Quarter => month_days(t.day, amount * 3),
        Unit::Month => month_days(t.day, amount),
        Unit::Week => Some(amount * 7),
        _ => Some(amount),
    };
    // No move at all leaves the instant as it was, even one in an hour that the clock
    // shows twice (mongod then adds nothing, on the instant).
    if days == Some(0) {
        return Ok(millis);
    }
    // The wall clock moves by whole days and keeps its time; the zone then says which
    // instant that is.
    days.and_then(|d| t.seconds()?.checked_add(d.checked_mul(86_400)?))
        .and_then(|local| zone.instant(local))
        .and_then(|s| s.checked_mul(1000)?.checked_add(t.millisecond()))
        .ok_or_else(overflow)
}

/// Days from `day` to the same day `months` later, or the last day of that month when it
/// is shorter.
fn month_days(day: Day, months: i64) -> Option<i64> {
    let index = day.month() - 1 + months;
    let year = day.year().checked_add(index.div_euclid(12))?;
    let month = index.rem_euclid(12) + 1;
    let target = Day::from_ymd(year, month, day.day().min(days_in_month(year, month)))?;
    Some(target.epoch_days() - day.epoch_days())
}

const DIFF: Shape = Shape {
    name: "$dateDiff",
    allowed: &["startDate", "endDate", "unit", "timezone", "startOfWeek"],
    not_object: (5166301, "only supports an object as its argument"),
    unknown: (5166302, ""),
};

pub(super) fn date_diff(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let args = Args::read(&DIFF, args)?;
    for (name, code) in [
        ("startDate", 5166303),
        ("endDate", 5166304),
        ("unit", 5166305),
    ] {
        if !args.given(name) {
            return Err(expr_error(
                code,
                format!("Missing '{name}' parameter to $dateDiff"),
            ));
        }
    }
    // Every null is looked for before any value is checked.
    let mut values = Vec::with_capacity(3);
    for name in ["startDate", "endDate", "unit"] {
        match present(args.value(name, scope)?) {
            Some(v) => values.push(v),
            None => return Ok(Some(Bson::Null)),
        }
    }
    let [start, end, unit] = <[Bson; 3]>::try_from(values)
        .map_err(|_| CommandError::internal("$dateDiff: three arguments expected"))?;
    let Some(start_of_week) = start_of_week(&args, scope, &unit)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(zone) = zone_arg(
        &args,
        scope,
        "$dateDiff parameter 'timezone' value parsing failed",
    )?
    else {
        return Ok(Some(Bson::Null));
    };
    let convert = |value: &Bson, name: &str| {
        instant(value).ok_or_else(|| {
            expr_error(
                5166307,
                format!(
                    "$dateDiff requires '{name}' to be a date, but got {}",
                    type_name(&Some(value.clone()))
                ),
            )
        })
    };
    let start = convert(&start, "startDate")?;
    let end = convert(&end, "endDate")?;
    let unit = unit_arg("$dateDiff", &unit)?;
    let start_of_week = match start_of_week {
        Some(v) => start_of_week_arg("$dateDiff", &v)?,
        None => 7,
    };
    diff(start, end, unit, &zone, start_of_week).map(|n| Some(Bson::Int64(n)))
}

/// `startOfWeek`, read only when the unit is `"week"`: `Ok(None)` for null or missing,
/// `Ok(Some(None))` when it does not apply.
fn start_of_week(
    args: &Args<'_>,
    scope: &mut Scope<'_>,
    unit: &Bson,
) -> CmdResult<Option<Option<Bson>>> {
    if !matches!(unit, Bson::String(u) if u == "week") {
        return Ok(Some(None));
    }
    match args.eval("startOfWeek", scope)? {
        None => Ok(Some(None)),
        Some(v) if nullish(&v) => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

/// The `unit` boundaries crossed from `start` to `end` (negative when `end` is earlier).
fn diff(start: i64, end: i64, unit: Unit, zone: &Zone, start_of_week: i64) -> CmdResult<i64> {
    if unit == Unit::Millisecond {
        return end
            .checked_sub(start)
            .ok_or_else(|| expr_error(5166308, "dateDiff overflowed"));
    }
    let (a, b) = (zone.local(start), zone.local(end));
    let years = b.day.year() - a.day.year();
    let days = b.day.epoch_days() - a.day.epoch_days();
    // How far apart the two offsets are, for the units counted on the instant.
    let shift = zone.offset_at(start.div_euclid(1000)) - zone.offset_at(end.div_euclid(1000));
    let hours = b.hour() - a.hour() + days * 24;
    let minutes = b.minute() - a.minute() + hours * 60;
    Ok(match unit {
        Unit::Year => years,
        Unit::Quarter => quarter(b) - quarter(a) + years * 4,
        Unit::Month => b.day.month() - a.day.month() + years * 12,
        Unit::Week => (days + week_day(a.day, start_of_week) - week_day(b.day, start_of_week)) / 7,
        Unit::Day => days,
        // The corrections are truncated towards zero, as mongod's integer division is.
        Unit::Hour => hours + shift / 3600,
        Unit::Minute => minutes + shift / 60,
        _ => b.second() - a.second() + minutes * 60 + shift,
    })
}

fn quarter(t: Local) -> i64 {
    (t.day.month() - 1) / 3
}

/// 0 for the first day of a week that starts on `start_of_week` (1 for Monday), to 6.
fn week_day(day: Day, start_of_week: i64) -> i64 {
    (day.iso_weekday() - start_of_week + 7) % 7
}

const TRUNC: Shape = Shape {
    name: "$dateTrunc",
    allowed: &["date", "unit", "binSize", "timezone", "startOfWeek"],
    not_object: (5439007, "only supports an object as its argument"),
    unknown: (
        5439008,
        ". Expected arguments are date, unit, and optionally, binSize, timezone, startOfWeek",
    ),
};

pub(super) fn date_trunc(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let args = Args::read(&TRUNC, args)?;
    for (name, code) in [("date", 5439009), ("unit", 5439010)] {
        if !args.given(name) {
            return Err(expr_error(
                code,
                format!("Missing '{name}' parameter to $dateTrunc"),
            ));
        }
    }
    let Some(value) = present(args.value("date", scope)?) else {
        return Ok(Some(Bson::Null));
    };
    let Some(unit) = present(args.value("unit", scope)?) else {
        return Ok(Some(Bson::Null));
    };
    let bin_size = match args.eval("binSize", scope)? {
        None => None,
        Some(v) if nullish(&v) => return Ok(Some(Bson::Null)),
        Some(v) => v,
    };
    let Some(start_of_week) = start_of_week(&args, scope, &unit)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(zone) = zone_arg(
        &args,
        scope,
        "$dateTrunc parameter 'timezone' value parsing failed",
    )?
    else {
        return Ok(Some(Bson::Null));
    };
    let Some(millis) = instant(&value) else {
        return Err(expr_error(
            5439012,
            format!(
                "$dateTrunc requires 'date' to be a date, but got {}",
                type_name(&Some(value))
            ),
        ));
    };
    let unit = unit_arg("$dateTrunc", &unit)?;
    let bin_size = match bin_size {
        None => 1,
        Some(v) => {
            let Some(n) = arith::to_i64_exact(&v) else {
                return Err(expr_error(
                    5439017,
                    format!(
                        "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '{}' of type {}",
                        display_string(&v),
                        type_name(&Some(v.clone()))
                    ),
                ));
            };
            if n <= 0 {
                return Err(expr_error(
                    5439018,
                    format!(
                        "$dateTrunc requires 'binSize' to be greater than 0, but got value {n}"
                    ),
                ));
            }
            n
        }
    };
    let start_of_week = match start_of_week {
        Some(v) => start_of_week_arg("$dateTrunc", &v)?,
        None => 7,
    };
    truncate(millis, unit, bin_size, &zone, start_of_week).map(|ms| Some(date(ms)))
}

/// The start of the bin `millis` falls in.
fn truncate(
    millis: i64,
    unit: Unit,
    bin_size: i64,
    zone: &Zone,
    start_of_week: i64,
) -> CmdResult<i64> {
    let overflow = |code| expr_error(code, "dateTrunc overflowed");
    // 2000-01-01T00:00 on the zone's clock: the offset in force at that instant in UTC
    // serves, as no zone changed its clock in the first days of 2000.
    const Y2K_SECONDS: i64 = 946_684_800;
    let mut reference = (Y2K_SECONDS - zone.offset_at(Y2K_SECONDS)) * 1000;
    if let Some(unit_millis) = unit.fixed_millis() {
        let bin = bin_size
            .checked_mul(unit_millis)
            .ok_or_else(|| overflow(5439002))?;
        let shifted = millis
            .checked_sub(reference)
            .ok_or_else(|| overflow(5439000))?;
        return millis
            .checked_sub(shifted.rem_euclid(bin))
            .ok_or_else(|| overflow(5439001));
    }
    if bin_size > 100_000_000_000 {
        return Err(expr_error(5439006, "dateTrunc unsupported binSize value"));
    }
    let mut first_day = Day::from_epoch_days(Y2K_SECONDS / 86_400);
    if unit == Unit::Week {
        // 2000-01-01 was a Saturday; weeks count from the first start of a week on or
        // after it.
        let ahead = (7 - week_day(first_day, start_of_week)) % 7;
        reference += ahead * 86_400_000;
        first_day = Day::from_epoch_days(Y2K_SECONDS / 86_400 + ahead);
    }
    let t = zone.local(millis);
    let years = t.day.year() - 2000;
    let distance = match unit {
        Unit::Year => years,
        Unit::Quarter => quarter(t) + years * 4,
        Unit::Month => t.day.month() - 1 + years * 12,
        Unit::Week => {
            (t.day.epoch_days() - first_day.epoch_days() - week_day(t.day, start_of_week)) / 7
        }
        _ => t.day.epoch_days() - first_day.epoch_days(),
    };
    let lower = distance
        .checked_sub(distance.rem_euclid(bin_size))
        .ok_or_else(|| overflow(5439004))?;
    add(reference, unit, lower, zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_default()
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        let utc = Zone::Utc;
        assert_eq!(
            add(ms("2021-01-31T03:00:00Z"), Unit::Month, -2, &utc).ok(),
            Some(ms("2020-11-30T03:00:00Z"))
        );
        assert_eq!(
            add(ms("2020-02-29T00:00:00Z"), Unit::Year, 1, &utc).ok(),
            Some(ms("2021-02-28T00:00:00Z"))
        );
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(
            add(ms("2021-01-30T23:30:00Z"), Unit::Month, 1, &paris).ok(),
            Some(ms("2021-02-27T23:30:00Z"))
        );
    }

    #[test]
    fn days_keep_the_wall_clock_and_hours_the_instant() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        let start = ms("2020-10-24T18:10:00Z");
        assert_eq!(
            add(start, Unit::Day, 1, &paris).ok(),
            Some(ms("2020-10-25T19:10:00Z"))
        );
        assert_eq!(
            add(start, Unit::Hour, 24, &paris).ok(),
            Some(ms("2020-10-25T18:10:00Z"))
        );
    }

    #[test]
    fn adding_nothing_keeps_an_instant_in_a_repeated_hour() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 01:30 EST, the second 01:30 of 2020-11-01.
        let second = ms("2020-11-01T06:30:00Z");
        assert_eq!(add(second, Unit::Day, 0, &ny).ok(), Some(second));
        assert_eq!(add(second, Unit::Month, 0, &ny).ok(), Some(second));
    }

    #[test]
    fn extremes_are_refused_not_panicked() {
        assert_eq!(
            add(i64::MAX, Unit::Millisecond, 1, &Zone::Utc)
                .unwrap_err()
                .code
                .code(),
            5166406
        );
        assert_eq!(
            add(0, Unit::Month, -30_000_000_000, &Zone::Utc)
                .unwrap_err()
                .code
                .code(),
            5976500
        );
        assert!(add(i64::MAX - 5, Unit::Day, 1, &Zone::Utc).is_err());
        assert!(diff(i64::MIN, i64::MAX, Unit::Millisecond, &Zone::Utc, 7).is_err());
        assert!(diff(i64::MIN, i64::MAX, Unit::Second, &Zone::Utc, 7).is_ok());
        assert!(truncate(i64::MIN, Unit::Hour, i64::MAX, &Zone::Utc, 7).is_err());
        assert!(truncate(i64::MIN, Unit::Year, 3, &Zone::Utc, 7).is_err());
    }
}
