//! What an update changed: the `$v: 2` diff mongod writes in update oplog entries, and the
//! `updateDescription` a change stream shows for it.
//!
//! The diff is computed from the document before and after, so it describes the result
//! whatever operators produced it. Its format, per (sub)document:
//!
//! ```text
//! {d: {field: false}          removed fields
//!  u: {field: value}          fields whose value changed
//!  i: {field: value}          fields added
//!  s<field>: {<sub-diff>}}    a subdocument or array changed in place
//! arrays: {a: true, l?: <new length when it shrank>, u<index>: value, s<index>: {..}}
//! ```

use bson::{Bson, Document, doc};

/// The diff from `before` to `after`, in mongod's `$v: 2` form (`{}` when equal).
pub fn document_diff(before: &Document, after: &Document) -> Document {
    let (mut d, mut u, mut i, mut s) = (
        Document::new(),
        Document::new(),
        Document::new(),
        Document::new(),
    );
    for (k, _) in before {
        if !after.contains_key(k) {
            d.insert(k.clone(), false);
        }
    }
    for (k, new) in after {
        match before.get(k) {
            None => {
                i.insert(k.clone(), new.clone());
            }
            Some(old) if old == new => {}
            Some(old) => match value_diff(old, new) {
                Some(sub) => {
                    s.insert(format!("s{k}"), sub);
                }
                None => {
                    u.insert(k.clone(), new.clone());
                }
            },
        }
    }
    let mut out = Document::new();
    for (key, part) in [("d", d), ("u", u), ("i", i)] {
        if !part.is_empty() {
            out.insert(key, part);
        }
    }
    out.extend(s);
    out
}

/// A sub-diff when both values are documents or both arrays; `None` to replace the value.
fn value_diff(old: &Bson, new: &Bson) -> Option<Document> {
    match (old, new) {
        (Bson::Document(a), Bson::Document(b)) => Some(document_diff(a, b)),
        (Bson::Array(a), Bson::Array(b)) => {
            let mut out = doc! {"a": true};
            if b.len() < a.len() {
                out.insert("l", b.len() as i32);
            }
            for (n, new) in b.iter().enumerate() {
                match a.get(n) {
                    Some(old) if old == new => {}
                    Some(old) => match value_diff(old, new) {
                        Some(sub) => {
                            out.insert(format!("s{n}"), sub);
                        }
                        None => {
                            out.insert(format!("u{n}"), new.clone());
                        }
                    },
                    None => {
                        out.insert(format!("u{n}"), new.clone());
                    }
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// A change stream's `updateDescription` for a diff: `updatedFields` (dotted paths to
/// their new values), `removedFields` and `truncatedArrays`.
pub fn update_description(diff: &Document) -> Document {
    let mut updated = Document::new();
    let mut removed = Vec::new();
    let mut truncated = Vec::new();
    describe(diff, "", &mut updated, &mut removed, &mut truncated);
    doc! {
        "updatedFields": updated,
        "removedFields": removed,
        "truncatedArrays": truncated,
    }
}

fn describe(
    diff: &Document,
    prefix: &str,
    updated: &mut Document,
    removed: &mut Vec<Bson>,
    truncated: &mut Vec<Bson>,
) {
    let path = |field: &str| format!("{prefix}{field}");
    let is_array = diff.get_bool("a").unwrap_or(false);
    if is_array && let Some(len) = diff.get("l").and_then(Bson::as_i32) {
        truncated.push(Bson::Document(
            doc! {"field": prefix.trim_end_matches('.'), "newSize": len},
        ));
    }
    for (key, value) in diff {
        match (key.as_str(), value) {
            ("d", Bson::Document(fields)) if !is_array => {
                removed.extend(fields.keys().map(|f| Bson::String(path(f))));
            }
            ("u" | "i", Bson::Document(fields)) if !is_array => {
                for (f, v) in fields {
                    updated.insert(path(f), v.clone());
                }
            }
            (k, v) if is_array && k.starts_with('u') && k.len() > 1 => {
                updated.insert(path(&k[1..]), v.clone());
            }
            (k, Bson::Document(sub)) if k.starts_with('s') && k.len() > 1 => {
                describe(
                    sub,
                    &format!("{}.", path(&k[1..])),
                    updated,
                    removed,
                    truncated,
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_changes_become_dotted_paths() {
        let before = doc! {"_id": 1, "a": 1, "gone": true, "sub": {"x": 1, "y": 2}, "arr": [1, 2, 3], "grow": [1]};
        let after = doc! {"_id": 1, "a": 2, "sub": {"x": 1, "y": 3, "z": 0}, "arr": [1, 9], "grow": [1, {"k": 1}], "new": "n"};
        let diff = document_diff(&before, &after);
        assert_eq!(
            diff,
            doc! {
                "d": {"gone": false},
                "u": {"a": 2},
                "i": {"new": "n"},
                "ssub": {"u": {"y": 3}, "i": {"z": 0}},
                "sarr": {"a": true, "l": 2, "u1": 9},
                "sgrow": {"a": true, "u1": {"k": 1}},
            }
        );
        assert_eq!(
            update_description(&diff),
            doc! {
                "updatedFields": {"a": 2, "new": "n", "sub.y": 3, "sub.z": 0, "arr.1": 9, "grow.1": {"k": 1}},
                "removedFields": ["gone"],
                "truncatedArrays": [{"field": "arr", "newSize": 2}],
            }
        );
        assert!(document_diff(&after, &after).is_empty());
    }
}
