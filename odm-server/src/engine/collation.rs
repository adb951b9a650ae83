//! Collations: the `collation` documents of commands, collections and indexes, and the
//! string comparisons they ask for.
//!
//! MongoDB compares strings with ICU. This module parses a collation document as mongod
//! does (strict fields, its codes and messages), builds an ICU4X collator for it, and
//! reports the full specification the way mongod stores it (`listIndexes`,
//! `listCollections`, `explain`). The simple collation (byte order) is `None` throughout:
//! it is never stored and costs nothing.
//!
//! Two ways in:
//!
//! - index keys use an index's own [`Collator`] explicitly ([`Collator::sort_key`], through
//!   `storage::keycodec`);
//! - everything that evaluates a command (filters, sorts, `$group` keys, expressions)
//!   compares under the command's collation, set for the command's duration by
//!   [`with_collation`] (a command runs on one thread from start to end; a cursor keeps
//!   its collation and sets it again for every `getMore`), and read by [`compare`] and
//!   [`values_equal`].
//!
//! Departures from mongod, because ICU4X differs from the ICU that mongod embeds:
//! `backwards` (French secondary order) is what the locale has (only `fr_CA` has it),
//! asking for the other is refused; normalization is always applied (so `normalization`
//! changes nothing); locales are a fixed list (mongod's), spelled as mongod spells them.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use bson::{Bson, Document, doc};
use icu_collator::options::{AlternateHandling, CaseLevel, CollatorOptions, MaxVariable, Strength};
use icu_collator::preferences::{CollationCaseFirst, CollationNumericOrdering};
use icu_collator::{CollatorBorrowed, CollatorPreferences};

use super::compare::compare_collated;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The ICU version mongod reports in every collation specification. Clients send it back
/// (`version`), and a different one is refused as mongod refuses it.
pub const ICU_VERSION: &str = "57.1";

/// mongod's locales (its ICU's collation locales), as mongod spells them, with the
/// BCP 47 tag ICU4X reads. A locale outside this list is refused.
const LOCALES: &[(&str, &str)] = &[
    ("af", "af"),
    ("am", "am"),
    ("ar", "ar"),
    ("ar@collation=compat", "ar-u-co-compat"),
    ("as", "as"),
    ("az", "az"),
    ("be", "be"),
    ("bg", "bg"),
    ("bn", "bn"),
    ("bn@collation=traditional", "bn-u-co-trad"),
    ("bo", "bo"),
    ("bs", "bs"),
    ("bs_Cyrl", "bs-Cyrl"),
    ("ca", "ca"),
    ("chr", "chr"),
    ("cs", "cs"),
    ("cy", "cy"),
    ("da", "da"),
    ("de", "de"),
    ("de@collation=phonebook", "de-u-co-phonebk"),
    ("de_AT", "de-AT"),
    ("dsb", "dsb"),
    ("dz", "dz"),
    ("ee", "ee"),
    ("el", "el"),
    ("en", "en"),
    ("en_US", "en-US"),
    ("en_US_POSIX", "en-US-posix"),
    ("eo", "eo"),
    ("es", "es"),
    ("es@collation=traditional", "es-u-co-trad"),
    ("et", "et"),
    ("fa", "fa"),
    ("fa_AF", "fa-AF"),
    ("fi", "fi"),
    ("fi@collation=traditional", "fi-u-co-trad"),
    ("fil", "fil"),
    ("fo", "fo"),
    ("fr", "fr"),
    ("fr_CA", "fr-CA"),
    ("ga", "ga"),
    ("gl", "gl"),
    ("gu", "gu"),
    ("ha", "ha"),
    ("haw", "haw"),
    ("he", "he"),
    ("hi", "hi"),
    ("hr", "hr"),
    ("hsb", "hsb"),
    ("hu", "hu"),
    ("hy", "hy"),
    ("id", "id"),
    ("ig", "ig"),
    ("is", "is"),
    ("it", "it"),
    ("ja", "ja"),
    ("ja@collation=unihan", "ja-u-co-unihan"),
    ("ka", "ka"),
    ("kk", "kk"),
    ("kl", "kl"),
    ("km", "km"),
    ("kn", "kn"),
    ("kn@collation=traditional", "kn-u-co-trad"),
    ("ko", "ko"),
    ("ko@collation=unihan", "ko-u-co-unihan"),
    ("kok", "kok"),
    ("ky", "ky"),
    ("lb", "lb"),
    ("lkt", "lkt"),
    ("ln", "ln"),
    ("lo", "lo"),
    ("lt", "lt"),
    ("lv", "lv"),
    ("mk", "mk"),
    ("ml", "ml"),
    ("mn", "mn"),
    ("mr", "mr"),
    ("ms", "ms"),
    ("mt", "mt"),
    ("my", "my"),
    ("nb", "nb"),
    ("ne", "ne"),
    ("nl", "nl"),
    ("nn", "nn"),
    ("om", "om"),
    ("or", "or"),
    ("pa", "pa"),
    ("pl", "pl"),
    ("ps", "ps"),
    ("pt", "pt"),
    ("ro", "ro"),
    ("ru", "ru"),
    ("se", "se"),
    ("si", "si"),
    ("si@collation=dictionary", "si-u-co-dict"),
    ("sk", "sk"),
    ("sl", "sl"),
    ("smn", "smn"),
    ("sq", "sq"),
    ("sr", "sr"),
    ("sr_Latn", "sr-Latn"),
    ("sv", "sv"),
    ("sv@collation=traditional", "sv-u-co-trad"),
    ("sw", "sw"),
    ("ta", "ta"),
    ("te", "te"),
    ("th", "th"),
    ("to", "to"),
    ("tr", "tr"),
    ("ug", "ug"),
    ("uk", "uk"),
    ("ur", "ur"),
    ("vi", "vi"),
    ("vi@collation=traditional", "vi-u-co-trad"),
    ("wae", "wae"),
    ("yi", "yi"),
    ("yo", "yo"),
    ("zh", "zh"),
    ("zh@collation=pinyin", "zh-u-co-pinyin"),
    ("zh@collation=stroke", "zh-u-co-stroke"),
    ("zh@collation=unihan", "zh-u-co-unihan"),
    ("zh@collation=zhuyin", "zh-u-co-zhuyin"),
    ("zh_Hant", "zh-Hant"),
    ("zh_Hant@collation=pinyin", "zh-Hant-u-co-pinyin"),
    ("zh_Hant@collation=stroke", "zh-Hant-u-co-stroke"),
    ("zh_Hant@collation=unihan", "zh-Hant-u-co-unihan"),
    ("zh_Hant@collation=zhuyin", "zh-Hant-u-co-zhuyin"),
    ("zu", "zu"),
];

