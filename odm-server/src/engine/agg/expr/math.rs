//! The mathematical functions: `$exp $ln $log $log10`, trigonometry (`$sin` ... `$atanh`,
//! `$atan2`), `$degreesToRadians`/`$radiansToDegrees`, and `$rand`.
//!
//! Null and missing give null, NaN gives NaN, and any other number gives a double (a
//! decimal argument gives a decimal, computed through a double). A value outside a
//! function's domain is refused with mongod's code, never turned into NaN.

use bson::{Bson, Decimal128};

use super::{Arity, Eval, OpDef, expr_error, nullish, operand, type_name};
use crate::engine::arith;
use crate::error::CmdResult;

/// One function of one number, and the interval it is defined on (as mongod words it).
struct Unary {
    name: &'static str,
    f: fn(f64) -> f64,
    domain: fn(f64) -> bool,
    shown: &'static str,
}

const UNARY: &[Unary] = &[
    Unary {
        name: "$sin",
        f: f64::sin,
        domain: f64::is_finite,
        shown: "(-inf,inf)",
    },
    Unary {
        name: "$cos",
        f: f64::cos,
        domain: f64::is_finite,
        shown: "(-inf,inf)",
    },
    Unary {
        name: "$tan",
        f: f64::tan,
        domain: f64::is_finite,
        shown: "(-inf,inf)",
    },
    Unary {
        name: "$asin",
        f: f64::asin,
        domain: within_one,
        shown: "[-1,1]",
    },
    Unary {
        name: "$acos",
        f: f64::acos,
        domain: within_one,
        shown: "[-1,1]",
    },
    Unary {
        name: "$atan",
        f: f64::atan,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$sinh",
        f: f64::sinh,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$cosh",
        f: f64::cosh,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$tanh",
        f: f64::tanh,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$asinh",
        f: f64::asinh,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$acosh",
        f: f64::acosh,
        domain: at_least_one,
        shown: "[1,inf]",
    },
    Unary {
        name: "$atanh",
        f: f64::atanh,
        domain: within_one,
        shown: "[-1,1]",
    },
    Unary {
        name: "$degreesToRadians",
        f: f64::to_radians,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$radiansToDegrees",
        f: f64::to_degrees,
        domain: anything,
        shown: "[-inf,inf]",
    },
    Unary {
        name: "$exp",
        f: f64::exp,
        domain: anything,
        shown: "[-inf,inf]",
    },
];

fn within_one(x: f64) -> bool {
    (-1.0..=1.0).contains(&x)
}

fn at_least_one(x: f64) -> bool {
    x >= 1.0
}

fn anything(_: f64) -> bool {
    true
}

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$sin",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$cos",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$tan",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$asin",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$acos",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$atan",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$sinh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$cosh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$tanh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$asinh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$acosh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$atanh",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$degreesToRadians",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$radiansToDegrees",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$exp",
        arity: Arity::Exactly(1),
        eval: Eval::Values(unary),
    },
    OpDef {
        name: "$atan2",
        arity: Arity::Exactly(2),
        eval: Eval::Values(atan2),
    },
    OpDef {
        name: "$ln",
        arity: Arity::Exactly(1),
        eval: Eval::Values(ln),
    },
    OpDef {
        name: "$log10",
        arity: Arity::Exactly(1),
        eval: Eval::Values(log10),
    },
    OpDef {
        name: "$log",
        arity: Arity::Exactly(2),
        eval: Eval::Values(log),
    },
    OpDef {
        name: "$rand",
        arity: Arity::Exactly(1),
        eval: Eval::Values(rand_double),
    },
];

/// `{$rand: {}}`: a double from 0 (included) to 1 (excluded), new for every evaluation.
fn rand_double(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    match operand(op, &values, 0)? {
        Some(Bson::Document(d)) if d.is_empty() => Ok(Some(Bson::Double(rand::random::<f64>()))),
        other => Err(expr_error(
            3040501,
            format!("$rand not expecting arguments: {}", type_name(other)),
        )),
    }
}

/// A numeric argument as a double, and whether it was a decimal (the result is one too);
/// `None` for null or missing.
fn number(op: &OpDef, v: &Option<Bson>, code: i32, what: &str) -> CmdResult<Option<(f64, bool)>> {
    match v {
        v if nullish(v) => Ok(None),
        Some(n) if arith::is_number(n) => Ok(Some((
            arith::to_f64(n).unwrap_or(f64::NAN),
            matches!(n, Bson::Decimal128(_)),
        ))),
        other => Err(expr_error(
            code,
            format!("{} {what}, not {}", op.name, type_name(other)),
        )),
    }
}

