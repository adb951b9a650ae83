//! The regular-expression operators: `$regexMatch`, `$regexFind` and `$regexFindAll`,
//! each taking `{input, regex, options}`.
//!
//! Patterns compile with the query language's `$regex` rules (`engine::pcre`), so that
//! a pattern means the same in a filter and in an expression. A match reports its text,
//! its offset in code points (as mongod counts it) and its capture groups, null for a
//! group that took no part. The last pattern compiled is kept per thread: a pipeline
//! evaluates the same pattern for every document.

use std::cell::RefCell;

use bson::{Bson, Document, doc};

use super::{Arity, Eval, OpDef, expr_error, named, type_name};
use crate::engine::pcre::{CompiledRegex, compile_regex};
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$regexMatch",
        arity: Arity::Exactly(1),
        eval: Eval::Values(regex_match),
    },
    OpDef {
        name: "$regexFind",
        arity: Arity::Exactly(1),
        eval: Eval::Values(regex_find),
    },
    OpDef {
        name: "$regexFindAll",
        arity: Arity::Exactly(1),
        eval: Eval::Values(regex_find_all),
    },
];

thread_local! {
    static LAST: RefCell<Option<(String, String, CompiledRegex)>> = const { RefCell::new(None) };
}

/// The input and compiled pattern of `{input, regex, options}`, or `None` when the input
/// or the pattern is null or missing.
fn arguments(op: &OpDef, values: &[Option<Bson>]) -> CmdResult<Option<(String, CompiledRegex)>> {
    let d = named(op, values, &["input", "regex", "options"], (31024, 51103))?;
    let input = match d.get("input") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => None,
        Some(Bson::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(expr_error(
                51104,
                format!(
                    "{} needs 'input' to be of type string, found: {}",
                    op.name,
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    let options = match d.get("options") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => None,
        Some(Bson::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(expr_error(
                51106,
                format!(
                    "{} needs 'options' to be of type string, found: {}",
                    op.name,
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    let (pattern, options) = match d.get("regex") {
        None | Some(Bson::Null) | Some(Bson::Undefined) => return Ok(None),
        Some(Bson::String(s)) => (s.clone(), options.unwrap_or_default()),
        Some(Bson::RegularExpression(re)) => {
            let flags = re.options.as_str().to_string();
            match options {
                Some(o) if !o.is_empty() && !flags.is_empty() => {
                    return Err(expr_error(
                        51107,
                        format!(
                            "{} found regex option(s) specified in both 'regex' and 'option' fields",
                            op.name
                        ),
                    ));
                }
                Some(o) if !o.is_empty() => (re.pattern.as_str().to_string(), o),
                _ => (re.pattern.as_str().to_string(), flags),
            }
        }
        Some(other) => {
            return Err(expr_error(
                51105,
                format!(
                    "{} needs 'regex' to be of type string or regex, found: {}",
                    op.name,
                    type_name(&Some(other.clone()))
                ),
            ));
        }
    };
    if pattern.contains('\0') {
        return Err(expr_error(
            51109,
            format!(
                "{}: regular expression cannot contain an embedded null byte",
                op.name
            ),
        ));
    }
    let Some(input) = input else {
        // The pattern is still checked, as mongod does, before a null input gives null.
        compiled(&pattern, &options)?;
        return Ok(None);
    };
    Ok(Some((input, compiled(&pattern, &options)?)))
}

fn compiled(pattern: &str, options: &str) -> CmdResult<CompiledRegex> {
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((p, o, re)) = last.as_ref()
            && p == pattern
            && o == options
        {
            return Ok(re.clone());
        }
        let re = compile_regex(pattern, options)?;
        *last = Some((pattern.to_string(), options.to_string(), re.clone()));
        Ok(re)
    })
}

/// The matches of `re` in `input`, at most `limit`: `{match, idx, captures}` each.
fn matches(re: &CompiledRegex, input: &str, limit: usize) -> Vec<Document> {
    let mut found = Vec::new();
    let mut start = 0;
    while found.len() < limit && start <= input.len() {
        let Some(caps) = re.regex.captures_at(input, start) else {
            break;
        };
        let Some(whole) = caps.get(0) else {
            break;
        };
        let captures: Vec<Bson> = caps
            .iter()
            .skip(1)
            .map(|g| g.map_or(Bson::Null, |m| Bson::String(m.as_str().to_string())))
            .collect();
        let idx = input[..whole.start()].chars().count();
        found.push(doc! {
            "match": whole.as_str(),
            "idx": i32::try_from(idx).unwrap_or(i32::MAX),
            "captures": captures,
        });
        // After an empty match, the next search starts one character further on.
        start = if whole.end() > whole.start() {
            whole.end()
        } else {
            match input[whole.end()..].chars().next() {
                Some(c) => whole.end() + c.len_utf8(),
                None => break,
            }
        };
    }
    found
}

fn regex_match(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Boolean(match arguments(op, &values)? {
        Some((input, re)) => re.regex.is_match(&input),
        None => false,
    })))
}

fn regex_find(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match arguments(op, &values)? {
        Some((input, re)) => matches(&re, &input, 1)
            .pop()
            .map_or(Bson::Null, Bson::Document),
        None => Bson::Null,
    }))
}

fn regex_find_all(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Array(match arguments(op, &values)? {
        Some((input, re)) => matches(&re, &input, usize::MAX)
            .into_iter()
            .map(Bson::Document)
            .collect(),
        None => Vec::new(),
    })))
}
