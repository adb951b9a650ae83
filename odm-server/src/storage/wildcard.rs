//! Wildcard indexes (`{"$**": 1}`, `{"a.$**": 1}`, with `wildcardProjection`): one entry
//! per (path, value) a document holds under the indexed paths, so that a query on any
//! one of those paths can use the index.
//!
//! An entry's key is the path as a string, then the value, then the `_id`: the entries
//! of one path are contiguous and ordered by value. Documents are walked down to their
//! leaves; an array's elements are indexed under the array's path (an array inside an
//! array as a whole value), and an empty document or array as itself. A path is never
//! indexed with array positions, so queries on `a.0` do not use the index; nor do
//! queries that could match a missing field (`null`) or compare whole documents or
//! arrays, which the leaves do not hold.

use bson::{Bson, Document};

use crate::error::{CmdResult, CommandError, ErrorCode};

/// Which paths a wildcard index holds.
#[derive(Clone, Debug, PartialEq)]
pub struct WildcardSpec {
    /// `a` for `{"a.$**": 1}`; `None` for `{"$**": 1}`.
    root: Option<String>,
    /// `wildcardProjection`: the paths included (or, when `exclude`, left out).
    paths: Vec<String>,
    exclude: bool,
    /// `_id` is left out unless the projection includes it.
    include_id: bool,
}

fn cannot_create(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::CannotCreateIndex, message)
}

/// The wildcard field of a key pattern (`$**` or `a.$**`), if any.
pub fn wildcard_field(key: &Document) -> Option<&str> {
    key.keys()
        .map(String::as_str)
        .find(|k| *k == "$**" || k.ends_with(".$**"))
}

impl WildcardSpec {
    /// Checks a requested wildcard index as mongod does.
    pub fn check(key: &Document, options: &Document) -> CmdResult<()> {
        let Some(field) = wildcard_field(key) else {
            if options.contains_key("wildcardProjection") {
                return Err(cannot_create(
                    "The field 'wildcardProjection' is only allowed in an 'wildcard' index",
                ));
            }
            return Ok(());
        };
        if key.len() > 1 {
            return Err(cannot_create(
                "compound wildcard indexes are not supported by this server yet",
            ));
        }
        if !matches!(key.get(field), Some(v) if crate::engine::arith::to_i64_exact(v) == Some(1) || crate::engine::arith::to_i64_exact(v) == Some(-1))
        {
            return Err(cannot_create(
                "A wildcard index key must be 1 or -1 (a string names another index type)",
            ));
        }
        for (option, refused) in [
            ("unique", "unique"),
            ("sparse", "sparse"),
            ("expireAfterSeconds", "expireAfterSeconds"),
        ] {
            if options.contains_key(option) {
                return Err(cannot_create(format!(
                    "Index type 'wildcard' does not support the '{refused}' option"
                )));
            }
        }
        if let Some(p) = options.get("wildcardProjection") {
            if field != "$**" {
                return Err(cannot_create(
                    "The field 'wildcardProjection' is only allowed on an '$**' index (not on a path's)",
                ));
            }
            let Bson::Document(p) = p else {
                return Err(CommandError::type_mismatch(
                    "The field 'wildcardProjection' must be a non-empty object",
                ));
            };
            parse_projection(p)?;
        }
        Ok(())
    }

    /// The wildcard index a stored key and options describe, if they describe one.
    pub fn from_index(key: &Document, options: &Document) -> Option<WildcardSpec> {
        let field = wildcard_field(key)?;
        let root = field.strip_suffix(".$**").map(str::to_owned);
        let (paths, exclude, include_id) = match options.get_document("wildcardProjection") {
            Ok(p) => parse_projection(p).ok()?,
            Err(_) => (Vec::new(), true, false),
        };
        Some(WildcardSpec {
            root,
            paths,
            exclude,
            include_id,
        })
    }

    /// Whether the index holds `path` (a dotted path without array positions).
    pub fn holds(&self, path: &str) -> bool {
        if path
            .split('.')
            .any(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return false;
        }
        let under = |p: &str, base: &str| p == base || p.starts_with(&format!("{base}."));
        if let Some(root) = &self.root {
            return under(path, root);
        }
        if under(path, "_id") {
            return self.include_id;
        }
        let listed = self.paths.iter().any(|p| under(path, p));
        if self.exclude { !listed } else { listed }
    }

