//! A text index's specification: the key and options `createIndexes` normalizes
//! (`{_fts: "text", _ftsx: 1}` between the ordinary prefix and suffix fields, weights,
//! `default_language`, `language_override`, `textIndexVersion: 3`), the strings of a
//! document it indexes, and the score each term gets there.
//!
//! Scoring, as mongod's: in each indexed string, a term seen `n` times has frequency
//! `1 + 1/2 + ... + 1/2^(n-1)` and coefficient `0.5 * n / tokens + 0.5` (stop words not
//! counted); it scores `weight * frequency * coefficient`, times 1.1 when the whole string
//! is that term; scores add up across strings and fields.

use std::collections::BTreeMap;

#[cfg(test)]
use bson::doc;
use bson::{Bson, Document};

use super::tokenize::{self, Language, Options};
use crate::engine::arith;
use crate::engine::path::for_each_value;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The weight a field gets unless `weights` says otherwise.
const DEFAULT_WEIGHT: i32 = 1;
/// Weights lie strictly between 0 and this.
const MAX_WEIGHT: i64 = 100_000;
/// The only text index version this server builds.
pub const TEXT_INDEX_VERSION: i32 = 3;
/// The field a wildcard text index's weights name.
pub const WILDCARD: &str = "$**";

/// A text index, parsed from its stored key and options.
#[derive(Clone, Debug, PartialEq)]
pub struct TextSpec {
    /// Paths and weights, sorted by path; `$**` indexes every string.
    pub weights: Vec<(String, i32)>,
    pub default_language: Language,
    pub language_override: String,
    /// Ordinary keys before the text key (queries need an equality on each) and after it.
    pub prefix: Vec<(String, bool)>,
    pub suffix: Vec<(String, bool)>,
}

fn cannot_create(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::CannotCreateIndex, message)
}

/// Whether a key pattern asks for a text index.
pub fn is_text_key(key: &Document) -> bool {
    key.values()
        .any(|v| matches!(v, Bson::String(s) if s == "text"))
}

/// Normalizes a requested text index: returns the key as mongod stores it, and puts
/// `weights`, `default_language`, `language_override` and `textIndexVersion` in `options`.
pub fn normalize(key: &Document, options: &mut Document) -> CmdResult<Document> {
    let mut prefix = Document::new();
    let mut suffix = Document::new();
    let mut weights: BTreeMap<String, i32> = BTreeMap::new();
    let mut text_seen = false;
    let mut text_ended = false;
    for (path, value) in key {
        if path == "_fts" || path == "_ftsx" {
            return Err(cannot_create(
                "text index with reserved fields _fts/_ftsx not allowed",
            ));
        }
        if matches!(value, Bson::String(s) if s == "text") {
            if text_ended {
                return Err(cannot_create("'text' fields in index must all be adjacent"));
            }
            text_seen = true;
            weights.insert(path.clone(), DEFAULT_WEIGHT);
            continue;
        }
        if text_seen {
            text_ended = true;
        }
        match arith::to_i64_exact(value) {
            Some(1 | -1) => {}
            _ => {
                return Err(cannot_create(
                    "expected value 1 or -1 for non-text key in compound index",
                ));
            }
        }
        if text_seen {
            suffix.insert(path.clone(), value.clone());
        } else {
            prefix.insert(path.clone(), value.clone());
        }
    }
    match options.get("weights") {
        None => {}
        Some(Bson::Document(given)) => {
            for (path, w) in given {
                if path.is_empty() || path.split('.').any(str::is_empty) {
                    return Err(cannot_create(
                        "weight cannot be on an empty field or have an empty path component",
                    ));
                }
                if path != WILDCARD && path.split('.').any(|p| p.starts_with('$')) {
                    return Err(cannot_create(
                        "weight cannot have path component with $ prefix",
                    ));
                }
                let Some(w) = arith::to_f64(w) else {
                    return Err(cannot_create("weight for text index needs numeric type"));
                };
                let truncated = w.trunc();
                if !(truncated > 0.0 && truncated < MAX_WEIGHT as f64) {
                    return Err(cannot_create(format!(
                        "text index weight must be in the exclusive interval (0,{MAX_WEIGHT}) but found: {w}"
                    )));
                }
                weights.insert(path.clone(), truncated as i32);
            }
        }
        Some(Bson::String(s)) if s == WILDCARD => {
            weights.insert(WILDCARD.to_owned(), DEFAULT_WEIGHT);
        }
        Some(_) => {
            return Err(cannot_create(
                "text index option 'weights' must be an object",
            ));
        }
    }
    let default_language = match options.get("default_language") {
        None => Bson::String("english".into()),
        Some(Bson::String(s)) if Language::parse(s).is_some() => Bson::String(s.clone()),
        Some(Bson::String(_)) => return Err(cannot_create("default_language is not valid")),
        Some(_) => return Err(cannot_create("default_language needs a string type")),
    };
    let language_override = match options.get("language_override") {
        None => "language".to_owned(),
        Some(Bson::String(s)) if !s.is_empty() && !s.starts_with('$') && !s.contains('.') => {
            s.clone()
        }
        Some(Bson::String(_)) => return Err(cannot_create("language_override is not valid")),
        Some(_) => return Err(cannot_create("language_override must be a string")),
    };
    match options.get("textIndexVersion") {
        None => {}
        Some(v) if arith::to_i64_exact(v) == Some(i64::from(TEXT_INDEX_VERSION)) => {}
        Some(v) if arith::is_number(v) => {
            return Err(cannot_create(format!(
                "bad textIndexVersion: {v} (this server builds version {TEXT_INDEX_VERSION} only)"
            )));
        }
        Some(_) => {
            return Err(cannot_create(
                "text index option 'textIndexVersion' must be a number",
            ));
        }
    }
    let mut normalized = prefix;
    normalized.insert("_fts", "text");
    normalized.insert("_ftsx", 1);
    normalized.extend(suffix);
    let weights_doc: Document = weights
        .into_iter()
        .map(|(k, w)| (k, Bson::Int32(w)))
        .collect();
    options.insert("weights", weights_doc);
    options.insert("default_language", default_language);
    options.insert("language_override", language_override);
    options.insert("textIndexVersion", TEXT_INDEX_VERSION);
    Ok(normalized)
}

