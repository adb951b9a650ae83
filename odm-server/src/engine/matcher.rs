//! Query filters: `{age: {$gte: 18}, tags: "admin", $or: [...]}` parsed into a tree and
//! matched against documents.
//!
//! The rules that make MongoDB's filters more than "compare a field":
//!
//! - a path reaches every value through arrays (`engine::path`), and a condition holds if
//!   it holds for *any* value reached; at the last step an array is tested both as a whole
//!   and element by element, so `{tags: "a"}` matches `{tags: ["a", "b"]}`;
//! - `{a: null}` matches a missing `a`; `$ne`, `$nin` and `$not` are the negation of the
//!   positive condition (so `{a: {$ne: 1}}` matches `{a: [2]}` but not `{a: [1, 2]}`);
//! - comparisons (`$gt`, ...) only hold between values of one type bracket (numbers with
//!   numbers, strings with strings), and NaN only equals NaN;
//! - a document value without operators is matched by exact equality (field order counts);
//! - equality and comparisons of strings follow the command's collation
//!   (`engine::collation`); regular expressions do not.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::agg::expr::{self, Expression, Scope};
use super::bits::{Bits, BitsOp};
use super::collation;
use super::compare::{Number, TypeRank, type_rank};
use super::geo::{self, GeoCond};
use super::path::{for_each_value, for_each_value_at};
pub use super::pcre::{CompiledRegex, compile_regex};
use super::schema::Schema;
use super::text::TextQuery;
use super::types::TypeSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed filter.
#[derive(Clone, Debug)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    /// A condition on the values a path reaches.
    Field {
        path: String,
        cond: Cond,
    },
    /// `$expr`: an aggregation expression, true when truthy.
    Expr(Box<Expression>),
    /// `$alwaysTrue` / `$alwaysFalse`.
    Const(bool),
    /// `$jsonSchema`: the whole document against a schema.
    JsonSchema(Box<Schema>),
    /// `$sampleRate`: each document with this probability.
    SampleRate(f64),
    /// `$text`: words and phrases through the collection's text index.
    Text(Box<TextQuery>),
}

/// A condition on the values at one path.
#[derive(Clone, Debug)]
pub enum Cond {
    Eq(Bson),
    Cmp(CmpOp, Bson),
    In(Vec<InItem>),
    Exists,
    Type(Vec<TypeSpec>),
    Regex(CompiledRegex),
    Mod {
        divisor: i64,
        remainder: i64,
    },
    Size(usize),
    /// Every listed condition holds (each one may hold for a different element).
    All(Vec<Cond>),
    /// Some element of an array value satisfies every condition (object form: a filter on
    /// the element as a document; value form: conditions on the element itself).
    ElemMatch(ElemMatch),
    /// Several operators on one path (`{$gt: 1, $lt: 5}`): each must hold.
    And(Vec<Cond>),
    /// `$not`, `$ne`, `$nin`, `$exists: false`: the positive condition does not hold.
    Not(Box<Cond>),
    /// `$all: []`: matches nothing.
    Never,
    /// `$bitsAllSet` and the other bitwise tests.
    Bits(Bits),
    /// `$geoWithin`, `$geoIntersects`, `$near`, `$nearSphere` (`engine::geo`).
    Geo(Box<GeoCond>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Debug)]
pub enum InItem {
    Value(Bson),
    Regex(CompiledRegex),
}

#[derive(Clone, Debug)]
pub enum ElemMatch {
    Document(Box<Filter>),
    Value(Box<Cond>),
}

fn bad_value(msg: impl Into<String>) -> CommandError {
    CommandError::bad_value(msg)
}

/// `$sampleRate`'s probability: a number from 0 to 1.
fn parse_sample_rate(value: &Bson) -> CmdResult<f64> {
    match crate::engine::arith::to_f64(value) {
        Some(p)
            if matches!(
                value,
                Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
            ) && (0.0..=1.0).contains(&p) =>
        {
            Ok(p)
        }
        _ => Err(bad_value(format!(
            "numeric argument to $sampleRate must be in [0, 1]: {value}"
        ))),
    }
}

impl Filter {
    /// Whether it is the empty filter, which every document matches.
    pub fn matches_everything(&self) -> bool {
        matches!(self, Filter::And(parts) if parts.is_empty())
    }

    /// The value of a filter that is exactly one `_id` equality (`{_id: v}` or
    /// `{_id: {$eq: v}}`).
    pub fn id_equality(&self) -> Option<&Bson> {
        match self {
            Filter::And(parts) if parts.len() == 1 => parts[0].id_equality(),
            Filter::Field {
                path,
                cond: Cond::Eq(v),
            } if path == "_id" => Some(v),
            _ => None,
        }
    }

