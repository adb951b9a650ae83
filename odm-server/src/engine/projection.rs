//! Projections of `find` and `findAndModify`: which fields of a document to return.
//!
//! A projection either includes fields (`{name: 1}`; `_id` too unless `{_id: 0}`) or
//! excludes them (`{secret: 0}`), never both (`31254`/`31253`). Dotted paths reach into
//! embedded documents and through arrays of them. Includes may also compute fields from
//! expressions (`{total: {$add: ["$a", "$b"]}}`), and arrays can be cut with `$slice` or
//! filtered with `$elemMatch`. A find projection may also keep only the array element the
//! query matched (`{"grades.$": 1}`).

use bson::{Bson, Document};

use super::agg::expr::{self, Expression, Scope};
use super::matcher::{Cond, Filter, first_elem_match};
use crate::error::{CmdResult, CommandError, ErrorCode};

#[derive(Clone, Debug)]
enum Item {
    Include,
    Exclude,
    Nested(Node),
    Computed(Expression),
    Slice {
        skip: i64,
        limit: Option<i64>,
    },
    /// `{a: {$elemMatch: ...}}`: the first element of `a` that satisfies the condition.
    ElemMatch(Cond),
    /// `a.$`: the element of `a` at the position the query matched.
    Positional,
}

/// What applying a projection reads besides the current level: the whole document
/// (expressions see it) and the position `a.$` keeps.
struct Input<'a> {
    root: &'a Document,
    position: Option<usize>,
}

/// Fields of one document level, in projection order.
#[derive(Clone, Debug, Default)]
struct Node {
    fields: Vec<(String, Item)>,
}

/// A parsed projection.
#[derive(Clone, Debug)]
pub struct Projection {
    root: Node,
    inclusion: bool,
    include_id: bool,
    positional: bool,
    /// Some field is computed: the result may nest deeper than the document.
    computes: bool,
}

/// Two paths name the same field.
fn collision(path: &str) -> CommandError {
    CommandError::new(
        ErrorCode::Location(31250),
        format!("Path collision at {path}"),
    )
}

/// A path runs through a field the projection already names as a whole.
fn collision_through(path: &str, rest: &str) -> CommandError {
    CommandError::new(
        ErrorCode::Location(31249),
        format!("Path collision at {path} remaining portion {rest}"),
    )
}

impl Node {
    fn bind(&mut self, vars: &super::agg::bind::Vars) {
        for (_, item) in &mut self.fields {
            match item {
                Item::Computed(e) => e.bind(vars),
                Item::Nested(node) => node.bind(vars),
                _ => {}
            }
        }
    }
}

impl Projection {
    /// Whether some field is computed (an expression or `{$meta: ...}`): only such a
    /// projection reads a document's metadata.
    pub fn computes(&self) -> bool {
        self.computes
    }

    /// Writes the values of `let` variables into its computed fields.
    pub fn bind(&mut self, vars: &super::agg::bind::Vars) {
        self.root.bind(vars);
    }

    /// Parses a `find` projection; `None` for an empty one (return everything).
    pub fn parse(spec: &Document) -> CmdResult<Option<Projection>> {
        Self::parse_with(spec, true)
    }

    /// Parses a `$project` stage: there `{$slice: ...}` is the expression, not the
    /// projection operator.
    pub fn parse_for_pipeline(spec: &Document) -> CmdResult<Option<Projection>> {
        Self::parse_with(spec, false)
    }