impl TextSpec {
    /// The text index a stored key and options describe, if they describe one.
    pub fn from_index(key: &Document, options: &Document) -> Option<TextSpec> {
        if key.get_str("_fts").ok()? != "text" {
            return None;
        }
        let mut prefix = Vec::new();
        let mut suffix = Vec::new();
        let mut after = false;
        for (path, dir) in key {
            match path.as_str() {
                "_fts" | "_ftsx" => after = true,
                _ => {
                    let entry = (path.clone(), crate::storage::catalog::is_descending(dir));
                    if after {
                        suffix.push(entry);
                    } else {
                        prefix.push(entry);
                    }
                }
            }
        }
        let weights = options
            .get_document("weights")
            .ok()?
            .iter()
            .map(|(k, w)| Some((k.clone(), arith::to_i64_exact(w)? as i32)))
            .collect::<Option<Vec<_>>>()?;
        Some(TextSpec {
            weights,
            default_language: Language::parse(options.get_str("default_language").ok()?)?,
            language_override: options.get_str("language_override").ok()?.to_owned(),
            prefix,
            suffix,
        })
    }

    fn wildcard_weight(&self) -> Option<i32> {
        self.weights
            .iter()
            .find(|(p, _)| p == WILDCARD)
            .map(|(_, w)| *w)
    }

    /// The language a document is indexed in: its `language_override` field, else the
    /// index's default.
    pub fn language_of(&self, doc: &Document) -> CmdResult<Language> {
        match doc.get(&self.language_override) {
            None => Ok(self.default_language),
            Some(Bson::String(s)) => Language::parse(s).ok_or_else(|| {
                CommandError::new(
                    ErrorCode::Location(17262),
                    format!("language override unsupported: {s}"),
                )
            }),
            Some(_) => Err(CommandError::new(
                ErrorCode::Location(17261),
                "found language override field in document with non-string type",
            )),
        }
    }

    /// Every string the index reads in `doc`, with its field's weight.
    pub fn strings<'a>(&self, doc: &'a Document, visit: &mut dyn FnMut(&'a str, i32)) {
        match self.wildcard_weight() {
            Some(default) => self.every_string(doc, "", default, visit),
            None => {
                for (path, weight) in &self.weights {
                    for_each_value(doc, path, &mut |reached| match reached {
                        Some(Bson::String(s)) => visit(s, *weight),
                        Some(Bson::Array(items)) => {
                            for item in items {
                                if let Bson::String(s) = item {
                                    visit(s, *weight);
                                }
                            }
                        }
                        _ => {}
                    });
                }
            }
        }
    }

    fn every_string<'a>(
        &self,
        doc: &'a Document,
        prefix: &str,
        default: i32,
        visit: &mut dyn FnMut(&'a str, i32),
    ) {
        for (name, value) in doc {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if prefix.is_empty() && *name == self.language_override {
                continue;
            }
            let weight = self
                .weights
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(default, |(_, w)| *w);
            self.every_value(value, &path, weight, default, visit);
        }
    }

