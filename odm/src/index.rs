//! Index declarations of a model, and how they compare with what a collection has; and
//! collations, which indexes and queries share.

use bson::{Bson, Document};
use mongodb::IndexModel;
use mongodb::options::IndexOptions;

/// How strings compare: a locale and ICU's options, as MongoDB takes them (the driver's
/// type, re-exported with its option enums). A query with a collation uses an index only
/// if the index was declared with the same one, so declare it on both:
/// `#[odm(index(keys(email = 1), unique, collation(locale = "en", strength = 2)))]` and
/// `find(..).collation(odm::index::case_insensitive("en"))`.
pub use mongodb::options::{
    Collation, CollationAlternate, CollationCaseFirst, CollationMaxVariable, CollationStrength,
};

/// A collation where case does not count and accents do (strength 2): `"Ann@X.com"`
/// equals `"ann@x.com"`.
pub fn case_insensitive(locale: impl Into<String>) -> Collation {
    Collation::builder()
        .locale(locale.into())
        .strength(CollationStrength::Secondary)
        .build()
}

/// Whether an index's stored collation (every field resolved, as `listIndexes` reports
/// it) is `declared`: each field the declaration gives has the stored value, and an
/// unset strength is the default, 3.
fn collation_matches(declared: &Collation, stored: &Document) -> bool {
    let Ok(mut declared) = bson::serialize_to_document(declared) else {
        return false;
    };
    if !declared.contains_key("strength") {
        declared.insert("strength", 3);
    }
    declared.iter().all(|(k, v)| match (v, stored.get(k)) {
        (Bson::Int32(a), Some(b)) => bson_integer(b) == Some(i64::from(*a)),
        (Bson::Int64(a), Some(b)) => bson_integer(b) == Some(*a),
        (a, Some(b)) => a == b,
        (_, None) => false,
    })
}

fn bson_integer(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        Bson::Double(d) if d.fract() == 0.0 => Some(*d as i64),
        _ => None,
    }
}

/// An index a model declares.
#[derive(Clone, Debug)]
pub struct IndexSpec {
    /// Paths and directions, in order (`{email: 1}`, `{age: 1, name: -1}`).
    pub keys: Document,
    /// The name; MongoDB's default (`age_1_name_-1`) when not given.
    pub name: Option<String>,
    pub unique: bool,
    pub sparse: bool,
    /// TTL: documents expire this many seconds after the date in the (single) key field.
    pub expire_after_secs: Option<u64>,
    /// Strings in the index compare under this collation (a unique index then refuses
    /// values it holds equal, such as case variants).
    pub collation: Option<Collation>,
    /// A text index's field weights (1 for a text field not listed).
    pub weights: Option<Document>,
    /// A text index's language (MongoDB's default: `"english"`).
    pub default_language: Option<String>,
    /// The field naming a document's own language (MongoDB's default: `"language"`).
    pub language_override: Option<String>,
    /// A partial index: only the documents this filter matches are indexed (and, if it is
    /// unique, only they must differ).
    pub partial_filter: Option<Document>,
}

impl PartialEq for IndexSpec {
    fn eq(&self, other: &Self) -> bool {
        // The driver's collation has no equality of its own: compare what it sends.
        let collation =
            |c: &Option<Collation>| c.as_ref().map(|c| bson::serialize_to_document(c).ok());
        self.keys == other.keys
            && self.name == other.name
            && self.unique == other.unique
            && self.sparse == other.sparse
            && self.expire_after_secs == other.expire_after_secs
            && collation(&self.collation) == collation(&other.collation)
            && self.weights == other.weights
            && self.default_language == other.default_language
            && self.language_override == other.language_override
            && self.partial_filter == other.partial_filter
    }
}

impl IndexSpec {
    /// An ascending or descending index on `keys`.
    pub fn new(keys: Document) -> Self {
        IndexSpec {
            keys,
            name: None,
            unique: false,
            sparse: false,
            expire_after_secs: None,
            collation: None,
            weights: None,
            default_language: None,
            language_override: None,
            partial_filter: None,
        }
    }

    /// Whether some key is `"text"`.
    fn is_text(&self) -> bool {
        self.keys
            .values()
            .any(|v| matches!(v, Bson::String(s) if s == "text"))
    }

    /// A text index's key as MongoDB stores it: the text fields become
    /// `_fts: "text", _ftsx: 1`, and its weights (every text field, 1 unless given).
    fn stored_text_key(&self) -> (Document, Document) {
        let mut key = Document::new();
        let mut weights = std::collections::BTreeMap::new();
        for (path, dir) in &self.keys {
            if matches!(dir, Bson::String(s) if s == "text") {
                if !key.contains_key("_fts") {
                    key.insert("_fts", "text");
                    key.insert("_ftsx", 1);
                }
                weights.insert(path.clone(), Bson::Int32(1));
            } else {
                key.insert(path.clone(), dir.clone());
            }
        }
        for (path, w) in self.weights.iter().flatten() {
            weights.insert(path.clone(), w.clone());
        }
        (key, weights.into_iter().collect())
    }