/// The only locale whose collation reads accents from the end of the string.
const BACKWARDS_LOCALE: &str = "fr_CA";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseFirst {
    Off,
    Upper,
    Lower,
}

impl CaseFirst {
    fn name(self) -> &'static str {
        match self {
            CaseFirst::Off => "off",
            CaseFirst::Upper => "upper",
            CaseFirst::Lower => "lower",
        }
    }
}

/// A collation with every field resolved: what mongod stores and reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CollationSpec {
    pub locale: String,
    pub case_level: bool,
    pub case_first: CaseFirst,
    /// 1 (base letters) to 5 (identical).
    pub strength: u8,
    pub numeric_ordering: bool,
    /// `alternate: "shifted"`: spaces and punctuation are ignored below strength 4.
    pub shifted: bool,
    /// `maxVariable: "space"` (only spaces are variable) rather than `"punct"`.
    pub max_variable_space: bool,
    pub normalization: bool,
    pub backwards: bool,
}

impl CollationSpec {
    /// The document mongod stores and reports, its fields in mongod's order.
    pub fn to_document(&self) -> Document {
        doc! {
            "locale": &self.locale,
            "caseLevel": self.case_level,
            "caseFirst": self.case_first.name(),
            "strength": i32::from(self.strength),
            "numericOrdering": self.numeric_ordering,
            "alternate": if self.shifted { "shifted" } else { "non-ignorable" },
            "maxVariable": if self.max_variable_space { "space" } else { "punct" },
            "normalization": self.normalization,
            "backwards": self.backwards,
            "version": ICU_VERSION,
        }
    }
}

/// A non-simple collation: its specification and the ICU4X collator built for it. Cheap
/// to clone; two are equal when their specifications are.
#[derive(Clone)]
pub struct Collator(Arc<Built>);

struct Built {
    spec: CollationSpec,
    icu: CollatorBorrowed<'static>,
}

impl PartialEq for Collator {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.spec == other.0.spec
    }
}

impl fmt::Debug for Collator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Collator({:?})", self.0.spec)
    }
}

impl Collator {
    pub fn spec(&self) -> &CollationSpec {
        &self.0.spec
    }

