//! Words as a text index sees them: MongoDB's languages, the Unicode tokenizer (version
//! 3), stop words, Snowball stemming and diacritic folding.
//!
//! A token is a maximal run of characters that are not delimiters; delimiters are the
//! characters with the Unicode properties White_Space, Dash, Hyphen, Quotation_Mark,
//! Terminal_Punctuation, Pattern_Syntax or Sentence_Terminal, except the apostrophe in
//! English ("Mark's" is one word). Each token is lower-cased (Turkish dotted and dotless
//! i apart), dropped if it is a stop word, stemmed, and stripped of diacritics (é is e)
//! unless the query is diacritic-sensitive, in that order.
//!
//! Stop words are NLTK's lists (the `stop-words` crate); mongod ships Snowball's, which
//! differ in a few words per language (`docs/compatibility.md`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::CodePointSetData;
use icu_properties::props::{
    Dash, Diacritic, Hyphen, PatternSyntax, QuotationMark, SentenceTerminal, TerminalPunctuation,
    WhiteSpace,
};
use rust_stemmers::{Algorithm, Stemmer};

/// A language of text indexes: the 15 MongoDB stems, or `None` (no stemming, no stop
/// words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Danish,
    Dutch,
    English,
    Finnish,
    French,
    German,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Turkish,
    None,
}

/// Name, code, the stop-word list's code, and the stemmer.
const LANGUAGES: &[(Language, &str, &str, &str, Option<Algorithm>)] = &[
    (
        Language::Danish,
        "danish",
        "da",
        "da",
        Some(Algorithm::Danish),
    ),
    (Language::Dutch, "dutch", "nl", "nl", Some(Algorithm::Dutch)),
    (
        Language::English,
        "english",
        "en",
        "en",
        Some(Algorithm::English),
    ),
    (
        Language::Finnish,
        "finnish",
        "fi",
        "fi",
        Some(Algorithm::Finnish),
    ),
    (
        Language::French,
        "french",
        "fr",
        "fr",
        Some(Algorithm::French),
    ),
    (
        Language::German,
        "german",
        "de",
        "de",
        Some(Algorithm::German),
    ),
    (
        Language::Hungarian,
        "hungarian",
        "hu",
        "hu",
        Some(Algorithm::Hungarian),
    ),
    (
        Language::Italian,
        "italian",
        "it",
        "it",
        Some(Algorithm::Italian),
    ),
    (
        Language::Norwegian,
        "norwegian",
        "nb",
        "no",
        Some(Algorithm::Norwegian),
    ),
    (
        Language::Portuguese,
        "portuguese",
        "pt",
        "pt",
        Some(Algorithm::Portuguese),
    ),
    (
        Language::Romanian,
        "romanian",
        "ro",
        "ro",
        Some(Algorithm::Romanian),
    ),
    (
        Language::Russian,
        "russian",
        "ru",
        "ru",
        Some(Algorithm::Russian),
    ),
    (
        Language::Spanish,
        "spanish",
        "es",
        "es",
        Some(Algorithm::Spanish),
    ),
    (
        Language::Swedish,
        "swedish",
        "sv",
        "sv",
        Some(Algorithm::Swedish),
    ),
    (
        Language::Turkish,
        "turkish",
        "tr",
        "tr",
        Some(Algorithm::Turkish),
    ),
    (Language::None, "none", "none", "", None),
];

impl Language {
    /// A language by its name or code, in any case (`"english"`, `"EN"`).
    pub fn parse(name: &str) -> Option<Language> {
        let lower = name.to_lowercase();
        LANGUAGES
            .iter()
            .find(|(_, n, code, _, _)| *n == lower || *code == lower)
            .map(|(l, ..)| *l)
    }

    fn entry(
        self,
    ) -> &'static (
        Language,
        &'static str,
        &'static str,
        &'static str,
        Option<Algorithm>,
    ) {
        LANGUAGES
            .iter()
            .find(|(l, ..)| *l == self)
            .expect("every language is listed")
    }

    pub fn name(self) -> &'static str {
        self.entry().1
    }

    fn stop_words(self) -> &'static HashSet<&'static str> {
        static LISTS: OnceLock<Vec<(Language, HashSet<&'static str>)>> = OnceLock::new();
        let lists = LISTS.get_or_init(|| {
            LANGUAGES
                .iter()
                .map(|(l, _, _, list, _)| {
                    let words = if list.is_empty() {
                        HashSet::new()
                    } else {
                        stop_words::lookup(list)
                            .unwrap_or_default()
                            .iter()
                            .copied()
                            .collect()
                    };
                    (*l, words)
                })
                .collect()
        });
        &lists
            .iter()
            .find(|(l, _)| *l == self)
            .expect("every language has a list")
            .1
    }

    fn stem<'a>(self, word: &'a str) -> Cow<'a, str> {
        match self.entry().4 {
            Some(_) => {
                static STEMMERS: OnceLock<Vec<(Language, Stemmer)>> = OnceLock::new();
                let stemmers = STEMMERS.get_or_init(|| {
                    LANGUAGES
                        .iter()
                        .filter_map(|(l, _, _, _, a)| a.map(|a| (*l, Stemmer::create(a))))
                        .collect()
                });
                let stemmer = &stemmers
                    .iter()
                    .find(|(l, _)| *l == self)
                    .expect("a stemmer per stemmed language")
                    .1;
                stemmer.stem(word)
            }
            None => Cow::Borrowed(word),
        }
    }
}

