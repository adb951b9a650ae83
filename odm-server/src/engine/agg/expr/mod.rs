//! Aggregation expressions: parsed once, evaluated against each document.
//!
//! An expression is a literal, a field path (`"$a.b"`), a variable (`"$$ROOT"`,
//! `"$$NOW"`, or one bound by `$let`/`$map`/`$filter`), an object or array of
//! expressions, or an operator (`{$add: [...]}`). Evaluation yields `None` for *missing*,
//! which MongoDB keeps apart from `null` (a `$project` of a missing path writes nothing).
//!
//! Field paths look through arrays: `"$a.b"` on `{a: [{b: 1}, {b: 2}]}` is `[1, 2]`.
//!
//! This module owns the grammar: parsing, variables and paths, and the special forms
//! (`$cond`, `$switch`, `$let`, `$map`, `$filter`, `$reduce`, `$literal`), which bind
//! variables, take named arguments or evaluate only some of theirs, and so have
//! variants of their own. Every other operator is declared once, as an [`OpDef`] in the
//! file of its family (name, arity and evaluation side by side), so that adding one
//! touches one place; `lookup` finds it by name across the families' tables.

mod arith;
mod array;
mod bitwise;
mod compare;
mod convert;
mod data;
mod date;
mod fields;
mod logic;
mod math;
mod object;
mod regex;
mod sequence;
mod set;
mod statistics;
mod string;
#[cfg(test)]
mod tests;
mod text;

use std::collections::HashMap;
use std::fmt;

use bson::{Bson, DateTime, Document};

pub use compare::compare_present;