    /// Orders two strings.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        self.0.icu.compare(a, b)
    }

    /// Appends the ICU sort key of `s`: its bytes order as [`Collator::compare`] orders
    /// the strings, and strings equal under the collation have equal keys.
    pub fn sort_key(&self, s: &str, out: &mut Vec<u8>) {
        let Ok(()) = self.0.icu.write_sort_key_to(s, out);
    }

    /// Builds (or reuses) the collator for a resolved specification.
    fn for_spec(spec: CollationSpec) -> CmdResult<Collator> {
        static BUILT: OnceLock<Mutex<HashMap<CollationSpec, Collator>>> = OnceLock::new();
        let cache = BUILT.get_or_init(Default::default);
        if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&spec) {
            return Ok(c.clone());
        }
        let icu = build_icu(&spec)?;
        let collator = Collator(Arc::new(Built {
            spec: spec.clone(),
            icu,
        }));
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        // Specifications come from clients: keep the cache bounded.
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(spec, collator.clone());
        Ok(collator)
    }
}

fn icu_tag(locale: &str) -> Option<&'static str> {
    LOCALES
        .iter()
        .find(|(name, _)| *name == locale)
        .map(|(_, tag)| *tag)
}

fn preferences(spec: &CollationSpec) -> CmdResult<CollatorPreferences> {
    let tag = icu_tag(&spec.locale)
        .ok_or_else(|| CommandError::bad_value(format!("unknown locale {}", spec.locale)))?;
    let locale: icu_locale_core::Locale = tag
        .parse()
        .map_err(|e| CommandError::internal(format!("locale tag {tag}: {e:?}")))?;
    Ok(CollatorPreferences::from(&locale))
}

fn build_icu(spec: &CollationSpec) -> CmdResult<CollatorBorrowed<'static>> {
    let mut prefs = preferences(spec)?;
    prefs.case_first = Some(match spec.case_first {
        CaseFirst::Off => CollationCaseFirst::False,
        CaseFirst::Upper => CollationCaseFirst::Upper,
        CaseFirst::Lower => CollationCaseFirst::Lower,
    });
    prefs.numeric_ordering = Some(if spec.numeric_ordering {
        CollationNumericOrdering::True
    } else {
        CollationNumericOrdering::False
    });
    let mut options = CollatorOptions::default();
    options.strength = Some(match spec.strength {
        1 => Strength::Primary,
        2 => Strength::Secondary,
        3 => Strength::Tertiary,
        4 => Strength::Quaternary,
        _ => Strength::Identical,
    });
    options.case_level = Some(if spec.case_level {
        CaseLevel::On
    } else {
        CaseLevel::Off
    });
    options.alternate_handling = Some(if spec.shifted {
        AlternateHandling::Shifted
    } else {
        AlternateHandling::NonIgnorable
    });
    options.max_variable = Some(if spec.max_variable_space {
        MaxVariable::Space
    } else {
        MaxVariable::Punctuation
    });
    icu_collator::Collator::try_new(prefs, options)
        .map_err(|e| CommandError::internal(format!("no collation data for {}: {e}", spec.locale)))
}

/// The defaults a locale gives the fields a collation document leaves out.
fn locale_defaults(locale: &str) -> CmdResult<(CaseFirst, bool)> {
    let spec = CollationSpec {
        locale: locale.to_owned(),
        case_level: false,
        case_first: CaseFirst::Off,
        strength: 3,
        numeric_ordering: false,
        shifted: false,
        max_variable_space: false,
        normalization: false,
        backwards: false,
    };
    let icu = icu_collator::Collator::try_new(preferences(&spec)?, CollatorOptions::default())
        .map_err(|e| CommandError::internal(format!("no collation data for {locale}: {e}")))?;
    let resolved = icu.resolved_options();
    let case_first = match resolved.case_first {
        CollationCaseFirst::Upper => CaseFirst::Upper,
        CollationCaseFirst::Lower => CaseFirst::Lower,
        _ => CaseFirst::Off,
    };
    Ok((
        case_first,
        resolved.alternate_handling == AlternateHandling::Shifted,
    ))
}

const FIELDS: &[&str] = &[
    "locale",
    "caseLevel",
    "caseFirst",
    "strength",
    "numericOrdering",
    "alternate",
    "maxVariable",
    "normalization",
    "backwards",
    "version",
];

