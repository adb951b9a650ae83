//! Arithmetic on BSON numbers with MongoDB's type promotion.
//!
//! int32 op int32 stays int32 unless it overflows (then int64); int64 stays int64 unless
//! it overflows; any double makes a double; any decimal128 makes a decimal128, computed
//! exactly by [`super::decimal_arith`]. What an
//! int64 overflow becomes differs by caller: aggregation falls back to double, update
//! operators refuse the write. So the int64 case reports the overflow and lets the
//! caller choose.

use bson::Bson;

use super::compare::{Number, decimal_to_f64};
use super::decimal_arith::Dec;

/// The four operations update operators and expressions share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Subtract,
    Multiply,
}

/// The result of an operation, or `Overflow` when int64 arithmetic overflowed.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Value(Bson),
    Overflow,
}

fn i64_op(op: Op, a: i64, b: i64) -> Option<i64> {
    match op {
        Op::Add => a.checked_add(b),
        Op::Subtract => a.checked_sub(b),
        Op::Multiply => a.checked_mul(b),
    }
}

fn f64_op(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Subtract => a - b,
        Op::Multiply => a * b,
    }
}

/// `a op b` for two numbers (`None` if either is not a number).
pub fn apply(op: Op, a: &Bson, b: &Bson) -> Option<Outcome> {
    let (x, y) = (Number::from_bson(a)?, Number::from_bson(b)?);
    Some(match (a, b) {
        (Bson::Int32(p), Bson::Int32(q)) => {
            let wide = i64_op(op, i64::from(*p), i64::from(*q)).expect("i32 results fit in i64");
            Outcome::Value(match i32::try_from(wide) {
                Ok(n) => Bson::Int32(n),
                Err(_) => Bson::Int64(wide),
            })
        }
        _ if matches!(x, Number::Decimal(_)) || matches!(y, Number::Decimal(_)) => {
            let (p, q) = (to_dec(a)?, to_dec(b)?);
            let result = match op {
                Op::Add => p.add(&q),
                Op::Subtract => p.subtract(&q),
                Op::Multiply => p.multiply(&q),
            };
            Outcome::Value(Bson::Decimal128(result.to_decimal128()))
        }
        _ if matches!(x, Number::Double(_)) || matches!(y, Number::Double(_)) => {
            Outcome::Value(Bson::Double(f64_op(op, x.as_f64(), y.as_f64())))
        }
        _ => {
            let (Number::Int(p), Number::Int(q)) = (x, y) else {
                unreachable!("other cases handled above")
            };
            match i64_op(op, p, q) {
                Some(n) => Outcome::Value(Bson::Int64(n)),
                None => Outcome::Overflow,
            }
        }
    })
}

/// A number as mongod turns it into a decimal128 (doubles rounded to 15 digits).
pub fn to_dec(value: &Bson) -> Option<Dec> {
    match value {
        Bson::Decimal128(d) => Some(Dec::from_decimal128(d)),
        Bson::Double(d) => Some(Dec::from_f64(*d)),
        other => match Number::from_bson(other)? {
            Number::Int(i) => Some(Dec::from_i64(i)),
            _ => None,
        },
    }
}

/// A decimal128 holding a double rounded to 15 significant digits, as mongod converts
/// one.
pub fn decimal_from_f64(d: f64) -> Bson {
    Bson::Decimal128(Dec::from_f64(d).to_decimal128())
}

/// The value of a number as a double (decimals rounded).
pub fn to_f64(value: &Bson) -> Option<f64> {
    match value {
        Bson::Decimal128(d) => Some(decimal_to_f64(d)),
        other => Number::from_bson(other).map(Number::as_f64),
    }
}

/// The value of a number as an int64 when it is integral and in range.
pub fn to_i64_exact(value: &Bson) -> Option<i64> {
    match Number::from_bson(value)? {
        Number::Int(i) => Some(i),
        n @ (Number::Double(_) | Number::Decimal(_)) => {
            let d = n.as_f64();
            if d.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d)
            {
                Some(d as i64)
            } else {
                None
            }
        }
    }
}

/// Whether a value is a number.
pub fn is_number(value: &Bson) -> bool {
    Number::from_bson(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_mongodb() {
        assert_eq!(
            apply(Op::Add, &Bson::Int32(1), &Bson::Int32(2)),
            Some(Outcome::Value(Bson::Int32(3)))
        );
        assert_eq!(
            apply(Op::Add, &Bson::Int32(i32::MAX), &Bson::Int32(1)),
            Some(Outcome::Value(Bson::Int64(i64::from(i32::MAX) + 1)))
        );
        assert_eq!(
            apply(Op::Multiply, &Bson::Int64(i64::MAX), &Bson::Int32(2)),
            Some(Outcome::Overflow)
        );
        assert_eq!(
            apply(Op::Add, &Bson::Int32(1), &Bson::Double(0.5)),
            Some(Outcome::Value(Bson::Double(1.5)))
        );
        assert_eq!(
            apply(Op::Subtract, &Bson::Int64(5), &Bson::Int32(7)),
            Some(Outcome::Value(Bson::Int64(-2)))
        );
        let dec = |s: &str| Bson::Decimal128(s.parse().unwrap());
        assert_eq!(
            apply(Op::Add, &dec("1.5"), &Bson::Int32(1)),
            Some(Outcome::Value(dec("2.5")))
        );
        assert_eq!(
            apply(Op::Add, &dec("0.1"), &dec("0.2")),
            Some(Outcome::Value(dec("0.3")))
        );
        assert_eq!(
            apply(Op::Multiply, &Bson::Double(0.1), &dec("3")),
            Some(Outcome::Value(dec("0.300000000000000")))
        );
        assert_eq!(
            apply(Op::Subtract, &dec("1"), &Bson::Int64(i64::MAX)),
            Some(Outcome::Value(dec("-9223372036854775806")))
        );
        assert_eq!(
            apply(Op::Add, &Bson::String("x".into()), &Bson::Int32(1)),
            None
        );
    }

    #[test]
    fn exact_integers() {
        assert_eq!(to_i64_exact(&Bson::Double(3.0)), Some(3));
        assert_eq!(to_i64_exact(&Bson::Double(3.5)), None);
        assert_eq!(to_i64_exact(&Bson::Double(1e20)), None);
    }
}
