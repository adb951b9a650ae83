//! The arithmetic operators: `$add`, `$subtract`, `$multiply`, `$divide`, `$mod`,
//! `$abs`, `$ceil`, `$floor`, `$round`, `$trunc`, `$sqrt` and `$pow`.
//!
//! They share how an operand is read (a number, or null/missing for a null result) and
//! how a result keeps its operands' type: integers stay integers while they fit,
//! decimals stay decimal, and mongod's error code for a non-number depends on the
//! operator, so each one says which it gives.

use bson::{Bson, DateTime};

use super::{Arity, Eval, OpDef, broken_invariant, expr_error, nullish, operand, type_name};
use crate::engine::arith::{self, Op, Outcome};
use crate::engine::compare::decimal_to_f64;
use crate::engine::decimal_arith::{Dec, Rounding};
use crate::error::{CmdResult, CommandError};

pub(super) const OPS: &[OpDef] = &[
    OpDef {
        name: "$add",
        arity: Arity::Any,
        eval: Eval::Values(add),
    },
    OpDef {
        name: "$subtract",
        arity: Arity::Exactly(2),
        eval: Eval::Values(subtract),
    },
    OpDef {
        name: "$multiply",
        arity: Arity::Any,
        eval: Eval::Values(multiply),
    },
    OpDef {
        name: "$divide",
        arity: Arity::Exactly(2),
        eval: Eval::Values(divide),
    },
    OpDef {
        name: "$mod",
        arity: Arity::Exactly(2),
        eval: Eval::Values(modulo),
    },
    OpDef {
        name: "$abs",
        arity: Arity::Exactly(1),
        eval: Eval::Values(abs),
    },
    OpDef {
        name: "$ceil",
        arity: Arity::Exactly(1),
        eval: Eval::Values(ceil),
    },
    OpDef {
        name: "$floor",
        arity: Arity::Exactly(1),
        eval: Eval::Values(floor),
    },
    OpDef {
        name: "$round",
        arity: Arity::Range(1, 2),
        eval: Eval::Values(round),
    },
    OpDef {
        name: "$trunc",
        arity: Arity::Range(1, 2),
        eval: Eval::Values(trunc),
    },
    OpDef {
        name: "$sqrt",
        arity: Arity::Exactly(1),
        eval: Eval::Values(sqrt),
    },
    OpDef {
        name: "$pow",
        arity: Arity::Exactly(2),
        eval: Eval::Values(pow),
    },
];

/// `value` if it is a number, `None` if it is null or missing, or the error `refuse`
/// makes of anything else.
fn numeric(
    value: &Option<Bson>,
    refuse: impl FnOnce(&Option<Bson>) -> CommandError,
) -> CmdResult<Option<&Bson>> {
    match value {
        v if nullish(v) => Ok(None),
        Some(n) if arith::is_number(n) => Ok(Some(n)),
        other => Err(refuse(other)),
    }
}

fn not_numeric(op: &OpDef, value: &Option<Bson>) -> String {
    format!(
        "{} only supports numeric types, not {}",
        op.name,
        type_name(value)
    )
}

/// Both arguments of a binary operator as numbers, `None` if either is null or missing.
/// The first is refused before the second is looked at, as mongod does.
fn numeric_pair<'v>(
    op: &OpDef,
    values: &'v [Option<Bson>],
    refuse_first: impl FnOnce(&Option<Bson>) -> CommandError,
    refuse_second: impl FnOnce(&Option<Bson>) -> CommandError,
) -> CmdResult<Option<(&'v Bson, &'v Bson)>> {
    let first = numeric(operand(op, values, 0)?, refuse_first)?;
    let second = numeric(operand(op, values, 1)?, refuse_second)?;
    Ok(first.zip(second))
}

/// The only argument of `$abs`, `$ceil`, `$floor` and `$sqrt` (all refuse with 28765).
fn unary_operand<'v>(op: &OpDef, values: &'v [Option<Bson>]) -> CmdResult<Option<&'v Bson>> {
    numeric(operand(op, values, 0)?, |v| {
        expr_error(28765, not_numeric(op, v))
    })
}

fn float(op: &OpDef, n: &Bson) -> CmdResult<f64> {
    arith::to_f64(n).ok_or_else(|| broken_invariant(op, "a number has no double value"))
}

fn decimal(op: &OpDef, n: &Bson) -> CmdResult<Dec> {
    arith::to_dec(n).ok_or_else(|| broken_invariant(op, "a number has no decimal value"))
}

fn is_decimal(n: &Bson) -> bool {
    matches!(n, Bson::Decimal128(_))
}

fn add(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    sum_or_product(op, &values, Op::Add)
}

fn multiply(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    sum_or_product(op, &values, Op::Multiply)
}

