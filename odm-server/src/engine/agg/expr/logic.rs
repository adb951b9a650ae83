//! The logical operators: `$and`, `$or`, `$not` and `$ifNull`.
//!
//! `$and` and `$or` evaluate their own arguments, left to right, and stop at the first
//! that decides the answer, so that an argument after it is never evaluated (nor can it
//! fail). `$ifNull` gets all of its arguments evaluated before it looks at any, so an
//! error in a later one fails it even when an earlier one is not null.

use bson::Bson;

use super::{
    Arity, Eval, Expression, OpDef, Scope, broken_invariant, expr_error, nullish, operand, truthy,
};
use crate::error::{CmdResult, CommandError};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$and",
        arity: Arity::Any,
        eval: Eval::Lazy(and),
    },
    OpDef {
        name: "$or",
        arity: Arity::Any,
        eval: Eval::Lazy(or),
    },
    OpDef {
        name: "$not",
        arity: Arity::Exactly(1),
        eval: Eval::Values(not),
    },
    OpDef {
        name: "$ifNull",
        arity: Arity::AtLeast(2, if_null_too_few),
        eval: Eval::Values(if_null),
    },
];

fn and(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    for a in args {
        if !truthy(a.evaluate(scope)?.as_ref()) {
            return Ok(Some(Bson::Boolean(false)));
        }
    }
    Ok(Some(Bson::Boolean(true)))
}

fn or(args: &[Expression], scope: &mut Scope<'_>) -> CmdResult<Option<Bson>> {
    for a in args {
        if truthy(a.evaluate(scope)?.as_ref()) {
            return Ok(Some(Bson::Boolean(true)));
        }
    }
    Ok(Some(Bson::Boolean(false)))
}

fn not(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(Bson::Boolean(!truthy(
        operand(op, &values, 0)?.as_ref(),
    ))))
}

/// The first argument that is neither null nor missing, else the last (whatever it is).
fn if_null(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let (last, candidates) = values
        .split_last()
        .ok_or_else(|| broken_invariant(op, "evaluated without arguments"))?;
    for v in candidates {
        if !nullish(v) {
            return Ok(v.clone());
        }
    }
    Ok(last.clone())
}

/// mongod's own wording (and code) for `$ifNull`, unlike the other operators' arity.
fn if_null_too_few(n: usize) -> CommandError {
    expr_error(
        1257300,
        format!("$ifNull needs at least two arguments, had: {n}"),
    )
}
