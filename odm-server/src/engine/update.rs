//! Updates: a replacement document, or update operators (`$set`, `$inc`, `$push`, ...)
//! applied to a document.
//!
//! Parsing checks what MongoDB refuses before touching any document: unknown modifiers
//! (`FailedToParse`), two operators on one path or on a path and its prefix
//! (`ConflictingUpdateOperators`, 40), a replacement mixed with operators. Applying
//! works on a copy, so a failure (`TypeMismatch` 14, `ImmutableField` 66, ...) leaves the
//! stored document as it was. Operators run in path order, as mongod 5+ does, so new
//! fields are appended in a predictable order.
//!
//! Paths may hold positional steps, resolved per document when the update is applied:
//! `$` is the element the query matched (`Filter::array_position`), `$[]` every element,
//! and `$[x]` the elements the array filter `x` matches. An update may also be a pipeline
//! of `$set`/`$addFields`, `$unset`, `$project` and `$replaceRoot`/`$replaceWith` stages.

use std::cmp::Ordering;

use bson::{Bson, DateTime, Document, Timestamp, oid::ObjectId};

use super::agg::pipeline::{Pipeline, Stage};
use super::arith::{self, Op, Outcome};
use super::collation::{compare, values_equal};
use super::matcher::{Cond, Filter, path_matches};
use super::path::{self, PathError};
use super::types::type_alias;
use super::types::type_number;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed update.
#[derive(Clone, Debug)]
pub enum Update {
    /// Replaces the whole document (keeping its `_id`).
    Replacement(Document),
    /// Operators, sorted by path.
    Operators(Vec<FieldUpdate>),
    /// Aggregation stages run on the document.
    Pipeline(Pipeline),
}

/// What applying an update needs besides the document.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyContext<'a> {
    /// The position `$` stands for: where the query matched in an array.
    pub position: Option<usize>,
    /// The filters `$[<identifier>]` names.
    pub array_filters: Option<&'a ArrayFilters>,
}

/// `arrayFilters`: for each identifier, a filter on `{<identifier>: element}`.
#[derive(Clone, Debug, Default)]
pub struct ArrayFilters {
    filters: Vec<(String, Filter)>,
}

/// A positional step of an update path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Positional<'a> {
    /// `$`: the element the query matched.
    Matched,
    /// `$[]`: every element.
    All,
    /// `$[id]`: the elements array filter `id` matches.
    Filtered(&'a str),
}

fn positional(step: &str) -> Option<Positional<'_>> {
    match step {
        "$" => Some(Positional::Matched),
        "$[]" => Some(Positional::All),
        _ => step
            .strip_prefix("$[")
            .and_then(|s| s.strip_suffix(']'))
            .map(Positional::Filtered),
    }
}

impl ArrayFilters {
    /// Parses the `arrayFilters` option: each one a filter whose paths all start with the
    /// same identifier (a lowercase letter, then letters and digits).
    pub fn parse(filters: &[Bson]) -> CmdResult<ArrayFilters> {
        let mut out: Vec<(String, Filter)> = Vec::with_capacity(filters.len());
        for f in filters {
            let Bson::Document(d) = f else {
                return Err(CommandError::type_mismatch(
                    "Each array filter must be an object",
                ));
            };
            let filter = Filter::parse(d)?;
            let mut names = Vec::new();
            filter.top_level_names(&mut names);
            let identifier = match names.as_slice() {
                [] => {
                    return Err(CommandError::failed_to_parse(
                        "Cannot use an expression without a top-level field name in arrayFilters",
                    ));
                }
                [one] => one.to_string(),
                [a, b, ..] => {
                    return Err(CommandError::failed_to_parse(format!(
                        "Error parsing array filter :: caused by :: Expected a single top-level field name, found '{a}' and '{b}'"
                    )));
                }
            };
            let mut chars = identifier.chars();
            if !chars.next().is_some_and(|c| c.is_ascii_lowercase())
                || !chars.all(|c| c.is_ascii_alphanumeric())
            {
                return Err(CommandError::bad_value(format!(
                    "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '{identifier}'"
                )));
            }
            if out.iter().any(|(name, _)| *name == identifier) {
                return Err(CommandError::failed_to_parse(format!(
                    "Found multiple array filters with the same top-level field name {identifier}"
                )));
            }
            out.push((identifier, filter));
        }
        Ok(ArrayFilters { filters: out })
    }

    fn get(&self, identifier: &str) -> Option<&Filter> {
        self.filters
            .iter()
            .find(|(name, _)| name == identifier)
            .map(|(_, f)| f)
    }

    fn element_matches(&self, identifier: &str, element: &Bson) -> bool {
        let mut wrapper = Document::new();
        wrapper.insert(identifier, element.clone());
        self.get(identifier).is_some_and(|f| f.matches(&wrapper))
    }

    /// Refuses identifiers the update does not use, and `$[id]` steps without a filter.
    pub fn check_against(&self, update: &Update, raw: &Bson) -> CmdResult<()> {
        let paths: Vec<&str> = match update {
            Update::Operators(fields) => fields.iter().map(|f| f.path.as_str()).collect(),
            Update::Pipeline(_) if !self.filters.is_empty() => {
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    "arrayFilters may not be specified for pipeline-style updates",
                ));
            }
            _ => Vec::new(),
        };
        for path in &paths {
            for step in path.split('.') {
                if let Some(Positional::Filtered(id)) = positional(step)
                    && self.get(id).is_none()
                {
                    return Err(CommandError::bad_value(format!(
                        "No array filter found for identifier '{id}' in path '{path}'"
                    )));
                }
            }
        }
        for (identifier, _) in &self.filters {
            let used = paths.iter().any(|p| {
                p.split('.')
                    .any(|s| positional(s) == Some(Positional::Filtered(identifier)))
            });
            if !used {
                return Err(CommandError::failed_to_parse(format!(
                    "The array filter for identifier '{identifier}' was not used in the update {raw}"
                )));
            }
        }
        Ok(())
    }
}

/// One operator applied to one path.
#[derive(Clone, Debug)]
pub struct FieldUpdate {
    pub path: String,
    pub op: UpdateOp,
}