use crate::engine::types::{type_alias, type_number};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed expression.
#[derive(Clone, Debug)]
pub enum Expression {
    Literal(Bson),
    /// `$a.b`: steps from the current document.
    Path(Vec<String>),
    /// `{$meta: "textScore"}` and the other keywords the pipeline attaches
    /// (`agg::metadata`).
    Meta(&'static str),
    /// `$$name.a.b`.
    Variable(String, Vec<String>),
    Object(Vec<(String, Expression)>),
    Array(Vec<Expression>),
    Operator(&'static OpDef, Vec<Expression>),
    Cond(Box<[Expression; 3]>),
    Switch {
        branches: Vec<(Expression, Expression)>,
        default: Option<Box<Expression>>,
    },
    Let {
        vars: Vec<(String, Expression)>,
        body: Box<Expression>,
    },
    Map {
        input: Box<Expression>,
        var: String,
        body: Box<Expression>,
    },
    Filter {
        input: Box<Expression>,
        var: String,
        cond: Box<Expression>,
        limit: Option<Box<Expression>>,
    },
    Reduce {
        input: Box<Expression>,
        initial: Box<Expression>,
        body: Box<Expression>,
    },
}

/// An operator that takes a list of arguments: what [`parse`] checks and what
/// [`Expression::evaluate`] runs.
pub struct OpDef {
    /// As written in an expression, with its `$`.
    pub name: &'static str,
    arity: Arity,
    eval: Eval,
}

impl fmt::Debug for OpDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How many arguments an operator takes. mongod words (and numbers) each kind of
/// mismatch differently, so the kind is part of the declaration.
#[derive(Clone, Copy)]
enum Arity {
    Any,
    Exactly(usize),
    Range(usize, usize),
    /// At least this many. mongod words "too few" its own way for each such operator, so
    /// each one brings its error.
    AtLeast(usize, fn(usize) -> CommandError),
}

impl Arity {
    fn check(self, name: &str, n: usize) -> CmdResult<()> {
        match self {
            Arity::Any => Ok(()),
            Arity::Exactly(k) if n == k => Ok(()),
            Arity::Exactly(k) => Err(expr_error(
                16020,
                format!("Expression {name} takes exactly {k} arguments. {n} were passed in."),
            )),
            Arity::Range(min, max) if (min..=max).contains(&n) => Ok(()),
            Arity::Range(min, max) => Err(expr_error(
                28667,
                format!(
                    "Expression {name} takes at least {min} arguments, and at most {max}, but {n} were passed in."
                ),
            )),
            Arity::AtLeast(min, _) if n >= min => Ok(()),
            Arity::AtLeast(_, too_few) => Err(too_few(n)),
        }
    }
}

/// The values of an operator's arguments, evaluated in order, to its result.
type ValuesFn = fn(&OpDef, Vec<Option<Bson>>) -> CmdResult<Option<Bson>>;

/// An operator that evaluates its own arguments.
type LazyFn = fn(&[Expression], &mut Scope<'_>) -> CmdResult<Option<Bson>>;

/// How an operator gets its arguments' values.
#[derive(Clone, Copy)]
enum Eval {
    /// Every argument is evaluated, in order, before the operator sees any.
    Values(ValuesFn),
    /// Stops evaluating at the first argument that decides the result (`$and`, `$or`):
    /// an error or an expensive argument after it is never reached.
    Lazy(LazyFn),
}

/// The families' tables. Parsing looks a name up once per expression, so a scan of a
/// few dozen entries costs less than building a map would.
const FAMILIES: &[&[OpDef]] = &[
    arith::OPS,
    compare::OPS,
    logic::OPS,
    string::OPS,
    array::OPS,
    convert::OPS,
    object::OPS,
    set::OPS,
    math::OPS,
    bitwise::OPS,
    fields::OPS,
    text::OPS,
    sequence::OPS,
    statistics::OPS,
    regex::OPS,
    data::OPS,
    date::OPS,
];

/// Every expression operator's name: the special forms and each family's table. The
/// fuzzer draws from it, so a new operator is exercised as soon as it is declared.
pub fn operator_names() -> Vec<&'static str> {
    const SPECIAL: [&str; 8] = [
        "$cond",
        "$switch",
        "$let",
        "$map",
        "$filter",
        "$reduce",
        "$literal",
        "$function",
    ];
    SPECIAL
        .into_iter()
        .chain(
            FAMILIES
                .iter()
                .flat_map(|family| family.iter().map(|op| op.name)),
        )
        .collect()
}

/// The operator called `name`, if there is one.
fn lookup(name: &str) -> Option<&'static OpDef> {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .find(|op| op.name == name)
}

/// Argument `i` of `op`. Parsing checked how many there are, so a missing one is a bug
/// here; it fails the command rather than the server.
fn operand<'v>(op: &OpDef, values: &'v [Option<Bson>], i: usize) -> CmdResult<&'v Option<Bson>> {
    values.get(i).ok_or_else(|| {
        CommandError::internal(format!(
            "{} was evaluated with {} arguments, without argument {i}",
            op.name,
            values.len()
        ))
    })
}

/// The named arguments of an operator that takes one object (`{input, chars}`, `{n,
/// input}`, ...), evaluated, with unknown names refused. `codes` are mongod's for an
/// unknown name and for an argument that is not an object, which differ by operator.
fn named<'v>(
    op: &OpDef,
    values: &'v [Option<Bson>],
    allowed: &[&str],
    codes: (i32, i32),
) -> CmdResult<&'v Document> {
    match operand(op, values, 0)? {
        Some(Bson::Document(d)) => {
            if let Some(unknown) = d.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(expr_error(
                    codes.0,
                    format!("{} found an unknown argument: {unknown}", op.name),
                ));
            }
            Ok(d)
        }
        other => Err(expr_error(
            codes.1,
            format!(
                "{} only supports an object as an argument, found: {}",
                op.name,
                type_name(other)
            ),
        )),
    }
}

/// What an operator met that its checks should have ruled out: an internal error rather
/// than a panic.
fn broken_invariant(op: &OpDef, what: &str) -> CommandError {
    CommandError::internal(format!("{}: {what}", op.name))
}

