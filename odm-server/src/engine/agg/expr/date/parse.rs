//! Dates from strings: `$dateFromString`, and the parsing `$toDate` shares with it.
//!
//! mongod hands the string to timelib: with a `format`, to its format-driven parser (each
//! `%` specifier reads one part, anything else must match the string exactly); without
//! one, to its free-form scanner ([`super::freeform`]), which reads ISO 8601 and the many
//! spellings people write. Both fill the same broken-down time, which is then checked the
//! way mongod checks it: any warning or error fails with ConversionFailure (241, what
//! `onError` catches), a time left out is midnight, a date left incomplete is refused, and
//! a zone in the string may not be combined with a `timezone` argument other than UTC.

use bson::Bson;

use super::calendar::{Day, SECONDS_PER_DAY, days_in_month};
use super::format::{FROM_STRING_SPECIFIERS, MONTH_NAMES, check_format};
use super::freeform;
use super::zone::Zone;
use super::{Args, Shape, conversion_failure, date, present, zone_arg};
use crate::engine::agg::expr::{Expression, Scope, display_string, expr_error, nullish, type_name};
use crate::error::{CmdResult, ErrorCode};

const FROM_STRING: Shape = Shape {
    name: "$dateFromString",
    allowed: &["dateString", "format", "timezone", "onNull", "onError"],
    not_object: (
        40540,
        "only supports an object as an argument, found: {found}",
    ),
    unknown: (40541, ""),
};

pub(super) fn date_from_string(
    args: &[Expression],
    scope: &mut Scope<'_>,
) -> CmdResult<Option<Bson>> {
    let args = Args::read(&FROM_STRING, args)?;
    if !args.given("dateString") {
        return Err(expr_error(
            40542,
            "Missing 'dateString' parameter to $dateFromString",
        ));
    }
    let text = args.value("dateString", scope)?;
    let format = match args.eval("format", scope)? {
        None => None,
        Some(f) if nullish(&f) => Some(None),
        Some(Some(Bson::String(f))) => {
            check_format(&f, FROM_STRING_SPECIFIERS)?;
            Some(Some(f))
        }
        Some(other) => {
            return Err(expr_error(
                40684,
                format!(
                    "$dateFromString requires that 'format' be a string, found: {} with value {}",
                    type_name(&other),
                    other.as_ref().map_or_else(String::new, display_string)
                ),
            ));
        }
    };
    // A bad zone fails even when the string is null; a null zone only once it is not.
    let zone = zone_arg(&args, scope, "")?;
    let Some(text) = present(text) else {
        return match args.eval("onNull", scope)? {
            Some(on_null) => Ok(on_null),
            None => Ok(Some(Bson::Null)),
        };
    };
    let parsed = (|| {
        let Bson::String(text) = &text else {
            return Err(conversion_failure(format!(
                "$dateFromString requires that 'dateString' be a string, found: {} with value {}",
                type_name(&Some(text.clone())),
                display_string(&text)
            )));
        };
        let Some(zone) = &zone else {
            return Ok(Bson::Null);
        };
        match &format {
            Some(None) => Ok(Bson::Null),
            Some(Some(f)) => from_string(text, Some(f), zone).map(date),
            None => from_string(text, None, zone).map(date),
        }
    })();
    match parsed {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == ErrorCode::ConversionFailure && args.given("onError") => {
            args.value("onError", scope)
        }
        Err(e) => Err(e),
    }
}

/// The instant (milliseconds after the epoch) `text` names, read with `format` (a checked
/// one) or free-form, in `zone` unless the string names its own.
pub(super) fn from_string(text: &str, format: Option<&str>, zone: &Zone) -> CmdResult<i64> {
    // timelib reads C strings: a NUL ends them.
    let until_nul = |s: &str| s.split('\0').next().unwrap_or_default().to_string();
    let bytes = until_nul(text);
    let fields = match format {
        Some(f) => formatted(bytes.as_bytes(), until_nul(f).as_bytes()),
        None => freeform::scan(bytes.as_bytes()),
    }
    .map_err(|f| {
        let found = bytes.get(f.at..).and_then(|s| s.chars().next());
        conversion_failure(format!(
            "Error parsing date string '{text}'; {}: {} '{}'",
            f.at,
            f.message,
            found.map(String::from).unwrap_or_default()
        ))
    })?;
    finish(fields, text, zone)
}