impl FieldUpdate {
    fn order_key(&self) -> &str {
        match &self.op {
            UpdateOp::Rename(to) => to,
            _ => &self.path,
        }
    }
}

#[derive(Clone, Debug)]
pub enum UpdateOp {
    Set(Bson),
    SetOnInsert(Bson),
    Unset,
    Inc(Bson),
    Mul(Bson),
    Min(Bson),
    Max(Bson),
    Rename(String),
    CurrentDate { timestamp: bool },
    Push(PushSpec),
    AddToSet(Vec<Bson>),
    Pop { first: bool },
    Pull(PullCond),
    PullAll(Vec<Bson>),
}

#[derive(Clone, Debug)]
pub struct PushSpec {
    pub each: Vec<Bson>,
    pub slice: Option<i64>,
    pub sort: Option<PushSort>,
    pub position: Option<i64>,
}

#[derive(Clone, Debug)]
pub enum PushSort {
    /// Sort the elements themselves (`$sort: 1` / `-1`).
    Whole(bool),
    /// Sort documents by fields (`$sort: {score: -1}`).
    Fields(Vec<(String, bool)>),
}

#[derive(Clone, Debug)]
pub enum PullCond {
    /// Elements equal to this value.
    Equal(Bson),
    /// Elements that satisfy conditions (`{$gte: 6}`).
    Value(Cond),
    /// Document elements that match a filter (`{score: 8}`).
    Document(Filter),
}

fn failed(msg: impl Into<String>) -> CommandError {
    CommandError::failed_to_parse(msg)
}

impl Update {
    /// Parses a pipeline-style update: only stages that reshape one document.
    pub fn parse_pipeline(stages: &[Bson]) -> CmdResult<Update> {
        let pipeline = Pipeline::parse(stages)?;
        for stage in &pipeline.stages {
            if !matches!(
                stage,
                Stage::AddFields(_) | Stage::Unset(_) | Stage::Project(_) | Stage::ReplaceRoot(_)
            ) {
                let name = stages
                    .iter()
                    .filter_map(Bson::as_document)
                    .filter_map(|d| d.keys().next())
                    .find(|k| {
                        !matches!(
                            k.as_str(),
                            "$set"
                                | "$addFields"
                                | "$unset"
                                | "$project"
                                | "$replaceRoot"
                                | "$replaceWith"
                        )
                    })
                    .cloned()
                    .unwrap_or_default();
                return Err(CommandError::new(
                    ErrorCode::InvalidOptions,
                    format!("{name} is not allowed to be used within an update"),
                ));
            }
        }
        Ok(Update::Pipeline(pipeline))
    }

    /// Parses an update document (operators or a replacement).
    pub fn parse(update: &Document) -> CmdResult<Update> {
        let Some(first) = update.keys().next() else {
            return Ok(Update::Replacement(Document::new()));
        };
        if !first.starts_with('$') {
            for k in update.keys() {
                if k.starts_with('$') {
                    return Err(CommandError::new(
                        ErrorCode::Location(52),
                        format!(
                            "The dollar ($) prefixed field '{k}' in '{k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."
                        ),
                    ));
                }
            }
            return Ok(Update::Replacement(update.clone()));
        }
        let mut fields = Vec::new();
        // Every path the update writes, rename targets included, for the conflict check.
        let mut touched = Vec::new();
        for (op_name, operand) in update {
            if !UPDATE_OPERATORS.contains(&op_name.as_str()) {
                // `$set: {}` is allowed (mongod 5+); an unknown name is not, even empty.
                return Err(unknown_modifier(op_name));
            }
            let Bson::Document(args) = operand else {
                return Err(failed(format!(
                    "Modifiers operate on fields but we found type {} instead. For example: {{$mod: {{<field>: ...}}}} not {{{op_name}: {operand}}}",
                    type_alias(type_number(operand)).unwrap_or("unknown")
                )));
            };
            for (path, value) in args {
                validate_update_path(path)?;
                let op = parse_op(op_name, path, value)?;
                if let UpdateOp::Rename(to) = &op {
                    validate_update_path(to)?;
                    touched.push(to.clone());
                }
                touched.push(path.clone());
                fields.push(FieldUpdate {
                    path: path.clone(),
                    op,
                });
            }
        }
        check_conflicts(&touched)?;
        // A rename writes its target: it takes its place in the order there.
        fields.sort_by(|a, b| compare_paths(a.order_key(), b.order_key()));
        Ok(Update::Operators(fields))
    }

    /// Whether this is a replacement.
    pub fn is_replacement(&self) -> bool {
        matches!(self, Update::Replacement(_))
    }

    /// Applies the update to `doc`, returning the new document. `inserting` is true when
    /// the document is being created by an upsert (`$setOnInsert` applies then).
    pub fn apply(&self, doc: &Document, inserting: bool) -> CmdResult<Document> {
        self.apply_in(doc, inserting, ApplyContext::default())
    }