/// A date (milliseconds) moved by `amount` time `unit`s, calendar units included, as
/// `$dateAdd` moves it in UTC.
pub fn add_time_units(millis: i64, unit: &str, amount: i64) -> CmdResult<i64> {
    date::add_units(millis, unit, amount)
}

/// `$function` and `$accumulator` run JavaScript, which this server has no engine for:
/// mongod's answer when its engine is switched off.
pub fn no_javascript() -> CommandError {
    CommandError::new(
        ErrorCode::Location(31264),
        "Cannot run server-side javascript without the javascript engine enabled",
    )
}

fn expr_error(code: i32, message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::Location(code), message)
}

/// Parses an expression.
pub fn parse(value: &Bson) -> CmdResult<Expression> {
    crate::depth::guard(|| {
        match value {
            Bson::String(s) if s.starts_with("$$") => {
                let mut parts = s[2..].split('.');
                let name = parts.next().unwrap_or_default().to_string();
                if name.is_empty() {
                    return Err(expr_error(16869, "empty variable name"));
                }
                crate::depth::check_field_path(&s[2..])?;
                Ok(Expression::Variable(
                    name,
                    parts.map(str::to_string).collect(),
                ))
            }
            Bson::String(s) if s.starts_with('$') => {
                let path = &s[1..];
                if path.is_empty() {
                    return Err(expr_error(16872, "'$' by itself is not a valid FieldPath"));
                }
                // mongod reads `$a.b` as `CURRENT.a.b`: one part more.
                crate::depth::check_field_path_parts(path.split('.').count() + 1)?;
                if path.split('.').any(str::is_empty) {
                    return Err(expr_error(
                        15998,
                        format!("FieldPath field names may not be empty strings: {s}"),
                    ));
                }
                // Only a DBRef's fields may start with `$`.
                if let Some(bad) = path
                    .split('.')
                    .find(|p| p.starts_with('$') && !matches!(*p, "$id" | "$ref" | "$db"))
                {
                    return Err(expr_error(
                        16410,
                        format!("FieldPath field names may not start with '$', given '{bad}'."),
                    ));
                }
                Ok(Expression::Path(
                    path.split('.').map(str::to_string).collect(),
                ))
            }
            Bson::Document(d) => parse_document(d),
            Bson::Array(items) => Ok(Expression::Array(
                items.iter().map(parse).collect::<CmdResult<_>>()?,
            )),
            other => Ok(Expression::Literal(other.clone())),
        }
    })
}

/// Parses an object whose fields are expressions (`{a: "$x", b: {$add: [...]}}`), or an
/// operator object (`{$add: [...]}`).
pub fn parse_document(d: &Document) -> CmdResult<Expression> {
    crate::depth::guard(|| {
        let Some((first, first_value)) = d.iter().next() else {
            return Ok(Expression::Object(Vec::new()));
        };
        if !first.starts_with('$') {
            let mut fields = Vec::with_capacity(d.len());
            for (k, v) in d {
                if k.starts_with('$') {
                    return Err(expr_error(
                        16404,
                        format!("an expression object cannot mix operators and fields: '{k}'"),
                    ));
                }
                fields.push((k.clone(), parse(v)?));
            }
            return Ok(Expression::Object(fields));
        }
        if d.len() != 1 {
            return Err(expr_error(
                15983,
                format!(
                    "an expression specification must contain exactly one field, the name of the expression. Found {} fields in {d}",
                    d.len()
                ),
            ));
        }
        parse_operator(first, first_value)
    })
}

fn named_args<'a>(
    name: &str,
    operand: &'a Bson,
    allowed: &[&str],
) -> CmdResult<HashMap<&'a str, &'a Bson>> {
    let Bson::Document(d) = operand else {
        return Err(CommandError::failed_to_parse(format!(
            "{name} expects an object as its argument"
        )));
    };
    let mut out = HashMap::new();
    for (k, v) in d {
        if !allowed.contains(&k.as_str()) {
            return Err(CommandError::failed_to_parse(format!(
                "Unrecognized parameter to {name}: {k}"
            )));
        }
        out.insert(k.as_str(), v);
    }
    Ok(out)
}