/// `$add` and `$multiply`: int64 overflow goes on in doubles; `$add` also takes one date,
/// which the numbers then move by milliseconds.
fn sum_or_product(op: &OpDef, values: &[Option<Bson>], arith_op: Op) -> CmdResult<Option<Bson>> {
    let adding = arith_op == Op::Add;
    let mut acc = Bson::Int32(if adding { 0 } else { 1 });
    let mut date: Option<i64> = None;
    for v in values {
        match v {
            v if nullish(v) => return Ok(Some(Bson::Null)),
            Some(Bson::DateTime(d)) if adding => {
                if date.is_some() {
                    return Err(expr_error(
                        16612,
                        "only one date allowed in an $add expression",
                    ));
                }
                date = Some(d.timestamp_millis());
            }
            Some(n) if arith::is_number(n) => {
                let outcome = arith::apply(arith_op, &acc, n)
                    .ok_or_else(|| broken_invariant(op, "operands are not both numbers"))?;
                acc = match outcome {
                    Outcome::Value(v) => v,
                    Outcome::Overflow => {
                        let (x, y) = (
                            arith::to_f64(&acc).unwrap_or(0.0),
                            arith::to_f64(n).unwrap_or(0.0),
                        );
                        Bson::Double(if adding { x + y } else { x * y })
                    }
                };
            }
            other => {
                return Err(CommandError::type_mismatch(format!(
                    "{} only supports numeric or date types, not {}",
                    op.name,
                    type_name(other)
                )));
            }
        }
    }
    Ok(Some(match date {
        Some(ms) => moved_date(op, ms, arith::to_f64(&acc).unwrap_or(0.0))?,
        None => acc,
    }))
}

/// A date moved by `delta` milliseconds; a move past what a date holds (or by an
/// infinite or NaN amount) is an overflow, as mongod reports it.
fn moved_date(op: &OpDef, ms: i64, delta: f64) -> CmdResult<Bson> {
    let delta = delta.round();
    // The limits of i64 as doubles: beyond them no date can result.
    if !delta.is_finite() || delta.abs() >= 9.223_372_036_854_776e18 {
        return Err(date_overflow(op));
    }
    ms.checked_add(delta as i64)
        .map(|t| Bson::DateTime(DateTime::from_millis(t)))
        .ok_or_else(|| date_overflow(op))
}

fn date_overflow(op: &OpDef) -> CommandError {
    CommandError::new(
        crate::error::ErrorCode::Overflow,
        format!("date overflow in {}", op.name),
    )
}

fn subtract(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let (a, b) = (operand(op, &values, 0)?, operand(op, &values, 1)?);
    Ok(Some(match (a, b) {
        (a, b) if nullish(a) || nullish(b) => Bson::Null,
        (Some(Bson::DateTime(a)), Some(Bson::DateTime(b))) => Bson::Int64(
            a.timestamp_millis()
                .checked_sub(b.timestamp_millis())
                .ok_or_else(|| date_overflow(op))?,
        ),
        (Some(Bson::DateTime(a)), Some(n)) if arith::is_number(n) => {
            moved_date(op, a.timestamp_millis(), -arith::to_f64(n).unwrap_or(0.0))?
        }
        (Some(x), Some(y)) if arith::is_number(x) && arith::is_number(y) => {
            match arith::apply(Op::Subtract, x, y)
                .ok_or_else(|| broken_invariant(op, "operands are not both numbers"))?
            {
                Outcome::Value(v) => v,
                Outcome::Overflow => {
                    Bson::Double(arith::to_f64(x).unwrap_or(0.0) - arith::to_f64(y).unwrap_or(0.0))
                }
            }
        }
        (a, b) => {
            return Err(CommandError::type_mismatch(format!(
                "can't $subtract {} from {}",
                type_name(b),
                type_name(a)
            )));
        }
    }))
}

/// A decimal operand makes a decimal; anything else divides as doubles.
fn divide(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let refuse = |v: &Option<Bson>| CommandError::type_mismatch(not_numeric(op, v));
    let Some((p, q)) = numeric_pair(op, &values, refuse, refuse)? else {
        return Ok(Some(Bson::Null));
    };
    let by_zero = || expr_error(2, "can't $divide by zero");
    if is_decimal(p) || is_decimal(q) {
        // A decimal divisor as small as 1E-6000 is a double 0.0 but not zero.
        let (x, y) = (decimal(op, p)?, decimal(op, q)?);
        if y.is_zero() {
            return Err(by_zero());
        }
        return Ok(Some(Bson::Decimal128(x.divide(&y).to_decimal128())));
    }
    let (a, b) = (float(op, p)?, float(op, q)?);
    if b == 0.0 {
        return Err(by_zero());
    }
    Ok(Some(Bson::Double(a / b)))
}