fn result(x: f64, decimal: bool) -> Bson {
    if decimal {
        let text = if x.is_nan() {
            "NaN".to_string()
        } else if x.is_infinite() {
            if x > 0.0 {
                "Infinity".into()
            } else {
                "-Infinity".into()
            }
        } else {
            format!("{x:e}")
        };
        text.parse::<Decimal128>()
            .map(Bson::Decimal128)
            .unwrap_or(Bson::Double(x))
    } else {
        Bson::Double(x)
    }
}

fn unary(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let Some(def) = UNARY.iter().find(|u| u.name == op.name) else {
        return Err(super::broken_invariant(op, "not a one-number function"));
    };
    let Some((x, decimal)) = number(
        op,
        operand(op, &values, 0)?,
        28765,
        "only supports numeric types",
    )?
    else {
        return Ok(Some(Bson::Null));
    };
    if !x.is_nan() && !(def.domain)(x) {
        return Err(expr_error(
            50989,
            format!(
                "cannot apply {} to {x}, value must be in {}",
                op.name, def.shown
            ),
        ));
    }
    Ok(Some(result((def.f)(x), decimal)))
}

fn atan2(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let y = number(
        op,
        operand(op, &values, 0)?,
        51044,
        "only supports numeric types",
    )?;
    let x = number(
        op,
        operand(op, &values, 1)?,
        51045,
        "only supports numeric types",
    )?;
    Ok(Some(match (y, x) {
        (Some((y, dy)), Some((x, dx))) => result(y.atan2(x), dy || dx),
        _ => Bson::Null,
    }))
}

fn positive(
    op: &OpDef,
    values: &[Option<Bson>],
    type_code: i32,
    domain_code: i32,
) -> CmdResult<Option<(f64, bool)>> {
    let Some((x, decimal)) = number(
        op,
        operand(op, values, 0)?,
        type_code,
        "only supports numeric types",
    )?
    else {
        return Ok(None);
    };
    if !x.is_nan() && x <= 0.0 {
        return Err(expr_error(
            domain_code,
            format!(
                "{}'s argument must be a positive number, but is {x}",
                op.name
            ),
        ));
    }
    Ok(Some((x, decimal)))
}

fn ln(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match positive(op, &values, 28765, 28766)? {
        Some((x, decimal)) => result(x.ln(), decimal),
        None => Bson::Null,
    }))
}

fn log10(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    Ok(Some(match positive(op, &values, 28765, 28761)? {
        Some((x, decimal)) => result(x.log10(), decimal),
        None => Bson::Null,
    }))
}

fn log(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let x = number(
        op,
        operand(op, &values, 0)?,
        28756,
        "'s argument must be numeric",
    )?;
    let base = number(
        op,
        operand(op, &values, 1)?,
        28757,
        "'s base must be numeric",
    )?;
    let (Some((x, dx)), Some((b, db))) = (x, base) else {
        return Ok(Some(Bson::Null));
    };
    if !x.is_nan() && x <= 0.0 {
        return Err(expr_error(
            28758,
            format!("$log's argument must be a positive number, but is {x}"),
        ));
    }
    if !b.is_nan() && (b <= 0.0 || b == 1.0) {
        return Err(expr_error(
            28759,
            format!("$log's base must be a positive number not equal to 1, but is {b}"),
        ));
    }
    Ok(Some(result(x.ln() / b.ln(), dx || db)))
}

#[cfg(test)]
mod tests {
    use bson::{Document, doc};

    use std::f64::consts::PI;

    use super::super::{Scope, parse};
    use super::*;

    fn eval(e: Document) -> CmdResult<Option<Bson>> {
        parse(&Bson::Document(e))?.evaluate(&mut Scope::new(&doc! {"x": 0.5, "s": "a"}))
    }

    #[test]
    fn functions_domains_and_nulls() {
        assert_eq!(eval(doc! {"$sin": 0}).unwrap(), Some(Bson::Double(0.0)));
        assert_eq!(
            eval(doc! {"$radiansToDegrees": PI}).unwrap(),
            Some(Bson::Double(180.0))
        );
        assert_eq!(
            eval(doc! {"$log": [100, 10]}).unwrap(),
            Some(Bson::Double(2.0))
        );
        assert_eq!(eval(doc! {"$ln": null}).unwrap(), Some(Bson::Null));
        assert_eq!(
            eval(doc! {"$atan2": [1, 1]}).unwrap(),
            Some(Bson::Double(PI / 4.0))
        );
        for (e, code) in [
            (doc! {"$asin": 2}, 50989),
            (doc! {"$sin": f64::INFINITY}, 50989),
            (doc! {"$acosh": 0.5}, 50989),
            (doc! {"$ln": 0}, 28766),
            (doc! {"$log10": -1}, 28761),
            (doc! {"$log": [8, 1]}, 28759),
            (doc! {"$cos": "$s"}, 28765),
        ] {
            assert_eq!(eval(e.clone()).unwrap_err().code.code(), code, "{e}");
        }
    }
}
