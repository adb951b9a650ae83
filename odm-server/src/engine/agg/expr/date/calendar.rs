//! The proleptic Gregorian calendar over every year a BSON date can reach.
//!
//! A BSON date spans about 292 million years either side of 1970, and mongod (through
//! timelib) answers `$year` or `$dateAdd` anywhere in that span; jiff's calendar stops at
//! year 9999. The Gregorian calendar repeats exactly every 400 years (146,097 days, a whole
//! number of weeks, with the same leap years and ISO weeks), so a [`Day`] keeps a date of
//! [1970, 2370) for jiff to answer about, and the multiple of 400 years it was moved by.

use jiff::SignedDuration;
use jiff::civil::{Date, ISOWeekDate, Weekday};

/// Days in 400 Gregorian years.
const CYCLE_DAYS: i64 = 146_097;
const CYCLE_YEARS: i64 = 400;
const EPOCH: Date = Date::constant(1970, 1, 1);
/// Beyond any year a BSON date reaches (about 292 million), and small enough that a day
/// count in seconds stays inside an i64.
const YEAR_LIMIT: i64 = 1_000_000_000_000;
pub(super) const SECONDS_PER_DAY: i64 = 86_400;

/// One day of the calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Day {
    /// The same day moved into [1970, 2370).
    repr: Date,
    /// Years `repr` was moved back by: a multiple of 400.
    shift: i64,
}

impl Day {
    /// The day `days` after 1970-01-01 (before it when negative).
    pub(super) fn from_epoch_days(days: i64) -> Day {
        let cycles = days.div_euclid(CYCLE_DAYS);
        let within = days.rem_euclid(CYCLE_DAYS);
        Day {
            repr: add_days(EPOCH, within),
            // |days| < 2^63 / 146097, so the product stays far inside an i64.
            shift: cycles * CYCLE_YEARS,
        }
    }

    /// The day with this year, month (1 to 12) and day of the month, if it exists.
    pub(super) fn from_ymd(year: i64, month: i64, day: i64) -> Option<Day> {
        let shift = cycle_shift(year)?;
        let repr = Date::new(
            i16::try_from(year - shift).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()?;
        Some(Day { repr, shift })
    }

    /// Monday of week `week` of ISO year `year`, moved by `days` (both may run past the
    /// year: timelib carries them over, as `$dateFromParts` does).
    pub(super) fn from_iso_week(year: i64, week: i64, days: i64) -> Option<Day> {
        let shift = cycle_shift(year)?;
        let first = ISOWeekDate::new(i16::try_from(year - shift).ok()?, 1, Weekday::Monday)
            .ok()?
            .date();
        let start = Day { repr: first, shift }.epoch_days();
        let offset = week.checked_sub(1)?.checked_mul(7)?.checked_add(days)?;
        Some(Day::from_epoch_days(start.checked_add(offset)?))
    }

    /// Days from 1970-01-01 to this day.
    pub(super) fn epoch_days(self) -> i64 {
        let within = self.repr.duration_since(EPOCH).as_secs() / SECONDS_PER_DAY;
        self.shift / CYCLE_YEARS * CYCLE_DAYS + within
    }

    pub(super) fn year(self) -> i64 {
        i64::from(self.repr.year()) + self.shift
    }

    pub(super) fn month(self) -> i64 {
        i64::from(self.repr.month())
    }

    pub(super) fn day(self) -> i64 {
        i64::from(self.repr.day())
    }

    /// 1 (January 1st) to 366.
    pub(super) fn day_of_year(self) -> i64 {
        i64::from(self.repr.day_of_year())
    }

    /// 1 (Monday) to 7 (Sunday).
    pub(super) fn iso_weekday(self) -> i64 {
        i64::from(self.repr.weekday().to_monday_one_offset())
    }

    /// 1 (Sunday) to 7 (Saturday), as `$dayOfWeek` counts.
    pub(super) fn weekday_from_sunday(self) -> i64 {
        i64::from(self.repr.weekday().to_sunday_one_offset())
    }

    /// The ISO week-numbering year and week (1 to 53).
    pub(super) fn iso_week(self) -> (i64, i64) {
        let w = self.repr.iso_week_date();
        (i64::from(w.year()) + self.shift, i64::from(w.week()))
    }

    /// The week of the year when weeks start on Sunday: 0 for the days before the year's
    /// first Sunday, as `$week` and `%U` count.
    pub(super) fn sunday_week(self) -> i64 {
        (self.day_of_year() - self.weekday_from_sunday() + 7) / 7
    }
}

/// The multiple of 400 years that moves `year` into [1970, 2370).
fn cycle_shift(year: i64) -> Option<i64> {
    if !(-YEAR_LIMIT..=YEAR_LIMIT).contains(&year) {
        return None;
    }
    Some((year - 1970).div_euclid(CYCLE_YEARS) * CYCLE_YEARS)
}

/// Days in `month` (1 to 12) of `year`.
pub(super) fn days_in_month(year: i64, month: i64) -> i64 {
    Day::from_ymd(year, month, 1).map_or(31, |d| i64::from(d.repr.days_in_month()))
}

fn add_days(date: Date, days: i64) -> Date {
    // `days` is below 146,097 here, well inside what jiff adds to a date of 1970.
    date.checked_add(SignedDuration::from_secs(days * SECONDS_PER_DAY))
        .unwrap_or(date)
}

/// A wall-clock time: a day and the milliseconds into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Local {
    pub(super) day: Day,
    /// 0 to 86,399,999.
    pub(super) millis: i64,
}