/// The wider type wins: decimal, then double, then long, then int.
fn modulo(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let refuse = |_: &Option<Bson>| {
        expr_error(
            16611,
            format!(
                "{} only supports numeric types, not {} and {}",
                op.name,
                type_name(values.first().unwrap_or(&None)),
                type_name(values.get(1).unwrap_or(&None))
            ),
        )
    };
    let Some((p, q)) = numeric_pair(op, &values, refuse, refuse)? else {
        return Ok(Some(Bson::Null));
    };
    let by_zero = || expr_error(16610, "can't $mod by zero");
    if is_decimal(p) || is_decimal(q) {
        let (x, y) = (decimal(op, p)?, decimal(op, q)?);
        if y.is_zero() {
            return Err(by_zero());
        }
        return Ok(Some(Bson::Decimal128(x.remainder(&y).to_decimal128())));
    }
    let (a, b) = (float(op, p)?, float(op, q)?);
    if b == 0.0 {
        return Err(by_zero());
    }
    let either = |f: fn(&Bson) -> bool| f(p) || f(q);
    if either(|v| matches!(v, Bson::Double(_))) {
        return Ok(Some(Bson::Double(a % b)));
    }
    let (Some(x), Some(y)) = (arith::to_i64_exact(p), arith::to_i64_exact(q)) else {
        return Ok(Some(Bson::Double(a % b)));
    };
    let r = x.wrapping_rem(y);
    Ok(Some(if either(|v| matches!(v, Bson::Int64(_))) {
        Bson::Int64(r)
    } else {
        Bson::Int32(r as i32)
    }))
}

fn pow(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let Some((p, q)) = numeric_pair(
        op,
        &values,
        |v| {
            expr_error(
                28762,
                format!("$pow's base must be numeric, not {}", type_name(v)),
            )
        },
        |v| {
            expr_error(
                28763,
                format!("$pow's exponent must be numeric, not {}", type_name(v)),
            )
        },
    )?
    else {
        return Ok(Some(Bson::Null));
    };
    power(p, q, float(op, p)?, float(op, q)?).map(Some)
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
    if is_decimal(base) || is_decimal(exponent) {
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

/// Decimals are exact, as mongod's decimal operations are.
fn abs(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let Some(original) = unary_operand(op, &values)? else {
        return Ok(Some(Bson::Null));
    };
    match original {
        Bson::Decimal128(d) => Ok(Some(Bson::Decimal128(
            Dec::from_decimal128(d).abs().to_decimal128(),
        ))),
        Bson::Int64(i64::MIN) => Err(expr_error(28680, "can't take $abs of long long min")),
        _ => Ok(Some(same_numeric_type(
            original,
            float(op, original)?.abs(),
        ))),
    }
}

fn ceil(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    to_integral(op, &values, Rounding::Ceiling, f64::ceil)
}

fn floor(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    to_integral(op, &values, Rounding::Floor, f64::floor)
}

/// `$ceil` and `$floor`: exact on decimals, as mongod's decimal operations are.
fn to_integral(
    op: &OpDef,
    values: &[Option<Bson>],
    mode: Rounding,
    on_double: fn(f64) -> f64,
) -> CmdResult<Option<Bson>> {
    let Some(original) = unary_operand(op, values)? else {
        return Ok(Some(Bson::Null));
    };
    if let Bson::Decimal128(d) = original {
        let r = Dec::from_decimal128(d).to_integral(mode);
        return Ok(Some(Bson::Decimal128(r.to_decimal128())));
    }
    Ok(Some(same_numeric_type(
        original,
        on_double(float(op, original)?),
    )))
}

fn sqrt(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    let Some(original) = unary_operand(op, &values)? else {
        return Ok(Some(Bson::Null));
    };
    let x = float(op, original)?;
    if x < 0.0 {
        return Err(expr_error(
            28714,
            "$sqrt's argument must be greater than or equal to 0",
        ));
    }
    // A decimal's root goes through a double (15 digits; mongod's is exact).
    Ok(Some(if is_decimal(original) {
        arith::decimal_from_f64(x.sqrt())
    } else {
        Bson::Double(x.sqrt())
    }))
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

fn round(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    round_or_trunc(op, &values, Rounding::HalfEven)
}

fn trunc(op: &OpDef, values: Vec<Option<Bson>>) -> CmdResult<Option<Bson>> {
    round_or_trunc(op, &values, Rounding::TowardZero)
}

/// `$round` and `$trunc`, as mongod computes them: at a decimal place from -20 to 100,
/// by quantizing a decimal128 (a double goes through its 34-digit decimal and back, so
/// `2.675` rounds to `2.67`: its binary value is just below the tie).
fn round_or_trunc(op: &OpDef, values: &[Option<Bson>], mode: Rounding) -> CmdResult<Option<Bson>> {
    let name = op.name;
    let Some(number) = numeric(operand(op, values, 0)?, |v| {
        expr_error(51081, not_numeric(op, v))
    })?
    .cloned() else {
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
            let i = arith::to_i64_exact(&integer)
                .ok_or_else(|| broken_invariant(op, "an integer has no i64 value"))?;
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
