//! Text search through a model's text index: `Filter::text` builds the `$text`
//! condition, and `Find::by_relevance` returns each result with its score, best first.
//!
//! ```ignore
//! #[odm(index(keys(title = "text", body = "text"), weights(title = 10)))]
//! struct Post { .. }
//!
//! let hits = posts
//!     .find(Filter::text("rust -java \"type safety\"") & f.published.eq(true))
//!     .by_relevance()
//!     .await?;
//! for hit in hits { println!("{:.2} {}", hit.score, hit.doc.title); }
//! ```

use bson::{Document, doc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::filter::Filter;
use crate::find::with_metadata;

/// The field a scored result carries its score in, between the server and [`Scored`].
pub(crate) const SCORE_FIELD: &str = "_odm_text_score";

/// What a `$text` condition searches for: words (any one matches), `"phrases"` (each must
/// appear) and `-negations` (none may), in the search string MongoDB reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextSearch {
    search: String,
    language: Option<String>,
    case_sensitive: bool,
    diacritic_sensitive: bool,
}

impl TextSearch {
    pub fn new(search: impl Into<String>) -> Self {
        TextSearch {
            search: search.into(),
            language: None,
            case_sensitive: false,
            diacritic_sensitive: false,
        }
    }

    /// The language the search string is stemmed in (`"english"`, `"es"`, `"none"`);
    /// the index's default language otherwise.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// `Coffee` finds `Coffee` only.
    pub fn case_sensitive(mut self) -> Self {
        self.case_sensitive = true;
        self
    }

    /// `café` does not find `cafe`.
    pub fn diacritic_sensitive(mut self) -> Self {
        self.diacritic_sensitive = true;
        self
    }

    pub(crate) fn to_document(&self) -> Document {
        let mut d = doc! {"$search": &self.search};
        if let Some(l) = &self.language {
            d.insert("$language", l);
        }
        if self.case_sensitive {
            d.insert("$caseSensitive", true);
        }
        if self.diacritic_sensitive {
            d.insert("$diacriticSensitive", true);
        }
        d
    }
}

impl From<&str> for TextSearch {
    fn from(s: &str) -> Self {
        TextSearch::new(s)
    }
}

impl From<String> for TextSearch {
    fn from(s: String) -> Self {
        TextSearch::new(s)
    }
}

impl<M> Filter<M> {
    /// A text search through the collection's text index (MongoDB's `$text`): combine it
    /// with other conditions with `&`.
    pub fn text(search: impl Into<TextSearch>) -> Self {
        Filter::raw_unchecked(doc! {"$text": search.into().to_document()})
    }
}

/// A result of a text search with its relevance (MongoDB's `textScore`).
#[derive(Clone, Debug, PartialEq)]
pub struct Scored<M> {
    pub score: f64,
    pub doc: M,
}

impl<'de, M: DeserializeOwned> Deserialize<'de> for Scored<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (score, doc) = with_metadata(
            deserializer,
            SCORE_FIELD,
            "a scored result carries no text score",
        )?;
        Ok(Scored { score, doc })
    }
}