fn wrong_type(field: &str, value: &Bson, expected: &str) -> CommandError {
    CommandError::type_mismatch(format!(
        "BSON field 'collation.{field}' is the wrong type '{}', expected type '{expected}'",
        crate::engine::types::type_name(value)
    ))
}

fn bad_enum(field: &str, value: impl fmt::Display) -> CommandError {
    CommandError::bad_value(format!(
        "Enumeration value '{value}' for field 'collation.{field}' is not a valid value."
    ))
}

fn bool_field(spec: &Document, field: &str) -> CmdResult<Option<bool>> {
    match spec.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(field, other, "bool")),
    }
}

fn string_field<'a>(spec: &'a Document, field: &str) -> CmdResult<Option<&'a str>> {
    match spec.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(field, other, "string")),
    }
}

fn strength_field(spec: &Document) -> CmdResult<Option<u8>> {
    let value = match spec.get("strength") {
        None | Some(Bson::Null) => return Ok(None),
        Some(v) => v,
    };
    // mongod reads the number as an int, truncating (2.5 is 2) and saturating.
    let n: i64 = match value {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(d) if d.is_nan() => 0,
        Bson::Double(d) => d.trunc().clamp(i32::MIN as f64, i32::MAX as f64) as i64,
        Bson::Decimal128(_) => {
            let d = super::compare::Number::from_bson(value).map_or(0.0, |n| n.as_f64());
            if d.is_nan() {
                0
            } else {
                d.trunc().clamp(i32::MIN as f64, i32::MAX as f64) as i64
            }
        }
        other => {
            return Err(CommandError::type_mismatch(format!(
                "BSON field 'collation.strength' is the wrong type '{}', expected types '[long, int, decimal, double]'",
                crate::engine::types::type_name(other)
            )));
        }
    };
    if n > 5 {
        return Err(CommandError::new(
            ErrorCode::Location(51024),
            format!("BSON field 'strength' value must be <= 5, actual value '{n}'"),
        ));
    }
    if n < 0 {
        return Err(CommandError::new(
            ErrorCode::Location(51024),
            format!("BSON field 'strength' value must be >= 0, actual value '{n}'"),
        ));
    }
    if n == 0 {
        return Err(bad_enum("strength", 0));
    }
    Ok(Some(n as u8))
}

/// Parses a collation document: `None` for the simple collation (`{locale: "simple"}`).
pub fn parse(spec: &Document) -> CmdResult<Option<Collator>> {
    for (name, _) in spec {
        if !FIELDS.contains(&name.as_str()) {
            return Err(CommandError::new(
                ErrorCode::Location(40415),
                format!("BSON field 'collation.{name}' is an unknown field."),
            ));
        }
    }
    let Some(locale) = string_field(spec, "locale")? else {
        return Err(CommandError::new(
            ErrorCode::Location(40414),
            "BSON field 'collation.locale' is missing but a required field",
        ));
    };
    let case_level = bool_field(spec, "caseLevel")?;
    let case_first = match string_field(spec, "caseFirst")? {
        None => None,
        Some("off") => Some(CaseFirst::Off),
        Some("upper") => Some(CaseFirst::Upper),
        Some("lower") => Some(CaseFirst::Lower),
        Some(other) => return Err(bad_enum("caseFirst", other)),
    };
    let strength = strength_field(spec)?;
    let numeric_ordering = bool_field(spec, "numericOrdering")?;
    let shifted = match string_field(spec, "alternate")? {
        None => None,
        Some("non-ignorable") => Some(false),
        Some("shifted") => Some(true),
        Some(other) => return Err(bad_enum("alternate", other)),
    };
    let max_variable_space = match string_field(spec, "maxVariable")? {
        None => None,
        Some("punct") => Some(false),
        Some("space") => Some(true),
        Some(other) => return Err(bad_enum("maxVariable", other)),
    };
    let normalization = bool_field(spec, "normalization")?;
    let backwards = match spec.get("backwards") {
        None => None,
        Some(Bson::Boolean(b)) => Some(*b),
        Some(other) => return Err(wrong_type("backwards", other, "bool")),
    };
    let version = string_field(spec, "version")?;

    if locale.contains('\0') {
        return Err(CommandError::bad_value(format!(
            "Field 'locale' cannot contain null byte. Collation spec: {spec}"
        )));
    }
    if locale == "simple" {
        return Ok(None);
    }
    if locale.is_empty() {
        return Err(CommandError::bad_value(format!(
            "Field 'locale' cannot be the empty string in: {spec}"
        )));
    }
    if icu_tag(locale).is_none() {
        return Err(CommandError::bad_value(format!(
            "Field 'locale' is invalid in: {spec}"
        )));
    }
    if let Some(v) = version
        && v != ICU_VERSION
    {
        return Err(CommandError::new(
            ErrorCode::Location(161),
            format!(
                "Requested collation version {v} but the only available collator version was {ICU_VERSION}. Requested collation spec: {spec}"
            ),
        ));
    }
    let (default_case_first, default_shifted) = locale_defaults(locale)?;
    let locale_backwards = locale == BACKWARDS_LOCALE;
    let resolved = CollationSpec {
        locale: locale.to_owned(),
        case_level: case_level.unwrap_or(false),
        case_first: case_first.unwrap_or(default_case_first),
        strength: strength.unwrap_or(3),
        numeric_ordering: numeric_ordering.unwrap_or(false),
        shifted: shifted.unwrap_or(default_shifted),
        max_variable_space: max_variable_space.unwrap_or(false),
        normalization: normalization.unwrap_or(false),
        backwards: backwards.unwrap_or(locale_backwards),
    };
    // Checked on the resolved specification, as mongod does: fr_CA at strength 1 is
    // refused too, its locale turning `backwards` on.
    if resolved.backwards && resolved.strength == 1 {
        return Err(CommandError::bad_value(format!(
            "'backwards' is invalid with 'strength' of 1 in: {spec}"
        )));
    }
    if resolved.case_first != CaseFirst::Off && !resolved.case_level && resolved.strength <= 2 {
        return Err(CommandError::bad_value(format!(
            "'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is greater than 2 in: {spec}"
        )));
    }
    // French secondary order is not an option of ICU4X's collator: the locale decides.
    if resolved.backwards != locale_backwards {
        return Err(CommandError::bad_value(format!(
            "'backwards: {}' is not supported by this server in: {spec}: its collator orders accents backwards for the locale \"{BACKWARDS_LOCALE}\" only, and always there",
            resolved.backwards
        )));
    }
    Collator::for_spec(resolved).map(Some)
}