    /// Parses a filter document.
    pub fn parse(filter: &Document) -> CmdResult<Filter> {
        crate::depth::guard(|| {
            let mut parts = Vec::with_capacity(filter.len());
            for (key, value) in filter {
                if let Some(op) = key.strip_prefix('$') {
                    match op {
                        "and" | "or" | "nor" => {
                            let subs = parse_filter_list(key, value)?;
                            parts.push(match op {
                                "and" => Filter::And(subs),
                                "or" => Filter::Or(subs),
                                _ => Filter::Nor(subs),
                            });
                        }
                        "expr" => parts.push(Filter::Expr(Box::new(expr::parse(value)?))),
                        "comment" => {}
                        "sampleRate" => parts.push(Filter::SampleRate(parse_sample_rate(value)?)),
                        "alwaysTrue" | "alwaysFalse" => {
                            parts.push(Filter::Const(op == "alwaysTrue"))
                        }
                        "where" => {
                            return Err(bad_value(
                                "$where is not supported: JavaScript is not available on this server",
                            ));
                        }
                        "text" => parts.push(Filter::Text(Box::new(TextQuery::parse(value)?))),
                        "jsonSchema" => match value {
                            Bson::Document(spec) => {
                                parts.push(Filter::JsonSchema(Box::new(Schema::parse(spec)?)))
                            }
                            _ => {
                                return Err(CommandError::type_mismatch(
                                    "$jsonSchema must be an object",
                                ));
                            }
                        },
                        _ => {
                            return Err(bad_value(format!(
                                "unknown top level operator: {key}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField."
                            )));
                        }
                    }
                } else {
                    crate::depth::check_match_path(key)?;
                    parts.push(Filter::Field {
                        path: key.clone(),
                        cond: parse_field_value(key, value)?,
                    });
                }
            }
            let filter = if parts.len() == 1 {
                parts.pop().expect("one part")
            } else {
                Filter::And(parts)
            };
            filter.check_text()?;
            Ok(filter)
        })
    }

    /// Whether a document matches.
    pub fn matches(&self, doc: &Document) -> bool {
        crate::depth::guard(|| {
            match self {
                Filter::And(fs) => fs.iter().all(|f| f.matches(doc)),
                Filter::Or(fs) => fs.iter().any(|f| f.matches(doc)),
                Filter::Nor(fs) => !fs.iter().any(|f| f.matches(doc)),
                Filter::Field { path, cond } => path_matches(doc, path, cond),
                Filter::Expr(e) => {
                    // An expression that fails on this document does not match it; the
                    // error cases that matter are caught when the expression is parsed.
                    e.evaluate(&mut Scope::new(doc))
                        .map(|v| expr::truthy(v.as_ref()))
                        .unwrap_or(false)
                }
                Filter::Const(b) => *b,
                Filter::SampleRate(p) => rand::random::<f64>() < *p,
                Filter::JsonSchema(schema) => schema.matches_document(doc),
                Filter::Text(t) => t.matches(doc),
            }
        })
    }

    /// Checks where `$text` stands, as mongod does: once at most, at the top level or in
    /// its `$and` or `$or`, never under `$nor` (a filter inside `$elemMatch` is checked
    /// as a sub-document: no `$text` at all).
    pub fn check_text(&self) -> CmdResult<()> {
        let mut count = 0;
        self.count_text(&mut count, false)?;
        if count > 1 {
            return Err(bad_value("Too many text expressions"));
        }
        Ok(())
    }

    fn count_text(&self, count: &mut usize, under_nor: bool) -> CmdResult<()> {
        crate::depth::guard(|| match self {
            Filter::Text(_) if under_nor => Err(bad_value("text expression not allowed in nor")),
            Filter::Text(_) => {
                *count += 1;
                Ok(())
            }
            Filter::And(fs) | Filter::Or(fs) => {
                fs.iter().try_for_each(|f| f.count_text(count, under_nor))
            }
            Filter::Nor(fs) => fs.iter().try_for_each(|f| f.count_text(count, true)),
            _ => Ok(()),
        })
    }

    /// The `$text` of the filter, wherever it stands.
    pub fn text(&self) -> Option<&TextQuery> {
        match self {
            Filter::Text(t) => Some(t),
            Filter::And(fs) | Filter::Or(fs) | Filter::Nor(fs) => fs.iter().find_map(Filter::text),
            _ => None,
        }
    }

    /// The filter's `$near`/`$nearSphere` and its path, when it has one at the top level
    /// (where it must be): what `{$meta: "geoNearDistance"}` measures by.
    pub fn near(&self) -> Option<(&str, &geo::Near)> {
        fn in_cond(cond: &Cond) -> Option<&geo::Near> {
            match cond {
                Cond::Geo(g) => g.near(),
                Cond::And(cs) => cs.iter().find_map(in_cond),
                _ => None,
            }
        }
        match self {
            Filter::Field { path, cond } => in_cond(cond).map(|n| (path.as_str(), n)),
            Filter::And(fs) => fs.iter().find_map(Filter::near),
            _ => None,
        }
    }

    /// A matched document's `{$meta: "textScore"}`, when the filter has `$text`.
    pub fn text_score(&self, doc: &Document) -> Option<f64> {
        self.text().and_then(|t| t.score(doc))
    }

