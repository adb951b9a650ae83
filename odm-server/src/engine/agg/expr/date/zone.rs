//! Time zones as mongod names them: an IANA identifier (`"America/New_York"`, looked up
//! case-sensitively, as mongod's map does), `"UTC"`, or an offset (`"+04:45"`, `"-0530"`,
//! `"+03"`), and the two conversions every date operator needs: from an instant to the
//! wall clock of the zone, and back.
//!
//! Going back is where zones differ: a wall-clock time may not exist (the hour skipped in
//! spring) or exist twice (the hour repeated in autumn). [`Zone::instant`] resolves both
//! the way timelib does, so that `$dateFromParts` and `$dateAdd` land where mongod's land;
//! jiff supplies the offsets and transitions of the IANA database it carries.

use jiff::Timestamp;
use jiff::tz::{self, TimeZone};

use super::calendar::Local;
use crate::engine::agg::expr::expr_error;
use crate::error::CmdResult;

/// A time zone argument.
#[derive(Clone, Debug)]
pub(super) enum Zone {
    /// `"UTC"`, or an offset of zero: mongod's own UTC, which `$dateToString`'s default
    /// format marks with a `Z`.
    Utc,
    /// A fixed offset from UTC, in seconds (any number of hours: mongod only checks the
    /// digits).
    Offset(i64),
    Named(TimeZone),
}

impl Zone {
    /// The zone a `timezone` argument names (40485 when none).
    pub(super) fn parse(name: &str) -> CmdResult<Zone> {
        if name == "UTC" {
            return Ok(Zone::Utc);
        }
        if let Ok(found) = tz::db().get(name)
            && found.iana_name() == Some(name)
        {
            return Ok(Zone::Named(found));
        }
        match parse_offset(name) {
            Some(0) => Ok(Zone::Utc),
            Some(seconds) => Ok(Zone::Offset(seconds)),
            None => Err(expr_error(
                40485,
                format!("unrecognized time zone identifier: \"{name}\""),
            )),
        }
    }

    pub(super) fn is_utc(&self) -> bool {
        matches!(self, Zone::Utc)
    }

    /// Seconds east of UTC at the instant `seconds` after the epoch.
    pub(super) fn offset_at(&self, seconds: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Offset(o) => *o,
            Zone::Named(tz) => i64::from(tz.to_offset(timestamp(seconds)).seconds()),
        }
    }

    /// The wall clock of this zone at the instant `millis` after the epoch.
    pub(super) fn local(&self, millis: i64) -> Local {
        let seconds = millis.div_euclid(1000);
        // An instant's seconds are within ±2^63 / 1000, and an offset within a day (or,
        // for an offset argument, within 100 hours), so the sum cannot overflow.
        Local::from_seconds(seconds + self.offset_at(seconds), millis.rem_euclid(1000))
    }

    /// The instant (seconds after the epoch) at which this zone's clock shows `local`
    /// (seconds after the epoch of the same clock), as timelib resolves a time that a
    /// transition skips or repeats.
    pub(super) fn instant(&self, local: i64) -> Option<i64> {
        let tz = match self {
            Zone::Utc => return Some(local),
            Zone::Offset(o) => return local.checked_sub(*o),
            Zone::Named(tz) => tz,
        };
        // timelib reads the offset in force at the local time taken as UTC, then the one in
        // force that far from it; it keeps the first unless the second is the right one
        // outside the transition it began with.
        let (current, _) = offset_info(tz, local);
        let (after, transition) = offset_info(tz, local.checked_sub(current)?);
        let shifted = local.checked_sub(after)?;
        let in_transition = transition.is_some_and(|start| {
            shifted >= start.saturating_add(current - after) && shifted < start
        });
        let offset = if current != after && !in_transition {
            after
        } else {
            current
        };
        local.checked_sub(offset)
    }
}

/// The offset in force `seconds` after the epoch, and when the period it belongs to began
/// (`None` before the zone's first transition).
fn offset_info(tz: &TimeZone, seconds: i64) -> (i64, Option<i64>) {
    let at = timestamp(seconds);
    let offset = i64::from(tz.to_offset(at).seconds());
    // `preceding` yields transitions strictly before its argument.
    let after = at
        .checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or(at);
    let began = tz
        .preceding(after)
        .next()
        .map(|t| t.timestamp().as_second());
    (offset, began)
}

/// The instant as jiff holds one: beyond jiff's range (years ±9999) the zone's rule at the
/// nearest end stands for the rest of time.
fn timestamp(seconds: i64) -> Timestamp {
    let clamped = seconds.clamp(
        Timestamp::MIN.as_second() + 1,
        Timestamp::MAX.as_second() - 1,
    );
    Timestamp::from_second(clamped).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `±HH`, `±HHMM` or `±HH:MM`, as mongod reads an offset, in seconds.
fn parse_offset(spec: &str) -> Option<i64> {
    let bytes = spec.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (hours, minutes) = match bytes.len() {
        3 => (digits(1..3)?, 0),
        5 => (digits(1..3)?, digits(3..5)?),
        6 if bytes.get(3) == Some(&b':') => (digits(1..3)?, digits(4..6)?),
        _ => return None,
    };
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned_datetime(TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .unwrap_or_default()
    }

    #[test]
    fn names_and_offsets() {
        assert!(Zone::parse("UTC").unwrap().is_utc());
        assert!(Zone::parse("+00:00").unwrap().is_utc());
        assert!(!Zone::parse("GMT").unwrap().is_utc());
        assert!(matches!(Zone::parse("-0530"), Ok(Zone::Offset(-19_800))));
        assert!(matches!(Zone::parse("+03"), Ok(Zone::Offset(10_800))));
        assert!(matches!(Zone::parse("+04:45"), Ok(Zone::Offset(17_100))));
        for bad in ["america/new_york", "+4", "+04:5", "Mars/Olympus", "", "+0a"] {
            assert_eq!(Zone::parse(bad).unwrap_err().code.code(), 40485, "{bad}");
        }
    }

    #[test]
    fn skipped_and_repeated_hours_resolve_as_timelib_does() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 02:30 does not exist on 2021-03-14: timelib moves it an hour on (03:30 EDT).
        assert_eq!(
            ny.instant(utc(2021, 3, 14, 2, 30)),
            Some(utc(2021, 3, 14, 7, 30))
        );
        // 01:30 happens twice on 2020-11-01: west of UTC timelib keeps the first (EDT).
        assert_eq!(
            ny.instant(utc(2020, 11, 1, 1, 30)),
            Some(utc(2020, 11, 1, 5, 30))
        );
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(
            paris.instant(utc(2021, 3, 28, 2, 30)),
            Some(utc(2021, 3, 28, 1, 30))
        );
        // East of UTC the local time read as UTC is already past the change: the second.
        assert_eq!(
            paris.instant(utc(2020, 10, 25, 2, 30)),
            Some(utc(2020, 10, 25, 1, 30))
        );
        assert_eq!(
            paris.instant(utc(2020, 7, 1, 12, 0)),
            Some(utc(2020, 7, 1, 10, 0))
        );
    }
}