    /// Whether a walk should go below `path` (some path under it may be held).
    fn may_hold_below(&self, path: &str) -> bool {
        if let Some(root) = &self.root {
            return root.starts_with(&format!("{path}.")) || self.holds(path);
        }
        if path == "_id" {
            return self.include_id;
        }
        if self.exclude {
            !self.paths.iter().any(|p| p == path)
        } else {
            self.paths
                .iter()
                .any(|p| p.starts_with(&format!("{path}.")) || self.holds(path))
        }
    }

    /// Every (path, value) the index holds for `doc`.
    pub fn entries(&self, doc: &Document) -> Vec<(String, Bson)> {
        let mut out = Vec::new();
        for (name, value) in doc {
            self.walk(value, name, &mut out);
        }
        out
    }

    fn walk(&self, value: &Bson, path: &str, out: &mut Vec<(String, Bson)>) {
        crate::depth::guard(|| {
            if !self.may_hold_below(path) {
                return;
            }
            match value {
                Bson::Document(d) if !d.is_empty() => {
                    for (name, v) in d {
                        self.walk(v, &format!("{path}.{name}"), out);
                    }
                }
                Bson::Array(items) if !items.is_empty() => {
                    for item in items {
                        match item {
                            Bson::Array(_) => {
                                if self.holds(path) {
                                    out.push((path.to_owned(), item.clone()));
                                }
                            }
                            _ => self.walk(item, path, out),
                        }
                    }
                }
                leaf => {
                    if self.holds(path) {
                        out.push((path.to_owned(), leaf.clone()));
                    }
                }
            }
        })
    }
}

/// `wildcardProjection`: the listed paths, whether they are excluded, and whether `_id`
/// is included.
fn parse_projection(p: &Document) -> CmdResult<(Vec<String>, bool, bool)> {
    if p.is_empty() {
        return Err(CommandError::type_mismatch(
            "The field 'wildcardProjection' must be a non-empty object",
        ));
    }
    let mut paths = Vec::new();
    let mut mode: Option<bool> = None;
    let mut include_id = false;
    for (path, v) in p {
        let include = crate::engine::agg::expr::truthy(Some(v));
        if path == "_id" {
            include_id = include;
            continue;
        }
        match mode {
            Some(m) if m != include => {
                return Err(cannot_create(
                    "Cannot mix inclusion and exclusion in 'wildcardProjection' (only _id may differ)",
                ));
            }
            _ => mode = Some(include),
        }
        paths.push(path.clone());
    }
    Ok((paths, mode == Some(false), include_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn entries_are_the_leaves_under_the_held_paths() {
        let all = WildcardSpec::from_index(&doc! {"$**": 1}, &doc! {}).unwrap();
        let d = doc! {"_id": 1, "a": {"b": [1, {"c": "x"}], "e": {}}, "f": [[2]]};
        assert_eq!(
            all.entries(&d),
            vec![
                ("a.b".to_owned(), Bson::Int32(1)),
                ("a.b.c".to_owned(), Bson::String("x".into())),
                ("a.e".to_owned(), Bson::Document(doc! {})),
                ("f".to_owned(), Bson::Array(vec![Bson::Int32(2)])),
            ]
        );
        let under_a = WildcardSpec::from_index(&doc! {"a.$**": 1}, &doc! {}).unwrap();
        assert!(under_a.holds("a.b") && !under_a.holds("f") && !under_a.holds("a.0"));
        let only_b =
            WildcardSpec::from_index(&doc! {"$**": 1}, &doc! {"wildcardProjection": {"a.b": 1}})
                .unwrap();
        assert_eq!(only_b.entries(&d).len(), 2);
        let not_a = WildcardSpec::from_index(
            &doc! {"$**": 1},
            &doc! {"wildcardProjection": {"a": 0, "_id": 1}},
        )
        .unwrap();
        assert_eq!(
            not_a.entries(&d),
            vec![
                ("_id".to_owned(), Bson::Int32(1)),
                ("f".to_owned(), Bson::Array(vec![Bson::Int32(2)])),
            ]
        );
    }
}