impl Local {
    /// The wall-clock time `seconds` after 1970-01-01T00:00 of the same clock, plus
    /// `millis` (0 to 999).
    pub(super) fn from_seconds(seconds: i64, millis: i64) -> Local {
        Local {
            day: Day::from_epoch_days(seconds.div_euclid(SECONDS_PER_DAY)),
            millis: seconds.rem_euclid(SECONDS_PER_DAY) * 1000 + millis,
        }
    }

    /// Seconds from 1970-01-01T00:00 of the same clock (the milliseconds left out).
    pub(super) fn seconds(self) -> Option<i64> {
        self.day
            .epoch_days()
            .checked_mul(SECONDS_PER_DAY)?
            .checked_add(self.millis / 1000)
    }

    pub(super) fn hour(self) -> i64 {
        self.millis / 3_600_000
    }

    pub(super) fn minute(self) -> i64 {
        self.millis / 60_000 % 60
    }

    pub(super) fn second(self) -> i64 {
        self.millis / 1000 % 60
    }

    pub(super) fn millisecond(self) -> i64 {
        self.millis % 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_across_cycles() {
        for days in [
            0,
            -1,
            59,
            -719_468,
            CYCLE_DAYS,
            -CYCLE_DAYS - 1,
            106_751_991_167_300,
            -106_751_991_167_301,
        ] {
            let d = Day::from_epoch_days(days);
            assert_eq!(d.epoch_days(), days);
            assert_eq!(Day::from_ymd(d.year(), d.month(), d.day()), Some(d));
        }
        let d = Day::from_epoch_days(-1);
        assert_eq!((d.year(), d.month(), d.day()), (1969, 12, 31));
        let far = Day::from_ymd(20_000, 2, 29).unwrap();
        assert_eq!((far.year(), far.month(), far.day()), (20_000, 2, 29));
        assert_eq!(Day::from_ymd(1900, 2, 29), None);
    }

    #[test]
    fn weeks_at_year_boundaries() {
        // 2021-01-03 is a Sunday that ISO counts in week 53 of 2020.
        let d = Day::from_ymd(2021, 1, 3).unwrap();
        assert_eq!(d.iso_week(), (2020, 53));
        assert_eq!(d.iso_weekday(), 7);
        assert_eq!(d.weekday_from_sunday(), 1);
        assert_eq!(d.sunday_week(), 1);
        let d = Day::from_ymd(2021, 1, 2).unwrap();
        assert_eq!(d.sunday_week(), 0);
        // The same day 400 years on has the same week.
        let d = Day::from_ymd(2421, 1, 3).unwrap();
        assert_eq!(d.iso_week(), (2420, 53));
        let monday = Day::from_iso_week(2020, 53, 0).unwrap();
        assert_eq!(
            (monday.year(), monday.month(), monday.day()),
            (2020, 12, 28)
        );
    }
}