    /// [`Update::apply`] with what positional steps refer to.
    pub fn apply_in(
        &self,
        doc: &Document,
        inserting: bool,
        cx: ApplyContext<'_>,
    ) -> CmdResult<Document> {
        let id = doc.get("_id").cloned();
        let result = match self {
            Update::Replacement(replacement) => {
                let mut out = Document::new();
                match (replacement.get("_id"), &id) {
                    (Some(new_id), Some(old_id)) if !same_id(new_id, old_id) => {
                        return Err(CommandError::new(
                            ErrorCode::ImmutableField,
                            format!(
                                "After applying the update, the (immutable) field '_id' was found to have been altered to _id: {new_id}"
                            ),
                        ));
                    }
                    _ => {}
                }
                if let Some(old_id) = &id {
                    out.insert("_id", old_id.clone());
                }
                for (k, v) in replacement {
                    if k != "_id" || id.is_none() {
                        out.insert(k.clone(), v.clone());
                    }
                }
                out
            }
            Update::Operators(fields) => {
                let mut out = doc.clone();
                let mut touched = Vec::new();
                for f in fields {
                    for path in expand_path(&out, &f.path, cx)? {
                        apply_field(&mut out, &path, &f.op, inserting, doc)?;
                        touched.push(path);
                    }
                }
                if fields
                    .iter()
                    .any(|f| f.path.split('.').any(|s| positional(s).is_some()))
                {
                    check_conflicts(&touched).map_err(|_| {
                        CommandError::new(
                            ErrorCode::ConflictingUpdateOperators,
                            "Update created a conflict: two positional updates reach the same element",
                        )
                    })?;
                }
                if let Some(old_id) = &id {
                    match out.get("_id") {
                        Some(new_id) if same_id(new_id, old_id) => {}
                        _ => {
                            return Err(CommandError::new(
                                ErrorCode::ImmutableField,
                                "Performing an update on the path '_id' would modify the immutable field '_id'",
                            ));
                        }
                    }
                }
                out
            }
            Update::Pipeline(pipeline) => {
                let mut out = pipeline.run(vec![doc.clone()])?;
                let new = out.pop().unwrap_or_default();
                match (&id, new.get("_id")) {
                    (Some(old_id), Some(new_id)) if same_id(old_id, new_id) => new,
                    // Output without an `_id` replaces the rest of the document.
                    (Some(old_id), None) => {
                        let mut with_id = Document::new();
                        with_id.insert("_id", old_id.clone());
                        with_id.extend(new);
                        with_id
                    }
                    (Some(_), Some(_)) => {
                        return Err(CommandError::new(
                            ErrorCode::ImmutableField,
                            "Performing an update on the path '_id' would modify the immutable field '_id'",
                        ));
                    }
                    (None, _) => new,
                }
            }
        };
        Ok(result)
    }
}

/// The concrete paths an update path names in `doc`, its positional steps resolved.
fn expand_path(doc: &Document, path: &str, cx: ApplyContext<'_>) -> CmdResult<Vec<String>> {
    if !path.split('.').any(|s| positional(s).is_some()) {
        return Ok(vec![path.to_string()]);
    }
    let mut prefixes = vec![String::new()];
    for step in path.split('.') {
        let mut next = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            let join = |s: &str| {
                if prefix.is_empty() {
                    s.to_string()
                } else {
                    format!("{prefix}.{s}")
                }
            };
            let kind = match positional(step) {
                None => {
                    next.push(join(step));
                    continue;
                }
                Some(kind) => kind,
            };
            if kind == Positional::Matched {
                let Some(i) = cx.position else {
                    return Err(CommandError::bad_value(
                        "The positional operator did not find the match needed from the query.",
                    ));
                };
                next.push(join(&i.to_string()));
                continue;
            }
            let items = match path::get_path(doc, &prefix) {
                Some(Bson::Array(items)) => items,
                None => {
                    return Err(CommandError::bad_value(format!(
                        "The path '{prefix}' must exist in the document in order to apply array updates."
                    )));
                }
                Some(other) => {
                    return Err(CommandError::bad_value(format!(
                        "Cannot apply array updates to non-array element {prefix}: {other}"
                    )));
                }
            };
            for (i, item) in items.iter().enumerate() {
                let selected = match kind {
                    Positional::Filtered(id) => cx
                        .array_filters
                        .is_some_and(|af| af.element_matches(id, item)),
                    _ => true,
                };
                if selected {
                    next.push(join(&i.to_string()));
                }
            }
        }
        prefixes = next;
    }
    Ok(prefixes)
}

/// `_id` may be rewritten only with the very same value (type included).
fn same_id(a: &Bson, b: &Bson) -> bool {
    identical_values(a, b)
}

/// Whether two documents are identical, field order and types included (what decides
/// `nModified`).
pub fn identical(a: &Document, b: &Document) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && identical_values(va, vb))
}

fn identical_values(a: &Bson, b: &Bson) -> bool {
    crate::depth::guard(|| match (a, b) {
        (Bson::Document(x), Bson::Document(y)) => identical(x, y),
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| identical_values(p, q))
        }
        (Bson::Double(x), Bson::Double(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    })
}

fn validate_update_path(path: &str) -> CmdResult<()> {
    crate::depth::check_field_path(path)?;
    if path.is_empty() {
        return Err(CommandError::new(
            ErrorCode::Location(56),
            "An empty update path is not valid.",
        ));
    }
    if path.split('.').any(str::is_empty) {
        return Err(CommandError::new(
            ErrorCode::Location(56),
            format!("The update path '{path}' contains an empty field name, which is not allowed."),
        ));
    }
    let steps: Vec<&str> = path.split('.').collect();
    if positional(steps[0]).is_some() {
        return Err(CommandError::bad_value(format!(
            "Cannot have positional (i.e. '$') element in the first component in path '{path}'"
        )));
    }
    if steps.iter().filter(|s| **s == "$").count() > 1 {
        return Err(CommandError::bad_value(format!(
            "Too many positional (i.e. '$') elements found in path '{path}'"
        )));
    }
    Ok(())
}

/// Orders paths component by component, numeric components by value.
fn compare_paths(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (path::array_index(x), path::array_index(y)) {
                    (Some(p), Some(q)) => p.cmp(&q),
                    _ => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn check_conflicts(paths: &[String]) -> CmdResult<()> {
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            if long == short || long.starts_with(&format!("{short}.")) {
                return Err(CommandError::new(
                    ErrorCode::ConflictingUpdateOperators,
                    format!("Updating the path '{long}' would create a conflict at '{short}'"),
                ));
            }
        }
    }
    Ok(())
}

/// The update operators this server applies.
pub const UPDATE_OPERATORS: [&str; 14] = [
    "$set",
    "$setOnInsert",
    "$unset",
    "$inc",
    "$mul",
    "$min",
    "$max",
    "$rename",
    "$currentDate",
    "$push",
    "$addToSet",
    "$pop",
    "$pull",
    "$pullAll",
];

fn unknown_modifier(op: &str) -> CommandError {
    if matches!(op, "$pushAll" | "$bit" | "$isolated") {
        return failed(format!("The {op} modifier is not supported by this server"));
    }
    failed(format!(
        "Unknown modifier: {op}. Expected a valid update modifier or pipeline-style update specified as an array"
    ))
}

