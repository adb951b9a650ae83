//! Dotted paths through documents and arrays, with MongoDB's traversal rules.
//!
//! A path such as `a.b.c` names a field in nested documents. When a step meets an array,
//! MongoDB looks *through* it: `a.b` on `{a: [{b: 1}, {b: 2}]}` reaches both `1` and `2`.
//! A numeric step (`a.0.b`) also indexes into an array. These rules are shared by the
//! matcher, index key generation and sort keys, so they live here once:
//!
//! - [`for_each_value`]: every value a path reaches, for query predicates;
//! - [`index_values`]: the values an index on that path holds for a document (leaf arrays
//!   expanded into their elements), and whether the document makes the index multikey;
//! - [`get_path`] / [`get_path_mut`] / [`set_path`] / [`remove_path`]: one exact location,
//!   for projections and updates (no traversal through arrays except numeric steps).

use bson::{Bson, Document};

/// One value reached by a path (`Some`), or a place where the path's field is absent
/// (`None`), which is what `{a: null}` and `$exists: false` look for.
pub type Reached<'a> = Option<&'a Bson>;

/// Parses a path's step as an array index (MongoDB accepts only plain decimal digits).
pub fn array_index(step: &str) -> Option<usize> {
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    step.parse().ok()
}

/// Calls `visit` with every value that `path` reaches in `doc`, following MongoDB's rules
/// for arrays met before the last step: each element that is a document is searched, and a
/// numeric step also selects an element by position. A document lacking the field gives one
/// `None`. The value at the last step is passed as is, even when it is an array: the caller
/// decides whether a predicate applies to the array or its elements.
///
/// Returns how many times `visit` was called; a path that reaches nothing at all (such as
/// `a.b` through an array of numbers) calls it zero times.
pub fn for_each_value<'a>(
    doc: &'a Document,
    path: &str,
    visit: &mut dyn FnMut(Reached<'a>),
) -> usize {
    for_each_value_at(doc, path, &mut |reached, _| visit(reached))
}

/// [`for_each_value`], also telling each visit the position of the element it went through
/// in the first array the path crossed (`None` if it crossed none). That position is what
/// the positional operator `$` of updates and projections refers to.
pub fn for_each_value_at<'a>(
    doc: &'a Document,
    path: &str,
    visit: &mut dyn FnMut(Reached<'a>, Option<usize>),
) -> usize {
    let steps: Vec<&str> = path.split('.').collect();
    let mut calls = 0;
    walk_document(doc, &steps, None, &mut |r, at| {
        calls += 1;
        visit(r, at)
    });
    calls
}

type Visit<'v, 'a> = dyn FnMut(Reached<'a>, Option<usize>) + 'v;

fn walk_document<'a>(
    doc: &'a Document,
    steps: &[&str],
    at: Option<usize>,
    visit: &mut Visit<'_, 'a>,
) {
    crate::depth::guard(|| {
        let (first, rest) = match steps.split_first() {
            Some(split) => split,
            None => return,
        };
        match doc.get(*first) {
            None => visit(None, at),
            Some(value) if rest.is_empty() => visit(Some(value), at),
            Some(value) => walk_value(value, rest, at, visit),
        }
    })
}

fn walk_value<'a>(value: &'a Bson, steps: &[&str], at: Option<usize>, visit: &mut Visit<'_, 'a>) {
    crate::depth::guard(|| {
        match value {
            Bson::Document(inner) => walk_document(inner, steps, at, visit),
            Bson::Array(items) => {
                let (first, rest) = match steps.split_first() {
                    Some(split) => split,
                    None => return,
                };
                // Each document element is searched for the whole remaining path (a document
                // lacking the field gives a `None`); a numeric step also selects an element by
                // position. Scalars in the array have no fields: they give nothing.
                for (i, item) in items.iter().enumerate() {
                    if let Bson::Document(inner) = item {
                        walk_document(inner, steps, at.or(Some(i)), visit);
                    }
                }
                if let Some(item) = array_index(first).and_then(|i| items.get(i)) {
                    match item {
                        _ if rest.is_empty() => visit(Some(item), at),
                        Bson::Document(_) | Bson::Array(_) => walk_value(item, rest, at, visit),
                        _ => {}
                    }
                }
            }
            // A scalar cannot have fields: the path reaches nothing here.
            _ => visit(None, at),
        }
    })
}

