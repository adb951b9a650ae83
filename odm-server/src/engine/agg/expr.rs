//! Aggregation expressions: parsed once, evaluated against each document.
//!
//! An expression is a literal, a field path (`"$a.b"`), a variable (`"$$ROOT"`,
//! `"$$NOW"`, or one bound by `$let`/`$map`/`$filter`), an object or array of
//! expressions, or an operator (`{$add: [...]}`). Evaluation yields `None` for *missing*,
//! which MongoDB keeps apart from `null` (a `$project` of a missing path writes nothing).
//!
//! Field paths look through arrays: `"$a.b"` on `{a: [{b: 1}, {b: 2}]}` is `[1, 2]`.

use std::cmp::Ordering;
use std::collections::HashMap;

use bson::{Bson, DateTime, Document};

use crate::engine::arith::{self, Op, Outcome};
use crate::engine::compare::{compare, decimal_to_f64, values_equal};
use crate::engine::decimal_arith::{Dec, Rounding};
use crate::engine::types::{type_alias, type_number};
use crate::error::{CmdResult, CommandError, ErrorCode};

/// A parsed expression.
#[derive(Clone, Debug)]
pub enum Expression {
    Literal(Bson),
    /// `$a.b`: steps from the current document.
    Path(Vec<String>),
    /// `$$name.a.b`.
    Variable(String, Vec<String>),
    Object(Vec<(String, Expression)>),
    Array(Vec<Expression>),
    Operator(Operator, Vec<Expression>),
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

/// Operators that take a list of evaluated arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Mod,
    Abs,
    Ceil,
    Floor,
    Round,
    Trunc,
    Sqrt,
    Pow,
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Cmp,
    And,
    Or,
    Not,
    IfNull,
    Concat,
    ToLower,
    ToUpper,
    StrLenCP,
    SubstrCP,
    Split,
    Size,
    ArrayElemAt,
    In,
    IsArray,
    ConcatArrays,
    ReverseArray,
    Slice,
    First,
    Last,
    Sum,
    Avg,
    Min,
    Max,
    Type,
    ToString,
    ToInt,
    ToLong,
    ToDouble,
    ToBool,
    MergeObjects,
    Literal,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("$add", Operator::Add),
    ("$subtract", Operator::Subtract),
    ("$multiply", Operator::Multiply),
    ("$divide", Operator::Divide),
    ("$mod", Operator::Mod),
    ("$abs", Operator::Abs),
    ("$ceil", Operator::Ceil),
    ("$floor", Operator::Floor),
    ("$round", Operator::Round),
    ("$trunc", Operator::Trunc),
    ("$sqrt", Operator::Sqrt),
    ("$pow", Operator::Pow),
    ("$eq", Operator::Eq),
    ("$ne", Operator::Ne),
    ("$gt", Operator::Gt),
    ("$gte", Operator::Gte),
    ("$lt", Operator::Lt),
    ("$lte", Operator::Lte),
    ("$cmp", Operator::Cmp),
    ("$and", Operator::And),
    ("$or", Operator::Or),
    ("$not", Operator::Not),
    ("$ifNull", Operator::IfNull),
    ("$concat", Operator::Concat),
    ("$toLower", Operator::ToLower),
    ("$toUpper", Operator::ToUpper),
    ("$strLenCP", Operator::StrLenCP),
    ("$substrCP", Operator::SubstrCP),
    ("$split", Operator::Split),
    ("$size", Operator::Size),
    ("$arrayElemAt", Operator::ArrayElemAt),
    ("$in", Operator::In),
    ("$isArray", Operator::IsArray),
    ("$concatArrays", Operator::ConcatArrays),
    ("$reverseArray", Operator::ReverseArray),
    ("$slice", Operator::Slice),
    ("$first", Operator::First),
    ("$last", Operator::Last),
    ("$sum", Operator::Sum),
    ("$avg", Operator::Avg),
    ("$min", Operator::Min),
    ("$max", Operator::Max),
    ("$type", Operator::Type),
    ("$toString", Operator::ToString),
    ("$toInt", Operator::ToInt),
    ("$toLong", Operator::ToLong),
    ("$toDouble", Operator::ToDouble),
    ("$toBool", Operator::ToBool),
    ("$mergeObjects", Operator::MergeObjects),
    ("$literal", Operator::Literal),
];

