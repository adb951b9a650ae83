//! The accumulators as expressions over an array (or over their arguments): `$sum`,
//! `$avg`, `$min`, `$max`, `$stdDevPop`, `$stdDevSamp`, and `$median`/`$percentile`
//! with their `{input, p, method}` argument.
//!
//! They fold with `$group`'s accumulators, so that an expression and a group stage
//! agree on every type and overflow rule.

use bson::Bson;

use super::{Arity, Eval, OpDef, named};
use crate::engine::agg::accumulate::{Accumulator, AccumulatorKind, Method, percentiles_of};
use crate::engine::arith;
use crate::error::{CmdResult, CommandError, ErrorCode};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$sum",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$avg",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$min",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$max",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$stdDevPop",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$stdDevSamp",
        arity: Arity::Any,
        eval: Eval::Values(fold),
    },
    OpDef {
        name: "$median",
        arity: Arity::Exactly(1),
        eval: Eval::Values(quantiles),
    },
    OpDef {
        name: "$percentile",
        arity: Arity::Exactly(1),
        eval: Eval::Values(quantiles),
    },
];

/// One array argument means "over its elements"; several arguments, over them (missing
/// ones left out).
fn fold(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let Some(kind) = AccumulatorKind::from_name(op.name) else {
        return Err(super::broken_invariant(op, "is no accumulator"));
    };
    let items: Vec<Bson> = match values.as_slice() {
        [Some(Bson::Array(items))] => items.clone(),
        _ => values.into_iter().flatten().collect(),
    };
    let mut acc = Accumulator::new(kind);
    for i in items {
        acc.add(Some(i))?;
    }
    Ok(Some(acc.finish()))
}

/// `{input, p, method}`: a number is every percentile of itself; an array's numbers are
/// ranked (the discrete method stands for `approximate`, as mongod's expression does);
/// anything else has no percentiles (null).
fn quantiles(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let median = op.name == "$median";
    let allowed: &[&str] = if median {
        &["input", "method"]
    } else {
        &["input", "p", "method"]
    };
    let d = named(
        op,
        &values,
        allowed,
        (40415, if median { 7436201 } else { 7436200 }),
    )?;
    let missing = |f: &str| {
        CommandError::new(
            ErrorCode::Location(40414),
            format!(
                "BSON field '{}.{f}' is missing but a required field",
                op.name
            ),
        )
    };
    let method = Method::parse(d.get("method").ok_or_else(|| missing("method"))?)?;
    let ps = if median {
        vec![0.5]
    } else {
        crate::engine::agg::accumulate::parse_ps(d.get("p").ok_or_else(|| missing("p"))?)?
    };
    let input = d.get("input").ok_or_else(|| missing("input"))?;
    let found = match input {
        n if arith::is_number(n) => Some(vec![arith::to_f64(n).unwrap_or(f64::NAN); ps.len()]),
        Bson::Array(items) => {
            let mut xs: Vec<f64> = items
                .iter()
                .filter(|v| arith::is_number(v))
                .filter_map(arith::to_f64)
                .filter(|x| !x.is_nan())
                .collect();
            let method = if method == Method::Continuous {
                Method::Continuous
            } else {
                Method::Discrete
            };
            percentiles_of(&mut xs, &ps, method)
        }
        _ => None,
    };
    Ok(Some(match (median, found) {
        (true, Some(v)) => v.first().map_or(Bson::Null, |x| Bson::Double(*x)),
        (true, None) => Bson::Null,
        (false, Some(v)) => Bson::Array(v.into_iter().map(Bson::Double).collect()),
        (false, None) => Bson::Array(vec![Bson::Null; ps.len()]),
    }))
}