    fn parse_with(spec: &Document, find_operators: bool) -> CmdResult<Option<Projection>> {
        if spec.is_empty() {
            return Ok(None);
        }
        let mut root = Node::default();
        let mut mode: Option<bool> = None; // Some(true): inclusion
        let mut include_id = true;
        let mut positional = false;
        let mut elem_match = false;
        let mut computes = false;
        let mut flat = Vec::with_capacity(spec.len());
        flatten_spec("", spec, &mut flat);
        for (path, value) in &flat {
            let (path, value) = (path.as_str(), *value);
            crate::depth::check_field_path(path)?;
            if path == ".$" {
                return Err(CommandError::new(
                    ErrorCode::Location(5392900),
                    "Cannot use a positional projection on the whole document ('.$')",
                ));
            }
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(CommandError::bad_value(format!(
                    "FieldPath field names may not be empty strings: '{path}'"
                )));
            }
            let (path, item) = match path.strip_suffix(".$") {
                Some(array) if find_operators => {
                    if positional {
                        return Err(CommandError::new(
                            ErrorCode::Location(31276),
                            "Cannot specify more than one positional projection per query.",
                        ));
                    }
                    if elem_match {
                        return Err(CommandError::new(
                            ErrorCode::Location(31256),
                            "Cannot specify positional operator and $elemMatch.",
                        ));
                    }
                    if array.split('.').any(|s| s.starts_with('$')) {
                        return Err(CommandError::bad_value(format!(
                            "FieldPath field names may not start with '$': '{path}'"
                        )));
                    }
                    if matches!(value, Bson::Document(d) if d.contains_key("$slice")) {
                        return Err(CommandError::new(
                            ErrorCode::Location(31271),
                            "positional projection cannot be used with $slice",
                        ));
                    }
                    if !expr::truthy(Some(value)) || !is_number_or_bool(value) {
                        return Err(CommandError::new(
                            ErrorCode::Location(31395),
                            format!("positional projection cannot be used with a literal: {path}"),
                        ));
                    }
                    positional = true;
                    (array, Item::Positional)
                }
                _ if path.split('.').any(|s| s.starts_with('$')) => {
                    return Err(CommandError::bad_value(format!(
                        "FieldPath field names may not start with '$': '{path}'"
                    )));
                }
                _ => {
                    let item = parse_item(path, value, find_operators)?;
                    if let Item::ElemMatch(_) = item {
                        if positional {
                            return Err(CommandError::new(
                                ErrorCode::Location(31255),
                                "Cannot specify positional operator and $elemMatch.",
                            ));
                        }
                        elem_match = true;
                    }
                    (path, item)
                }
            };
            if path == "_id" {
                match item {
                    Item::Include => {}
                    Item::Exclude => {
                        include_id = false;
                        continue;
                    }
                    _ => {}
                }
            }
            // `{$meta: ...}` takes no side: beside inclusions it is one more field, alone
            // or beside exclusions every stored field stays.
            let is_meta =
                matches!(value, Bson::Document(d) if d.len() == 1 && d.contains_key("$meta"));
            let kind = match item {
                Item::Computed(_) if is_meta => None,
                Item::Include | Item::Computed(_) | Item::Positional => Some(true),
                Item::Exclude => Some(false),
                _ => None,
            };
            if let Some(k) = kind
                && path != "_id"
            {
                match mode {
                    Some(false) if matches!(item, Item::Computed(_)) => {
                        return Err(computed_in_exclusion(path, value));
                    }
                    Some(m) if m != k => {
                        return Err(if m {
                            CommandError::new(
                                ErrorCode::Location(31254),
                                format!(
                                    "Cannot do exclusion on field {path} in inclusion projection"
                                ),
                            )
                        } else {
                            CommandError::new(
                                ErrorCode::Location(31253),
                                format!(
                                    "Cannot do inclusion on field {path} in exclusion projection"
                                ),
                            )
                        });
                    }
                    _ => mode = Some(k),
                }
            }
            computes |= matches!(item, Item::Computed(_));
            insert(&mut root, path, item)?;
        }
        // `{_id: 1}`, a computed `_id` or an `$elemMatch` alone is an inclusion; `$slice`
        // alone an exclusion.
        let inclusion = mode.unwrap_or_else(|| {
            elem_match
                || root
                    .fields
                    .iter()
                    .any(|(k, i)| k == "_id" && matches!(i, Item::Include | Item::Computed(_)))
        });
        Ok(Some(Projection {
            root,
            inclusion,
            include_id,
            positional,
            computes,
        }))
    }

    /// Applies the projection to a document.
    pub fn apply(&self, doc: &Document) -> CmdResult<Document> {
        self.apply_with(doc, None)
    }

    /// Applies the projection to a document that `filter` matched (which decides what a
    /// positional `a.$` keeps).
    pub fn apply_matched(&self, doc: &Document, filter: &Filter) -> CmdResult<Document> {
        let position = if self.positional {
            filter.array_position(doc)
        } else {
            None
        };
        self.apply_with(doc, position)
    }

    fn apply_with(&self, doc: &Document, position: Option<usize>) -> CmdResult<Document> {
        let input = Input {
            root: doc,
            position,
        };
        let mut out = if self.inclusion {
            include(&self.root, doc, &input)?
        } else {
            exclude(&self.root, doc, &input)?
        };
        append_elem_matches(&self.root, doc, &mut out);
        // A computed `_id` replaces the stored one, even where it evaluates to missing.
        let computed_id = self
            .root
            .fields
            .iter()
            .any(|(k, i)| k == "_id" && matches!(i, Item::Computed(_)));
        if self.inclusion
            && self.include_id
            && !computed_id
            && let Some(id) = doc.get("_id")
            && !out.contains_key("_id")
        {
            let mut with_id = Document::new();
            with_id.insert("_id", id.clone());
            with_id.extend(out);
            out = with_id;
        }
        if !self.include_id {
            out.remove("_id");
        }
        if self.computes {
            crate::depth::check_output(&out)?;
        }
        Ok(out)
    }
}

