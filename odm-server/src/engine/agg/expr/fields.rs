//! The field operators, for names a path cannot spell (with `.` or a leading `$`, as
//! MongoDB 5.0 allows them): `$getField`, `$setField`, `$unsetField`.
//!
//! ```text
//! {$getField: "name"} | {$getField: {field: "name", input?: <expression>}}
//! {$setField: {field: "name", input: <expression>, value: <expression> | "$$REMOVE"}}
//! {$unsetField: {field: "name", input: <expression>}}
//! ```
//!
//! `input` defaults to the current document for `$getField`. A null or missing input
//! gives null; an input that is not a document is refused.

use bson::{Bson, Document};

use super::{Arity, Eval, Expression, OpDef, Scope, expr_error, nullish, type_name};
use crate::error::CmdResult;

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$getField",
        arity: Arity::Exactly(1),
        eval: Eval::Lazy(get_field),
    },
    OpDef {
        name: "$setField",
        arity: Arity::Exactly(1),
        eval: Eval::Lazy(set_field),
    },
    OpDef {
        name: "$unsetField",
        arity: Arity::Exactly(1),
        eval: Eval::Lazy(unset_field),
    },
];

/// The operator's arguments: the field name, the input (the current document when not
/// given and `default_input`), and `value` as given (missing when absent or `$$REMOVE`).
struct Spec {
    field: String,
    input: Option<Bson>,
    value: Option<Bson>,
}

fn spec(
    name: &str,
    args: &[Expression],
    scope: &mut Scope<'_>,
    default_input: bool,
) -> CmdResult<Spec> {
    let arg = args
        .first()
        .map(|a| a.evaluate(scope))
        .transpose()?
        .flatten();
    let (field, input, value) = match arg {
        Some(Bson::String(field)) if default_input => (Some(Bson::String(field)), None, None),
        Some(Bson::Document(mut d)) => {
            if let Some(unknown) = d
                .keys()
                .find(|k| !matches!(k.as_str(), "field" | "input" | "value"))
            {
                return Err(expr_error(
                    3041701,
                    format!("{name} found an unknown argument: {unknown}"),
                ));
            }
            (d.remove("field"), d.remove("input"), d.remove("value"))
        }
        _ => (None, None, None),
    };
    let field = match field {
        Some(Bson::String(f)) => f,
        other => {
            return Err(expr_error(
                5654602,
                format!(
                    "{name} requires 'field' to evaluate to type String, but got {}",
                    type_name(&other)
                ),
            ));
        }
    };
    let input = match input {
        Some(v) => Some(v),
        None if default_input => Some(Bson::Document(scope.root.clone())),
        None => None,
    };
    Ok(Spec {
        field,
        input,
        value,
    })
}

/// The input as a document; `None` for null or missing.
fn input_document(name: &str, input: Option<Bson>) -> CmdResult<Option<Document>> {
    match input {
        v if nullish(&v) => Ok(None),
        Some(Bson::Document(d)) => Ok(Some(d)),
        other => Err(expr_error(
            3041704,
            format!(
                "{name} requires 'input' to evaluate to type Object, but got {}",
                type_name(&other)
            ),
        )),
    }
}

fn get_field(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let s = spec("$getField", args, scope, true)?;
    Ok(match input_document("$getField", s.input)? {
        None => Some(Bson::Null),
        Some(d) => d.get(&s.field).cloned(),
    })
}

fn set_field(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let s = spec("$setField", args, scope, false)?;
    changed("$setField", s.field, s.input, s.value)
}

fn unset_field(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    let s = spec("$unsetField", args, scope, false)?;
    changed("$unsetField", s.field, s.input, None)
}

/// The input with `field` set to `value`, or removed when there is none.
fn changed(
    name: &str,
    field: String,
    input: Option<Bson>,
    value: Option<Bson>,
) -> CmdResult<Option<Bson>> {
    let Some(mut d) = input_document(name, input)? else {
        return Ok(Some(Bson::Null));
    };
    match value {
        Some(v) => {
            d.insert(field, v);
        }
        None => {
            d.remove(&field);
        }
    }
    Ok(Some(Bson::Document(d)))
}