fn parse_op(op: &str, path: &str, value: &Bson) -> CmdResult<UpdateOp> {
    Ok(match op {
        "$set" => UpdateOp::Set(value.clone()),
        "$setOnInsert" => UpdateOp::SetOnInsert(value.clone()),
        "$unset" => UpdateOp::Unset,
        "$inc" | "$mul" => {
            if !arith::is_number(value) {
                return Err(CommandError::type_mismatch(format!(
                    "Cannot {} with non-numeric argument: {{{path}: {value}}}",
                    if op == "$inc" {
                        "increment"
                    } else {
                        "multiply"
                    }
                )));
            }
            if op == "$inc" {
                UpdateOp::Inc(value.clone())
            } else {
                UpdateOp::Mul(value.clone())
            }
        }
        "$min" => UpdateOp::Min(value.clone()),
        "$max" => UpdateOp::Max(value.clone()),
        "$rename" => match value {
            // Found by the `update` fuzzer: a field name cannot hold NUL, so the
            // renamed document could not be stored.
            Bson::String(to) if to.contains('\0') => {
                return Err(CommandError::bad_value(
                    "The 'to' field for $rename cannot contain an embedded null byte",
                ));
            }
            Bson::String(to) if to == path => {
                return Err(CommandError::bad_value(format!(
                    "The source and target field for $rename must differ: {path}: \"{to}\""
                )));
            }
            Bson::String(to)
                if to.starts_with(&format!("{path}.")) || path.starts_with(&format!("{to}.")) =>
            {
                return Err(CommandError::bad_value(format!(
                    "The source and target field for $rename must not be on the same path: {path}: \"{to}\""
                )));
            }
            Bson::String(to) => UpdateOp::Rename(to.clone()),
            other => {
                return Err(CommandError::bad_value(format!(
                    "The 'to' field for $rename must be a string: {path}: {other}"
                )));
            }
        },
        "$currentDate" => match value {
            Bson::Boolean(_) => UpdateOp::CurrentDate { timestamp: false },
            Bson::Document(d) => match d.get("$type") {
                Some(Bson::String(t)) if t == "date" => UpdateOp::CurrentDate { timestamp: false },
                Some(Bson::String(t)) if t == "timestamp" => {
                    UpdateOp::CurrentDate { timestamp: true }
                }
                _ => {
                    return Err(CommandError::bad_value(
                        "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
                    ));
                }
            },
            other => {
                return Err(CommandError::bad_value(format!(
                    "{other} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({{$type: 'timestamp/date'}})."
                )));
            }
        },
        "$push" => UpdateOp::Push(parse_push(value)?),
        "$addToSet" => UpdateOp::AddToSet(match value {
            Bson::Document(d) if d.keys().next().is_some_and(|k| k == "$each") => {
                match d.get("$each") {
                    Some(Bson::Array(items)) if d.len() == 1 => items.clone(),
                    Some(Bson::Array(_)) => {
                        return Err(CommandError::bad_value(
                            "Found unexpected fields after $each in $addToSet",
                        ));
                    }
                    _ => {
                        return Err(CommandError::type_mismatch(
                            "The argument to $each in $addToSet must be an array",
                        ));
                    }
                }
            }
            other => vec![other.clone()],
        }),
        "$pop" => match arith::to_f64(value) {
            Some(1.0) => UpdateOp::Pop { first: false },
            Some(-1.0) => UpdateOp::Pop { first: true },
            _ => return Err(failed(format!("Expected a number in: {path}: {value}"))),
        },
        "$pull" => UpdateOp::Pull(match value {
            Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
                let filter = Filter::parse(&bson::doc! {"x": value.clone()})?;
                match filter {
                    Filter::Field { cond, .. } => PullCond::Value(cond),
                    _ => return Err(CommandError::bad_value("invalid $pull condition")),
                }
            }
            Bson::Document(d) => PullCond::Document(Filter::parse(d)?),
            other => PullCond::Equal(other.clone()),
        }),
        "$pullAll" => match value {
            Bson::Array(items) => UpdateOp::PullAll(items.clone()),
            other => {
                return Err(CommandError::bad_value(format!(
                    "$pullAll requires an array argument but was given a {}",
                    type_alias(type_number(other)).unwrap_or("value")
                )));
            }
        },
        other => return Err(unknown_modifier(other)),
    })
}

fn parse_push(value: &Bson) -> CmdResult<PushSpec> {
    let Bson::Document(d) = value else {
        return Ok(PushSpec {
            each: vec![value.clone()],
            slice: None,
            sort: None,
            position: None,
        });
    };
    if !d.contains_key("$each") {
        return Ok(PushSpec {
            each: vec![value.clone()],
            slice: None,
            sort: None,
            position: None,
        });
    }
    let mut spec = PushSpec {
        each: Vec::new(),
        slice: None,
        sort: None,
        position: None,
    };
    for (k, v) in d {
        match k.as_str() {
            "$each" => match v {
                Bson::Array(items) => spec.each = items.clone(),
                _ => {
                    return Err(CommandError::bad_value(format!(
                        "The argument to $each in $push must be an array but it was of type: {}",
                        type_alias(type_number(v)).unwrap_or("unknown")
                    )));
                }
            },
            "$slice" => {
                spec.slice = Some(arith::to_i64_exact(v).ok_or_else(|| {
                    CommandError::bad_value(format!(
                        "The value for $slice must be an integer value but was given type: {}",
                        type_alias(type_number(v)).unwrap_or("unknown")
                    ))
                })?)
            }
            "$position" => {
                spec.position = Some(arith::to_i64_exact(v).ok_or_else(|| {
                    CommandError::bad_value("The value for $position must be an integer value")
                })?)
            }
            "$sort" => {
                spec.sort = Some(match v {
                    Bson::Document(fields) if !fields.is_empty() => PushSort::Fields(
                        fields
                            .iter()
                            .map(|(f, dir)| match arith::to_f64(dir) {
                                Some(x) if x == 1.0 || x == -1.0 => Ok((f.clone(), x < 0.0)),
                                _ => Err(CommandError::bad_value(
                                    "The $sort element value must be either 1 or -1",
                                )),
                            })
                            .collect::<CmdResult<_>>()?,
                    ),
                    other => match arith::to_f64(other) {
                        Some(x) if x == 1.0 || x == -1.0 => PushSort::Whole(x < 0.0),
                        _ => {
                            return Err(CommandError::bad_value(
                                "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
                            ));
                        }
                    },
                })
            }
            other => {
                return Err(CommandError::bad_value(format!(
                    "Unrecognized clause in $push: {other}"
                )));
            }
        }
    }
    Ok(spec)
}