/// `{a: {b: 1}}` is the same projection as `{"a.b": 1}`: nested specs become dotted
/// paths, while objects starting with an operator (and empty objects) stay values. `$project`
/// and `$addFields` read their specs the same way.
pub(crate) fn flatten_spec<'a>(
    prefix: &str,
    spec: &'a Document,
    out: &mut Vec<(String, &'a Bson)>,
) {
    crate::depth::guard(|| {
        for (key, value) in spec {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Bson::Document(d)
                    if !d.is_empty() && !d.keys().next().is_some_and(|k| k.starts_with('$')) =>
                {
                    flatten_spec(&path, d, out)
                }
                _ => out.push((path, value)),
            }
        }
    })
}

fn parse_item(path: &str, value: &Bson, find_operators: bool) -> CmdResult<Item> {
    Ok(match value {
        Bson::Boolean(b) => {
            if *b {
                Item::Include
            } else {
                Item::Exclude
            }
        }
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            if expr::truthy(Some(value)) {
                Item::Include
            } else {
                Item::Exclude
            }
        }
        Bson::Document(d) if find_operators && d.len() == 1 && d.contains_key("$slice") => {
            parse_slice(d.get("$slice").expect("checked"))?
        }
        Bson::Document(d) if find_operators && d.len() == 1 && d.contains_key("$elemMatch") => {
            if path.contains('.') {
                return Err(CommandError::new(
                    ErrorCode::Location(31275),
                    "Cannot use $elemMatch projection on a nested field.",
                ));
            }
            let Some(Bson::Document(spec)) = d.get("$elemMatch") else {
                return Err(CommandError::new(
                    ErrorCode::Location(31274),
                    "elemMatch: Invalid argument, object required.",
                ));
            };
            // The same `$elemMatch` as in a query, value form (`{$gt: 1}`) included.
            let mut wrapper = Document::new();
            wrapper.insert(path, bson::doc! {"$elemMatch": spec.clone()});
            match Filter::parse(&wrapper)? {
                Filter::Field { cond, .. } => Item::ElemMatch(cond),
                _ => return Err(CommandError::bad_value("invalid $elemMatch projection")),
            }
        }
        other => Item::Computed(expr::parse(other).map_err(|e| {
            // In a projection an unknown `$operator` is reported as a projection error.
            if e.code == ErrorCode::Location(168) {
                CommandError::new(
                    ErrorCode::Location(31325),
                    format!("Unknown projection operator: {}", e.message),
                )
            } else {
                e
            }
        })?),
    })
}