/// What an index on one path holds for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexValues {
    /// The values to index, without repeats. Arrays at the last step are expanded into
    /// their elements (an empty array is indexed as `undefined`, as mongod does); a path
    /// that reaches nothing gives `null`.
    pub values: Vec<Bson>,
    /// Whether the path reached a field at all (sparse indexes skip documents where no
    /// indexed path does).
    pub present: bool,
    /// The path of the first array met, if any: the document makes the index multikey.
    /// Two paths of one compound index may not go through different arrays.
    pub array_path: Option<String>,
}

/// The values an index on `path` holds for `doc` (see [`IndexValues`]).
pub fn index_values(doc: &Document, path: &str) -> IndexValues {
    let steps: Vec<&str> = path.split('.').collect();
    let mut acc = IndexValues {
        values: Vec::new(),
        present: false,
        array_path: None,
    };
    collect_in_document(doc, &steps, 0, &steps, &mut acc);
    if acc.values.is_empty() {
        acc.values.push(Bson::Null);
    }
    let mut unique: Vec<Bson> = Vec::with_capacity(acc.values.len());
    for v in acc.values.drain(..) {
        if !unique.iter().any(|u| super::compare::values_equal(u, &v)) {
            unique.push(v);
        }
    }
    acc.values = unique;
    acc
}

fn collect_in_document(
    doc: &Document,
    steps: &[&str],
    depth: usize,
    all: &[&str],
    acc: &mut IndexValues,
) {
    crate::depth::guard(|| {
        let Some((first, rest)) = steps.split_first() else {
            return;
        };
        match doc.get(*first) {
            // A scalar with steps left: the path reaches a missing field, as the matcher sees it.
            Some(inner)
                if !rest.is_empty() && !matches!(inner, Bson::Document(_) | Bson::Array(_)) =>
            {
                acc.values.push(Bson::Null)
            }
            Some(inner) => collect_index_values(inner, rest, depth + 1, all, acc),
            None => acc.values.push(Bson::Null),
        }
    })
}

fn note_array(depth: usize, all: &[&str], acc: &mut IndexValues) {
    if acc.array_path.is_none() {
        acc.array_path = Some(all[..depth].join("."));
    }
}

fn collect_index_values(
    value: &Bson,
    steps: &[&str],
    depth: usize,
    all: &[&str],
    acc: &mut IndexValues,
) {
    crate::depth::guard(|| {
        let Some((first, rest)) = steps.split_first() else {
            acc.present = true;
            match value {
                Bson::Array(items) => {
                    note_array(depth, all, acc);
                    if items.is_empty() {
                        acc.values.push(Bson::Undefined);
                    } else {
                        acc.values.extend(items.iter().cloned());
                    }
                }
                other => acc.values.push(other.clone()),
            }
            return;
        };
        match value {
            Bson::Document(doc) => collect_in_document(doc, steps, depth, all, acc),
            Bson::Array(items) => {
                note_array(depth, all, acc);
                if let Some(item) = array_index(first).and_then(|i| items.get(i)) {
                    collect_index_values(item, rest, depth + 1, all, acc);
                }
                for item in items {
                    if let Bson::Document(inner) = item {
                        collect_in_document(inner, steps, depth, all, acc);
                    }
                }
            }
            _ => {}
        }
    })
}