fn path_error(e: PathError, doc: &Document) -> CommandError {
    match e {
        PathError::TooMuchPadding { index } => CommandError::new(
            ErrorCode::Location(34),
            format!(
                "can't backfill more than {} elements (index {index})",
                path::MAX_ARRAY_PADDING
            ),
        ),
        PathError::NotTraversable { step, at } => {
            let element = path::get_path(doc, &at)
                .map(|v| v.to_string())
                .unwrap_or_default();
            CommandError::new(
                ErrorCode::PathNotViable,
                format!("Cannot create field '{step}' in element {{{at}: {element}}}"),
            )
        }
    }
}

fn set(doc: &mut Document, path: &str, value: Bson) -> CmdResult<()> {
    let snapshot = doc.clone();
    path::set_path(doc, path, value).map_err(|e| path_error(e, &snapshot))
}

fn id_for_message(original: &Document) -> String {
    original
        .get("_id")
        .map(|v| format!("{{_id: {v}}}"))
        .unwrap_or_else(|| "{}".into())
}

fn apply_field(
    doc: &mut Document,
    path: &str,
    op: &UpdateOp,
    inserting: bool,
    original: &Document,
) -> CmdResult<()> {
    let current = path::get_path(doc, path).cloned();
    match op {
        UpdateOp::Set(v) => set(doc, path, v.clone()),
        UpdateOp::SetOnInsert(v) => {
            if inserting {
                set(doc, path, v.clone())?;
            }
            Ok(())
        }
        UpdateOp::Unset => {
            path::remove_path(doc, path);
            Ok(())
        }
        UpdateOp::Inc(n) | UpdateOp::Mul(n) => {
            let (arith_op, name) = if matches!(op, UpdateOp::Inc(_)) {
                (Op::Add, "$inc")
            } else {
                (Op::Multiply, "$mul")
            };
            let base = match current {
                None => {
                    // A missing field is set to the increment, or to zero of its type for $mul.
                    let start = if arith_op == Op::Add {
                        n.clone()
                    } else {
                        zero_like(n)
                    };
                    return set(doc, path, start);
                }
                Some(v) if arith::is_number(&v) => v,
                Some(v) => {
                    return Err(CommandError::type_mismatch(format!(
                        "Cannot apply {name} to a value of non-numeric type. {} has the field '{}' of non-numeric type {}",
                        id_for_message(original),
                        path.rsplit('.').next().unwrap_or(path),
                        type_alias(type_number(&v)).unwrap_or("unknown")
                    )));
                }
            };
            match arith::apply(arith_op, &base, n).expect("both numbers") {
                Outcome::Value(v) => set(doc, path, v),
                Outcome::Overflow => Err(CommandError::bad_value(format!(
                    "Failed to apply {name} operations to current value ({base}) for document {}",
                    id_for_message(original)
                ))),
            }
        }
        UpdateOp::Min(v) | UpdateOp::Max(v) => {
            let want_less = matches!(op, UpdateOp::Min(_));
            let replace = match &current {
                None => true,
                Some(cur) => {
                    let ord = compare(v, cur);
                    if want_less {
                        ord == Ordering::Less
                    } else {
                        ord == Ordering::Greater
                    }
                }
            };
            if replace {
                set(doc, path, v.clone())
            } else {
                Ok(())
            }
        }
        UpdateOp::Rename(to) => {
            // Neither end may sit inside an array: a rename names one field, not elements.
            let through_array = |p: &str| {
                let steps: Vec<&str> = p.split('.').collect();
                (1..steps.len()).find_map(|n| {
                    let prefix = steps[..n].join(".");
                    matches!(path::get_path(doc, &prefix), Some(Bson::Array(_))).then_some(prefix)
                })
            };
            if let Some(array) = through_array(path) {
                return Err(CommandError::bad_value(format!(
                    "The source field cannot be an array element, '{path}' in doc with {} has an array field called '{array}'",
                    id_for_message(original)
                )));
            }
            if let Some(array) = through_array(to) {
                return Err(CommandError::bad_value(format!(
                    "The destination field cannot be an array element, '{to}' in doc with {} has an array field called '{array}'",
                    id_for_message(original)
                )));
            }
            let Some(value) = current else { return Ok(()) };
            path::remove_path(doc, path);
            set(doc, to, value)
        }
        UpdateOp::CurrentDate { timestamp } => {
            let now = DateTime::now();
            let v = if *timestamp {
                Bson::Timestamp(Timestamp {
                    time: (now.timestamp_millis() / 1000) as u32,
                    increment: 1,
                })
            } else {
                Bson::DateTime(now)
            };
            set(doc, path, v)
        }
        UpdateOp::Push(spec) => {
            let mut items = array_for(path, current, "$push", original)?;
            let at = match spec.position {
                None => items.len(),
                Some(p) if p >= 0 => (p as usize).min(items.len()),
                Some(p) => items.len().saturating_sub(p.unsigned_abs() as usize),
            };
            items.splice(at..at, spec.each.iter().cloned());
            if let Some(sort) = &spec.sort {
                sort_elements(&mut items, sort);
            }
            if let Some(slice) = spec.slice {
                if slice >= 0 {
                    items.truncate(slice as usize);
                } else {
                    let keep = slice.unsigned_abs() as usize;
                    if items.len() > keep {
                        items.drain(..items.len() - keep);
                    }
                }
            }
            set(doc, path, Bson::Array(items))
        }
        UpdateOp::AddToSet(values) => {
            let mut items = array_for(path, current, "$addToSet", original)?;
            for v in values {
                if !items.iter().any(|i| values_equal(i, v)) {
                    items.push(v.clone());
                }
            }
            set(doc, path, Bson::Array(items))
        }
        UpdateOp::Pop { first } => match current {
            None => Ok(()),
            Some(Bson::Array(mut items)) => {
                if !items.is_empty() {
                    if *first {
                        items.remove(0);
                    } else {
                        items.pop();
                    }
                }
                set(doc, path, Bson::Array(items))
            }
            Some(other) => Err(CommandError::type_mismatch(format!(
                "Path '{path}' contains an element of non-array type '{}'",
                type_alias(type_number(&other)).unwrap_or("unknown")
            ))),
        },
        UpdateOp::Pull(cond) => match current {
            None => Ok(()),
            Some(Bson::Array(items)) => {
                let kept = items
                    .into_iter()
                    .filter(|item| !pull_matches(cond, item))
                    .collect();
                set(doc, path, Bson::Array(kept))
            }
            Some(_) => Err(CommandError::bad_value(
                "Cannot apply $pull to a non-array value",
            )),
        },
        UpdateOp::PullAll(values) => match current {
            None => Ok(()),
            Some(Bson::Array(items)) => {
                let kept = items
                    .into_iter()
                    .filter(|item| !values.iter().any(|v| values_equal(v, item)))
                    .collect();
                set(doc, path, Bson::Array(kept))
            }
            Some(_) => Err(CommandError::bad_value(
                "Cannot apply $pullAll to a non-array value",
            )),
        },
    }
}

