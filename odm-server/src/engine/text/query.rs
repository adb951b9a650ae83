//! `$text`: parsing `{$search, $language, $caseSensitive, $diacriticSensitive}`, and
//! matching and scoring a document once the collection's text index is known.
//!
//! The search string holds words (any one matches), `"phrases"` (each must appear) and,
//! after whitespace, `-negated` words and `-"phrases"` (none may appear). Words are
//! tokenized as the index tokenizes (stemmed, stop words dropped); phrases are compared
//! as substrings, folded as the query's sensitivity says. A document's score is the sum
//! of the index's scores for the query's words it holds.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use bson::{Bson, Document};

use super::spec::TextSpec;
use super::tokenize::{self, Language, Options};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed `$text`, resolved against the text index before it matches anything.
#[derive(Clone, Debug)]
pub struct TextQuery {
    pub search: String,
    pub language: Option<String>,
    pub case_sensitive: bool,
    pub diacritic_sensitive: bool,
    resolved: OnceLock<Arc<Resolved>>,
}

/// A `$text` against one text index.
#[derive(Debug)]
pub struct Resolved {
    pub spec: Arc<TextSpec>,
    pub index: String,
    language: Language,
    /// The words the index is searched for: insensitive, stemmed, without stop words.
    pub terms: BTreeSet<String>,
    positive: BTreeSet<String>,
    negated: BTreeSet<String>,
    pub phrases: Vec<String>,
    pub negated_phrases: Vec<String>,
}

fn wrong_type(field: &str, expected: &str) -> CommandError {
    CommandError::type_mismatch(format!("$text {field} must be {expected}"))
}

impl TextQuery {
    /// Parses the operand of `$text`.
    pub fn parse(operand: &Bson) -> CmdResult<TextQuery> {
        let Bson::Document(spec) = operand else {
            return Err(CommandError::bad_value("$text expects an object"));
        };
        let mut query = TextQuery {
            search: String::new(),
            language: None,
            case_sensitive: false,
            diacritic_sensitive: false,
            resolved: OnceLock::new(),
        };
        let mut search = None;
        for (k, v) in spec {
            match (k.as_str(), v) {
                ("$search", Bson::String(s)) => search = Some(s.clone()),
                ("$search", _) => return Err(wrong_type("$search", "a string")),
                ("$language", Bson::String(s)) => query.language = Some(s.clone()),
                ("$language", _) => return Err(wrong_type("$language", "a string")),
                ("$caseSensitive", Bson::Boolean(b)) => query.case_sensitive = *b,
                ("$caseSensitive", _) => return Err(wrong_type("$caseSensitive", "a boolean")),
                ("$diacriticSensitive", Bson::Boolean(b)) => query.diacritic_sensitive = *b,
                ("$diacriticSensitive", _) => {
                    return Err(wrong_type("$diacriticSensitive", "a boolean"));
                }
                _ => return Err(CommandError::bad_value("extra fields in $text")),
            }
        }
        query.search = search.ok_or_else(|| {
            CommandError::new(ErrorCode::NoSuchKey, "Missing expected field \"$search\"")
        })?;
        Ok(query)
    }

    /// Binds the query to the collection's text index (once; the planner does it).
    pub fn resolve(&self, spec: Arc<TextSpec>, index: &str) -> CmdResult<Arc<Resolved>> {
        if let Some(r) = self.resolved.get() {
            return Ok(r.clone());
        }
        let language = match self.language.as_deref() {
            None | Some("") => spec.default_language,
            Some(l) => Language::parse(l).ok_or_else(|| {
                CommandError::bad_value(format!(
                    "unsupported language: \"{l}\" for text index version 3"
                ))
            })?,
        };
        let parsed = parse_search(&self.search);
        let insensitive = Options {
            filter_stop_words: true,
            ..Options::default()
        };
        let sensitive = Options {
            filter_stop_words: true,
            case_sensitive: self.case_sensitive,
            diacritic_sensitive: self.diacritic_sensitive,
        };
        let resolved = Arc::new(Resolved {
            terms: tokenize::tokens(&parsed.positive, language, insensitive)
                .into_iter()
                .collect(),
            positive: tokenize::tokens(&parsed.positive, language, sensitive)
                .into_iter()
                .collect(),
            negated: tokenize::tokens(&parsed.negative, language, sensitive)
                .into_iter()
                .collect(),
            phrases: parsed.phrases,
            negated_phrases: parsed.negated_phrases,
            spec,
            index: index.to_owned(),
            language,
        });
        Ok(self.resolved.get_or_init(|| resolved).clone())
    }

    pub fn resolved(&self) -> Option<&Arc<Resolved>> {
        self.resolved.get()
    }

    /// Whether `doc` matches (`false` before the query is resolved: nothing can match a
    /// `$text` without its index).
    pub fn matches(&self, doc: &Document) -> bool {
        match self.resolved.get() {
            Some(r) => r.matches(doc, self.case_sensitive, self.diacritic_sensitive),
            None => false,
        }
    }

