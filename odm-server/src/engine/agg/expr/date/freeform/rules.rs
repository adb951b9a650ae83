//! timelib's scanner rules as patterns: the grammar of the free-form reader.
//!
//! Each constant mirrors a definition of timelib's `parse_date.re` (`hour24`, `datefull`,
//! `iso8601long`, ...) under the same name, so that the two can be read side by side;
//! [`RULES`] lists them in timelib's order with what each does, and [`matched`] is the
//! small matcher that stands in for re2c: it returns every length a pattern can match,
//! from which the scanner takes the longest.

/// A piece of a scanner pattern.
#[derive(Clone, Copy)]
pub(super) enum P {
    /// These bytes.
    Lit(&'static [u8]),
    /// These letters, in any case (re2c's `'...'`).
    NoCase(&'static [u8]),
    /// One byte from `.0` to `.1`.
    Range(u8, u8),
    /// One of these bytes.
    Among(&'static [u8]),
    Seq(&'static [P]),
    Alt(&'static [P]),
    /// From `.1` to `.2` repetitions.
    Rep(&'static P, usize, usize),
    /// The end of the string (re2c sees the NUL after it).
    End,
}

const MANY: usize = usize::MAX;

const fn opt(p: &'static P) -> P {
    P::Rep(p, 0, 1)
}

const DIGIT: P = P::Range(b'0', b'9');
const ALPHA: P = P::Alt(&[P::Range(b'a', b'z'), P::Range(b'A', b'Z')]);
const SPACE: P = P::Rep(&P::Among(b" \t"), 1, MANY);
const FRAC: P = P::Seq(&[P::Lit(b"."), P::Rep(&DIGIT, 1, MANY)]);
const T: P = P::NoCase(b"t");
const COLON: P = P::Lit(b":");
const DASH: P = P::Lit(b"-");
const SLASH: P = P::Lit(b"/");
const TIME_SEP: P = P::Among(b":.");

const HOUR24: P = P::Alt(&[
    P::Seq(&[opt(&P::Range(b'0', b'1')), DIGIT]),
    P::Seq(&[P::Lit(b"2"), P::Range(b'0', b'4')]),
]);
const HOUR24LZ: P = P::Alt(&[
    P::Seq(&[P::Range(b'0', b'1'), DIGIT]),
    P::Seq(&[P::Lit(b"2"), P::Range(b'0', b'4')]),
]);
const HOUR12: P = P::Alt(&[
    P::Seq(&[opt(&P::Lit(b"0")), P::Range(b'1', b'9')]),
    P::Seq(&[P::Lit(b"1"), P::Range(b'0', b'2')]),
]);
const MINUTE: P = P::Seq(&[opt(&P::Range(b'0', b'5')), DIGIT]);
const MINUTELZ: P = P::Seq(&[P::Range(b'0', b'5'), DIGIT]);
const SECOND: P = P::Alt(&[MINUTE, P::Lit(b"60")]);
const SECONDLZ: P = P::Alt(&[MINUTELZ, P::Lit(b"60")]);
const MERIDIAN: P = P::Seq(&[
    P::Among(b"AaPp"),
    opt(&P::Lit(b".")),
    P::Among(b"Mm"),
    opt(&P::Lit(b".")),
    P::Alt(&[P::Among(b" \t"), P::End]),
]);
const TZ: P = P::Alt(&[
    P::Seq(&[opt(&P::Lit(b"(")), P::Rep(&ALPHA, 1, 6), opt(&P::Lit(b")"))]),
    P::Seq(&[
        P::Range(b'A', b'Z'),
        P::Rep(&P::Range(b'a', b'z'), 1, MANY),
        P::Rep(
            &P::Seq(&[P::Among(b"_/-"), P::Rep(&ALPHA, 1, MANY)]),
            1,
            MANY,
        ),
    ]),
]);
const TZCORRECTION: P = P::Seq(&[
    opt(&P::Lit(b"GMT")),
    P::Among(b"+-"),
    P::Alt(&[
        P::Seq(&[HOUR24, opt(&P::Seq(&[opt(&COLON), MINUTE]))]),
        P::Seq(&[HOUR24LZ, MINUTELZ, SECONDLZ]),
        P::Seq(&[HOUR24LZ, COLON, MINUTELZ, COLON, SECONDLZ]),
    ]),
]);
const DAYSUF: P = P::Alt(&[P::Lit(b"st"), P::Lit(b"nd"), P::Lit(b"rd"), P::Lit(b"th")]);
const MONTH: P = P::Alt(&[
    P::Seq(&[opt(&P::Lit(b"0")), DIGIT]),
    P::Seq(&[P::Lit(b"1"), P::Range(b'0', b'2')]),
]);
const DAY: P = P::Seq(&[
    P::Alt(&[
        P::Seq(&[opt(&P::Range(b'0', b'2')), DIGIT]),
        P::Seq(&[P::Lit(b"3"), P::Range(b'0', b'1')]),
    ]),
    opt(&DAYSUF),
]);
const YEAR: P = P::Rep(&DIGIT, 1, 4);
const YEAR2: P = P::Rep(&DIGIT, 2, 2);
const YEAR4: P = P::Rep(&DIGIT, 4, 4);
const MONTHLZ: P = P::Alt(&[
    P::Seq(&[P::Lit(b"0"), DIGIT]),
    P::Seq(&[P::Lit(b"1"), P::Range(b'0', b'2')]),
]);
const DAYLZ: P = P::Alt(&[
    P::Seq(&[P::Lit(b"0"), DIGIT]),
    P::Seq(&[P::Range(b'1', b'2'), DIGIT]),
    P::Seq(&[P::Lit(b"3"), P::Range(b'0', b'1')]),
]);
const DAYOFYEAR: P = P::Alt(&[
    P::Seq(&[P::Lit(b"00"), P::Range(b'1', b'9')]),
    P::Seq(&[P::Lit(b"0"), P::Range(b'1', b'9'), DIGIT]),
    P::Seq(&[P::Range(b'1', b'2'), DIGIT, DIGIT]),
    P::Seq(&[P::Lit(b"3"), P::Range(b'0', b'5'), DIGIT]),
    P::Seq(&[P::Lit(b"36"), P::Range(b'0', b'6')]),
]);
const WEEKOFYEAR: P = P::Alt(&[
    P::Seq(&[P::Lit(b"0"), P::Range(b'1', b'9')]),
    P::Seq(&[P::Range(b'1', b'4'), DIGIT]),
    P::Seq(&[P::Lit(b"5"), P::Range(b'0', b'3')]),
]);

pub(super) const DAY_NAMES: [&[u8]; 7] = [
    b"sunday",
    b"monday",
    b"tuesday",
    b"wednesday",
    b"thursday",
    b"friday",
    b"saturday",
];
const DAYTEXT: P = P::Alt(&[
    P::Seq(&[P::NoCase(b"sunday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"monday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"tuesday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"wednesday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"thursday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"friday"), opt(&P::NoCase(b"s"))]),
    P::Seq(&[P::NoCase(b"saturday"), opt(&P::NoCase(b"s"))]),
    P::NoCase(b"sun"),
    P::NoCase(b"mon"),
    P::NoCase(b"tue"),
    P::NoCase(b"wed"),
    P::NoCase(b"thu"),
    P::NoCase(b"fri"),
    P::NoCase(b"sat"),
]);
const MONTHFULL: P = P::Alt(&[
    P::NoCase(b"january"),
    P::NoCase(b"february"),
    P::NoCase(b"march"),
    P::NoCase(b"april"),
    P::NoCase(b"may"),
    P::NoCase(b"june"),
    P::NoCase(b"july"),
    P::NoCase(b"august"),
    P::NoCase(b"september"),
    P::NoCase(b"october"),
    P::NoCase(b"november"),
    P::NoCase(b"december"),
]);
const MONTHABBR: P = P::Alt(&[
    P::NoCase(b"jan"),
    P::NoCase(b"feb"),
    P::NoCase(b"mar"),
    P::NoCase(b"apr"),
    P::NoCase(b"may"),
    P::NoCase(b"jun"),
    P::NoCase(b"jul"),
    P::NoCase(b"aug"),
    P::NoCase(b"sep"),
    P::NoCase(b"sept"),
    P::NoCase(b"oct"),
    P::NoCase(b"nov"),
    P::NoCase(b"dec"),
]);
const MONTHROMAN: P = P::Alt(&[
    P::Lit(b"I"),
    P::Lit(b"II"),
    P::Lit(b"III"),
    P::Lit(b"IV"),
    P::Lit(b"V"),
    P::Lit(b"VI"),
    P::Lit(b"VII"),
    P::Lit(b"VIII"),
    P::Lit(b"IX"),
    P::Lit(b"X"),
    P::Lit(b"XI"),
    P::Lit(b"XII"),
]);
const MONTHTEXT: P = P::Alt(&[MONTHFULL, MONTHABBR, MONTHROMAN]);
const DATE_SEPS: P = P::Rep(&P::Among(b" \t.-"), 0, MANY);

const TIMESHORT12: P = P::Seq(&[HOUR12, TIME_SEP, MINUTELZ, opt(&SPACE), MERIDIAN]);
const TIMELONG12: P = P::Seq(&[
    HOUR12,
    TIME_SEP,
    MINUTE,
    TIME_SEP,
    SECONDLZ,
    opt(&SPACE),
    MERIDIAN,
]);
const TIMESHORT24: P = P::Seq(&[opt(&T), HOUR24, TIME_SEP, MINUTE]);
const TIMELONG24: P = P::Seq(&[opt(&T), HOUR24, TIME_SEP, MINUTE, TIME_SEP, SECOND]);
const ISO8601NORMTZ: P = P::Seq(&[
    opt(&T),
    HOUR24,
    TIME_SEP,
    MINUTE,
    TIME_SEP,
    SECONDLZ,
    opt(&SPACE),
    P::Alt(&[TZCORRECTION, TZ]),
]);
const DATENOYEAR: P = P::Seq(&[
    MONTHTEXT,
    DATE_SEPS,
    DAY,
    P::Alt(&[P::Rep(&P::Among(b",.stndrh\t "), 1, MANY), P::End]),
]);

/// What a rule does with its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Now,
    Noon,
    Midnight,
    Timestamp,
    Time12,
    Time24,
    GnuNoColon,
    IsoNoColon,
    American,
    IsoDate,
    IsoDate2,
    GnuDateShorter,
    GnuDateShort,
    DateFull,
    PointedDate4,
    PointedDate2,
    DateNoDay,
    DateNoDayRev,
    DateTextual,
    DateNoYearRev,
    DateNoColon,
    DateTime,
    YearDay,
    IsoWeek,
    PgTextShort,
    PgTextReverse,
    Clf,
    Year4,
    DayText,
    MonthText,
    Zone,
    DateShortWithTime12,
    DateShortWithTime24,
    Skip,
}

/// timelib's rules, in its order (which breaks ties between equally long matches).
pub(super) const RULES: &[(P, Action)] = &[
    (P::NoCase(b"now"), Action::Now),
    (P::NoCase(b"noon"), Action::Noon),
    (
        P::Alt(&[P::NoCase(b"midnight"), P::NoCase(b"today")]),
        Action::Midnight,
    ),
    (
        P::Seq(&[P::Lit(b"@"), opt(&DASH), P::Rep(&DIGIT, 1, MANY)]),
        Action::Timestamp,
    ),
    (
        P::Alt(&[
            P::Seq(&[HOUR12, opt(&SPACE), MERIDIAN]),
            TIMESHORT12,
            TIMELONG12,
        ]),
        Action::Time12,
    ),
    (
        P::Alt(&[
            P::Seq(&[T, HOUR24]),
            TIMESHORT24,
            TIMELONG24,
            P::Seq(&[opt(&T), HOUR24, TIME_SEP, MINUTE, TIME_SEP, SECOND, FRAC]),
        ]),
        Action::Time24,
    ),
    (P::Seq(&[opt(&T), HOUR24LZ, MINUTELZ]), Action::GnuNoColon),
    (
        P::Seq(&[opt(&T), HOUR24LZ, MINUTELZ, SECONDLZ]),
        Action::IsoNoColon,
    ),
    (
        P::Seq(&[MONTH, SLASH, DAY, opt(&P::Seq(&[SLASH, YEAR]))]),
        Action::American,
    ),
    (
        P::Alt(&[
            P::Seq(&[opt(&P::Among(b"+-")), YEAR4, DASH, MONTHLZ, DASH, DAYLZ]),
            P::Seq(&[YEAR4, SLASH, MONTHLZ, SLASH, DAYLZ, opt(&SLASH)]),
            P::Seq(&[YEAR4, SLASH, MONTH, SLASH, DAY]),
        ]),
        Action::IsoDate,
    ),
    (
        P::Seq(&[YEAR2, DASH, MONTHLZ, DASH, DAYLZ]),
        Action::IsoDate2,
    ),
    (P::Seq(&[YEAR4, DASH, MONTH]), Action::GnuDateShorter),
    (
        P::Seq(&[YEAR, DASH, MONTH, DASH, DAY]),
        Action::GnuDateShort,
    ),
    (
        P::Seq(&[DAY, DATE_SEPS, MONTHTEXT, DATE_SEPS, YEAR]),
        Action::DateFull,
    ),
    (
        P::Seq(&[DAY, P::Among(b".	-"), MONTH, P::Among(b".-"), YEAR4]),
        Action::PointedDate4,
    ),
    (
        P::Seq(&[DAY, P::Among(b".	"), MONTH, P::Lit(b"."), YEAR2]),
        Action::PointedDate2,
    ),
    (P::Seq(&[MONTHTEXT, DATE_SEPS, YEAR4]), Action::DateNoDay),
    (P::Seq(&[YEAR4, DATE_SEPS, MONTHTEXT]), Action::DateNoDayRev),
    (
        P::Alt(&[
            P::Seq(&[
                MONTHTEXT,
                DATE_SEPS,
                DAY,
                P::Rep(&P::Among(b",.stndrh\t "), 1, MANY),
                YEAR,
            ]),
            DATENOYEAR,
        ]),
        Action::DateTextual,
    ),
    (P::Seq(&[DAY, DATE_SEPS, MONTHTEXT]), Action::DateNoYearRev),
    (P::Seq(&[YEAR4, MONTHLZ, DAYLZ]), Action::DateNoColon),
    (
        P::Alt(&[
            P::Seq(&[
                YEAR4,
                MONTHLZ,
                DAYLZ,
                P::Lit(b"T"),
                HOUR24,
                COLON,
                MINUTELZ,
                COLON,
                SECONDLZ,
            ]),
            P::Seq(&[YEAR4, MONTHLZ, DAYLZ, T, HOUR24, MINUTELZ, SECONDLZ]),
            P::Seq(&[
                YEAR4,
                DASH,
                MONTHLZ,
                DASH,
                DAYLZ,
                P::Lit(b"T"),
                HOUR24LZ,
                COLON,
                MINUTELZ,
                COLON,
                SECONDLZ,
                FRAC,
                opt(&TZCORRECTION),
            ]),
            P::Seq(&[
                YEAR4,
                DASH,
                MONTH,
                DASH,
                DAY,
                P::Lit(b"T"),
                HOUR24,
                COLON,
                MINUTE,
                COLON,
                SECOND,
            ]),
            P::Seq(&[
                YEAR4,
                COLON,
                MONTHLZ,
                COLON,
                DAYLZ,
                P::Lit(b" "),
                HOUR24LZ,
                COLON,
                MINUTELZ,
                COLON,
                SECONDLZ,
            ]),
        ]),
        Action::DateTime,
    ),
    (
        P::Seq(&[YEAR4, opt(&P::Among(b".-")), DAYOFYEAR]),
        Action::YearDay,
    ),
    (
        P::Seq(&[
            YEAR4,
            opt(&DASH),
            P::Lit(b"W"),
            WEEKOFYEAR,
            opt(&P::Seq(&[opt(&DASH), P::Range(b'0', b'7')])),
        ]),
        Action::IsoWeek,
    ),
    (
        P::Seq(&[MONTHABBR, DASH, DAYLZ, DASH, YEAR]),
        Action::PgTextShort,
    ),
    (
        P::Seq(&[YEAR, DASH, MONTHABBR, DASH, DAYLZ]),
        Action::PgTextReverse,
    ),
    (
        P::Seq(&[
            DAY,
            SLASH,
            MONTHABBR,
            SLASH,
            YEAR4,
            COLON,
            HOUR24LZ,
            COLON,
            MINUTELZ,
            COLON,
            SECONDLZ,
            SPACE,
            TZCORRECTION,
        ]),
        Action::Clf,
    ),
    (YEAR4, Action::Year4),
    (DAYTEXT, Action::DayText),
    (P::Alt(&[MONTHFULL, MONTHABBR]), Action::MonthText),
    (P::Alt(&[TZCORRECTION, TZ]), Action::Zone),
    (
        P::Alt(&[
            P::Seq(&[DATENOYEAR, TIMESHORT12]),
            P::Seq(&[DATENOYEAR, TIMELONG12]),
        ]),
        Action::DateShortWithTime12,
    ),
    (
        P::Alt(&[
            P::Seq(&[DATENOYEAR, TIMESHORT24]),
            P::Seq(&[DATENOYEAR, TIMELONG24]),
            P::Seq(&[DATENOYEAR, ISO8601NORMTZ]),
        ]),
        Action::DateShortWithTime24,
    ),
    (
        P::Alt(&[
            P::Among(
                b".,
",
            ),
            SPACE,
        ]),
        Action::Skip,
    ),
];

/// Every position at which a match of `p` that starts at one of `from` can end, sorted.
pub(super) fn matched(p: &P, s: &[u8], from: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    match p {
        P::Lit(l) => out.extend(
            from.iter()
                .filter(|&&i| s.get(i..i + l.len()) == Some(*l))
                .map(|i| i + l.len()),
        ),
        P::NoCase(l) => out.extend(
            from.iter()
                .filter(|&&i| {
                    s.get(i..i + l.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(l))
                })
                .map(|i| i + l.len()),
        ),
        P::Range(lo, hi) => out.extend(
            from.iter()
                .filter(|&&i| s.get(i).is_some_and(|c| (lo..=hi).contains(&c)))
                .map(|i| i + 1),
        ),
        P::Among(set) => out.extend(
            from.iter()
                .filter(|&&i| s.get(i).is_some_and(|c| set.contains(c)))
                .map(|i| i + 1),
        ),
        P::End => out.extend(from.iter().filter(|&&i| i == s.len())),
        P::Seq(parts) => {
            let mut at = from.to_vec();
            for part in parts.iter() {
                if at.is_empty() {
                    break;
                }
                at = matched(part, s, &at);
            }
            out = at;
        }
        P::Alt(choices) => {
            for choice in choices.iter() {
                out.extend(matched(choice, s, from));
            }
        }
        P::Rep(part, min, max) => {
            if *min == 0 {
                out.extend_from_slice(from);
            }
            // Every repeated piece consumes at least a byte, so a position is never reached
            // twice by the same count; stop when a round reaches nothing new.
            let mut reached = vec![false; s.len() + 1];
            let mut at = from.to_vec();
            let mut count = 0;
            while count < *max && !at.is_empty() {
                count += 1;
                at = matched(part, s, &at);
                at.retain(|&i| {
                    reached
                        .get_mut(i)
                        .is_some_and(|seen| !std::mem::replace(seen, true))
                });
                if count >= *min {
                    out.extend_from_slice(&at);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