/// What `$mul` sets a missing field to: the multiplier times int32 zero, as mongod
/// computes it, so the type (and a decimal's exponent, a double's sign) is the
/// multiplier's.
fn zero_like(n: &Bson) -> Bson {
    match arith::apply(Op::Multiply, n, &Bson::Int32(0)) {
        Some(Outcome::Value(v)) => v,
        _ => Bson::Int32(0),
    }
}

fn not_an_array(op: &str, path: &str, value: &Bson, original: &Document) -> CommandError {
    CommandError::bad_value(format!(
        "The field '{path}' must be an array but is of type {} in document {} ({op})",
        type_alias(type_number(value)).unwrap_or("unknown"),
        id_for_message(original)
    ))
}

fn array_for(
    path_str: &str,
    current: Option<Bson>,
    op: &str,
    original: &Document,
) -> CmdResult<Vec<Bson>> {
    match current {
        None => Ok(Vec::new()),
        Some(Bson::Array(items)) => Ok(items),
        Some(other) => Err(not_an_array(op, path_str, &other, original)),
    }
}

fn pull_matches(cond: &PullCond, item: &Bson) -> bool {
    crate::depth::guard(|| match cond {
        PullCond::Equal(v) => values_equal(v, item),
        PullCond::Value(c) => {
            let wrapper = bson::doc! {"x": item.clone()};
            path_matches(&wrapper, "x", c)
        }
        PullCond::Document(filter) => match item {
            Bson::Document(d) => filter.matches(d),
            _ => false,
        },
    })
}