/// The value at an exact location: documents are entered by field, arrays only by a
/// numeric step.
pub fn get_path<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut steps = path.split('.');
    let mut current = doc.get(steps.next()?)?;
    for step in steps {
        current = match current {
            Bson::Document(d) => d.get(step)?,
            Bson::Array(items) => items.get(array_index(step)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// A mutable reference to the value at an exact location (see [`get_path`]).
pub fn get_path_mut<'a>(doc: &'a mut Document, path: &str) -> Option<&'a mut Bson> {
    let mut steps = path.split('.');
    let mut current = doc.get_mut(steps.next()?)?;
    for step in steps {
        current = match current {
            Bson::Document(d) => d.get_mut(step)?,
            Bson::Array(items) => items.get_mut(array_index(step)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Why a value could not be written at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A step met a value that is neither a document nor an array (or an array with a
    /// non-numeric step): `Cannot create field 'b' in element {a: 1}`.
    NotTraversable { step: String, at: String },
    /// Writing at `index` would pad an array with more than [`MAX_ARRAY_PADDING`] nulls.
    TooMuchPadding { index: usize },
}

/// How many nulls a write past an array's end may add (mongod's `kMaxPaddingAllowed`).
pub const MAX_ARRAY_PADDING: usize = 1_500_000;

/// Sets the value at `path`, creating missing intermediate documents. An array met on the
/// way is entered by a numeric step; writing past its end pads it with nulls (as `$set`
/// does).
pub fn set_path(doc: &mut Document, path: &str, value: Bson) -> Result<(), PathError> {
    let steps: Vec<&str> = path.split('.').collect();
    set_in_document(doc, &steps, value, "")
}

fn set_in_document(
    doc: &mut Document,
    steps: &[&str],
    value: Bson,
    prefix: &str,
) -> Result<(), PathError> {
    crate::depth::guard(|| {
        let (first, rest) = steps.split_first().expect("paths have at least one step");
        if rest.is_empty() {
            doc.insert(*first, value);
            return Ok(());
        }
        let here = join(prefix, first);
        let child = doc
            .entry(first.to_string())
            .or_insert_with(|| Bson::Document(Document::new()));
        set_in_value(child, rest, value, &here)
    })
}

fn set_in_value(
    target: &mut Bson,
    steps: &[&str],
    value: Bson,
    prefix: &str,
) -> Result<(), PathError> {
    crate::depth::guard(|| {
        match target {
            Bson::Document(d) => set_in_document(d, steps, value, prefix),
            Bson::Array(items) => {
                let (first, rest) = steps.split_first().expect("paths have at least one step");
                let Some(i) = array_index(first) else {
                    return Err(PathError::NotTraversable {
                        step: first.to_string(),
                        at: prefix.to_string(),
                    });
                };
                if i >= items.len() && i - items.len() > MAX_ARRAY_PADDING {
                    return Err(PathError::TooMuchPadding { index: i });
                }
                let padded = i >= items.len();
                while items.len() <= i {
                    items.push(Bson::Null);
                }
                if rest.is_empty() {
                    items[i] = value;
                    Ok(())
                } else {
                    let here = join(prefix, first);
                    // A slot just padded becomes a document; a null already stored does not.
                    if padded {
                        items[i] = Bson::Document(Document::new());
                    }
                    set_in_value(&mut items[i], rest, value, &here)
                }
            }
            _ => Err(PathError::NotTraversable {
                step: steps[0].to_string(),
                at: prefix.to_string(),
            }),
        }
    })
}

/// Removes the value at `path` and returns it. Inside an array, the element is replaced
/// by null (as `$unset` does) rather than removed, so positions do not shift.
pub fn remove_path(doc: &mut Document, path: &str) -> Option<Bson> {
    match path.rsplit_once('.') {
        None => doc.remove(path),
        Some((parent, last)) => match get_path_mut(doc, parent)? {
            Bson::Document(d) => d.remove(last),
            Bson::Array(items) => {
                let i = array_index(last)?;
                let slot = items.get_mut(i)?;
                Some(std::mem::replace(slot, Bson::Null))
            }
            _ => None,
        },
    }
}

fn join(prefix: &str, step: &str) -> String {
    if prefix.is_empty() {
        step.to_string()
    } else {
        format!("{prefix}.{step}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn reached(doc: &Document, path: &str) -> Vec<Option<Bson>> {
        let mut out = Vec::new();
        for_each_value(doc, path, &mut |r| out.push(r.cloned()));
        out
    }

    #[test]
    fn walks_through_arrays_of_documents() {
        let d = doc! {"a": [{"b": 1}, {"b": 2}, {"c": 3}, 7]};
        assert_eq!(
            reached(&d, "a.b"),
            vec![Some(Bson::Int32(1)), Some(Bson::Int32(2)), None]
        );
    }

    #[test]
    fn numeric_steps_index_arrays_and_match_field_names() {
        // mongod searches each element for a field named "1" (absent: None) and also
        // takes element 1 by position.
        let d = doc! {"a": [{"b": 1}, {"b": 2}]};
        assert_eq!(reached(&d, "a.1.b"), vec![None, None, Some(Bson::Int32(2))]);
        let d = doc! {"a": [5, 6]};
        assert_eq!(reached(&d, "a.1"), vec![Some(Bson::Int32(6))]);
        assert!(reached(&d, "a.1.b").is_empty());
        let d = doc! {"a": {"0": "x"}};
        assert_eq!(reached(&d, "a.0"), vec![Some(Bson::String("x".into()))]);
    }

    #[test]
    fn missing_and_scalars() {
        let d = doc! {"a": 1};
        assert_eq!(reached(&d, "b"), vec![None]);
        assert_eq!(reached(&d, "a.b"), vec![None]);
        let d = doc! {"a": [1, 2]};
        assert!(reached(&d, "a.b").is_empty());
    }

    #[test]
    fn index_values_expand_leaf_arrays() {
        let iv = index_values(&doc! {"a": [1, 2, 2]}, "a");
        assert_eq!(iv.values, vec![Bson::Int32(1), Bson::Int32(2)]);
        assert_eq!(iv.array_path.as_deref(), Some("a"));
        let iv = index_values(&doc! {"a": {"b": "x"}}, "a.b");
        assert_eq!(iv.values, vec![Bson::String("x".into())]);
        assert!(iv.present && iv.array_path.is_none());
        let iv = index_values(&doc! {"z": 1}, "a");
        assert_eq!(iv.values, vec![Bson::Null]);
        assert!(!iv.present);
        let iv = index_values(&doc! {"a": null}, "a");
        assert!(iv.present);
        assert_eq!(
            index_values(&doc! {"a": []}, "a").values,
            vec![Bson::Undefined]
        );
        let iv = index_values(&doc! {"a": [{"b": 1}, {"b": [2, 3]}]}, "a.b");
        assert_eq!(
            iv.values,
            vec![Bson::Int32(1), Bson::Int32(2), Bson::Int32(3)]
        );
        assert_eq!(iv.array_path.as_deref(), Some("a"));
    }

    #[test]
    fn set_creates_intermediate_documents_and_pads_arrays() {
        let mut d = doc! {"a": {"x": 1}, "arr": [1]};
        set_path(&mut d, "a.b.c", Bson::Int32(5)).unwrap();
        set_path(&mut d, "arr.3", Bson::Int32(9)).unwrap();
        assert_eq!(
            d,
            doc! {"a": {"x": 1, "b": {"c": 5}}, "arr": [1, null, null, 9]}
        );
        let err = set_path(&mut d, "a.x.y", Bson::Int32(1)).unwrap_err();
        assert_eq!(
            err,
            PathError::NotTraversable {
                step: "y".into(),
                at: "a.x".into()
            }
        );
    }

    #[test]
    fn set_refuses_huge_padding_and_keeps_stored_nulls() {
        let mut d = doc! {"a": [null]};
        assert_eq!(
            set_path(&mut d, "a.0.b", Bson::Int32(1)),
            Err(PathError::NotTraversable {
                step: "b".into(),
                at: "a.0".into()
            })
        );
        assert_eq!(
            set_path(&mut d, "a.100000000000", Bson::Int32(1)),
            Err(PathError::TooMuchPadding {
                index: 100_000_000_000
            })
        );
    }

    #[test]
    fn index_values_see_missing_under_scalars() {
        let iv = index_values(&doc! {"a": [{"b": 1}, {"b": {"c": 2}}]}, "a.b.c");
        assert_eq!(iv.values, vec![Bson::Null, Bson::Int32(2)]);
    }

    #[test]
    fn remove_nulls_array_slots() {
        let mut d = doc! {"a": [1, 2], "b": {"c": 1, "d": 2}};
        assert_eq!(remove_path(&mut d, "a.0"), Some(Bson::Int32(1)));
        assert_eq!(remove_path(&mut d, "b.c"), Some(Bson::Int32(1)));
        assert_eq!(remove_path(&mut d, "b.zz"), None);
        assert_eq!(d, doc! {"a": [null, 2], "b": {"d": 2}});
    }
}