/// What a date string spelled out: timelib's broken-down time, each part unset until the
/// string gives it.
#[derive(Debug, Default)]
pub(super) struct Fields {
    pub(super) year: Option<i64>,
    pub(super) month: Option<i64>,
    pub(super) day: Option<i64>,
    pub(super) hour: Option<i64>,
    pub(super) minute: Option<i64>,
    pub(super) second: Option<i64>,
    pub(super) micros: Option<i64>,
    /// A day of the week the string named (0 for Sunday): timelib moves the date forward to
    /// it.
    pub(super) weekday: Option<i64>,
    pub(super) zone: Option<InlineZone>,
}

impl Fields {
    /// timelib's check of a date it read (the day against its month; an unknown year counts
    /// as a common one).
    pub(super) fn date_is_valid(&self) -> bool {
        let (Some(m), Some(d)) = (self.month, self.day) else {
            return false;
        };
        (1..=12).contains(&m) && d >= 1 && d <= days_in_month(self.year.unwrap_or(1), m)
    }

    pub(super) fn time_is_valid(&self) -> bool {
        let ok = |v: Option<i64>, max| v.is_some_and(|v| (0..=max).contains(&v));
        ok(self.hour, 23) && ok(self.minute, 59) && ok(self.second, 59)
    }
}

/// A zone written in the date string itself.
#[derive(Debug)]
pub(super) enum InlineZone {
    /// `+05:30`, `GMT-02`, or `%Z` minutes: seconds east of UTC.
    Offset(i64),
    /// `Z`, `UTC`, `EST`, `CEST`, ...: the name (upper case, as timelib keeps it) and the
    /// offset it stands for, daylight saving included.
    Abbreviation(String, i64),
}

/// Where and why timelib refused a string.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) at: usize,
    pub(super) message: &'static str,
}

pub(super) fn fail<T>(at: usize, message: &'static str) -> Result<T, Failure> {
    Err(Failure { at, message })
}

/// The part read, or timelib's complaint that it is not there.
fn need<T>(part: Option<T>, at: usize, message: &'static str) -> Result<T, Failure> {
    part.map_or_else(|| fail(at, message), Ok)
}

/// What mongod says in place of timelib's "The timezone could not be found in the
/// database": it never lets a string name an IANA zone.
pub(super) const ZONE_NOT_ALLOWED: &str =
    "passing a time zone identifier as part of the string is not allowed";

/// mongod's checks after timelib, then the instant.
fn finish(mut f: Fields, text: &str, zone: &Zone) -> CmdResult<i64> {
    if f.hour.is_none() && f.minute.is_none() && f.second.is_none() {
        (f.hour, f.minute, f.second, f.micros) = (Some(0), Some(0), Some(0), Some(0));
    }
    let (Some(y), Some(m), Some(d), Some(h), Some(i), Some(s)) =
        (f.year, f.month, f.day, f.hour, f.minute, f.second)
    else {
        return Err(conversion_failure(format!(
            "an incomplete date/time string has been found, with elements missing: \"{text}\""
        )));
    };
    if !zone.is_utc() {
        match &f.zone {
            None => {}
            Some(InlineZone::Offset(_)) => {
                return Err(conversion_failure(
                    "you cannot pass in a date/time string with GMT offset together with a timezone argument",
                ));
            }
            Some(InlineZone::Abbreviation(name, _)) => {
                return Err(conversion_failure(format!(
                    "you cannot pass in a date/time string with time zone information ('{name}') together with a timezone argument"
                )));
            }
        }
    }
    // timelib normalizes what it read: a month past December, a day of the year past the
    // month, a weekday to move forward to.
    let out_of_range = || conversion_failure(format!("Error parsing date string '{text}'"));
    let mut days = Day::from_ymd(y + (m - 1).div_euclid(12), (m - 1).rem_euclid(12) + 1, 1)
        .map(Day::epoch_days)
        .and_then(|first| first.checked_add(d - 1))
        .ok_or_else(out_of_range)?;
    if let Some(target) = f.weekday {
        let current = Day::from_epoch_days(days).weekday_from_sunday() - 1;
        days += (target - current).rem_euclid(7);
    }
    // The seconds may be any number: `@<seconds>` reads them so.
    let local = days
        .checked_mul(SECONDS_PER_DAY)
        .and_then(|secs| secs.checked_add(h.checked_mul(3600)?.checked_add(i.checked_mul(60)?)?))
        .and_then(|secs| secs.checked_add(s))
        .ok_or_else(out_of_range)?;
    let seconds = match &f.zone {
        Some(InlineZone::Offset(o) | InlineZone::Abbreviation(_, o)) => local.checked_sub(*o),
        None => zone.instant(local),
    };
    seconds
        .and_then(|s| {
            s.checked_mul(1000)?
                .checked_add(f.micros.unwrap_or(0) / 1000)
        })
        .ok_or_else(out_of_range)
}