/// Parses an optional `collation` field of an operation: absent or `{}` means "not given"
/// (the collection's default applies), `Some(None)` is the simple collation asked for.
pub fn parse_option(value: Option<&Document>) -> CmdResult<Option<Option<Collator>>> {
    match value {
        None => Ok(None),
        Some(d) if d.is_empty() => Ok(None),
        Some(d) => parse(d).map(Some),
    }
}

/// The collation stored in a collection's options (its default) or an index's.
pub fn stored(options: &Document) -> CmdResult<Option<Collator>> {
    match options.get_document("collation") {
        Ok(spec) => parse(spec),
        Err(_) => Ok(None),
    }
}

/// The collation an operation runs under: its own when given, else the collection's.
pub fn effective(
    given: Option<Option<Collator>>,
    collection_options: Option<&Document>,
) -> CmdResult<Option<Collator>> {
    match given {
        Some(c) => Ok(c),
        None => collection_options.map_or(Ok(None), stored),
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Collator>> = const { RefCell::new(None) };
}

/// Runs `f` (a command, or a cursor's `getMore`) under `collation`.
pub fn with_collation<R>(collation: Option<&Collator>, f: impl FnOnce() -> R) -> R {
    let before = CURRENT.with(|c| c.replace(collation.cloned()));
    // Restored even if `f` unwinds, so that a panic caught at the connection does not
    // leave the next command on this thread under this collation.
    struct Restore(Option<Collator>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = before);
        }
    }
    let _restore = Restore(before);
    f()
}

/// The collation of the command running on this thread.
pub fn current() -> Option<Collator> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Compares two values in MongoDB's order, strings under the current command's collation.
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    CURRENT.with(|c| compare_collated(a, b, c.borrow().as_ref()))
}