    /// The document's text score, if it matches.
    pub fn score(&self, doc: &Document) -> Option<f64> {
        let r = self.resolved.get()?;
        let scores = r.spec.term_scores(doc).ok()?;
        Some(r.terms.iter().filter_map(|t| scores.get(t)).sum())
    }
}

impl Resolved {
    fn matches(&self, doc: &Document, case_sensitive: bool, diacritic_sensitive: bool) -> bool {
        if self.terms.is_empty() {
            return false;
        }
        let Ok(doc_language) = self.spec.language_of(doc) else {
            return false;
        };
        let mut strings = Vec::new();
        self.spec.strings(doc, &mut |s, _| strings.push(s));
        let options = Options {
            filter_stop_words: !(case_sensitive || diacritic_sensitive),
            case_sensitive,
            diacritic_sensitive,
        };
        let mut words: BTreeSet<String> = BTreeSet::new();
        for s in &strings {
            words.extend(tokenize::tokens(s, doc_language, options));
        }
        if !self.positive.iter().any(|t| words.contains(t)) {
            return false;
        }
        if self.negated.iter().any(|t| words.contains(t)) {
            return false;
        }
        let fold = |s: &str| tokenize::fold(s, self.language, case_sensitive, diacritic_sensitive);
        let folded: Vec<String> = strings.iter().map(|s| fold(s)).collect();
        let contains = |phrase: &str| {
            let p = fold(phrase);
            folded.iter().any(|s| s.contains(&p))
        };
        self.phrases.iter().all(|p| contains(p))
            && !self.negated_phrases.iter().any(|p| contains(p))
    }
}

/// A search string split into what it asks for.
#[derive(Debug, Default, PartialEq)]
struct Search {
    /// The positive words and the words of positive phrases, to be tokenized.
    positive: String,
    negative: String,
    phrases: Vec<String>,
    negated_phrases: Vec<String>,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// mongod's reading of a search string: `-` negates when it starts a word (after
/// whitespace or at the start) until the next whitespace; `"` opens and closes phrases,
/// a phrase's words also counting as positive words (a negated phrase's as nothing).
fn parse_search(search: &str) -> Search {
    let mut out = Search::default();
    let mut negating = false;
    let mut phrase: Option<(usize, bool)> = None;
    let mut previous: Option<char> = None;
    for (i, c) in search.char_indices() {
        match phrase {
            Some((start, negated)) => {
                if c == '"' {
                    let text = search[start..i].to_owned();
                    if negated {
                        out.negated_phrases.push(text);
                    } else {
                        out.positive.push(' ');
                        out.positive.push_str(&text);
                        out.phrases.push(text);
                    }
                    phrase = None;
                }
            }
            None => {
                if c == '"' {
                    phrase = Some((i + 1, negating));
                } else if is_space(c) {
                    negating = false;
                    out.positive.push(' ');
                    out.negative.push(' ');
                } else if c == '-' && previous.is_none_or(is_space) {
                    negating = true;
                } else if c == '-' {
                    // A hyphen inside a word separates words (it is a delimiter).
                    out.positive.push(' ');
                    out.negative.push(' ');
                } else if negating {
                    out.negative.push(c);
                } else {
                    out.positive.push(c);
                }
            }
        }
        previous = Some(c);
    }
    // An unclosed quote records no phrase; its words still count.
    if let Some((start, false)) = phrase {
        out.positive.push(' ');
        out.positive.push_str(&search[start..]);
    }
    out
}

thread_local! {
    static SCORE: Cell<Option<f64>> = const { Cell::new(None) };
}

/// Runs `f` (a projection or a sort key of one document) with `score` as the document's
/// `{$meta: "textScore"}`.
pub fn with_score<R>(score: Option<f64>, f: impl FnOnce() -> R) -> R {
    let before = SCORE.with(|s| s.replace(score));
    let out = f();
    SCORE.with(|s| s.set(before));
    out
}

/// The text score of the document being projected or sorted, if its query has `$text`.
pub fn current_score() -> Option<f64> {
    SCORE.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_strings_read_as_mongod_reads_them() {
        let s = parse_search(r#"coffee -shop "cafe latte" -"iced tea" foo-bar -x-y"#);
        assert_eq!(s.phrases, ["cafe latte"]);
        assert_eq!(s.negated_phrases, ["iced tea"]);
        let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            words(&s.positive),
            ["coffee", "cafe", "latte", "foo", "bar"]
        );
        assert_eq!(words(&s.negative), ["shop", "x", "y"]);
        let unclosed = parse_search(r#"a "b c"#);
        assert!(unclosed.phrases.is_empty());
        assert_eq!(words(&unclosed.positive), ["a", "b", "c"]);
    }
}