/// A cursor over a date string, reading numbers the way timelib does.
pub(super) struct Reader<'s> {
    pub(super) text: &'s [u8],
    pub(super) at: usize,
}

impl<'s> Reader<'s> {
    pub(super) fn new(text: &'s [u8]) -> Reader<'s> {
        Reader { text, at: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    pub(super) fn rest(&self) -> &'s [u8] {
        self.text.get(self.at..).unwrap_or_default()
    }

    pub(super) fn skip_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.at += 1;
        }
    }

    /// Up to `max` digits after skipping anything else, and how many there were; `None`
    /// at the end of the string (timelib's `timelib_get_nr_ex`).
    pub(super) fn number(&mut self, max: usize) -> Option<(i64, usize)> {
        self.skip_while(|c| !c.is_ascii_digit());
        let start = self.at;
        while self.at - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = self.text.get(start..self.at)?;
        if digits.is_empty() {
            return None;
        }
        let value = digits.iter().fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
        Some((value, digits.len()))
    }

    pub(super) fn nr(&mut self, max: usize) -> Option<i64> {
        self.number(max).map(|(n, _)| n)
    }

    /// A month's name (full, three letters, `Sept`, or a Roman numeral), any case.
    pub(super) fn month_name(&mut self) -> Option<i64> {
        let start = self.at;
        self.skip_while(|c| c.is_ascii_alphabetic());
        let word = std::str::from_utf8(self.text.get(start..self.at)?).ok()?;
        month_number(word)
    }
}

/// The month a word names, as timelib's month table knows them.
pub(super) fn month_number(word: &str) -> Option<i64> {
    const ROMAN: [&str; 12] = [
        "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii",
    ];
    let word = word.to_ascii_lowercase();
    let index = MONTH_NAMES
        .iter()
        .position(|m| {
            m.eq_ignore_ascii_case(&word)
                || m.get(..3).is_some_and(|a| a.eq_ignore_ascii_case(&word))
        })
        .or_else(|| (word == "sept").then_some(8))
        .or_else(|| ROMAN.iter().position(|r| *r == word))?;
    i64::try_from(index).ok().map(|i| i + 1)
}

/// A zone in the string at the reader, as `timelib_parse_zone` reads one: an offset
/// (`+5`, `+0530`, `-05:30`, optionally after `GMT`) or an abbreviation. `Err` for a name
/// timelib would look for in its database.
pub(super) fn parse_zone(r: &mut Reader<'_>) -> Result<InlineZone, &'static str> {
    r.skip_while(|c| matches!(c, b' ' | b'\t' | b'('));
    if r.rest().starts_with(b"GMT+") || r.rest().starts_with(b"GMT-") {
        r.at += 3;
    }
    let zone = match r.peek() {
        Some(sign @ (b'+' | b'-')) => {
            r.at += 1;
            let start = r.at;
            r.skip_while(|c| c.is_ascii_digit() || c == b':');
            let seconds = offset_seconds(r.text.get(start..r.at).unwrap_or_default())
                .ok_or(ZONE_NOT_ALLOWED)?;
            InlineZone::Offset(if sign == b'-' { -seconds } else { seconds })
        }
        _ => {
            let start = r.at;
            r.skip_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'+'));
            let word = std::str::from_utf8(r.text.get(start..r.at).unwrap_or_default())
                .unwrap_or_default();
            // timelib looks up abbreviations of at most five letters.
            let offset = (word.len() < 6)
                .then(|| abbreviation_offset(word))
                .flatten()
                .ok_or(ZONE_NOT_ALLOWED)?;
            InlineZone::Abbreviation(word.to_ascii_uppercase(), offset)
        }
    };
    r.skip_while(|c| c == b')');
    Ok(zone)
}