/// Whether two values are equal under the current command's collation.
pub fn values_equal(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collator(spec: Document) -> Collator {
        parse(&spec).unwrap().unwrap()
    }

    fn code(spec: Document) -> i32 {
        parse(&spec).unwrap_err().code.code()
    }

    #[test]
    fn strength_two_ignores_case() {
        let c = collator(doc! {"locale": "en", "strength": 2});
        assert_eq!(c.compare("ann@x.com", "Ann@X.com"), Ordering::Equal);
        assert_eq!(c.compare("a", "á"), Ordering::Less);
        let (mut k1, mut k2) = (Vec::new(), Vec::new());
        c.sort_key("Ann", &mut k1);
        c.sort_key("ann", &mut k2);
        assert_eq!(k1, k2);
    }

    #[test]
    fn options_change_the_order() {
        let numeric = collator(doc! {"locale": "en", "numericOrdering": true});
        assert_eq!(numeric.compare("10", "9"), Ordering::Greater);
        let shifted = collator(doc! {"locale": "en", "alternate": "shifted"});
        assert_eq!(shifted.compare("a b", "ab"), Ordering::Equal);
        let upper = collator(doc! {"locale": "en", "caseFirst": "upper"});
        assert_eq!(upper.compare("A", "a"), Ordering::Less);
        let fr_ca = collator(doc! {"locale": "fr_CA"});
        assert_eq!(fr_ca.compare("côte", "coté"), Ordering::Less);
    }

    #[test]
    fn the_full_specification_is_reported() {
        let c = collator(doc! {"locale": "fr_CA", "strength": 2.5});
        assert_eq!(
            c.spec().to_document(),
            doc! {"locale": "fr_CA", "caseLevel": false, "caseFirst": "off", "strength": 2,
            "numericOrdering": false, "alternate": "non-ignorable", "maxVariable": "punct",
            "normalization": false, "backwards": true, "version": "57.1"}
        );
        assert!(parse(&doc! {"locale": "simple"}).unwrap().is_none());
    }

    #[test]
    fn bad_documents_get_mongods_codes() {
        assert_eq!(code(doc! {}), 40414);
        assert_eq!(code(doc! {"locale": "en", "bogus": 1}), 40415);
        assert_eq!(code(doc! {"locale": 1}), 14);
        assert_eq!(code(doc! {"locale": "en", "caseLevel": 1}), 14);
        assert_eq!(code(doc! {"locale": "en", "strength": "2"}), 14);
        assert_eq!(code(doc! {"locale": "en", "strength": 6}), 51024);
        assert_eq!(code(doc! {"locale": "en", "strength": 0}), 2);
        assert_eq!(code(doc! {"locale": "en", "caseFirst": "up"}), 2);
        assert_eq!(code(doc! {"locale": "en-US"}), 2);
        assert_eq!(code(doc! {"locale": ""}), 2);
        assert_eq!(code(doc! {"locale": "en", "version": "1.0"}), 161);
        assert_eq!(
            code(doc! {"locale": "en", "strength": 1, "caseFirst": "upper"}),
            2
        );
        assert_eq!(
            code(doc! {"locale": "en", "strength": 1, "backwards": true}),
            2
        );
        assert_eq!(code(doc! {"locale": "fr_CA", "strength": 1}), 2);
        assert_eq!(code(doc! {"locale": "en", "backwards": true}), 2);
    }

    #[test]
    fn the_command_collation_is_scoped() {
        let c = collator(doc! {"locale": "en", "strength": 2});
        let (a, b) = (Bson::from("A"), Bson::from("a"));
        assert!(!values_equal(&a, &b));
        with_collation(Some(&c), || {
            assert!(values_equal(&a, &b));
            assert!(values_equal(
                &Bson::Array(vec![a.clone()]),
                &Bson::Array(vec![b.clone()])
            ));
        });
        assert!(!values_equal(&a, &b));
    }

    /// Catalog records hold the resolved document: reading it back must give the same
    /// collation, or the record could not be loaded.
    #[test]
    fn the_reported_specification_reads_back_as_itself() {
        for locale in ["en", "fr_CA", "da", "th", "sv", "zh@collation=pinyin"] {
            for strength in 1..=5 {
                for extra in [
                    doc! {},
                    doc! {"caseLevel": true, "caseFirst": "upper"},
                    doc! {"numericOrdering": true, "alternate": "shifted", "maxVariable": "space"},
                    doc! {"normalization": true},
                ] {
                    let mut spec = doc! {"locale": locale, "strength": strength};
                    spec.extend(extra);
                    let Ok(Some(c)) = parse(&spec) else { continue };
                    let again = parse(&c.spec().to_document()).unwrap().unwrap();
                    assert_eq!(again.spec(), c.spec(), "{spec}");
                }
            }
        }
    }

    #[test]
    fn every_listed_locale_builds() {
        for (name, _) in LOCALES {
            assert!(parse(&doc! {"locale": *name}).is_ok(), "{name}");
        }
    }
}