fn required<'a>(args: &HashMap<&str, &'a Bson>, name: &str, key: &str) -> CmdResult<&'a Bson> {
    args.get(key).copied().ok_or_else(|| {
        CommandError::failed_to_parse(format!("Missing '{key}' parameter to {name}"))
    })
}

fn parse_operator(name: &str, operand: &Bson) -> CmdResult<Expression> {
    let boxed = |v: &Bson| parse(v).map(Box::new);
    if name == "$meta"
        && let Bson::String(k) = operand
        && let Some(keyword) = super::metadata::KEYWORDS.iter().find(|m| *m == k)
    {
        return Ok(Expression::Meta(keyword));
    }
    match name {
        "$cond" => {
            let parts = match operand {
                Bson::Array(items) => {
                    let [cond, then, otherwise] = items.as_slice() else {
                        return Err(expr_error(
                            16020,
                            "Expression $cond takes exactly 3 arguments.",
                        ));
                    };
                    [parse(cond)?, parse(then)?, parse(otherwise)?]
                }
                _ => {
                    let args = named_args(name, operand, &["if", "then", "else"])?;
                    [
                        parse(required(&args, name, "if")?)?,
                        parse(required(&args, name, "then")?)?,
                        parse(required(&args, name, "else")?)?,
                    ]
                }
            };
            Ok(Expression::Cond(Box::new(parts)))
        }
        "$switch" => {
            let args = named_args(name, operand, &["branches", "default"])?;
            let Some(Bson::Array(branches)) = args.get("branches").copied() else {
                return Err(expr_error(40061, "$switch expects an array for 'branches'"));
            };
            let branches = branches
                .iter()
                .map(|b| {
                    let args = named_args("$switch branch", b, &["case", "then"])?;
                    Ok((
                        parse(required(&args, "$switch", "case")?)?,
                        parse(required(&args, "$switch", "then")?)?,
                    ))
                })
                .collect::<CmdResult<Vec<_>>>()?;
            let default = args.get("default").map(|d| boxed(d)).transpose()?;
            Ok(Expression::Switch { branches, default })
        }
        "$let" => {
            let args = named_args(name, operand, &["vars", "in"])?;
            let Some(Bson::Document(vars)) = args.get("vars").copied() else {
                return Err(CommandError::failed_to_parse(
                    "$let requires 'vars' to be an object",
                ));
            };
            let vars = vars
                .iter()
                .map(|(k, v)| Ok((k.clone(), parse(v)?)))
                .collect::<CmdResult<Vec<_>>>()?;
            Ok(Expression::Let {
                vars,
                body: boxed(required(&args, name, "in")?)?,
            })
        }
        "$map" => {
            let args = named_args(name, operand, &["input", "as", "in"])?;
            Ok(Expression::Map {
                input: boxed(required(&args, name, "input")?)?,
                var: var_name(&args, "this")?,
                body: boxed(required(&args, name, "in")?)?,
            })
        }
        "$filter" => {
            let args = named_args(name, operand, &["input", "as", "cond", "limit"])?;
            Ok(Expression::Filter {
                input: boxed(required(&args, name, "input")?)?,
                var: var_name(&args, "this")?,
                cond: boxed(required(&args, name, "cond")?)?,
                limit: args.get("limit").map(|l| boxed(l)).transpose()?,
            })
        }
        "$reduce" => {
            let args = named_args(name, operand, &["input", "initialValue", "in"])?;
            Ok(Expression::Reduce {
                input: boxed(required(&args, name, "input")?)?,
                initial: boxed(required(&args, name, "initialValue")?)?,
                body: boxed(required(&args, name, "in")?)?,
            })
        }
        "$literal" => Ok(Expression::Literal(operand.clone())),
        "$function" => Err(no_javascript()),
        _ => {
            let Some(op) = lookup(name) else {
                return Err(CommandError::new(
                    ErrorCode::Location(168),
                    format!("Unrecognized expression '{name}'"),
                ));
            };
            let args = match operand {
                Bson::Array(items) => items.iter().map(parse).collect::<CmdResult<Vec<_>>>()?,
                single => vec![parse(single)?],
            };
            op.arity.check(op.name, args.len())?;
            Ok(Expression::Operator(op, args))
        }
    }
}