/// How words are turned into tokens.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Drop stop words (index terms and query terms do; matching a case- or
    /// diacritic-sensitive query against a document does not).
    pub filter_stop_words: bool,
    pub case_sensitive: bool,
    pub diacritic_sensitive: bool,
}

fn is_delimiter(c: char, language: Language) -> bool {
    if c == '\'' && language == Language::English {
        return false;
    }
    CodePointSetData::new::<WhiteSpace>().contains(c)
        || CodePointSetData::new::<Dash>().contains(c)
        || CodePointSetData::new::<Hyphen>().contains(c)
        || CodePointSetData::new::<QuotationMark>().contains(c)
        || CodePointSetData::new::<TerminalPunctuation>().contains(c)
        || CodePointSetData::new::<PatternSyntax>().contains(c)
        || CodePointSetData::new::<SentenceTerminal>().contains(c)
}

/// The raw words of `text`, in order.
pub fn words(text: &str, language: Language) -> impl Iterator<Item = &str> {
    text.split(move |c| is_delimiter(c, language))
        .filter(|w| !w.is_empty())
}

fn lower(word: &str, language: Language) -> String {
    if language == Language::Turkish {
        word.chars()
            .flat_map(|c| match c {
                'I' => vec!['ı'],
                'İ' => vec!['i'],
                c => c.to_lowercase().collect(),
            })
            .collect()
    } else {
        word.to_lowercase()
    }
}

/// `word` without diacritics: accents and other marks removed, letters that carry them
/// replaced by their base letter (é by e); letters with no decomposition (ø) stay.
pub fn strip_diacritics(word: &str) -> String {
    if word.is_ascii() {
        return word.replace(['^', '`'], "");
    }
    let decomposed = DecomposingNormalizerBorrowed::new_nfd().normalize(word);
    let kept: String = decomposed
        .chars()
        .filter(|c| !CodePointSetData::new::<Diacritic>().contains(*c))
        .collect();
    ComposingNormalizerBorrowed::new_nfc()
        .normalize(&kept)
        .into_owned()
}

/// The tokens of `text`: lower-cased (unless case-sensitive), stop words dropped when
/// asked, stemmed, diacritics stripped (unless diacritic-sensitive).
pub fn tokens(text: &str, language: Language, options: Options) -> Vec<String> {
    let mut out = Vec::new();
    for word in words(text, language) {
        let lowered = lower(word, language);
        if options.filter_stop_words && language.stop_words().contains(lowered.as_str()) {
            continue;
        }
        let cased = if options.case_sensitive {
            word
        } else {
            lowered.as_str()
        };
        let stemmed = language.stem(cased);
        out.push(if options.diacritic_sensitive {
            stemmed.into_owned()
        } else {
            strip_diacritics(&stemmed)
        });
    }
    out
}

/// `text` case-folded and stripped of diacritics as a query's sensitivity asks, for
/// phrase matching.
pub fn fold(
    text: &str,
    language: Language,
    case_sensitive: bool,
    diacritic_sensitive: bool,
) -> String {
    let cased = if case_sensitive {
        text.to_owned()
    } else {
        lower(text, language)
    };
    if diacritic_sensitive {
        cased
    } else {
        strip_diacritics(&cased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_terms(text: &str, language: Language) -> Vec<String> {
        tokens(
            text,
            language,
            Options {
                filter_stop_words: true,
                ..Options::default()
            },
        )
    }

    #[test]
    fn english_words_are_stemmed_and_stop_words_dropped() {
        assert_eq!(
            index_terms("The coffee shops, and Mark's café!", Language::English),
            ["coffe", "shop", "mark", "cafe"]
        );
        assert_eq!(
            index_terms("well-known", Language::English),
            ["well", "known"]
        );
        assert_eq!(index_terms("C'est la vie", Language::French), ["vi"]);
        assert_eq!(
            index_terms("the running", Language::None),
            ["the", "running"]
        );
    }

    #[test]
    fn languages_by_name_or_code() {
        assert_eq!(Language::parse("EN"), Some(Language::English));
        assert_eq!(Language::parse("norwegian"), Some(Language::Norwegian));
        assert_eq!(Language::parse("nb"), Some(Language::Norwegian));
        assert_eq!(Language::parse("klingon"), None);
    }

    #[test]
    fn diacritics_fold_to_base_letters() {
        assert_eq!(strip_diacritics("Café Ñandú"), "Cafe Nandu");
        assert_eq!(strip_diacritics("ø"), "ø");
    }
}
