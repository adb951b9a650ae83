//! Index declarations of a model, and how they compare with what a collection has.

use bson::{Bson, Document};
use mongodb::IndexModel;
use mongodb::options::IndexOptions;

/// An index a model declares.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexSpec {
    /// Paths and directions, in order (`{email: 1}`, `{age: 1, name: -1}`).
    pub keys: Document,
    /// The name; MongoDB's default (`age_1_name_-1`) when not given.
    pub name: Option<String>,
    pub unique: bool,
    pub sparse: bool,
    /// TTL: documents expire this many seconds after the date in the (single) key field.
    pub expire_after_secs: Option<u64>,
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
        }
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
        existing.get_document("key").is_ok_and(|k| *k == self.keys)
            && flag("unique") == self.unique
            && flag("sparse") == self.sparse
            && ttl == self.expire_after_secs.map(|s| s as i64)
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
    }
}