/// The digits and colons of an offset (`5`, `05`, `5:30`, `0530`, `05:30`, `053000`,
/// `05:30:00`), in seconds.
fn offset_seconds(spec: &[u8]) -> Option<i64> {
    let n = |range: std::ops::Range<usize>| -> i64 {
        spec.get(range)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .fold(0, |n, d| n * 10 + i64::from(d - b'0'))
    };
    match spec.len() {
        1 | 2 => Some(n(0..2) * 3600),
        3 | 4 if spec.get(1) == Some(&b':') => Some(n(0..1) * 3600 + n(2..4) * 60),
        3 | 4 if spec.get(2) == Some(&b':') => Some(n(0..2) * 3600 + n(3..4) * 60),
        3 | 4 => {
            let v = n(0..4);
            Some(v / 100 * 3600 + v % 100 * 60)
        }
        5 if spec.get(2) == Some(&b':') => Some(n(0..2) * 3600 + n(3..5) * 60),
        6 => {
            let v = n(0..6);
            Some(v / 10_000 * 3600 + v / 100 % 100 * 60 + v % 100)
        }
        8 if spec.get(2) == Some(&b':') && spec.get(5) == Some(&b':') => {
            Some(n(0..2) * 3600 + n(3..5) * 60 + n(6..8))
        }
        _ => None,
    }
}

/// Zone abbreviations and their offsets in minutes east of UTC, daylight saving included:
/// the common ones of timelib's table, each with the offset of the zone timelib lists first
/// for it.
const ABBREVIATIONS: &[(&str, i64)] = &[
    ("utc", 0),
    ("gmt", 0),
    ("ut", 0),
    ("wet", 0),
    ("west", 60),
    ("bst", 60),
    ("cet", 60),
    ("met", 60),
    ("wat", 60),
    ("cest", 120),
    ("mest", 120),
    ("eet", 120),
    ("sast", 120),
    ("cat", 120),
    ("eest", 180),
    ("msk", 180),
    ("eat", 180),
    ("pkt", 300),
    ("wib", 420),
    ("hkt", 480),
    ("sgt", 480),
    ("awst", 480),
    ("jst", 540),
    ("kst", 540),
    ("acst", 570),
    ("aest", 600),
    ("acdt", 630),
    ("aedt", 660),
    ("nzst", 720),
    ("nzdt", 780),
    ("nst", -210),
    ("ndt", -150),
    ("adt", -180),
    ("ast", -240),
    ("edt", -240),
    ("est", -300),
    ("cdt", -300),
    ("cst", -360),
    ("mdt", -360),
    ("mst", -420),
    ("pdt", -420),
    ("pst", -480),
    ("akdt", -480),
    ("akst", -540),
    ("hdt", -540),
    ("hst", -600),
];

/// The offset in seconds of a zone abbreviation timelib knows: those of
/// [`ABBREVIATIONS`] and the military letters (A to M east, J unused, N to Y west, Z).
fn abbreviation_offset(word: &str) -> Option<i64> {
    let word = word.to_ascii_lowercase();
    if let [letter] = word.as_bytes() {
        let hours = match letter {
            b'a'..=b'i' => i64::from(letter - b'a' + 1),
            b'k'..=b'm' => i64::from(letter - b'k' + 10),
            b'n'..=b'y' => -i64::from(letter - b'n' + 1),
            b'z' => 0,
            _ => return None,
        };
        return Some(hours * 3600);
    }
    ABBREVIATIONS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, minutes)| minutes * 60)
}