fn parse_slice(arg: &Bson) -> CmdResult<Item> {
    let as_int = |v: &Bson| crate::engine::arith::to_i64_exact(v);
    match arg {
        Bson::Array(items) if items.len() == 2 => {
            let (Some(skip), Some(limit)) = (as_int(&items[0]), as_int(&items[1])) else {
                return Err(CommandError::bad_value("$slice arguments must be integers"));
            };
            if limit <= 0 {
                return Err(CommandError::bad_value(format!(
                    "$slice limit must be positive, got {limit}"
                )));
            }
            Ok(Item::Slice {
                skip,
                limit: Some(limit),
            })
        }
        v => match as_int(v) {
            Some(n) => Ok(Item::Slice {
                skip: n,
                limit: None,
            }),
            None => Err(CommandError::bad_value(
                "$slice only supports numbers and [skip, limit] arrays",
            )),
        },
    }
}

fn insert(node: &mut Node, path: &str, item: Item) -> CmdResult<()> {
    crate::depth::guard(|| {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        let existing = node.fields.iter_mut().find(|(k, _)| k == head);
        match (rest, existing) {
            (None, None) => node.fields.push((head.to_string(), item)),
            (None, Some(_)) => return Err(collision(path)),
            (Some(rest), None) => {
                let mut child = Node::default();
                insert(&mut child, rest, item)?;
                node.fields.push((head.to_string(), Item::Nested(child)));
            }
            (Some(rest), Some((_, Item::Nested(child)))) => insert(child, rest, item)?,
            (Some(rest), Some(_)) => return Err(collision_through(path, rest)),
        }
        Ok(())
    })
}

fn include(node: &Node, doc: &Document, input: &Input<'_>) -> CmdResult<Document> {
    crate::depth::guard(|| {
        let mut out = Document::new();
        for (key, value) in doc {
            let Some((_, item)) = node.fields.iter().find(|(k, _)| k == key) else {
                continue;
            };
            match item {
                Item::Include => {
                    out.insert(key.clone(), value.clone());
                }
                Item::Nested(child) => {
                    if let Some(v) = include_value(child, value, input)? {
                        out.insert(key.clone(), v);
                    }
                }
                Item::Slice { skip, limit } => {
                    out.insert(key.clone(), slice(value, *skip, *limit));
                }
                Item::Positional => {
                    out.insert(key.clone(), matched_element(key, value, input.position)?);
                }
                Item::Computed(_) | Item::Exclude | Item::ElemMatch(_) => {}
            }
        }
        // Computed fields come after the stored ones, in projection order.
        for (key, item) in &node.fields {
            if let Item::Computed(e) = item
                && let Some(v) = e.evaluate(&mut Scope::new(input.root))?
            {
                out.insert(key.clone(), v);
            }
        }
        Ok(out)
    })
}

fn include_value(node: &Node, value: &Bson, input: &Input<'_>) -> CmdResult<Option<Bson>> {
    crate::depth::guard(|| {
        Ok(match value {
            Bson::Document(d) => Some(Bson::Document(include(node, d, input)?)),
            Bson::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(v) = include_value(node, item, input)? {
                        out.push(v);
                    }
                }
                Some(Bson::Array(out))
            }
            // A scalar has none of the nested fields asked for.
            _ => None,
        })
    })
}

fn exclude(node: &Node, doc: &Document, input: &Input<'_>) -> CmdResult<Document> {
    crate::depth::guard(|| {
        let mut out = Document::new();
        for (key, value) in doc {
            match node.fields.iter().find(|(k, _)| k == key).map(|(_, i)| i) {
                None | Some(Item::Include) | Some(Item::Computed(_)) | Some(Item::Positional) => {
                    out.insert(key.clone(), value.clone());
                }
                Some(Item::Exclude) => {}
                Some(Item::Nested(child)) => {
                    out.insert(key.clone(), exclude_value(child, value, input)?);
                }
                Some(Item::Slice { skip, limit }) => {
                    out.insert(key.clone(), slice(value, *skip, *limit));
                }
                Some(Item::ElemMatch(_)) => {}
            }
        }
        // `{$meta: ...}` fields (the only computed ones an exclusion allows) come last.
        for (key, item) in &node.fields {
            if let Item::Computed(e) = item
                && let Some(v) = e.evaluate(&mut Scope::new(input.root))?
            {
                out.insert(key.clone(), v);
            }
        }
        Ok(out)
    })
}

