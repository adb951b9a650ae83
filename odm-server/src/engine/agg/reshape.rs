//! The stages that reshape each document on its own: `$unwind` (one document per array
//! element), `$redact` (levels kept, pruned or descended into), and the path walk that
//! `$addFields`, `$set` and `$unset` share.

use bson::{Bson, Document};

use super::expr::{Expression, Scope};
use super::pipeline::stage_error;
use crate::engine::path;
use crate::error::CmdResult;

#[derive(Clone, Debug)]
pub struct Unwind {
    path: String,
    include_array_index: Option<String>,
    preserve_null_and_empty: bool,
}

pub(super) fn parse_unwind(arg: &Bson) -> CmdResult<Unwind> {
    let (path, include_array_index, preserve) = match arg {
        Bson::String(s) => (s.clone(), None, false),
        Bson::Document(d) => {
            let path = match d.get("path") {
                Some(Bson::String(s)) => s.clone(),
                _ => return Err(stage_error(28812, "no path specified to $unwind stage")),
            };
            let index = match d.get("includeArrayIndex") {
                None => None,
                Some(Bson::String(s)) if !s.is_empty() && !s.starts_with('$') => Some(s.clone()),
                Some(_) => {
                    return Err(stage_error(
                        28810,
                        "includeArrayIndex must be a non-empty string not starting with '$'",
                    ));
                }
            };
            let preserve = match d.get("preserveNullAndEmptyArrays") {
                None => false,
                Some(Bson::Boolean(b)) => *b,
                Some(_) => {
                    return Err(stage_error(
                        28809,
                        "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage",
                    ));
                }
            };
            for k in d.keys() {
                if !matches!(
                    k.as_str(),
                    "path" | "includeArrayIndex" | "preserveNullAndEmptyArrays"
                ) {
                    return Err(stage_error(
                        28811,
                        format!("unrecognized option to $unwind stage: {k}"),
                    ));
                }
            }
            (path, index, preserve)
        }
        _ => {
            return Err(stage_error(
                15981,
                "expected either a string or an object as specification for $unwind stage",
            ));
        }
    };
    let Some(stripped) = path.strip_prefix('$') else {
        return Err(stage_error(
            28818,
            format!("path option to $unwind stage should be prefixed with a '$': {path}"),
        ));
    };
    Ok(Unwind {
        path: stripped.to_string(),
        include_array_index,
        preserve_null_and_empty: preserve,
    })
}

pub(super) fn run_unwind(u: &Unwind, docs: Vec<Document>) -> Vec<Document> {
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let value = path::get_path(&d, &u.path).cloned();
        match value {
            Some(Bson::Array(items)) if !items.is_empty() => {
                for (i, item) in items.into_iter().enumerate() {
                    let mut copy = d.clone();
                    // The path exists (it held the array), so setting it cannot fail.
                    let _ = path::set_path(&mut copy, &u.path, item);
                    if let Some(name) = &u.include_array_index {
                        copy.insert(name.clone(), Bson::Int64(i as i64));
                    }
                    out.push(copy);
                }
            }
            Some(Bson::Array(_)) | Some(Bson::Null) | None => {
                if u.preserve_null_and_empty {
                    let mut copy = d;
                    // An empty array leaves nothing behind; null and missing stay as they are.
                    if matches!(value, Some(Bson::Array(_))) {
                        path::remove_path(&mut copy, &u.path);
                    }
                    if let Some(name) = &u.include_array_index {
                        copy.insert(name.clone(), Bson::Null);
                    }
                    out.push(copy);
                }
            }
            Some(_) => {
                // A non-array value unwinds as itself; it has no array index.
                let mut copy = d;
                if let Some(name) = &u.include_array_index {
                    copy.insert(name.clone(), Bson::Null);
                }
                out.push(copy);
            }
        }
    }
    out
}

/// One level of `$redact`: the expression, evaluated on this (sub)document, keeps it
/// whole, prunes it, or descends into its documents and arrays of documents.
pub(super) fn redact(e: &Expression, doc: Document) -> CmdResult<Option<Document>> {
    crate::depth::guard(|| match e.evaluate(&mut Scope::new(&doc))? {
        Some(Bson::String(s)) if s == "keep" => Ok(Some(doc)),
        Some(Bson::String(s)) if s == "prune" => Ok(None),
        Some(Bson::String(s)) if s == "descend" => {
            let mut out = Document::new();
            for (k, v) in doc {
                if let Some(v) = redact_value(e, v)? {
                    out.insert(k, v);
                }
            }
            Ok(Some(out))
        }
        other => Err(stage_error(
            17053,
            format!(
                "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned {}",
                other.map_or_else(|| "MISSING".to_string(), |v| v.to_string())
            ),
        )),
    })
}

fn redact_value(e: &Expression, v: Bson) -> CmdResult<Option<Bson>> {
    crate::depth::guard(|| {
        Ok(match v {
            Bson::Document(d) => redact(e, d)?.map(Bson::Document),
            Bson::Array(items) => {
                let mut kept = Vec::with_capacity(items.len());
                for item in items {
                    kept.extend(redact_value(e, item)?);
                }
                Some(Bson::Array(kept))
            }
            other => Some(other),
        })
    })
}

/// Calls `leaf` with the document that holds the last step of `steps`, descending through
/// embedded documents and into every element of the arrays met on the way, as the paths
/// of `$addFields`, `$set` and `$unset` stages do. With `create`, a missing parent or a
/// value in the way (a scalar, also inside an array) is replaced by a new document.
pub(super) fn at_path(
    doc: &mut Document,
    steps: &[&str],
    create: bool,
    leaf: &mut dyn FnMut(&mut Document, &str),
) {
    crate::depth::guard(|| {
        let Some((first, rest)) = steps.split_first() else {
            return;
        };
        if rest.is_empty() {
            leaf(doc, first);
            return;
        }
        match doc.get_mut(*first) {
            Some(child @ (Bson::Document(_) | Bson::Array(_))) => {
                at_value(child, rest, create, leaf)
            }
            _ if create => {
                let mut child = Document::new();
                at_path(&mut child, rest, create, leaf);
                doc.insert(*first, child);
            }
            _ => {}
        }
    })
}

fn at_value(
    value: &mut Bson,
    steps: &[&str],
    create: bool,
    leaf: &mut dyn FnMut(&mut Document, &str),
) {
    crate::depth::guard(|| match value {
        Bson::Document(d) => at_path(d, steps, create, leaf),
        Bson::Array(items) => items
            .iter_mut()
            .for_each(|item| at_value(item, steps, create, leaf)),
        other if create => {
            let mut d = Document::new();
            at_path(&mut d, steps, create, leaf);
            *other = Bson::Document(d);
        }
        _ => {}
    })
}