/// The string read by a checked `format`, as timelib's format parser reads it with `%`
/// before each specifier.
fn formatted(text: &[u8], format: &[u8]) -> Result<Fields, Failure> {
    let mut f = Fields::default();
    let (mut iso_year, mut iso_week, mut iso_day) = (None, None, None);
    let mut r = Reader::new(text);
    let mut fi = 0;
    let mut prefixed = false;
    while let (Some(&spec), Some(c)) = (format.get(fi), r.peek()) {
        let begin = r.at;
        fi += 1;
        if (spec != b'%') != prefixed {
            // A literal, or the second `%` of `%%`: the string must have the same byte.
            if spec != c {
                return fail(begin, "Format literal not found");
            }
            r.at += 1;
            prefixed = false;
            continue;
        }
        if spec == b'%' {
            prefixed = true;
            continue;
        }
        prefixed = false;
        // Most numbers must start right here; `%G`, `%V` and `%u` skip to the next digit.
        if b"dmYHMSLj".contains(&spec) && !c.is_ascii_digit() {
            return fail(begin, "Unexpected data found.");
        }
        match spec {
            b'd' => f.day = Some(need(r.nr(2), begin, "A two digit day could not be found")?),
            b'm' => {
                f.month = Some(need(
                    r.nr(2),
                    begin,
                    "A two digit month could not be found",
                )?)
            }
            b'Y' => {
                f.year = Some(need(
                    r.nr(4),
                    begin,
                    "A four digit year could not be found",
                )?)
            }
            b'b' | b'B' => {
                f.month = Some(need(
                    r.month_name(),
                    begin,
                    "A textual month could not be found",
                )?)
            }
            b'j' => {
                let Some(year) = f.year else {
                    return fail(
                        begin,
                        "A 'day of year' can only come after a year has been found",
                    );
                };
                let message = "A three digit day-of-year could not be found";
                let n = need(r.nr(3), begin, message)?;
                // timelib counts this one from 0, and carries it into a month and a day.
                let first = need(Day::from_ymd(year, 1, 1), begin, message)?;
                let day = Day::from_epoch_days(first.epoch_days() + n);
                (f.year, f.month, f.day) = (Some(day.year()), Some(day.month()), Some(day.day()));
            }
            b'H' => f.hour = Some(need(r.nr(2), begin, "A two digit hour could not be found")?),
            b'M' | b'S' => {
                let (message, slot) = if spec == b'M' {
                    ("A two digit minute could not be found", &mut f.minute)
                } else {
                    ("A two digit second could not be found", &mut f.second)
                };
                match r.number(2) {
                    Some((n, 2)) => *slot = Some(n),
                    _ => return fail(begin, message),
                }
            }
            b'L' => {
                let message = "A three digit millisecond could not be found";
                let (n, digits) = need(r.number(3), begin, message)?;
                // `.8` is 800 milliseconds, `.81` 810.
                let scale = match digits {
                    1 => 100_000,
                    2 => 10_000,
                    _ => 1000,
                };
                f.micros = Some(n * scale);
            }
            b'G' => {
                iso_year = Some(need(
                    r.nr(4),
                    begin,
                    "A four digit ISO year could not be found",
                )?)
            }
            b'V' => {
                let w = need(r.nr(2), begin, "A two digit ISO week could not be found")?;
                if !(1..=53).contains(&w) {
                    return fail(begin, "ISO Week must be between 1 and 53");
                }
                iso_week = Some(w);
            }
            b'u' => {
                let d = need(
                    r.nr(1),
                    begin,
                    "A single digit day of week could not be found",
                )?;
                if !(1..=7).contains(&d) {
                    return fail(begin, "Day of week must be between 1 and 7");
                }
                iso_day = Some(d);
            }
            b'z' => {
                f.zone = Some(parse_zone(&mut r).map_err(|message| Failure { at: begin, message })?)
            }
            b'Z' => {
                f.zone = Some(need(
                    minutes_zone(&mut r),
                    begin,
                    "Invalid timezone offset in minutes",
                )?)
            }
            _ => return fail(begin, "Format literal not found"),
        }
    }
    if r.peek().is_some() {
        return fail(r.at, "Trailing data");
    }
    if fi < format.len() {
        return fail(r.at, "Not enough data available to satisfy format");
    }
    if f.hour.is_some() || f.minute.is_some() || f.second.is_some() || f.micros.is_some() {
        for part in [&mut f.hour, &mut f.minute, &mut f.second, &mut f.micros] {
            part.get_or_insert(0);
        }
    }
    let iso = iso_year.is_some() || iso_week.is_some() || iso_day.is_some();
    if (f.year.is_some() && iso) || (iso_year.is_some() && (f.month.is_some() || f.day.is_some())) {
        return fail(
            r.at,
            "Mixing of ISO dates with natural dates is not allowed",
        );
    }
    if let Some(year) = iso_year {
        let day = need(
            Day::from_iso_week(year, iso_week.unwrap_or(1), iso_day.unwrap_or(1) - 1),
            r.at,
            "The parsed date was invalid",
        )?;
        (f.year, f.month, f.day) = (Some(day.year()), Some(day.month()), Some(day.day()));
    } else if iso {
        return fail(r.at, "The parsed date was invalid");
    }
    if f.hour.is_some() && !f.time_is_valid() {
        return fail(r.at, "The parsed time was invalid");
    }
    if f.year.is_some() && f.month.is_some() && f.day.is_some() && !f.date_is_valid() {
        return fail(r.at, "The parsed date was invalid");
    }
    Ok(f)
}