fn sort_elements(items: &mut [Bson], sort: &PushSort) {
    match sort {
        PushSort::Whole(desc) => items.sort_by(|a, b| {
            let o = compare(a, b);
            if *desc { o.reverse() } else { o }
        }),
        PushSort::Fields(fields) => items.sort_by(|a, b| {
            for (field, desc) in fields {
                let get = |v: &Bson| match v {
                    Bson::Document(d) => path::get_path(d, field).cloned().unwrap_or(Bson::Null),
                    _ => Bson::Null,
                };
                let o = compare(&get(a), &get(b));
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        }),
    }
}

/// The document an upsert starts from: the filter's equality fields (dotted paths become
/// nested documents), before the update is applied.
pub fn upsert_seed(filter: &Filter) -> CmdResult<Document> {
    let mut seed = Document::new();
    for (p, v) in filter.equalities() {
        if p.split('.').any(|s| s.starts_with('$')) {
            continue;
        }
        // An equality on a document holding operators cannot be copied as a value.
        if let Bson::Document(d) = v
            && d.keys().any(|k| k.starts_with('$'))
        {
            continue;
        }
        crate::depth::check_field_path(p)?;
        set(&mut seed, p, v.clone())?;
    }
    Ok(seed)
}

/// Puts `_id` first, generating an ObjectId when the document has none.
pub fn ensure_id_first(doc: Document) -> Document {
    if doc.keys().next().is_some_and(|k| k == "_id") {
        return doc;
    }
    let mut out = Document::new();
    let id = doc
        .get("_id")
        .cloned()
        .unwrap_or_else(|| Bson::ObjectId(ObjectId::new()));
    out.insert("_id", id);
    for (k, v) in doc {
        if k != "_id" {
            out.insert(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn apply(update: Document, d: Document) -> CmdResult<Document> {
        Update::parse(&update)?.apply(&d, false)
    }

    #[test]
    fn set_unset_inc_create_paths_in_order() {
        let out = apply(
            doc! {"$set": {"b.c": 1, "a": 2}, "$inc": {"n": 5}, "$unset": {"gone": ""}},
            doc! {"_id": 1, "gone": 1, "n": 1},
        )
        .unwrap();
        assert_eq!(out, doc! {"_id": 1, "n": 6, "a": 2, "b": {"c": 1}});
        let out = apply(doc! {"$inc": {"x": 1.5}}, doc! {"_id": 1}).unwrap();
        assert_eq!(out, doc! {"_id": 1, "x": 1.5});
    }

    #[test]
    fn inc_type_errors_and_overflow() {
        let err = apply(doc! {"$inc": {"s": 1}}, doc! {"_id": 1, "s": "x"}).unwrap_err();
        assert_eq!(err.code, ErrorCode::TypeMismatch);
        let err = Update::parse(&doc! {"$inc": {"s": "1"}}).unwrap_err();
        assert_eq!(err.code, ErrorCode::TypeMismatch);
        let err = apply(doc! {"$inc": {"n": 1i64}}, doc! {"_id": 1, "n": i64::MAX}).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
        let out = apply(doc! {"$inc": {"n": 1}}, doc! {"_id": 1, "n": i32::MAX}).unwrap();
        assert_eq!(out.get("n"), Some(&Bson::Int64(i64::from(i32::MAX) + 1)));
    }

    #[test]
    fn conflicts_and_unknown_modifiers_are_refused_at_parse() {
        let err = Update::parse(&doc! {"$set": {"a.b": 1}, "$unset": {"a": ""}}).unwrap_err();
        assert_eq!(err.code, ErrorCode::ConflictingUpdateOperators);
        let err = Update::parse(&doc! {"$frob": {"a": 1}}).unwrap_err();
        assert_eq!(err.code, ErrorCode::FailedToParse);
        assert!(Update::parse(&doc! {"$set": {"a": 1}, "b": 2}).is_err());
        assert!(Update::parse(&doc! {"a": 1, "$set": {"b": 2}}).is_err());
    }

    #[test]
    fn id_is_immutable() {
        let err = apply(doc! {"$set": {"_id": 2}}, doc! {"_id": 1}).unwrap_err();
        assert_eq!(err.code, ErrorCode::ImmutableField);
        let err = apply(doc! {"_id": 2, "x": 1}, doc! {"_id": 1}).unwrap_err();
        assert_eq!(err.code, ErrorCode::ImmutableField);
        // Same value is fine; a replacement without _id keeps the old one first.
        assert_eq!(
            apply(doc! {"$set": {"_id": 1, "x": 1}}, doc! {"_id": 1}).unwrap(),
            doc! {"_id": 1, "x": 1}
        );
        assert_eq!(
            apply(doc! {"x": 1}, doc! {"_id": 1, "y": 2}).unwrap(),
            doc! {"_id": 1, "x": 1}
        );
    }

    #[test]
    fn array_operators() {
        let d = doc! {"_id": 1, "a": [3, 1, 2], "s": [{"k": 2}, {"k": 1}]};
        assert_eq!(
            apply(doc! {"$push": {"a": 4}}, d.clone())
                .unwrap()
                .get_array("a")
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            apply(
                doc! {"$push": {"a": {"$each": [9, 0], "$sort": 1, "$slice": 3}}},
                d.clone()
            )
            .unwrap()
            .get_array("a")
            .unwrap(),
            &vec![Bson::Int32(0), Bson::Int32(1), Bson::Int32(2)]
        );
        assert_eq!(
            apply(
                doc! {"$push": {"a": {"$each": [7], "$position": 0}}},
                d.clone()
            )
            .unwrap()
            .get_array("a")
            .unwrap()[0],
            Bson::Int32(7)
        );
        assert_eq!(
            apply(doc! {"$addToSet": {"a": {"$each": [1, 5]}}}, d.clone())
                .unwrap()
                .get_array("a")
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            apply(doc! {"$pull": {"a": {"$gte": 2}}}, d.clone())
                .unwrap()
                .get_array("a")
                .unwrap(),
            &vec![Bson::Int32(1)]
        );
        assert_eq!(
            apply(doc! {"$pull": {"s": {"k": 1}}}, d.clone())
                .unwrap()
                .get_array("s")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            apply(doc! {"$pullAll": {"a": [1, 3]}}, d.clone())
                .unwrap()
                .get_array("a")
                .unwrap(),
            &vec![Bson::Int32(2)]
        );
        assert_eq!(
            apply(doc! {"$pop": {"a": -1}}, d.clone())
                .unwrap()
                .get_array("a")
                .unwrap(),
            &vec![Bson::Int32(1), Bson::Int32(2)]
        );
        let err = apply(doc! {"$push": {"_id": 1}}, d.clone()).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
    }

    #[test]
    fn rename_refuses_a_target_with_a_null_byte() {
        let err = Update::parse(&doc! {"$rename": {"a": "x\0y"}}).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
        assert!(
            err.message.contains("embedded null byte"),
            "{}",
            err.message
        );
    }

    #[test]
    fn min_max_mul_rename_current_date() {
        let d = doc! {"_id": 1, "lo": 5, "hi": 5, "m": 3, "old": "v"};
        let out = apply(doc! {"$min": {"lo": 2}, "$max": {"hi": 2}, "$mul": {"m": 2, "z": 4}, "$rename": {"old": "new"}, "$currentDate": {"at": true}}, d).unwrap();
        assert_eq!(out.get_i32("lo").unwrap(), 2);
        assert_eq!(out.get_i32("hi").unwrap(), 5);
        assert_eq!(out.get_i32("m").unwrap(), 6);
        assert_eq!(out.get_i32("z").unwrap(), 0);
        assert_eq!(out.get_str("new").unwrap(), "v");
        assert!(!out.contains_key("old"));
        assert!(matches!(out.get("at"), Some(Bson::DateTime(_))));
    }

    #[test]
    fn set_through_a_scalar_is_path_not_viable() {
        let err = apply(doc! {"$set": {"a.b": 1}}, doc! {"_id": 1, "a": 5}).unwrap_err();
        assert_eq!(err.code, ErrorCode::PathNotViable);
    }

    #[test]
    fn set_on_insert_only_when_inserting() {
        let u = Update::parse(&doc! {"$setOnInsert": {"c": 1}, "$set": {"x": 1}}).unwrap();
        assert_eq!(
            u.apply(&doc! {"_id": 1}, false).unwrap(),
            doc! {"_id": 1, "x": 1}
        );
        assert_eq!(
            u.apply(&doc! {"_id": 1}, true).unwrap(),
            doc! {"_id": 1, "c": 1, "x": 1}
        );
    }

    #[test]
    fn upsert_seed_takes_equalities() {
        let f = Filter::parse(&doc! {"a.b": 1, "c": {"$gt": 1}, "d": "x"}).unwrap();
        assert_eq!(upsert_seed(&f).unwrap(), doc! {"a": {"b": 1}, "d": "x"});
    }

    fn apply_matched(
        update: Document,
        filter: Document,
        filters: Vec<Bson>,
        d: Document,
    ) -> CmdResult<Document> {
        let u = Update::parse(&update)?;
        let af = ArrayFilters::parse(&filters)?;
        af.check_against(&u, &Bson::Document(update.clone()))?;
        let f = Filter::parse(&filter)?;
        let cx = ApplyContext {
            position: f.array_position(&d),
            array_filters: Some(&af),
        };
        u.apply_in(&d, false, cx)
    }

    #[test]
    fn positional_steps() {
        let d = doc! {"_id": 1, "g": [80, 85, 90], "s": [{"k": 1, "v": 1}, {"k": 2, "v": 2}]};
        assert_eq!(
            apply_matched(
                doc! {"$set": {"g.$": 86}},
                doc! {"g": {"$gte": 85}},
                vec![],
                d.clone()
            )
            .unwrap(),
            doc! {"_id": 1, "g": [80, 86, 90], "s": [{"k": 1, "v": 1}, {"k": 2, "v": 2}]}
        );
        assert_eq!(
            apply_matched(
                doc! {"$inc": {"s.$.v": 10}},
                doc! {"s.k": 2},
                vec![],
                d.clone()
            )
            .unwrap(),
            doc! {"_id": 1, "g": [80, 85, 90], "s": [{"k": 1, "v": 1}, {"k": 2, "v": 12}]}
        );
        assert_eq!(
            apply_matched(doc! {"$inc": {"g.$[]": 1}}, doc! {}, vec![], d.clone()).unwrap(),
            doc! {"_id": 1, "g": [81, 86, 91], "s": [{"k": 1, "v": 1}, {"k": 2, "v": 2}]}
        );
        assert_eq!(
            apply_matched(
                doc! {"$set": {"g.$[x]": 0, "s.$[e].v": 0}},
                doc! {},
                vec![
                    Bson::Document(doc! {"x": {"$gt": 84}}),
                    Bson::Document(doc! {"e.k": 1})
                ],
                d.clone()
            )
            .unwrap(),
            doc! {"_id": 1, "g": [80, 0, 0], "s": [{"k": 1, "v": 0}, {"k": 2, "v": 2}]}
        );
        let err = apply_matched(
            doc! {"$set": {"g.$": 1}},
            doc! {"_id": 1},
            vec![],
            d.clone(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
        let err = apply_matched(
            doc! {"$set": {"g.$[y]": 1}},
            doc! {},
            vec![Bson::Document(doc! {"x": 1})],
            d.clone(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
        let err = apply_matched(
            doc! {"$set": {"g": 1}},
            doc! {},
            vec![Bson::Document(doc! {"x": 1})],
            d.clone(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::FailedToParse);
        let err = apply_matched(doc! {"$set": {"nope.$[]": 1}}, doc! {}, vec![], d).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
    }

    #[test]
    fn pipeline_updates() {
        let stages = vec![
            Bson::Document(doc! {"$set": {"total": {"$add": ["$a", "$b"]}}}),
            Bson::Document(doc! {"$unset": "b"}),
        ];
        let u = Update::parse_pipeline(&stages).unwrap();
        assert_eq!(
            u.apply(&doc! {"_id": 1, "a": 1, "b": 2}, false).unwrap(),
            doc! {"_id": 1, "a": 1, "total": 3}
        );
        let err = Update::parse_pipeline(&[Bson::Document(doc! {"$match": {}})]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidOptions);
        // Output without `_id` keeps the old one; a different `_id` is refused.
        let u = Update::parse_pipeline(&[Bson::Document(doc! {"$unset": "_id"})]).unwrap();
        assert_eq!(
            u.apply(&doc! {"_id": 1, "a": 1}, false).unwrap(),
            doc! {"_id": 1, "a": 1}
        );
        let u = Update::parse_pipeline(&[Bson::Document(doc! {"$set": {"_id": 2}})]).unwrap();
        assert_eq!(
            u.apply(&doc! {"_id": 1}, false).unwrap_err().code,
            ErrorCode::ImmutableField
        );
    }

    #[test]
    fn tricky_shapes_and_numbers() {
        // Numeric components index arrays (padding with nulls) and name fields in documents.
        assert_eq!(
            apply(doc! {"$set": {"a.0.1": 9}}, doc! {"_id": 1, "a": [[1, 2]]}).unwrap(),
            doc! {"_id": 1, "a": [[1, 9]]}
        );
        assert_eq!(
            apply(doc! {"$set": {"a.3": 1}}, doc! {"_id": 1, "a": [0]}).unwrap(),
            doc! {"_id": 1, "a": [0, null, null, 1]}
        );
        assert_eq!(
            apply(doc! {"$set": {"a.0": 1}}, doc! {"_id": 1, "a": {}}).unwrap(),
            doc! {"_id": 1, "a": {"0": 1}}
        );
        // -0.0 is kept as stored; adding zero to it gives 0.0 (IEEE), not -0.0.
        let out = apply(doc! {"$inc": {"z": 0.0}}, doc! {"_id": 1, "z": -0.0}).unwrap();
        assert!(out.get_f64("z").unwrap().is_sign_positive());
        let out = apply(doc! {"$max": {"z": 0}}, doc! {"_id": 1, "z": -0.0}).unwrap();
        assert!(
            out.get_f64("z").unwrap().is_sign_negative(),
            "0 is not greater than -0.0"
        );
        // Mixed types promote: int + long is long, int * double is double.
        let out = apply(
            doc! {"$inc": {"i": 1i64}, "$mul": {"j": 1.5}},
            doc! {"_id": 1, "i": 1, "j": 2},
        )
        .unwrap();
        assert_eq!(
            (out.get("i"), out.get("j")),
            (Some(&Bson::Int64(2)), Some(&Bson::Double(3.0)))
        );
        // NaN stays NaN; $min with NaN stores it (NaN is the smallest number).
        let out = apply(doc! {"$min": {"n": f64::NAN}}, doc! {"_id": 1, "n": 1}).unwrap();
        assert!(out.get_f64("n").unwrap().is_nan());
    }

    #[test]
    fn identical_sees_types_and_order() {
        assert!(!identical(&doc! {"a": 1}, &doc! {"a": 1.0}));
        assert!(!identical(&doc! {"a": 1, "b": 2}, &doc! {"b": 2, "a": 1}));
        assert!(identical(
            &doc! {"a": [1, {"b": 2}]},
            &doc! {"a": [1, {"b": 2}]}
        ));
    }
}