fn operator_name(op: Operator) -> &'static str {
    OPERATORS
        .iter()
        .find(|(_, o)| *o == op)
        .map(|(n, _)| *n)
        .unwrap_or("$?")
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
        let Some((first, _)) = d.iter().next() else {
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
        let (name, operand) = d.iter().next().expect("checked non-empty");
        parse_operator(name, operand)
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
    match name {
        "$cond" => {
            let parts = match operand {
                Bson::Array(items) if items.len() == 3 => {
                    [parse(&items[0])?, parse(&items[1])?, parse(&items[2])?]
                }
                Bson::Array(_) => {
                    return Err(expr_error(
                        16020,
                        "Expression $cond takes exactly 3 arguments.",
                    ));
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
        _ => {
            let Some(op) = OPERATORS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o) else {
                return Err(CommandError::new(
                    ErrorCode::Location(168),
                    format!("Unrecognized expression '{name}'"),
                ));
            };
            let args = match operand {
                Bson::Array(items) => items.iter().map(parse).collect::<CmdResult<Vec<_>>>()?,
                single => vec![parse(single)?],
            };
            check_arity(op, args.len())?;
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

fn check_arity(op: Operator, n: usize) -> CmdResult<()> {
    use Operator::*;
    let (min, max) = match op {
        Subtract | Divide | Mod | Pow | Eq | Ne | Gt | Gte | Lt | Lte | Cmp | ArrayElemAt | In
        | Split => (2, 2),
        Abs | Ceil | Floor | Sqrt | Not | ToLower | ToUpper | StrLenCP | Size | IsArray
        | ReverseArray | Type | ToString | ToInt | ToLong | ToDouble | ToBool | First | Last => {
            (1, 1)
        }
        Round | Trunc => (1, 2),
        SubstrCP => (3, 3),
        Slice => (2, 3),
        IfNull => (2, usize::MAX),
        _ => (0, usize::MAX),
    };
    if op == Operator::IfNull && n < min {
        return Err(expr_error(
            1257300,
            format!("$ifNull needs at least two arguments, had: {n}"),
        ));
    }
    if n < min || n > max {
        let name = operator_name(op);
        // mongod words (and numbers) the two kinds of arity differently.
        return Err(if min == max {
            expr_error(
                16020,
                format!("Expression {name} takes exactly {min} arguments. {n} were passed in."),
            )
        } else if max == usize::MAX {
            expr_error(
                16020,
                format!("Expression {name} takes at least {min} arguments. {n} were passed in."),
            )
        } else {
            expr_error(
                28667,
                format!(
                    "Expression {name} takes at least {min} arguments, and at most {max}, but {n} were passed in."
                ),
            )
        });
    }
    Ok(())
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
        Some(Bson::Decimal128(d)) => arith::to_f64(&Bson::Decimal128(*d)) != Some(0.0),
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
                Expression::Variable(name, steps) => {
                    let base = match name.as_str() {
                        "ROOT" | "CURRENT" => Bson::Document(scope.root.clone()),
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
                            match l.evaluate(scope)?.as_ref().and_then(arith::to_i64_exact) {
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
                Expression::Operator(op, args) => {
                    // Short-circuit the logical operators.
                    match op {
                        Operator::And => {
                            for a in args {
                                if !truthy(a.evaluate(scope)?.as_ref()) {
                                    return Ok(Some(Bson::Boolean(false)));
                                }
                            }
                            return Ok(Some(Bson::Boolean(true)));
                        }
                        Operator::Or => {
                            for a in args {
                                if truthy(a.evaluate(scope)?.as_ref()) {
                                    return Ok(Some(Bson::Boolean(true)));
                                }
                            }
                            return Ok(Some(Bson::Boolean(false)));
                        }
                        _ => {}
                    }
                    let values = args
                        .iter()
                        .map(|a| a.evaluate(scope))
                        .collect::<CmdResult<Vec<_>>>()?;
                    apply_operator(*op, values)
                }
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

/// Argument `i` of an arithmetic operator if it is a number, `None` if it is null or
/// missing, or the error mongod gives for anything else; the code depends on the
/// operator and, for `$pow`, on the argument.
fn numeric_operand(op: Operator, values: &[Option<Bson>], i: usize) -> CmdResult<Option<&Bson>> {
    let value = &values[i];
    match value {
        v if nullish(v) => return Ok(None),
        Some(n) if arith::is_number(n) => return Ok(Some(n)),
        _ => {}
    }
    let name = operator_name(op);
    let not_numeric = format!(
        "{name} only supports numeric types, not {}",
        type_name(value)
    );
    Err(match (op, i) {
        (Operator::Abs | Operator::Ceil | Operator::Floor | Operator::Sqrt, _) => {
            expr_error(28765, not_numeric)
        }
        (Operator::Round | Operator::Trunc, _) => expr_error(51081, not_numeric),
        (Operator::Pow, 0) => expr_error(
            28762,
            format!("$pow's base must be numeric, not {}", type_name(value)),
        ),
        (Operator::Pow, _) => expr_error(
            28763,
            format!("$pow's exponent must be numeric, not {}", type_name(value)),
        ),
        (Operator::Mod, _) => expr_error(
            16611,
            format!(
                "{name} only supports numeric types, not {} and {}",
                type_name(&values[0]),
                type_name(&values[1])
            ),
        ),
        _ => CommandError::type_mismatch(not_numeric),
    })
}

/// Keeps the integer type of `original` when `result` is integral (for $abs, $ceil, ...).
fn same_numeric_type(original: &Bson, result: f64) -> Bson {
    match original {
        Bson::Int32(_) if result.fract() == 0.0 && result.abs() <= i32::MAX as f64 => {
            Bson::Int32(result as i32)
        }
        Bson::Int32(_) | Bson::Int64(_) if result.fract() == 0.0 && result.abs() < 9.2e18 => {
            Bson::Int64(result as i64)
        }
        _ => Bson::Double(result),
    }
}

fn apply_operator(op: Operator, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    use Operator::*;
    let arg = |i: usize| values.get(i).cloned().flatten();
    let ok = |v: Bson| Ok(Some(v));
    match op {
        Add | Multiply => {
            let arith_op = if op == Add { Op::Add } else { Op::Multiply };
            let mut acc = Bson::Int32(if op == Add { 0 } else { 1 });
            let mut date: Option<i64> = None;
            for v in &values {
                match v {
                    v if nullish(v) => return Ok(Some(Bson::Null)),
                    Some(Bson::DateTime(d)) if op == Add => {
                        if date.is_some() {
                            return Err(expr_error(
                                16612,
                                "only one date allowed in an $add expression",
                            ));
                        }
                        date = Some(d.timestamp_millis());
                    }
                    Some(n) if arith::is_number(n) => {
                        acc = match arith::apply(arith_op, &acc, n).expect("both numbers") {
                            Outcome::Value(v) => v,
                            Outcome::Overflow => {
                                let (x, y) = (
                                    arith::to_f64(&acc).unwrap_or(0.0),
                                    arith::to_f64(n).unwrap_or(0.0),
                                );
                                Bson::Double(if op == Add { x + y } else { x * y })
                            }
                        };
                    }
                    other => {
                        return Err(CommandError::type_mismatch(format!(
                            "{} only supports numeric or date types, not {}",
                            operator_name(op),
                            type_name(other)
                        )));
                    }
                }
            }
            match date {
                Some(ms) => ok(Bson::DateTime(DateTime::from_millis(
                    ms + arith::to_f64(&acc).unwrap_or(0.0).round() as i64,
                ))),
                None => ok(acc),
            }
        }
        Subtract => match (arg(0), arg(1)) {
            (a, b) if nullish(&a) || nullish(&b) => ok(Bson::Null),
            (Some(Bson::DateTime(a)), Some(Bson::DateTime(b))) => {
                ok(Bson::Int64(a.timestamp_millis() - b.timestamp_millis()))
            }
            (Some(Bson::DateTime(a)), Some(n)) if arith::is_number(&n) => {
                ok(Bson::DateTime(DateTime::from_millis(
                    a.timestamp_millis() - arith::to_f64(&n).unwrap_or(0.0).round() as i64,
                )))
            }
            (Some(a), Some(b)) if arith::is_number(&a) && arith::is_number(&b) => {
                match arith::apply(Op::Subtract, &a, &b).expect("both numbers") {
                    Outcome::Value(v) => ok(v),
                    Outcome::Overflow => ok(Bson::Double(
                        arith::to_f64(&a).unwrap_or(0.0) - arith::to_f64(&b).unwrap_or(0.0),
                    )),
                }
            }
            (a, b) => Err(CommandError::type_mismatch(format!(
                "can't $subtract {} from {}",
                type_name(&b),
                type_name(&a)
            ))),
        },
        Divide | Mod | Pow => {
            let (Some(p), Some(q)) = (
                numeric_operand(op, &values, 0)?,
                numeric_operand(op, &values, 1)?,
            ) else {
                return ok(Bson::Null);
            };
            let (a, b) = (
                arith::to_f64(p).unwrap_or(0.0),
                arith::to_f64(q).unwrap_or(0.0),
            );
            let decimal = [p, q].iter().any(|v| matches!(v, Bson::Decimal128(_)));
            let as_dec = |v: &Bson| arith::to_dec(v).expect("a number");
            let decimal_result = |f: fn(&Dec, &Dec) -> Dec| {
                Bson::Decimal128(f(&as_dec(p), &as_dec(q)).to_decimal128())
            };
            // A decimal divisor as small as 1E-6000 is a double 0.0 but not zero.
            let divisor_is_zero = if decimal {
                as_dec(q).is_zero()
            } else {
                b == 0.0
            };
            match op {
                Divide if divisor_is_zero => Err(expr_error(2, "can't $divide by zero")),
                // A decimal operand makes a decimal; anything else divides as doubles.
                Divide if decimal => ok(decimal_result(Dec::divide)),
                Divide => ok(Bson::Double(a / b)),
                Mod if divisor_is_zero => Err(expr_error(16610, "can't $mod by zero")),
                Mod => {
                    // The wider type wins: decimal, then double, then long, then int.
                    let has = |f: fn(&Bson) -> bool| values.iter().flatten().any(f);
                    if decimal {
                        ok(decimal_result(Dec::remainder))
                    } else if has(|v| matches!(v, Bson::Double(_))) {
                        ok(Bson::Double(a % b))
                    } else {
                        let (Some(x), Some(y)) = (
                            arg(0).as_ref().and_then(arith::to_i64_exact),
                            arg(1).as_ref().and_then(arith::to_i64_exact),
                        ) else {
                            return ok(Bson::Double(a % b));
                        };
                        let r = x.wrapping_rem(y);
                        if has(|v| matches!(v, Bson::Int64(_))) {
                            ok(Bson::Int64(r))
                        } else {
                            ok(Bson::Int32(r as i32))
                        }
                    }
                }
                _ => power(p, q, a, b).map(Some),
            }
        }
        Abs | Ceil | Floor | Sqrt => {
            let Some(original) = numeric_operand(op, &values, 0)? else {
                return ok(Bson::Null);
            };
            let x = arith::to_f64(original).expect("a number");
            match original {
                // Exact on decimals, as mongod's decimal operations are.
                Bson::Decimal128(d) if op != Sqrt => {
                    let d = Dec::from_decimal128(d);
                    let r = match op {
                        Abs => d.abs(),
                        Ceil => d.to_integral(Rounding::Ceiling),
                        _ => d.to_integral(Rounding::Floor),
                    };
                    return ok(Bson::Decimal128(r.to_decimal128()));
                }
                Bson::Int64(i64::MIN) if op == Abs => {
                    return Err(expr_error(28680, "can't take $abs of long long min"));
                }
                _ => {}
            }
            let r = match op {
                Abs => x.abs(),
                Ceil => x.ceil(),
                Floor => x.floor(),
                _ if x < 0.0 => {
                    return Err(expr_error(
                        28714,
                        "$sqrt's argument must be greater than or equal to 0",
                    ));
                }
                // A decimal's root goes through a double (15 digits; mongod's is exact).
                _ if matches!(original, Bson::Decimal128(_)) => {
                    return ok(arith::decimal_from_f64(x.sqrt()));
                }
                _ => return ok(Bson::Double(x.sqrt())),
            };
            ok(same_numeric_type(original, r))
        }
        Round | Trunc => round_or_trunc(op, &values),
        Eq | Ne | Gt | Gte | Lt | Lte | Cmp => {
            let ord = compare_present(arg(0).as_ref(), arg(1).as_ref());
            ok(match op {
                Eq => Bson::Boolean(ord == Ordering::Equal),
                Ne => Bson::Boolean(ord != Ordering::Equal),
                Gt => Bson::Boolean(ord == Ordering::Greater),
                Gte => Bson::Boolean(ord != Ordering::Less),
                Lt => Bson::Boolean(ord == Ordering::Less),
                Lte => Bson::Boolean(ord != Ordering::Greater),
                _ => Bson::Int32(ord as i32),
            })
        }
        Not => ok(Bson::Boolean(!truthy(values[0].as_ref()))),
        And | Or => unreachable!("evaluated with short-circuit"),
        IfNull => {
            let (last, candidates) = values.split_last().expect("arity checked");
            for v in candidates {
                if !nullish(v) {
                    return Ok(v.clone());
                }
            }
            Ok(last.clone())
        }
        Concat => {
            let mut out = String::new();
            for v in &values {
                match v {
                    v if nullish(v) => return ok(Bson::Null),
                    Some(Bson::String(s)) => out.push_str(s),
                    other => {
                        return Err(expr_error(
                            16702,
                            format!("$concat only supports strings, not {}", type_name(other)),
                        ));
                    }
                }
            }
            ok(Bson::String(out))
        }
        ToLower | ToUpper => match &values[0] {
            v if nullish(v) => ok(Bson::String(String::new())),
            Some(Bson::String(s)) => ok(Bson::String(if op == ToLower {
                s.to_lowercase()
            } else {
                s.to_uppercase()
            })),
            Some(other) => ok(Bson::String(if op == ToLower {
                display_string(other).to_lowercase()
            } else {
                display_string(other).to_uppercase()
            })),
            None => ok(Bson::String(String::new())),
        },
        StrLenCP => match &values[0] {
            Some(Bson::String(s)) => ok(Bson::Int32(s.chars().count() as i32)),
            other => Err(expr_error(
                34471,
                format!(
                    "$strLenCP requires a string argument, found: {}",
                    type_name(other)
                ),
            )),
        },
        SubstrCP => {
            let s = match &values[0] {
                Some(Bson::String(s)) => s.clone(),
                v if nullish(v) => String::new(),
                Some(other) => display_string(other),
                None => String::new(),
            };
            let start = values[1]
                .as_ref()
                .and_then(arith::to_i64_exact)
                .unwrap_or(0)
                .max(0) as usize;
            let len = values[2]
                .as_ref()
                .and_then(arith::to_i64_exact)
                .unwrap_or(0)
                .max(0) as usize;
            ok(Bson::String(s.chars().skip(start).take(len).collect()))
        }
        Split => match (&values[0], &values[1]) {
            (v, _) if nullish(v) => ok(Bson::Null),
            (Some(Bson::String(s)), Some(Bson::String(sep))) if !sep.is_empty() => ok(Bson::Array(
                s.split(sep.as_str())
                    .map(|p| Bson::String(p.to_string()))
                    .collect(),
            )),
            _ => Err(expr_error(
                40085,
                "$split requires a string and a non-empty string delimiter",
            )),
        },
        Size => match &values[0] {
            Some(Bson::Array(items)) => ok(Bson::Int32(items.len() as i32)),
            other => Err(expr_error(
                17124,
                format!(
                    "The argument to $size must be an array. Type of argument: {}",
                    type_name(other)
                ),
            )),
        },
        ArrayElemAt => match (&values[0], &values[1]) {
            (a, _) if nullish(a) => ok(Bson::Null),
            (Some(Bson::Array(items)), Some(i)) => {
                let Some(i) = arith::to_i64_exact(i) else {
                    return Err(expr_error(
                        28690,
                        "$arrayElemAt's second argument must be a numeric value",
                    ));
                };
                let idx = if i < 0 { items.len() as i64 + i } else { i };
                Ok(usize::try_from(idx)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned())
            }
            (other, _) => Err(expr_error(
                28689,
                format!(
                    "$arrayElemAt's first argument must be an array, but is {}",
                    type_name(other)
                ),
            )),
        },
        In => match &values[1] {
            Some(Bson::Array(items)) => {
                let needle = values[0].clone().unwrap_or(Bson::Null);
                ok(Bson::Boolean(
                    items.iter().any(|i| values_equal(i, &needle)),
                ))
            }
            other => Err(expr_error(
                40081,
                format!(
                    "$in requires an array as a second argument, found: {}",
                    type_name(other)
                ),
            )),
        },
        IsArray => ok(Bson::Boolean(matches!(values[0], Some(Bson::Array(_))))),
        ConcatArrays => {
            let mut out = Vec::new();
            for v in &values {
                match v {
                    v if nullish(v) => return ok(Bson::Null),
                    Some(Bson::Array(items)) => out.extend(items.iter().cloned()),
                    other => {
                        return Err(expr_error(
                            28664,
                            format!(
                                "$concatArrays only supports arrays, not {}",
                                type_name(other)
                            ),
                        ));
                    }
                }
            }
            ok(Bson::Array(out))
        }
        ReverseArray => match &values[0] {
            v if nullish(v) => ok(Bson::Null),
            Some(Bson::Array(items)) => ok(Bson::Array(items.iter().rev().cloned().collect())),
            other => Err(expr_error(
                34435,
                format!(
                    "The argument to $reverseArray must be an array, but was of type: {}",
                    type_name(other)
                ),
            )),
        },
        Slice => {
            let Some(Bson::Array(items)) = &values[0] else {
                return if nullish(&values[0]) {
                    ok(Bson::Null)
                } else {
                    Err(expr_error(
                        28724,
                        "First argument to $slice must be an array",
                    ))
                };
            };
            let nums: Vec<i64> = values[1..]
                .iter()
                .map(|v| v.as_ref().and_then(arith::to_i64_exact).unwrap_or(0))
                .collect();
            let len = items.len() as i64;
            let (start, count) = match nums.as_slice() {
                [n] if *n >= 0 => (0, *n),
                [n] => (len.saturating_add(*n).max(0), n.saturating_neg()),
                [p, n] => (
                    if *p < 0 {
                        (len + p).max(0)
                    } else {
                        (*p).min(len)
                    },
                    *n,
                ),
                _ => (0, 0),
            };
            if count < 0 {
                return Err(expr_error(
                    28729,
                    "Third argument to $slice must be positive",
                ));
            }
            ok(Bson::Array(
                items
                    .iter()
                    .skip(start as usize)
                    .take(count as usize)
                    .cloned()
                    .collect(),
            ))
        }
        First | Last => match &values[0] {
            v if nullish(v) => ok(Bson::Null),
            Some(Bson::Array(items)) => Ok(if op == First {
                items.first()
            } else {
                items.last()
            }
            .cloned()),
            other => Err(expr_error(
                28689,
                format!(
                    "{} requires an array, found: {}",
                    operator_name(op),
                    type_name(other)
                ),
            )),
        },
        Sum | Avg | Min | Max => {
            // One array argument means "over its elements"; several arguments, over them.
            let items: Vec<Bson> = match values.as_slice() {
                [Some(Bson::Array(items))] => items.clone(),
                _ => values.iter().flatten().cloned().collect(),
            };
            let mut acc = super::accumulate::Accumulator::new(match op {
                Sum => super::accumulate::AccumulatorKind::Sum,
                Avg => super::accumulate::AccumulatorKind::Avg,
                Min => super::accumulate::AccumulatorKind::Min,
                _ => super::accumulate::AccumulatorKind::Max,
            });
            for i in items {
                acc.add(Some(i));
            }
            Ok(Some(acc.finish()))
        }
        Type => ok(Bson::String(type_name(&values[0]).to_string())),
        ToString => match &values[0] {
            v if nullish(v) => ok(Bson::Null),
            Some(v) => ok(Bson::String(display_string(v))),
            None => ok(Bson::Null),
        },
        ToInt | ToLong | ToDouble => convert_number(op, &values[0]),
        ToBool => match &values[0] {
            v if nullish(v) => ok(Bson::Null),
            v => ok(Bson::Boolean(truthy(v.as_ref()))),
        },
        MergeObjects => {
            let mut out = Document::new();
            for v in &values {
                match v {
                    v if nullish(v) => {}
                    Some(Bson::Document(d)) => {
                        for (k, x) in d {
                            out.insert(k.clone(), x.clone());
                        }
                    }
                    other => {
                        return Err(expr_error(
                            40400,
                            format!(
                                "$mergeObjects requires object inputs, but input is of type {}",
                                type_name(other)
                            ),
                        ));
                    }
                }
            }
            ok(Bson::Document(out))
        }
        Literal => Ok(values.into_iter().next().flatten()),
    }
}

/// `$pow`: integers stay integers while the power fits (int, then long), doubles make a
/// double, decimals a decimal: exact for an integer exponent, with the 34 digits mongod
/// gives; through a double (15 digits) for a fractional one.
fn power(base: &Bson, exponent: &Bson, a: f64, b: f64) -> CmdResult<Bson> {
    if a == 0.0 && b < 0.0 {
        return Err(expr_error(
            28764,
            "$pow cannot take a base of 0 and a negative exponent",
        ));
    }
    if matches!(base, Bson::Decimal128(_)) || matches!(exponent, Bson::Decimal128(_)) {
        let exact = match (arith::to_dec(base), arith::to_i64_exact(exponent)) {
            (Some(base), Some(n)) => base.pow_integer(n),
            _ => None,
        };
        return Ok(match exact {
            Some(power) => Bson::Decimal128(power.normalized().to_decimal128()),
            None => arith::decimal_from_f64(a.powf(b)),
        });
    }
    let (Some(x), Some(n)) = (integer_value(base), integer_value(exponent)) else {
        return Ok(Bson::Double(a.powf(b)));
    };
    let both_int32 = matches!((base, exponent), (Bson::Int32(_), Bson::Int32(_)));
    let exact = match (x, n) {
        (1, _) => Some(1),
        (-1, n) => Some(if n % 2 == 0 { 1 } else { -1 }),
        (_, n) if n < 0 => None,
        (0, _) => Some(i64::from(n == 0)),
        (x, n) => u32::try_from(n).ok().and_then(|n| x.checked_pow(n)),
    };
    Ok(match exact {
        Some(r) if both_int32 && i32::try_from(r).is_ok() => Bson::Int32(r as i32),
        Some(r) => Bson::Int64(r),
        None => Bson::Double(a.powf(b)),
    })
}

/// An int32 or int64 as an i64 (not a double, even an integral one).
fn integer_value(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        _ => None,
    }
}

/// `$round` and `$trunc`, as mongod computes them: at a decimal place from -20 to 100,
/// by quantizing a decimal128 (a double goes through its 34-digit decimal and back, so
/// `2.675` rounds to `2.67`: its binary value is just below the tie).
fn round_or_trunc(op: Operator, values: &[Option<Bson>]) -> CmdResult<Option<Bson>> {
    let name = operator_name(op);
    let Some(number) = numeric_operand(op, values, 0)?.cloned() else {
        return Ok(Some(Bson::Null));
    };
    let place = match values.get(1) {
        None => 0,
        Some(p) if nullish(p) => return Ok(Some(Bson::Null)),
        Some(Some(p)) if arith::is_number(p) => match arith::to_i64_exact(p) {
            Some(place) => place,
            None => {
                return Err(expr_error(
                    51082,
                    format!("precision argument to  {name} must be a integral value"),
                ));
            }
        },
        Some(other) => {
            return Err(expr_error(
                16004,
                format!("can't convert from BSON type {} to long", type_name(other)),
            ));
        }
    };
    if !(-20..=100).contains(&place) {
        return Err(expr_error(
            51083,
            format!("cannot apply {name} with precision value {place} value must be in [-20, 100]"),
        ));
    }
    let mode = if op == Operator::Round {
        Rounding::HalfEven
    } else {
        Rounding::TowardZero
    };
    let exponent = -(place as i32);
    Ok(Some(match number {
        Bson::Decimal128(d) => {
            let d = Dec::from_decimal128(&d);
            if matches!(d, Dec::Infinite { .. }) {
                return Ok(Some(number));
            }
            Bson::Decimal128(d.quantize(exponent, mode).to_decimal128())
        }
        Bson::Double(x) if x.is_infinite() => number,
        Bson::Double(x) => {
            let quantized = Dec::from_f64_digits(x, 34).quantize(exponent, mode);
            Bson::Double(decimal_to_f64(&quantized.to_decimal128()))
        }
        integer if place >= 0 => integer,
        integer => {
            let i = arith::to_i64_exact(&integer).expect("an integer");
            let Some(r) = Dec::from_i64(i).quantize(exponent, mode).to_i64() else {
                return Err(expr_error(
                    51080,
                    format!(
                        "invalid conversion from Decimal128 result in {name} resulting from arguments: [{i}, {place}]"
                    ),
                ));
            };
            match (integer, i32::try_from(r)) {
                (Bson::Int32(_), Ok(small)) => Bson::Int32(small),
                _ => Bson::Int64(r),
            }
        }
    }))
}

/// How `$toString` and `$concat`-style conversions print a value.
/// Compares two expression values as aggregation does: a missing value is a value of its
/// own, equal to another missing one (and to undefined) and below every other, MinKey
/// aside. Query operators differ: there `{a: null}` matches a missing `a`.
pub fn compare_present(a: Option<&Bson>, b: Option<&Bson>) -> Ordering {
    let missing_vs = |v: &Bson| match v {
        Bson::MinKey => Ordering::Greater,
        Bson::Undefined => Ordering::Equal,
        _ => Ordering::Less,
    };
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(v)) => missing_vs(v),
        (Some(v), None) => missing_vs(v).reverse(),
        (Some(x), Some(y)) => compare(x, y),
    }
}

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

fn convert_number(op: Operator, value: &Option<Bson>) -> CmdResult<Option<Bson>> {
    let fail = |what: &Bson| {
        Err(CommandError::new(
            ErrorCode::Location(241),
            format!(
                "Failed to parse number '{}' in $convert with no onError value",
                display_string(what)
            ),
        ))
    };
    let Some(v) = value else {
        return Ok(Some(Bson::Null));
    };
    let as_f64 = match v {
        Bson::Null | Bson::Undefined => return Ok(Some(Bson::Null)),
        Bson::Boolean(b) => f64::from(u8::from(*b)),
        Bson::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if op != Operator::ToDouble && n.fract() != 0.0 => return fail(v),
            Ok(n) => n,
            Err(_) => return fail(v),
        },
        Bson::DateTime(d) => d.timestamp_millis() as f64,
        n if arith::is_number(n) => arith::to_f64(n).unwrap_or(f64::NAN),
        other => return fail(other),
    };
    Ok(Some(match op {
        Operator::ToInt => Bson::Int32(as_f64.trunc() as i32),
        Operator::ToLong => Bson::Int64(as_f64.trunc() as i64),
        _ => Bson::Double(as_f64),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn eval(expr: Bson, doc: &Document) -> CmdResult<Option<Bson>> {
        parse(&expr)?.evaluate(&mut Scope::new(doc))
    }

    #[test]
    fn field_paths_look_through_arrays() {
        let d = doc! {"a": [{"b": 1}, {"c": 2}, {"b": 3}], "x": {"y": 5}};
        assert_eq!(
            eval(Bson::String("$a.b".into()), &d).unwrap(),
            Some(Bson::Array(vec![1.into(), 3.into()]))
        );
        assert_eq!(
            eval(Bson::String("$x.y".into()), &d).unwrap(),
            Some(Bson::Int32(5))
        );
        assert_eq!(eval(Bson::String("$nope".into()), &d).unwrap(), None);
    }

    #[test]
    fn arithmetic_and_conditions() {
        let d = doc! {"p": 10, "q": 2.5, "n": null};
        assert_eq!(
            eval(Bson::Document(doc! {"$add": ["$p", 1]}), &d).unwrap(),
            Some(Bson::Int32(11))
        );
        assert_eq!(
            eval(Bson::Document(doc! {"$multiply": ["$p", "$q"]}), &d).unwrap(),
            Some(Bson::Double(25.0))
        );
        assert_eq!(
            eval(Bson::Document(doc! {"$add": ["$p", "$n"]}), &d).unwrap(),
            Some(Bson::Null)
        );
        assert_eq!(
            eval(
                Bson::Document(
                    doc! {"$cond": {"if": {"$gt": ["$p", 5]}, "then": "big", "else": "small"}}
                ),
                &d
            )
            .unwrap(),
            Some(Bson::String("big".into()))
        );
        assert_eq!(
            eval(Bson::Document(doc! {"$ifNull": ["$n", "$missing", 7]}), &d).unwrap(),
            Some(Bson::Int32(7))
        );
        let err = eval(Bson::Document(doc! {"$divide": [1, 0]}), &d).unwrap_err();
        assert!(err.message.contains("divide by zero"));
        let err = eval(Bson::Document(doc! {"$add": ["x", 1]}), &d).unwrap_err();
        assert_eq!(err.code, ErrorCode::TypeMismatch);
    }

    #[test]
    fn unknown_operator_is_code_168() {
        let err = parse(&Bson::Document(doc! {"$frobnicate": 1})).unwrap_err();
        assert_eq!(err.code.code(), 168);
    }

    #[test]
    fn map_filter_reduce_let() {
        let d = doc! {"xs": [1, 2, 3, 4]};
        assert_eq!(
            eval(
                Bson::Document(
                    doc! {"$map": {"input": "$xs", "as": "x", "in": {"$multiply": ["$$x", 10]}}}
                ),
                &d
            )
            .unwrap(),
            Some(Bson::Array(vec![
                10.into(),
                20.into(),
                30.into(),
                40.into()
            ]))
        );
        assert_eq!(
            eval(
                Bson::Document(doc! {"$filter": {"input": "$xs", "cond": {"$gte": ["$$this", 3]}}}),
                &d
            )
            .unwrap(),
            Some(Bson::Array(vec![3.into(), 4.into()]))
        );
        assert_eq!(
            eval(Bson::Document(doc! {"$reduce": {"input": "$xs", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}), &d).unwrap(),
            Some(Bson::Int32(10))
        );
        assert_eq!(
            eval(Bson::Document(doc! {"$let": {"vars": {"k": 2}, "in": {"$multiply": ["$$k", {"$size": "$xs"}]}}}), &d).unwrap(),
            Some(Bson::Int32(8))
        );
    }

    #[test]
    fn field_paths_and_built_values_are_bounded() {
        // `$a...` is read as `CURRENT.a...`: 199 parts are the most.
        let field = |parts: usize| Bson::String(format!("${}", vec!["a"; parts].join(".")));
        assert!(parse(&field(199)).is_ok());
        assert_eq!(parse(&field(200)).unwrap_err().code, ErrorCode::Overflow);
        let var = |parts: usize| Bson::String(format!("$${}", vec!["a"; parts].join(".")));
        assert!(parse(&var(200)).is_ok());
        assert_eq!(parse(&var(201)).unwrap_err().code, ErrorCode::Overflow);
        // An object built deeper than a result may be is refused where it is built.
        let mut deep = doc! {"leaf": 1};
        for _ in 1..199 {
            deep = doc! {"x": deep};
        }
        let d = doc! {"deep": deep};
        let wrapped = eval(Bson::Document(doc! {"w": "$deep"}), &d).unwrap();
        assert_eq!(crate::depth::value_depth(&wrapped.unwrap()), 200);
        let err = eval(Bson::Document(doc! {"w": {"v": "$deep"}}), &d).unwrap_err();
        assert_eq!(err.code, ErrorCode::Overflow);
        let err = eval(Bson::Array(vec![Bson::Array(vec!["$deep".into()])]), &d).unwrap_err();
        assert_eq!(err.code, ErrorCode::Overflow);
    }
}