    /// The index's name: the given one, or MongoDB's default.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| default_name(&self.keys))
    }

    /// The driver's description of the index.
    pub fn to_model(&self) -> IndexModel {
        let options = IndexOptions::builder()
            .name(self.name())
            .unique(self.unique.then_some(true))
            .sparse(self.sparse.then_some(true))
            .expire_after(self.expire_after_secs.map(std::time::Duration::from_secs))
            .collation(self.collation.clone())
            .weights(self.weights.clone())
            .default_language(self.default_language.clone())
            .language_override(self.language_override.clone())
            .partial_filter_expression(self.partial_filter.clone())
            .build();
        IndexModel::builder()
            .keys(self.keys.clone())
            .options(options)
            .build()
    }

    /// Whether an index as `listIndexes` describes it is this one (same keys and options).
    pub fn matches(&self, existing: &Document) -> bool {
        let flag = |name: &str| existing.get_bool(name).unwrap_or(false);
        let ttl = existing.get("expireAfterSeconds").and_then(|v| match v {
            Bson::Int32(i) => Some(i64::from(*i)),
            Bson::Int64(i) => Some(*i),
            Bson::Double(d) => Some(*d as i64),
            _ => None,
        });
        let same_key = if self.is_text() {
            let (key, weights) = self.stored_text_key();
            let same_weights = existing.get_document("weights").is_ok_and(|stored| {
                stored.len() == weights.len()
                    && weights
                        .iter()
                        .all(|(k, w)| stored.get(k).and_then(bson_integer) == bson_integer(w))
            });
            let text = |field: &str, declared: &Option<String>, default: &str| {
                existing.get_str(field).ok() == Some(declared.as_deref().unwrap_or(default))
            };
            existing.get_document("key").is_ok_and(|k| *k == key)
                && same_weights
                && text("default_language", &self.default_language, "english")
                && text("language_override", &self.language_override, "language")
        } else {
            existing.get_document("key").is_ok_and(|k| *k == self.keys)
        };
        same_key
            && existing.get_document("partialFilterExpression").ok() == self.partial_filter.as_ref()
            && flag("unique") == self.unique
            && flag("sparse") == self.sparse
            && ttl == self.expire_after_secs.map(|s| s as i64)
            && match (&self.collation, existing.get_document("collation").ok()) {
                (None, None) => true,
                (Some(declared), Some(stored)) => collation_matches(declared, stored),
                _ => false,
            }
    }
}

/// MongoDB's default index name: `field_direction` joined by `_`.
pub fn default_name(keys: &Document) -> String {
    keys.iter()
        .map(|(k, v)| {
            let dir = match v {
                Bson::Int32(i) => i.to_string(),
                Bson::Int64(i) => i.to_string(),
                Bson::Double(d) => format!("{}", *d as i64),
                Bson::String(kind) => kind.clone(),
                other => other.to_string(),
            };
            format!("{k}_{dir}")
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The models whose declared indexes one database handle (a `Db` and its clones) has
/// created: each model's first write creates them once per process. Keyed by the model
/// type, so the check on every write allocates nothing; `Db::database` starts a set of
/// its own, since another database holds other collections.
#[derive(Clone, Default)]
pub(crate) struct EnsuredIndexes(
    std::sync::Arc<std::sync::Mutex<std::collections::HashSet<std::any::TypeId>>>,
);

impl EnsuredIndexes {
    pub(crate) fn contains<M: 'static>(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&std::any::TypeId::of::<M>())
    }

    pub(crate) fn insert<M: 'static>(&self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(std::any::TypeId::of::<M>());
    }
}

/// What `sync_indexes` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Declared and missing: created.
    pub created: Vec<String>,
    /// Present but no longer declared (or declared differently): dropped.
    pub dropped: Vec<String>,
    /// Present and declared as they are.
    pub unchanged: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn names_and_matching() {
        let spec = IndexSpec {
            unique: true,
            ..IndexSpec::new(doc! {"a": 1, "b": -1})
        };
        assert_eq!(spec.name(), "a_1_b_-1");
        assert!(
            spec.matches(
                &doc! {"v": 2, "key": {"a": 1, "b": -1}, "name": "a_1_b_-1", "unique": true}
            )
        );
        assert!(!spec.matches(&doc! {"v": 2, "key": {"a": 1, "b": -1}, "name": "a_1_b_-1"}));
        let ttl = IndexSpec {
            expire_after_secs: Some(60),
            ..IndexSpec::new(doc! {"at": 1})
        };
        assert!(ttl.matches(&doc! {"key": {"at": 1}, "expireAfterSeconds": 60}));
        let ci = IndexSpec {
            collation: Some(case_insensitive("en")),
            ..IndexSpec::new(doc! {"email": 1})
        };
        let stored = doc! {"locale": "en", "caseLevel": false, "caseFirst": "off", "strength": 2,
        "numericOrdering": false, "alternate": "non-ignorable", "maxVariable": "punct",
        "normalization": false, "backwards": false, "version": "57.1"};
        assert!(ci.matches(&doc! {"key": {"email": 1}, "collation": stored.clone()}));
        assert!(!ci.matches(&doc! {"key": {"email": 1}}));
        assert!(
            !IndexSpec::new(doc! {"email": 1})
                .matches(&doc! {"key": {"email": 1}, "collation": stored})
        );
    }
}