    fn every_value<'a>(
        &self,
        value: &'a Bson,
        path: &str,
        weight: i32,
        default: i32,
        visit: &mut dyn FnMut(&'a str, i32),
    ) {
        crate::depth::guard(|| match value {
            Bson::String(s) => visit(s, weight),
            Bson::Document(d) => self.every_string(d, path, default, visit),
            Bson::Array(items) => {
                for item in items {
                    self.every_value(item, path, weight, default, visit);
                }
            }
            _ => {}
        })
    }

    /// The score of each term in `doc`, as the index stores it.
    pub fn term_scores(&self, doc: &Document) -> CmdResult<BTreeMap<String, f64>> {
        let language = self.language_of(doc)?;
        let mut scores: BTreeMap<String, f64> = BTreeMap::new();
        self.strings(doc, &mut |raw, weight| {
            score_string(raw, f64::from(weight), language, &mut scores)
        });
        Ok(scores)
    }
}

/// Adds one string's term scores.
fn score_string(raw: &str, weight: f64, language: Language, scores: &mut BTreeMap<String, f64>) {
    let tokens = tokenize::tokens(
        raw,
        language,
        Options {
            filter_stop_words: true,
            ..Options::default()
        },
    );
    if tokens.is_empty() {
        return;
    }
    // term -> (frequency, occurrences)
    let mut terms: BTreeMap<&str, (f64, u32)> = BTreeMap::new();
    for t in &tokens {
        let entry = terms.entry(t.as_str()).or_insert((0.0, 0));
        entry.0 += 1.0 / f64::from(1u32 << entry.1.min(31));
        entry.1 += 1;
    }
    let n = tokens.len() as f64;
    for (term, (freq, count)) in terms {
        let coeff = 0.5 * f64::from(count) / n + 0.5;
        let adjustment = if raw.len() == term.len() && raw.eq_ignore_ascii_case(term) {
            1.1
        } else {
            1.0
        };
        *scores.entry(term.to_owned()).or_insert(0.0) += weight * freq * coeff * adjustment;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalized_as_mongod_stores_them() {
        let mut options = doc! {"weights": {"title": 10}};
        let key = normalize(
            &doc! {"x": 1, "title": "text", "body": "text"},
            &mut options,
        )
        .unwrap();
        assert_eq!(key, doc! {"x": 1, "_fts": "text", "_ftsx": 1});
        assert_eq!(
            options,
            doc! {"weights": {"body": 1, "title": 10}, "default_language": "english",
            "language_override": "language", "textIndexVersion": 3}
        );
        let spec = TextSpec::from_index(&key, &options).unwrap();
        assert_eq!(spec.prefix, vec![("x".to_owned(), false)]);
        for (k, opts) in [
            (doc! {"a": "text", "b": 1, "c": "text"}, doc! {}),
            (doc! {"a": "text"}, doc! {"weights": {"a": 100000}}),
            (doc! {"a": "text"}, doc! {"weights": {"a": 0.5}}),
            (doc! {"a": "text"}, doc! {"default_language": "klingon"}),
            (doc! {"a": "text"}, doc! {"textIndexVersion": 7}),
        ] {
            let mut o = opts.clone();
            assert_eq!(
                normalize(&k, &mut o).unwrap_err().code.code(),
                67,
                "{k} {opts}"
            );
        }
    }

    #[test]
    fn scores_follow_mongods_formula() {
        let mut options = doc! {};
        let key = normalize(&doc! {"about": "text"}, &mut options).unwrap();
        let spec = TextSpec::from_index(&key, &options).unwrap();
        // Two tokens, "coffee" once: 1 * 1 * (0.5 * 1/2 + 0.5).
        let scores = spec
            .term_scores(&doc! {"about": "Coffee Shopping"})
            .unwrap();
        assert_eq!(scores["coffe"], 0.75);
        // A whole-string match of the stemmed term gets the 1.1 boost.
        let scores = spec.term_scores(&doc! {"about": "shop"}).unwrap();
        assert!((scores["shop"] - 1.1).abs() < 1e-12);
        // Repeats: frequency 1 + 1/2, coefficient 0.5 * 2/3 + 0.5.
        let scores = spec.term_scores(&doc! {"about": "tea tea cake"}).unwrap();
        assert!((scores["tea"] - 1.5 * (0.5 * 2.0 / 3.0 + 0.5)).abs() < 1e-12);
    }
}