    /// `$expr` errors are reported, not swallowed, when the caller asks (find does).
    pub fn matches_checked(&self, doc: &Document) -> CmdResult<bool> {
        crate::depth::guard(|| {
            Ok(match self {
                Filter::And(fs) => {
                    for f in fs {
                        if !f.matches_checked(doc)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                Filter::Or(fs) => {
                    for f in fs {
                        if f.matches_checked(doc)? {
                            return Ok(true);
                        }
                    }
                    false
                }
                Filter::Nor(fs) => {
                    for f in fs {
                        if f.matches_checked(doc)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                Filter::Expr(e) => expr::truthy(e.evaluate(&mut Scope::new(doc))?.as_ref()),
                other => other.matches(doc),
            })
        })
    }

    /// For a document this filter matches: the position, in the array a condition went
    /// through, of the element that satisfied it (what `a.$` in an update or projection
    /// refers to). With several such conditions the last one wins, as in mongod, which
    /// documents the case as undefined.
    pub fn array_position(&self, doc: &Document) -> Option<usize> {
        crate::depth::guard(|| match self {
            Filter::And(fs) => fs.iter().rev().find_map(|f| f.array_position(doc)),
            Filter::Or(fs) => fs
                .iter()
                .find(|f| f.matches(doc))
                .and_then(|f| f.array_position(doc)),
            Filter::Field { path, cond } => cond_position(doc, path, cond),
            Filter::Nor(_)
            | Filter::Expr(_)
            | Filter::Const(_)
            | Filter::JsonSchema(_)
            | Filter::SampleRate(_)
            | Filter::Text(_) => None,
        })
    }

    /// The first step of every path the filter tests (what names an array filter).
    pub fn top_level_names<'a>(&'a self, out: &mut Vec<&'a str>) {
        crate::depth::guard(|| match self {
            Filter::And(fs) | Filter::Or(fs) | Filter::Nor(fs) => {
                fs.iter().for_each(|f| f.top_level_names(out))
            }
            Filter::Field { path, .. } => {
                let first = path.split('.').next().unwrap_or(path);
                if !out.contains(&first) {
                    out.push(first);
                }
            }
            Filter::Expr(_)
            | Filter::Const(_)
            | Filter::JsonSchema(_)
            | Filter::SampleRate(_)
            | Filter::Text(_) => {}
        })
    }

    /// The equality conditions on plain paths that every matching document satisfies
    /// (top level and inside `$and`), such as an upsert copies into the new document.
    pub fn equalities(&self) -> Vec<(&str, &Bson)> {
        let mut out = Vec::new();
        self.collect_equalities(&mut out);
        out
    }

    fn collect_equalities<'a>(&'a self, out: &mut Vec<(&'a str, &'a Bson)>) {
        crate::depth::guard(|| match self {
            Filter::And(fs) => fs.iter().for_each(|f| f.collect_equalities(out)),
            Filter::Field {
                path,
                cond: Cond::Eq(v),
            } => out.push((path, v)),
            Filter::Field {
                path,
                cond: Cond::And(cs),
            } => {
                for c in cs {
                    if let Cond::Eq(v) = c {
                        out.push((path, v));
                    }
                }
            }
            _ => {}
        })
    }
}

fn parse_filter_list(op: &str, value: &Bson) -> CmdResult<Vec<Filter>> {
    let Bson::Array(items) = value else {
        return Err(bad_value(format!("{op} must be an array")));
    };
    if items.is_empty() {
        return Err(bad_value("$and/$or/$nor must be a nonempty array"));
    }
    items
        .iter()
        .map(|item| match item {
            Bson::Document(d) => Filter::parse(d),
            _ => Err(bad_value(format!(
                "{op} argument's entries must be objects"
            ))),
        })
        .collect()
}

/// Whether a document is an operator object (`{$gt: 1}`), judged by its first key as
/// mongod does (`$ref`/`$id`/`$db` start a DBRef, not an operator).
fn is_operator_object(d: &Document) -> bool {
    match d.keys().next() {
        Some(k) => k.starts_with('$') && !matches!(k.as_str(), "$ref" | "$id" | "$db"),
        None => false,
    }
}

fn parse_field_value(path: &str, value: &Bson) -> CmdResult<Cond> {
    match value {
        Bson::Document(d) if is_operator_object(d) => parse_operators(path, d),
        Bson::RegularExpression(re) => Ok(Cond::Regex(compile_regex(
            re.pattern.as_str(),
            re.options.as_str(),
        )?)),
        other => Ok(Cond::Eq(other.clone())),
    }
}

fn parse_operators(path: &str, ops: &Document) -> CmdResult<Cond> {
    crate::depth::guard(|| {
        // A geo operator reads its siblings (`$maxDistance`) itself.
        if ops.keys().any(|k| geo::OPERATORS.contains(&k.as_str())) {
            return Ok(Cond::Geo(Box::new(geo::parse(ops)?)));
        }
        let mut conds = Vec::with_capacity(ops.len());
        // $regex and $options may come as separate keys of one object.
        let options = match ops.get("$options") {
            Some(Bson::String(s)) => Some(s.as_str()),
            Some(_) => return Err(bad_value("$options has to be a string")),
            None => None,
        };
        for (op, operand) in ops {
            let cond = match op.as_str() {
                "$eq" => Cond::Eq(operand.clone()),
                "$ne" => Cond::Not(Box::new(eq_or_regex(operand)?)),
                "$gt" => Cond::Cmp(CmpOp::Gt, cmp_operand(op, operand)?),
                "$gte" => Cond::Cmp(CmpOp::Gte, cmp_operand(op, operand)?),
                "$lt" => Cond::Cmp(CmpOp::Lt, cmp_operand(op, operand)?),
                "$lte" => Cond::Cmp(CmpOp::Lte, cmp_operand(op, operand)?),
                "$in" => Cond::In(parse_in(op, operand)?),
                "$nin" => Cond::Not(Box::new(Cond::In(parse_in(op, operand)?))),
                "$exists" => {
                    if expr::truthy(Some(operand)) {
                        Cond::Exists
                    } else {
                        Cond::Not(Box::new(Cond::Exists))
                    }
                }
                "$type" => {
                    let specs = match operand {
                        Bson::Array(items) => items
                            .iter()
                            .map(TypeSpec::parse)
                            .collect::<Result<Vec<_>, _>>(),
                        single => TypeSpec::parse(single).map(|s| vec![s]),
                    };
                    let specs = specs.map_err(bad_value)?;
                    if specs.is_empty() {
                        return Err(CommandError::failed_to_parse(format!(
                            "{path} must match at least one type"
                        )));
                    }
                    Cond::Type(specs)
                }
                "$regex" => {
                    let (pattern, inline_options) = match operand {
                        Bson::String(s) => (s.as_str(), ""),
                        Bson::RegularExpression(re) => (re.pattern.as_str(), re.options.as_str()),
                        _ => return Err(bad_value("$regex has to be a string")),
                    };
                    if !inline_options.is_empty() && options.is_some() {
                        // mongod tells which came first by the code.
                        let position = |k: &str| ops.keys().position(|x| x == k);
                        let code = if position("$options") < position("$regex") {
                            51074
                        } else {
                            51075
                        };
                        return Err(CommandError::new(
                            ErrorCode::Location(code),
                            "options set in both $regex and $options",
                        ));
                    }
                    Cond::Regex(compile_regex(pattern, options.unwrap_or(inline_options))?)
                }
                "$options" => {
                    if !ops.contains_key("$regex") {
                        return Err(bad_value("$options needs a $regex"));
                    }
                    continue;
                }
                "$not" => Cond::Not(Box::new(match operand {
                    Bson::Document(d) if is_operator_object(d) => parse_operators(path, d)?,
                    Bson::Document(_) => {
                        return Err(bad_value("$not needs a document of operators or a regex"));
                    }
                    Bson::RegularExpression(re) => {
                        Cond::Regex(compile_regex(re.pattern.as_str(), re.options.as_str())?)
                    }
                    _ => return Err(bad_value("$not needs a regex or a document")),
                })),
                "$mod" => parse_mod(operand)?,
                name if BitsOp::from_name(name).is_some() => {
                    let op = BitsOp::from_name(name).expect("checked");
                    Cond::Bits(Bits::parse(name, op, operand)?)
                }
                "$size" => Cond::Size(parse_size(operand)?),
                "$all" => parse_all(path, operand)?,
                "$elemMatch" => {
                    let Bson::Document(d) = operand else {
                        return Err(bad_value("$elemMatch needs an Object"));
                    };
                    if is_value_elem_match(d) {
                        Cond::ElemMatch(ElemMatch::Value(Box::new(parse_operators(path, d)?)))
                    } else {
                        {
                            let sub = Filter::parse(d)?;
                            if sub.text().is_some() {
                                return Err(bad_value(
                                    "$text can only be applied to the top-level document",
                                ));
                            }
                            Cond::ElemMatch(ElemMatch::Document(Box::new(sub)))
                        }
                    }
                }
                "$comment" => continue,
                other => return Err(bad_value(format!("unknown operator: {other}"))),
            };
            conds.push(cond);
        }
        Ok(if conds.len() == 1 {
            conds.pop().expect("one condition")
        } else {
            Cond::And(conds)
        })
    })
}

/// `$elemMatch: {$gt: 1}` tests elements themselves; `$elemMatch: {a: 1}` or with
/// `$and`/`$or`/`$nor`/`$expr` tests elements as documents.
fn is_value_elem_match(d: &Document) -> bool {
    d.keys().next().is_some_and(|k| {
        k.starts_with('$')
            && !matches!(
                k.as_str(),
                "$and" | "$or" | "$nor" | "$expr" | "$where" | "$text"
            )
    })
}

fn eq_or_regex(operand: &Bson) -> CmdResult<Cond> {
    match operand {
        Bson::RegularExpression(_) => Err(bad_value("Can't have regex as arg to $ne.")),
        other => Ok(Cond::Eq(other.clone())),
    }
}

fn cmp_operand(op: &str, operand: &Bson) -> CmdResult<Bson> {
    if let Bson::RegularExpression(_) = operand {
        return Err(bad_value(format!(
            "Can't have RegEx as arg to predicate over field: {op}"
        )));
    }
    Ok(operand.clone())
}

fn parse_in(op: &str, operand: &Bson) -> CmdResult<Vec<InItem>> {
    let Bson::Array(items) = operand else {
        return Err(bad_value(format!("{op} needs an array")));
    };
    items
        .iter()
        .map(|item| match item {
            Bson::RegularExpression(re) => Ok(InItem::Regex(compile_regex(
                re.pattern.as_str(),
                re.options.as_str(),
            )?)),
            Bson::Document(d) if is_operator_object(d) => {
                Err(bad_value(format!("cannot nest $ under {op}")))
            }
            other => Ok(InItem::Value(other.clone())),
        })
        .collect()
}

fn parse_mod(operand: &Bson) -> CmdResult<Cond> {
    let Bson::Array(items) = operand else {
        return Err(bad_value("malformed mod, needs to be an array"));
    };
    if items.len() != 2 {
        return Err(bad_value(if items.len() < 2 {
            "malformed mod, not enough elements"
        } else {
            "malformed mod, too many elements"
        }));
    }
    let as_int = |v: &Bson, what: &str| -> CmdResult<i64> {
        let n = Number::from_bson(v)
            .ok_or_else(|| bad_value(format!("malformed mod, {what} not a number")))?;
        let f = n.as_f64();
        if !f.is_finite() {
            return Err(bad_value(format!(
                "malformed mod, {what} value is invalid :: caused by :: {f} is not a finite number"
            )));
        }
        Ok(match n {
            Number::Int(i) => i,
            _ => f.trunc() as i64,
        })
    };
    let divisor = as_int(&items[0], "divisor")?;
    let remainder = as_int(&items[1], "remainder")?;
    if divisor == 0 {
        return Err(bad_value("divisor cannot be 0"));
    }
    Ok(Cond::Mod { divisor, remainder })
}

fn parse_size(operand: &Bson) -> CmdResult<usize> {
    let n = Number::from_bson(operand).ok_or_else(|| bad_value("$size needs a number"))?;
    let f = n.as_f64();
    if f.fract() != 0.0 || f.is_nan() {
        return Err(bad_value("$size must be a whole number"));
    }
    if f < 0.0 {
        return Err(bad_value("$size may not be negative"));
    }
    Ok(f as usize)
}

fn parse_all(path: &str, operand: &Bson) -> CmdResult<Cond> {
    let Bson::Array(items) = operand else {
        return Err(bad_value("$all needs an array"));
    };
    if items.is_empty() {
        return Ok(Cond::Never);
    }
    // Once the first entry is an `$elemMatch`, every entry must be one.
    let is_elem_match = |item: &Bson| matches!(item, Bson::Document(d) if d.keys().next().is_some_and(|k| k == "$elemMatch"));
    if is_elem_match(&items[0]) && !items.iter().all(is_elem_match) {
        return Err(bad_value("$all/$elemMatch has to be consistent"));
    }
    let conds = items
        .iter()
        .map(|item| match item {
            Bson::Document(d) if d.keys().next().is_some_and(|k| k == "$elemMatch") => {
                parse_operators(path, d)
            }
            Bson::Document(d) if is_operator_object(d) => {
                Err(bad_value("no $ expressions in $all"))
            }
            Bson::RegularExpression(re) => Ok(Cond::Regex(compile_regex(
                re.pattern.as_str(),
                re.options.as_str(),
            )?)),
            other => Ok(Cond::Eq(other.clone())),
        })
        .collect::<CmdResult<Vec<_>>>()?;
    Ok(Cond::All(conds))
}

/// Whether the values at `path` satisfy `cond`.
pub fn path_matches(doc: &Document, path: &str, cond: &Cond) -> bool {
    crate::depth::guard(|| match cond {
        Cond::Not(inner) => !path_matches(doc, path, inner),
        Cond::And(cs) | Cond::All(cs) => cs.iter().all(|c| path_matches(doc, path, c)),
        Cond::Never => false,
        _ => {
            let mut matched = false;
            for_each_value(doc, path, &mut |reached| {
                if !matched && reached_matches(cond, reached) {
                    matched = true;
                }
            });
            matched
        }
    })
}

fn cond_position(doc: &Document, path: &str, cond: &Cond) -> Option<usize> {
    crate::depth::guard(|| {
        match cond {
            Cond::Not(_) | Cond::Never => None,
            Cond::And(cs) | Cond::All(cs) => {
                cs.iter().rev().find_map(|c| cond_position(doc, path, c))
            }
            _ => {
                let mut found = None;
                for_each_value_at(doc, path, &mut |reached, at| {
                    if found.is_some() || !reached_matches(cond, reached) {
                        return;
                    }
                    // At the last step an array may match through one of its elements.
                    let element = match reached {
                        Some(whole @ Bson::Array(items)) => match cond {
                            Cond::ElemMatch(em) => items.iter().position(|i| elem_matches(em, i)),
                            _ if value_matches(cond, whole) => None,
                            _ => items.iter().position(|i| value_matches(cond, i)),
                        },
                        _ => None,
                    };
                    found = Some(at.or(element));
                });
                found.flatten()
            }
        }
    })
}

/// One reached value (or a missing field) against a positive condition. An array is
/// tested as a whole and element by element.
fn reached_matches(cond: &Cond, reached: Option<&Bson>) -> bool {
    let Some(value) = reached else {
        return match cond {
            Cond::Eq(Bson::Null) => true,
            Cond::Cmp(CmpOp::Gte | CmpOp::Lte, Bson::Null) => true,
            // A missing field is above MinKey and below MaxKey, like every value.
            Cond::Cmp(CmpOp::Gt | CmpOp::Gte, Bson::MinKey) => true,
            Cond::Cmp(CmpOp::Lt | CmpOp::Lte, Bson::MaxKey) => true,
            Cond::In(items) => items.iter().any(|i| matches!(i, InItem::Value(Bson::Null))),
            Cond::Type(_) | Cond::Exists | Cond::Regex(_) | Cond::Mod { .. } | Cond::Size(_) => {
                false
            }
            _ => false,
        };
    };
    match cond {
        Cond::Exists => true,
        Cond::Size(n) => matches!(value, Bson::Array(items) if items.len() == *n),
        Cond::ElemMatch(em) => match value {
            Bson::Array(items) => items.iter().any(|item| elem_matches(em, item)),
            _ => false,
        },
        _ => {
            if value_matches(cond, value) {
                return true;
            }
            match value {
                Bson::Array(items) => items.iter().any(|item| value_matches(cond, item)),
                _ => false,
            }
        }
    }
}

/// The position of the first element satisfying an `$elemMatch` condition (what the
/// `$elemMatch` projection keeps).
pub fn first_elem_match(cond: &Cond, items: &[Bson]) -> Option<usize> {
    match cond {
        Cond::ElemMatch(em) => items.iter().position(|item| elem_matches(em, item)),
        _ => None,
    }
}

fn elem_matches(em: &ElemMatch, item: &Bson) -> bool {
    crate::depth::guard(|| {
        match em {
            ElemMatch::Document(filter) => match item {
                Bson::Document(d) => filter.matches(d),
                // A filter on a non-document element: only whole-element operators could hold,
                // and they are written in value form, so nothing matches.
                _ => false,
            },
            ElemMatch::Value(cond) => single_value_matches(cond, item),
        }
    })
}

/// A value-form `$elemMatch` condition applied to one element (no further array
/// expansion, but `$not` and `$and` compose).
fn single_value_matches(cond: &Cond, item: &Bson) -> bool {
    crate::depth::guard(|| match cond {
        Cond::Not(inner) => !single_value_matches(inner, item),
        Cond::And(cs) | Cond::All(cs) => cs.iter().all(|c| single_value_matches(c, item)),
        Cond::Exists => true,
        Cond::Size(n) => matches!(item, Bson::Array(items) if items.len() == *n),
        Cond::ElemMatch(em) => {
            matches!(item, Bson::Array(items) if items.iter().any(|i| elem_matches(em, i)))
        }
        Cond::Never => false,
        other => value_matches(other, item),
    })
}

/// A scalar-style condition against one concrete value.
fn value_matches(cond: &Cond, value: &Bson) -> bool {
    match cond {
        Cond::Eq(target) => eq_matches(target, value),
        Cond::Cmp(op, target) => cmp_matches(*op, target, value),
        Cond::In(items) => items.iter().any(|item| match item {
            InItem::Value(v) => eq_matches(v, value),
            InItem::Regex(re) => regex_matches(re, value),
        }),
        Cond::Type(specs) => specs.iter().any(|s| s.matches(value)),
        Cond::Regex(re) => regex_matches(re, value),
        Cond::Mod { divisor, remainder } => match Number::from_bson(value) {
            Some(n) => {
                let f = n.as_f64();
                if !f.is_finite() {
                    return false;
                }
                let i = match n {
                    Number::Int(i) => i,
                    _ => f.trunc() as i64,
                };
                i.wrapping_rem(*divisor) == *remainder
            }
            None => false,
        },
        Cond::Exists => true,
        Cond::Bits(bits) => bits.matches(value),
        Cond::Geo(g) => g.matches(value),
        Cond::Size(_)
        | Cond::ElemMatch(_)
        | Cond::All(_)
        | Cond::And(_)
        | Cond::Not(_)
        | Cond::Never => single_value_matches(cond, value),
    }
}

fn eq_matches(target: &Bson, value: &Bson) -> bool {
    match (target, value) {
        // MongoDB: {a: null} matches null (and missing, handled by the caller), not undefined.
        (Bson::Null, v) => matches!(v, Bson::Null),
        // compare() orders by type first, and NaN equals NaN, as equality wants; strings
        // compare under the command's collation.
        _ => collation::compare(target, value) == Ordering::Equal,
    }
}

fn is_nan(v: &Bson) -> bool {
    Number::from_bson(v).is_some_and(Number::is_nan)
}

fn cmp_matches(op: CmpOp, target: &Bson, value: &Bson) -> bool {
    let (rt, rv) = (type_rank(target), type_rank(value));
    // MinKey and MaxKey bound every type; otherwise compare within one type bracket.
    if rt != rv && !matches!(rt, TypeRank::MinKey | TypeRank::MaxKey) {
        return false;
    }
    if rt == TypeRank::Number && (is_nan(target) || is_nan(value)) {
        let both = is_nan(target) && is_nan(value);
        return matches!(op, CmpOp::Gte | CmpOp::Lte) && both;
    }
    let ord = collation::compare(value, target);
    match op {
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Gte => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Lte => ord != Ordering::Greater,
    }
}

fn regex_matches(re: &CompiledRegex, value: &Bson) -> bool {
    match value {
        Bson::String(s) | Bson::Symbol(s) => re.regex.is_match(s),
        Bson::RegularExpression(stored) => {
            stored.pattern == re.source.pattern && stored.options == re.source.options
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn m(filter: Document, d: Document) -> bool {
        Filter::parse(&filter).unwrap().matches(&d)
    }

    #[test]
    fn equality_through_arrays_and_paths() {
        assert!(m(doc! {"tags": "a"}, doc! {"tags": ["a", "b"]}));
        assert!(m(doc! {"tags": ["a", "b"]}, doc! {"tags": ["a", "b"]}));
        assert!(!m(doc! {"tags": ["b", "a"]}, doc! {"tags": ["a", "b"]}));
        assert!(m(doc! {"a.b": 2}, doc! {"a": [{"b": 1}, {"b": 2}]}));
        assert!(m(doc! {"a.1.b": 2}, doc! {"a": [{"b": 1}, {"b": 2}]}));
        assert!(m(doc! {"n": 1}, doc! {"n": 1.0}));
        assert!(!m(doc! {"n": "1"}, doc! {"n": 1}));
        assert!(m(
            doc! {"o": {"x": 1, "y": 2}},
            doc! {"o": {"x": 1, "y": 2}}
        ));
        assert!(!m(
            doc! {"o": {"y": 2, "x": 1}},
            doc! {"o": {"x": 1, "y": 2}}
        ));
    }

    #[test]
    fn null_and_missing() {
        assert!(m(doc! {"a": null}, doc! {}));
        assert!(m(doc! {"a": null}, doc! {"a": null}));
        assert!(!m(doc! {"a": null}, doc! {"a": 0}));
        assert!(m(doc! {"a": null}, doc! {"a": [1, null]}));
        assert!(!m(doc! {"a": null}, doc! {"a": []}));
        assert!(m(doc! {"a": {"$ne": null}}, doc! {"a": 1}));
        assert!(!m(doc! {"a": {"$ne": null}}, doc! {}));
        assert!(m(doc! {"a": {"$exists": false}}, doc! {"b": 1}));
        assert!(!m(doc! {"a": {"$exists": true}}, doc! {"b": 1}));
        assert!(m(doc! {"a": {"$exists": true}}, doc! {"a": null}));
        assert!(m(doc! {"a": {"$in": [null, 5]}}, doc! {}));
        assert!(m(doc! {"a": {"$gte": null}}, doc! {}));
        assert!(!m(doc! {"a": {"$gt": null}}, doc! {}));
    }

    #[test]
    fn comparisons_stay_in_type_bracket() {
        assert!(m(doc! {"a": {"$gt": 5}}, doc! {"a": 6.5}));
        assert!(!m(doc! {"a": {"$gt": 5}}, doc! {"a": "6"}));
        assert!(!m(doc! {"a": {"$lt": 5}}, doc! {"a": null}));
        assert!(m(doc! {"a": {"$gt": 5, "$lt": 10}}, doc! {"a": [1, 7]}));
        assert!(
            m(doc! {"a": {"$gt": 5, "$lt": 10}}, doc! {"a": [1, 12]}),
            "each condition may hold on a different element"
        );
        assert!(!m(
            doc! {"a": {"$elemMatch": {"$gt": 5, "$lt": 10}}},
            doc! {"a": [1, 12]}
        ));
        assert!(m(doc! {"a": {"$gt": bson::Bson::MinKey}}, doc! {"a": "x"}));
        assert!(m(doc! {"s": {"$gte": "b"}}, doc! {"s": "bcd"}));
    }

    #[test]
    fn nan_only_equals_nan() {
        let nan = doc! {"a": f64::NAN};
        assert!(m(doc! {"a": f64::NAN}, nan.clone()));
        assert!(m(doc! {"a": {"$gte": f64::NAN}}, nan.clone()));
        assert!(!m(doc! {"a": {"$lt": 0}}, nan.clone()));
        assert!(!m(doc! {"a": {"$gt": f64::NAN}}, doc! {"a": 1}));
    }

    #[test]
    fn negations_invert_the_positive_condition() {
        assert!(m(doc! {"a": {"$ne": 1}}, doc! {"a": [2, 3]}));
        assert!(!m(doc! {"a": {"$ne": 1}}, doc! {"a": [1, 2]}));
        assert!(m(doc! {"a": {"$nin": [1, 2]}}, doc! {}));
        assert!(m(doc! {"a": {"$not": {"$gt": 5}}}, doc! {"a": "x"}));
        assert!(!m(doc! {"a": {"$not": {"$gt": 5}}}, doc! {"a": 6}));
    }

    #[test]
    fn logical_operators() {
        let d = doc! {"a": 1, "b": 2};
        assert!(m(doc! {"$or": [{"a": 2}, {"b": 2}]}, d.clone()));
        assert!(!m(doc! {"$and": [{"a": 1}, {"b": 3}]}, d.clone()));
        assert!(m(doc! {"$nor": [{"a": 2}, {"b": 3}]}, d.clone()));
        let err = Filter::parse(&doc! {"$or": []}).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadValue);
        let err = Filter::parse(&doc! {"$frob": 1}).unwrap_err();
        assert!(err.message.contains("unknown top level operator"));
        let err = Filter::parse(&doc! {"a": {"$frob": 1}}).unwrap_err();
        assert_eq!(err.message, "unknown operator: $frob");
    }

    #[test]
    fn array_operators() {
        let d = doc! {"t": ["a", "b", "c"], "r": [{"k": 1, "v": 2}, {"k": 2, "v": 1}]};
        assert!(m(doc! {"t": {"$all": ["c", "a"]}}, d.clone()));
        assert!(!m(doc! {"t": {"$all": ["c", "z"]}}, d.clone()));
        assert!(!m(doc! {"t": {"$all": []}}, d.clone()));
        assert!(m(doc! {"t": {"$size": 3}}, d.clone()));
        assert!(!m(doc! {"t": {"$size": 2}}, d.clone()));
        assert!(m(doc! {"r": {"$elemMatch": {"k": 1, "v": 2}}}, d.clone()));
        assert!(!m(doc! {"r": {"$elemMatch": {"k": 1, "v": 1}}}, d.clone()));
        assert!(
            m(doc! {"r.k": 1, "r.v": 1}, d.clone()),
            "without $elemMatch each path may match a different element"
        );
    }

    #[test]
    fn regex_type_mod() {
        let d = doc! {"s": "Hello", "n": 10, "l": bson::Bson::Int64(3)};
        assert!(m(
            doc! {"s": {"$regex": "^hel", "$options": "i"}},
            d.clone()
        ));
        assert!(!m(doc! {"s": {"$regex": "^hel"}}, d.clone()));
        assert!(m(
            doc! {"s": bson::Bson::RegularExpression(bson::Regex { pattern: "l+o$".try_into().unwrap(), options: "".try_into().unwrap() })},
            d.clone()
        ));
        assert!(m(
            doc! {"s": {"$in": [bson::Bson::RegularExpression(bson::Regex { pattern: "^H".try_into().unwrap(), options: "".try_into().unwrap() })]}},
            d.clone()
        ));
        assert!(m(doc! {"n": {"$type": "int"}}, d.clone()));
        assert!(m(doc! {"l": {"$type": "number"}}, d.clone()));
        assert!(m(doc! {"n": {"$type": ["string", 16]}}, d.clone()));
        assert!(m(doc! {"n": {"$mod": [3, 1]}}, d.clone()));
        assert_eq!(
            Filter::parse(&doc! {"n": {"$mod": [0, 1]}})
                .unwrap_err()
                .message,
            "divisor cannot be 0"
        );
    }

    #[test]
    fn expr_compares_fields() {
        let d = doc! {"spent": 120, "budget": 100};
        assert!(m(doc! {"$expr": {"$gt": ["$spent", "$budget"]}}, d.clone()));
        assert!(!m(doc! {"$expr": {"$lt": ["$spent", "$budget"]}}, d));
    }

    #[test]
    fn arrays_of_arrays_and_numeric_components() {
        // A condition reaches elements one level down, not two.
        assert!(m(doc! {"a": [1, 2]}, doc! {"a": [[1, 2], [3]]}));
        assert!(!m(doc! {"a": 1}, doc! {"a": [[1]]}));
        assert!(m(doc! {"a.0": [1]}, doc! {"a": [[1]]}));
        assert!(m(doc! {"a.0.1": 2}, doc! {"a": [[1, 2]]}));
        // "0" is a field name in a document and a position in an array.
        assert!(m(doc! {"a.0": "x"}, doc! {"a": {"0": "x"}}));
        assert!(m(doc! {"a.0.b": 1}, doc! {"a": [{"b": 1}, {"b": 2}]}));
        assert!(!m(doc! {"a.1.b": 1}, doc! {"a": [{"b": 1}, {"b": 2}]}));
        assert!(m(doc! {"a.b": null}, doc! {"a": [{"b": 1}, {"c": 2}]}));
    }

    #[test]
    fn signed_zero_and_mixed_numeric_types() {
        let dec = |s: &str| Bson::Decimal128(s.parse().unwrap());
        assert!(m(doc! {"a": 0}, doc! {"a": -0.0}));
        assert!(m(doc! {"a": {"$gte": 0.0}}, doc! {"a": -0.0}));
        assert!(m(doc! {"a": dec("-0")}, doc! {"a": 0i64}));
        assert!(m(doc! {"a": dec("1.50")}, doc! {"a": 1.5}));
        assert!(!m(doc! {"a": dec("0.1")}, doc! {"a": 0.1}));
        assert!(m(doc! {"a": {"$lt": 0.1}}, doc! {"a": dec("0.1")}));
        assert!(m(
            doc! {"a": 9_007_199_254_740_993i64},
            doc! {"a": dec("9007199254740993")}
        ));
        assert!(!m(
            doc! {"a": 9_007_199_254_740_992.0},
            doc! {"a": 9_007_199_254_740_993i64}
        ));
        assert!(m(doc! {"a": {"$type": "number"}}, doc! {"a": dec("NaN")}));
        assert!(m(doc! {"a": f64::NAN}, doc! {"a": dec("NaN")}));
    }

    #[test]
    fn array_positions_for_the_positional_operator() {
        let pos = |f: Document, d: Document| Filter::parse(&f).unwrap().array_position(&d);
        let d = doc! {"g": [80, 85, 90], "s": [{"k": 1}, {"k": 2}]};
        assert_eq!(pos(doc! {"g": {"$gte": 85}}, d.clone()), Some(1));
        assert_eq!(pos(doc! {"s.k": 2}, d.clone()), Some(1));
        assert_eq!(
            pos(doc! {"s": {"$elemMatch": {"k": 2}}}, d.clone()),
            Some(1)
        );
        assert_eq!(
            pos(doc! {"g": [80, 85, 90]}, d.clone()),
            None,
            "whole-array match"
        );
        assert_eq!(pos(doc! {"g": {"$ne": 1}}, d.clone()), None);
        assert_eq!(
            pos(doc! {"g": 90, "s.k": 1}, d),
            Some(0),
            "the last condition wins"
        );
    }

    #[test]
    fn equalities_for_upsert_seeding() {
        let f = Filter::parse(&doc! {"a": 1, "b": {"$gt": 2}, "$and": [{"c": "x"}]}).unwrap();
        let eqs: Vec<(&str, &Bson)> = f.equalities();
        assert_eq!(
            eqs,
            vec![("a", &Bson::Int32(1)), ("c", &Bson::String("x".into()))]
        );
    }

    #[test]
    fn paths_longer_than_a_stored_document_are_refused() {
        // mongod's `5729100`: no path of more parts than the storage depth names a value.
        let path = |parts: usize| vec!["a"; parts].join(".");
        assert!(Filter::parse(&doc! {path(180): 1}).is_ok());
        let err = Filter::parse(&doc! {path(181): 1}).unwrap_err();
        assert_eq!(err.code, ErrorCode::Location(5729100));
        let err = Filter::parse(&doc! {"$or": [{path(181): 1}]}).unwrap_err();
        assert_eq!(err.message, "FieldPath is too long");
    }
}