/// `%Z`: a sign and minutes.
fn minutes_zone(r: &mut Reader<'_>) -> Option<InlineZone> {
    let sign = match r.peek()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    r.at += 1;
    let start = r.at;
    r.skip_while(|c| c.is_ascii_digit());
    let minutes = r.text.get(start..r.at)?.iter().fold(0i64, |n, d| {
        n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(InlineZone::Offset(sign * minutes.saturating_mul(60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_default()
    }

    fn parsed(text: &str, format: Option<&str>) -> Option<i64> {
        from_string(text, format, &Zone::Utc).ok()
    }

    #[test]
    fn formats_read_as_timelib_reads_them() {
        let cases = [
            ("05 12 1988", "%d %m %Y", "1988-12-05T00:00:00Z"),
            ("1992 % 04 % 26", "%Y %% %m %% %d", "1992-04-26T00:00:00Z"),
            ("4/26/1992:+0445", "%m/%d/%Y:%z", "1992-04-25T19:15:00Z"),
            ("4/26/1992:+285", "%m/%d/%Y:%Z", "1992-04-25T19:15:00Z"),
            ("2017, Week 53", "%G, Week %V", "2018-01-01T00:00:00Z"),
            ("53.7.2017", "%V.%u.%G", "2018-01-07T00:00:00Z"),
            (
                "2017-07-04T11:56.02.81",
                "%Y-%m-%dT%H:%M.%S.%L",
                "2017-07-04T11:56:02.810Z",
            ),
            (
                "2017-07-14T12:02:44.771 GMT+02:00",
                "%Y-%m-%dT%H:%M:%S.%L%z",
                "2017-07-14T10:02:44.771Z",
            ),
            ("Jul 4 2017", "%b %d %Y", "2017-07-04T00:00:00Z"),
        ];
        for (text, format, expected) in cases {
            assert_eq!(
                parsed(text, Some(format)),
                Some(ms(expected)),
                "{text} / {format}"
            );
        }
        for (text, format) in [
            ("2018-01", "%Y-%m-%d"),
            ("2018-01", "%Y"),
            ("1992-26-04", "Y-d-m"),
            ("ISO Day 6", "ISO Day %u"),
            ("12/31/2018", "%m/%d/%G"),
            ("2017-02-30", "%Y-%m-%d"),
            ("12/31\0/2018", "%m/%d/%Y"),
        ] {
            assert_eq!(parsed(text, Some(format)), None, "{text} / {format}");
        }
    }
}