fn var_name(args: &HashMap<&str, &Bson>, default: &str) -> CmdResult<String> {
    match args.get("as") {
        None => Ok(default.to_string()),
        Some(Bson::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(CommandError::failed_to_parse(
            "'as' must be a non-empty string",
        )),
    }
}

/// What an expression is evaluated against.
pub struct Scope<'a> {
    pub root: &'a Document,
    pub vars: HashMap<String, Bson>,
    pub now: DateTime,
}

impl<'a> Scope<'a> {
    pub fn new(root: &'a Document) -> Self {
        Scope {
            root,
            vars: HashMap::new(),
            now: COMMAND_CLOCK
                .with(|c| c.get())
                .map_or_else(DateTime::now, |c| c.now),
        }
    }
}

/// What `$$NOW` and `$$CLUSTER_TIME` read: fixed for the whole of one command, as in
/// mongod, however many documents it evaluates.
#[derive(Clone, Copy, Debug)]
pub struct CommandClock {
    pub now: DateTime,
    /// `None` on a standalone server, which has no cluster time.
    pub cluster_time: Option<bson::Timestamp>,
}

thread_local! {
    static COMMAND_CLOCK: std::cell::Cell<Option<CommandClock>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` (a command) with `clock` as its `$$NOW` and `$$CLUSTER_TIME`. A command runs
/// on its connection's thread from start to end, so a thread-local holds it.
pub fn with_clock<R>(clock: CommandClock, f: impl FnOnce() -> R) -> R {
    let before = COMMAND_CLOCK.with(|c| c.replace(Some(clock)));
    let out = f();
    COMMAND_CLOCK.with(|c| c.set(before));
    out
}

fn cluster_time() -> CmdResult<Bson> {
    match COMMAND_CLOCK.with(|c| c.get()).and_then(|c| c.cluster_time) {
        Some(ts) => Ok(Bson::Timestamp(ts)),
        None => Err(expr_error(
            51144,
            "Builtin variable '$$CLUSTER_TIME' is not available: a standalone server has no cluster time",
        )),
    }
}

/// Reads `steps` from a value, looking through arrays as aggregation field paths do.
pub fn field_path_value(value: &Bson, steps: &[String]) -> Option<Bson> {
    crate::depth::guard(|| {
        let Some((first, rest)) = steps.split_first() else {
            return Some(value.clone());
        };
        match value {
            Bson::Document(d) => field_path_value(d.get(first)?, rest),
            Bson::Array(items) => Some(Bson::Array(
                items
                    .iter()
                    .filter_map(|i| field_path_value_in_array(i, steps))
                    .collect(),
            )),
            _ => None,
        }
    })
}

fn field_path_value_in_array(value: &Bson, steps: &[String]) -> Option<Bson> {
    match value {
        Bson::Document(_) | Bson::Array(_) => field_path_value(value, steps),
        _ => None,
    }
}

/// The value of a path from a document (see [`field_path_value`]).
pub fn document_path_value(doc: &Document, steps: &[String]) -> Option<Bson> {
    let (first, rest) = steps.split_first()?;
    field_path_value(doc.get(first)?, rest)
}

/// MongoDB's truthiness: false, null, missing, undefined and zero are false.
pub fn truthy(value: Option<&Bson>) -> bool {
    match value {
        None | Some(Bson::Null) | Some(Bson::Undefined) | Some(Bson::Boolean(false)) => false,
        Some(Bson::Int32(0)) | Some(Bson::Int64(0)) => false,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(Bson::Decimal128(d)) => {
            crate::engine::arith::to_f64(&Bson::Decimal128(*d)) != Some(0.0)
        }
        Some(_) => true,
    }
}

fn nullish(value: &Option<Bson>) -> bool {
    matches!(value, None | Some(Bson::Null) | Some(Bson::Undefined))
}

fn type_name(value: &Option<Bson>) -> &'static str {
    match value {
        None => "missing",
        Some(v) => type_alias(type_number(v)).unwrap_or("unknown"),
    }
}

impl Expression {
    /// Evaluates against a document; `None` is *missing*.
    pub fn evaluate(&self, scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
        crate::depth::guard(|| {
            match self {
                Expression::Literal(v) => Ok(Some(v.clone())),
                Expression::Path(steps) => Ok(document_path_value(scope.root, steps)),
                Expression::Meta(keyword) => match super::metadata::get(scope.root, keyword) {
                    Some(v) => Ok(Some(v.clone())),
                    // Without a `$text` query there is no score, as mongod answers.
                    None if *keyword == "textScore" => Err(expr_error(
                        40218,
                        "query requires text score metadata, but it is not available",
                    )),
                    None => Ok(None),
                },
                Expression::Variable(name, steps) => {
                    let base = match name.as_str() {
                        "ROOT" | "CURRENT" => Bson::Document(super::metadata::without(scope.root)),
                        "NOW" => Bson::DateTime(scope.now),
                        "CLUSTER_TIME" => cluster_time()?,
                        // What `$redact` expressions answer.
                        "DESCEND" => Bson::String("descend".into()),
                        "PRUNE" => Bson::String("prune".into()),
                        "KEEP" => Bson::String("keep".into()),
                        "REMOVE" => return Ok(None),
                        other => match scope.vars.get(other) {
                            Some(v) => v.clone(),
                            None => {
                                return Err(expr_error(
                                    17276,
                                    format!("Use of undefined variable: {other}"),
                                ));
                            }
                        },
                    };
                    Ok(field_path_value(&base, steps))
                }
                Expression::Object(fields) => {
                    let mut out = Document::new();
                    for (k, e) in fields {
                        if let Some(v) = e.evaluate(scope)? {
                            out.insert(k.clone(), v);
                        }
                    }
                    built(Bson::Document(out))
                }
                Expression::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for e in items {
                        // A missing element becomes null inside an array literal.
                        out.push(e.evaluate(scope)?.unwrap_or(Bson::Null));
                    }
                    built(Bson::Array(out))
                }
                Expression::Cond(parts) => {
                    let [cond, then, otherwise] = &**parts;
                    if truthy(cond.evaluate(scope)?.as_ref()) {
                        then.evaluate(scope)
                    } else {
                        otherwise.evaluate(scope)
                    }
                }
                Expression::Switch { branches, default } => {
                    for (case, then) in branches {
                        if truthy(case.evaluate(scope)?.as_ref()) {
                            return then.evaluate(scope);
                        }
                    }
                    match default {
                        Some(d) => d.evaluate(scope),
                        None => Err(expr_error(
                            40066,
                            "$switch could not find a matching branch for an input, and no default was specified.",
                        )),
                    }
                }
                Expression::Let { vars, body } => {
                    let mut saved = Vec::new();
                    for (name, e) in vars {
                        let v = e.evaluate(scope)?.unwrap_or(Bson::Null);
                        saved.push((name.clone(), scope.vars.insert(name.clone(), v)));
                    }
                    let result = body.evaluate(scope);
                    restore(scope, saved);
                    result
                }
                Expression::Map { input, var, body } => {
                    let Some(items) = array_input(input.evaluate(scope)?, "$map")? else {
                        return Ok(Some(Bson::Null));
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        let saved = vec![(var.clone(), scope.vars.insert(var.clone(), item))];
                        let v = body.evaluate(scope);
                        restore(scope, saved);
                        out.push(v?.unwrap_or(Bson::Null));
                    }
                    built(Bson::Array(out))
                }
                Expression::Filter {
                    input,
                    var,
                    cond,
                    limit,
                } => {
                    let Some(items) = array_input(input.evaluate(scope)?, "$filter")? else {
                        return Ok(Some(Bson::Null));
                    };
                    let limit = match limit {
                        Some(l) => {
                            match l
                                .evaluate(scope)?
                                .as_ref()
                                .and_then(crate::engine::arith::to_i64_exact)
                            {
                                Some(n) if n > 0 => Some(n as usize),
                                _ => {
                                    return Err(expr_error(
                                        327391,
                                        "$filter: limit must be a positive integer",
                                    ));
                                }
                            }
                        }
                        None => None,
                    };
                    let mut out = Vec::new();
                    for item in items {
                        if limit.is_some_and(|l| out.len() >= l) {
                            break;
                        }
                        let saved =
                            vec![(var.clone(), scope.vars.insert(var.clone(), item.clone()))];
                        let keep = cond.evaluate(scope);
                        restore(scope, saved);
                        if truthy(keep?.as_ref()) {
                            out.push(item);
                        }
                    }
                    Ok(Some(Bson::Array(out)))
                }
                Expression::Reduce {
                    input,
                    initial,
                    body,
                } => {
                    let Some(items) = array_input(input.evaluate(scope)?, "$reduce")? else {
                        return Ok(Some(Bson::Null));
                    };
                    let mut acc = initial.evaluate(scope)?.unwrap_or(Bson::Null);
                    for item in items {
                        let saved = vec![
                            (
                                "this".to_string(),
                                scope.vars.insert("this".to_string(), item),
                            ),
                            (
                                "value".to_string(),
                                scope.vars.insert("value".to_string(), acc.clone()),
                            ),
                        ];
                        let v = body.evaluate(scope);
                        restore(scope, saved);
                        acc = v?.unwrap_or(Bson::Null);
                    }
                    Ok(Some(acc))
                }
                Expression::Operator(op, args) => match op.eval {
                    Eval::Lazy(eval) => eval(args, scope),
                    Eval::Values(eval) => {
                        let values = args
                            .iter()
                            .map(|a| a.evaluate(scope))
                            .collect::<CmdResult<Vec<_>>>()?;
                        eval(op, values)
                    }
                },
            }
        })
    }
}

/// An object or array an expression built, refused when deeper than any result may be
/// (see `depth::check_value`).
fn built(value: Bson) -> CmdResult<Option<Bson>> {
    crate::depth::check_value(&value)?;
    Ok(Some(value))
}

fn restore(scope: &mut Scope<'_>, saved: Vec<(String, Option<Bson>)>) {
    for (name, previous) in saved.into_iter().rev() {
        match previous {
            Some(v) => scope.vars.insert(name, v),
            None => scope.vars.remove(&name),
        };
    }
}

fn array_input(value: Option<Bson>, op: &str) -> CmdResult<Option<Vec<Bson>>> {
    match value {
        Some(Bson::Array(items)) => Ok(Some(items)),
        v if nullish(&v) => Ok(None),
        v => Err(expr_error(
            28651,
            format!("input to {op} must be an array not {}", type_name(&v)),
        )),
    }
}

/// How `$toString`, `$toLower`/`$toUpper` and `$substrCP` print a value that is not a
/// string.
pub fn display_string(v: &Bson) -> String {
    match v {
        Bson::String(s) | Bson::Symbol(s) => s.clone(),
        Bson::ObjectId(o) => o.to_hex(),
        Bson::DateTime(d) => d.try_to_rfc3339_string().unwrap_or_default(),
        Bson::Double(d) => {
            if d.fract() == 0.0 && d.is_finite() && d.abs() < 1e15 {
                format!("{}", *d as i64)
            } else {
                d.to_string()
            }
        }
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Decimal128(d) => d.to_string(),
        Bson::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}