fn exclude_value(node: &Node, value: &Bson, input: &Input<'_>) -> CmdResult<Bson> {
    crate::depth::guard(|| {
        Ok(match value {
            Bson::Document(d) => Bson::Document(exclude(node, d, input)?),
            Bson::Array(items) => Bson::Array(
                items
                    .iter()
                    .map(|i| exclude_value(node, i, input))
                    .collect::<CmdResult<_>>()?,
            ),
            other => other.clone(),
        })
    })
}

fn computed_in_exclusion(path: &str, value: &Bson) -> CommandError {
    match value {
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
            CommandError::new(
                ErrorCode::Location(31252),
                format!("Cannot use expression other than $meta in exclusion projection: {path}"),
            )
        }
        _ => CommandError::new(
            ErrorCode::Location(31310),
            format!("Cannot use a literal in an exclusion projection: {path}"),
        ),
    }
}

fn is_number_or_bool(v: &Bson) -> bool {
    matches!(
        v,
        Bson::Boolean(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
    )
}

/// `a.$`: the matched element, alone in an array.
fn matched_element(key: &str, value: &Bson, position: Option<usize>) -> CmdResult<Bson> {
    let element = match (value, position) {
        (Bson::Array(items), Some(i)) => items.get(i),
        // Not an array: there is nothing to pick from, and the value is returned as is.
        (other, _) if !matches!(other, Bson::Array(_)) => return Ok(other.clone()),
        _ => None,
    };
    match element {
        Some(e) => Ok(Bson::Array(vec![e.clone()])),
        None => Err(CommandError::new(
            ErrorCode::Location(51246),
            format!(
                "Executor error during find command :: caused by :: positional operator '{key}.$' couldn't find a matching element in the array"
            ),
        )),
    }
}

fn slice(value: &Bson, skip: i64, limit: Option<i64>) -> Bson {
    let Bson::Array(items) = value else {
        return value.clone();
    };
    let len = items.len() as i64;
    let (start, count) = match limit {
        None if skip >= 0 => (0, skip),
        None => ((len + skip).max(0), len),
        Some(l) => (
            if skip < 0 {
                (len + skip).max(0)
            } else {
                skip.min(len)
            },
            l,
        ),
    };
    Bson::Array(
        items
            .iter()
            .skip(start as usize)
            .take(count.max(0) as usize)
            .cloned()
            .collect(),
    )
}

/// `$elemMatch` fields come last, after the other fields the projection keeps, as in
/// mongod 4.4+; a field that is not an array, or has no matching element, is left out.
fn append_elem_matches(node: &Node, doc: &Document, out: &mut Document) {
    for (key, item) in &node.fields {
        if let Item::ElemMatch(cond) = item
            && let Some(Bson::Array(items)) = doc.get(key)
            && let Some(i) = first_elem_match(cond, items)
        {
            out.insert(key.clone(), Bson::Array(vec![items[i].clone()]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn project(spec: Document, d: Document) -> CmdResult<Document> {
        Projection::parse(&spec)?.expect("non-empty").apply(&d)
    }

    #[test]
    fn inclusion_keeps_id_and_document_order() {
        let d = doc! {"_id": 1, "a": 1, "b": 2, "c": 3};
        assert_eq!(
            project(doc! {"c": 1, "a": 1}, d.clone()).unwrap(),
            doc! {"_id": 1, "a": 1, "c": 3}
        );
        assert_eq!(
            project(doc! {"a": 1, "_id": 0}, d.clone()).unwrap(),
            doc! {"a": 1}
        );
        assert_eq!(project(doc! {"_id": 1}, d).unwrap(), doc! {"_id": 1});
    }

    #[test]
    fn exclusion_and_nested_paths() {
        let d = doc! {"_id": 1, "a": {"x": 1, "y": 2}, "arr": [{"x": 1, "y": 2}, 5], "s": "k"};
        assert_eq!(
            project(doc! {"a.x": 0, "s": 0}, d.clone()).unwrap(),
            doc! {"_id": 1, "a": {"y": 2}, "arr": [{"x": 1, "y": 2}, 5]}
        );
        assert_eq!(
            project(doc! {"arr.y": 1}, d.clone()).unwrap(),
            doc! {"_id": 1, "arr": [{"y": 2}]}
        );
        assert_eq!(
            project(doc! {"a.y": 1, "_id": 0}, d).unwrap(),
            doc! {"a": {"y": 2}}
        );
    }

    #[test]
    fn mixing_is_refused_like_mongod() {
        assert_eq!(
            Projection::parse(&doc! {"a": 1, "b": 0})
                .unwrap_err()
                .code
                .code(),
            31254
        );
        assert_eq!(
            Projection::parse(&doc! {"a": 0, "b": 1})
                .unwrap_err()
                .code
                .code(),
            31253
        );
        // A path through a field already projected whole, and the same field twice.
        assert_eq!(
            Projection::parse(&doc! {"a": 1, "a.b": 1})
                .unwrap_err()
                .code
                .code(),
            31249
        );
        assert_eq!(
            Projection::parse(&doc! {"a.b": 1, "a": 1})
                .unwrap_err()
                .code
                .code(),
            31250
        );
        assert!(Projection::parse(&doc! {"a": 0, "_id": 1}).is_ok());
    }

    #[test]
    fn paths_through_arrays_and_numeric_names() {
        let d = doc! {"_id": 1, "a": [{"b": 1, "c": 2}, [{"b": 3}], 5, {"0": "x"}]};
        // Nested inclusion reaches documents in arrays (one level), drops scalars.
        assert_eq!(
            project(doc! {"a.b": 1, "_id": 0}, d.clone()).unwrap(),
            doc! {"a": [{"b": 1}, [{"b": 3}], {}]}
        );
        // A numeric component is a field name here, not a position.
        assert_eq!(
            project(doc! {"a.0": 1, "_id": 0}, d.clone()).unwrap(),
            doc! {"a": [{}, [{}], {"0": "x"}]}
        );
        assert_eq!(
            project(doc! {"a.b": 0}, d).unwrap(),
            doc! {"_id": 1, "a": [{"c": 2}, [{}], 5, {"0": "x"}]}
        );
    }

    #[test]
    fn slice_elem_match_and_computed() {
        let d = doc! {"_id": 1, "xs": [1, 2, 3, 4], "r": [{"k": 1}, {"k": 2}], "p": 2};
        assert_eq!(
            project(doc! {"xs": {"$slice": 2}}, d.clone())
                .unwrap()
                .get_array("xs")
                .unwrap(),
            &vec![Bson::Int32(1), Bson::Int32(2)]
        );
        assert_eq!(
            project(doc! {"xs": {"$slice": -1}}, d.clone())
                .unwrap()
                .get_array("xs")
                .unwrap(),
            &vec![Bson::Int32(4)]
        );
        assert_eq!(
            project(doc! {"xs": {"$slice": [1, 2]}}, d.clone())
                .unwrap()
                .get_array("xs")
                .unwrap(),
            &vec![Bson::Int32(2), Bson::Int32(3)]
        );
        let out = project(doc! {"r": {"$elemMatch": {"k": 2}}}, d.clone()).unwrap();
        assert_eq!(
            out.get_array("r").unwrap(),
            &vec![Bson::Document(doc! {"k": 2})]
        );
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            vec!["_id", "r"],
            "$elemMatch alone is an inclusion"
        );
        let out = project(doc! {"double": {"$multiply": ["$p", 2]}, "_id": 0}, d).unwrap();
        assert_eq!(out, doc! {"double": 4});
    }
}
