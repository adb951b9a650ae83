//! decimal128 arithmetic as mongod does it: exact, then rounded to 34 digits.
//!
//! mongod computes with an IEEE 754-2008 decimal128 library: a result is the exact value
//! rounded to 34 significant digits, ties to even, with the exponent the standard
//! prefers, so `1.10 + 1` is `2.10` and money kept as decimal adds up to the cent. Going
//! through doubles instead turns `0.1 + 0.2` into `0.30000000000000004`, which is why this
//! module exists.
//!
//! A double meeting a decimal is first rounded to 15 significant digits, as mongod's
//! `Decimal128(double)` does: `NumberDecimal("1") + 0.1` is `1.100000000000000`.
//!
//! Coefficients are vectors of decimal digits: rounding and scaling by powers of ten are
//! then cutting and appending digits, and nothing here is hot enough to need more.

use std::cmp::Ordering;

use bson::Decimal128;

use super::decimal::{MAX_EXPONENT, MIN_EXPONENT, Raw, decode_raw, encode_raw};

/// Significant digits a decimal128 holds.
const PRECISION: usize = 34;

/// A decimal128 value during arithmetic: its coefficient may have any number of digits
/// until [`Dec::to_decimal128`] rounds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dec {
    NaN,
    Infinite { negative: bool },
    Finite(Finite),
}

/// A finite value: `±digits × 10^exponent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finite {
    negative: bool,
    /// Most significant first, without leading zeros; empty is zero.
    digits: Vec<u8>,
    exponent: i32,
}

/// How a value that does not fit is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    HalfEven,
    TowardZero,
    Floor,
    Ceiling,
}

impl Dec {
    pub fn from_decimal128(d: &Decimal128) -> Dec {
        match decode_raw(d) {
            Raw::NaN => Dec::NaN,
            Raw::Infinite { negative } => Dec::Infinite { negative },
            Raw::Finite {
                negative,
                coefficient,
                exponent,
            } => finite(negative, digits_of(coefficient), exponent),
        }
    }

    pub fn from_i64(i: i64) -> Dec {
        finite(i < 0, digits_of(u128::from(i.unsigned_abs())), 0)
    }

    /// A double rounded to 15 significant digits (exactly 15, trailing zeros kept), as
    /// mongod converts one for arithmetic; zero, infinities and NaN convert as they are.
    pub fn from_f64(x: f64) -> Dec {
        Dec::from_f64_digits(x, 15)
    }

    /// A double rounded to `significant` digits (15 for arithmetic; 34, nearly exact,
    /// where mongod rounds a double at a decimal place).
    pub fn from_f64_digits(x: f64, significant: usize) -> Dec {
        if x.is_nan() {
            return Dec::NaN;
        }
        if x.is_infinite() {
            return Dec::Infinite { negative: x < 0.0 };
        }
        if x == 0.0 {
            return finite(x.is_sign_negative(), Vec::new(), 0);
        }
        // `{:.Ne}` is the exact binary value correctly rounded to N + 1 digits.
        let text = format!("{:.*e}", significant - 1, x.abs());
        let (mantissa, power) = text.split_once('e').expect("scientific notation");
        let digits = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|c| c - b'0');
        let power: i32 = power.parse().expect("an integer exponent");
        finite(x < 0.0, digits.collect(), power - (significant as i32 - 1))
    }

    /// The value as an int64, if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        let Dec::Finite(Finite {
            negative,
            digits,
            exponent,
        }) = self
        else {
            return None;
        };
        let mut magnitude: i128 = 0;
        let whole = if *exponent >= 0 {
            digits.len()
        } else {
            let cut = digits
                .len()
                .saturating_sub(exponent.unsigned_abs() as usize);
            if digits[cut..].iter().any(|&d| d != 0) {
                return None;
            }
            cut
        };
        for &d in &digits[..whole] {
            magnitude = magnitude.checked_mul(10)? + i128::from(d);
        }
        for _ in 0..(*exponent).max(0) {
            magnitude = magnitude.checked_mul(10)?;
            if magnitude > i128::from(u64::MAX) {
                return None;
            }
        }
        i64::try_from(if *negative { -magnitude } else { magnitude }).ok()
    }

    /// The nearest decimal128: rounded to 34 digits ties to even, clamped into the
    /// exponent range, infinite past the largest.
    pub fn to_decimal128(&self) -> Decimal128 {
        encode_raw(match self.rounded(Rounding::HalfEven) {
            Dec::NaN => Raw::NaN,
            Dec::Infinite { negative } => Raw::Infinite { negative },
            Dec::Finite(Finite {
                negative,
                digits,
                exponent,
            }) => Raw::Finite {
                negative,
                coefficient: digits.iter().fold(0u128, |n, &d| n * 10 + u128::from(d)),
                exponent,
            },
        })
    }

    fn rounded(&self, mode: Rounding) -> Dec {
        let Dec::Finite(Finite {
            negative,
            digits,
            exponent,
        }) = self
        else {
            return self.clone();
        };
        let (negative, mut digits, mut exponent) = (*negative, digits.clone(), *exponent);
        if digits.len() > PRECISION {
            let drop = digits.len() - PRECISION;
            digits = round_off(&digits, drop, negative, mode);
            exponent += drop as i32;
            if digits.len() > PRECISION {
                // Rounding 99…9 up made 10^34: one more zero to drop.
                digits.pop();
                exponent += 1;
            }
        }
        if exponent < MIN_EXPONENT {
            // Too small for its digits: lose the low ones (a subnormal, or zero).
            let drop = (MIN_EXPONENT - exponent) as usize;
            digits = round_off(&digits, drop, negative, mode);
            exponent = MIN_EXPONENT;
        }
        if exponent > MAX_EXPONENT {
            let pad = (exponent - MAX_EXPONENT) as usize;
            if digits.is_empty() {
                exponent = MAX_EXPONENT;
            } else if digits.len() + pad <= PRECISION {
                // Still representable with trailing zeros in the coefficient.
                digits.resize(digits.len() + pad, 0);
                exponent = MAX_EXPONENT;
            } else {
                return Dec::Infinite { negative };
            }
        }
        finite(negative, digits, exponent)
    }

    fn negated(self) -> Dec {
        match self {
            Dec::NaN => Dec::NaN,
            Dec::Infinite { negative } => Dec::Infinite {
                negative: !negative,
            },
            Dec::Finite(f) => Dec::Finite(Finite {
                negative: !f.negative,
                ..f
            }),
        }
    }

    pub fn add(&self, other: &Dec) -> Dec {
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Infinite { negative: a }, Dec::Infinite { negative: b }) if a != b => Dec::NaN,
            (Dec::Infinite { .. }, _) => self.clone(),
            (_, Dec::Infinite { .. }) => other.clone(),
            (Dec::Finite(x), Dec::Finite(y)) => {
                // Exact at the smaller exponent, which is also the one the standard prefers.
                let (a, b, exponent) = aligned(x, y);
                if x.negative == y.negative {
                    return finite(x.negative, add_digits(&a, &b), exponent);
                }
                match compare_digits(&a, &b) {
                    Ordering::Greater => finite(x.negative, subtract_digits(&a, &b), exponent),
                    Ordering::Less => finite(y.negative, subtract_digits(&b, &a), exponent),
                    // x - x is +0 when rounding to nearest.
                    Ordering::Equal => finite(false, Vec::new(), exponent),
                }
            }
        }
    }

    pub fn subtract(&self, other: &Dec) -> Dec {
        self.add(&other.clone().negated())
    }

    pub fn multiply(&self, other: &Dec) -> Dec {
        let negative = self.is_negative() != other.is_negative();
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Infinite { .. }, x) | (x, Dec::Infinite { .. }) if x.is_zero() => Dec::NaN,
            (Dec::Infinite { .. }, _) | (_, Dec::Infinite { .. }) => Dec::Infinite { negative },
            (Dec::Finite(x), Dec::Finite(y)) => finite(
                negative,
                multiply_digits(&x.digits, &y.digits),
                x.exponent + y.exponent,
            ),
        }
    }

    /// `self / other`; a zero divisor gives an infinity or NaN (callers that must refuse
    /// it check first).
    pub fn divide(&self, other: &Dec) -> Dec {
        let negative = self.is_negative() != other.is_negative();
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Infinite { .. }, Dec::Infinite { .. }) => Dec::NaN,
            (Dec::Infinite { .. }, _) => Dec::Infinite { negative },
            (Dec::Finite(x), Dec::Infinite { .. }) => finite(negative, Vec::new(), x.exponent),
            (Dec::Finite(x), Dec::Finite(y)) => {
                let (da, db) = (&x.digits, &y.digits);
                let preferred = x.exponent - y.exponent;
                if db.is_empty() {
                    return if da.is_empty() {
                        Dec::NaN
                    } else {
                        Dec::Infinite { negative }
                    };
                }
                if da.is_empty() {
                    return finite(negative, Vec::new(), preferred);
                }
                // Scale the dividend so the quotient has a digit more than fits: the
                // rounding then only needs to know whether anything was left over.
                let scale = (PRECISION + 1 + db.len()).saturating_sub(da.len());
                let (mut quotient, remainder) = divide_digits(&shifted(da, scale), db);
                let mut exponent = preferred - scale as i32;
                if remainder.is_empty() {
                    // Exact: give back the scaling zeros, down to the preferred exponent.
                    while exponent < preferred && quotient.last() == Some(&0) {
                        quotient.pop();
                        exponent += 1;
                    }
                } else {
                    // Inexact: a trailing 1 stands for the remainder, so a quotient ending
                    // in 5 rounds up rather than to even.
                    quotient.push(1);
                    exponent -= 1;
                }
                finite(negative, quotient, exponent)
            }
        }
    }

    /// The remainder of `self / other` truncated toward zero, with the sign of `self`
    /// (what `$mod` gives); exact, at the smaller exponent.
    pub fn remainder(&self, other: &Dec) -> Dec {
        match (self, other) {
            (Dec::NaN, _) | (_, Dec::NaN) | (Dec::Infinite { .. }, _) => Dec::NaN,
            (_, Dec::Infinite { .. }) => self.clone(),
            (Dec::Finite(x), Dec::Finite(y)) => {
                if y.digits.is_empty() {
                    return Dec::NaN;
                }
                let (a, b, exponent) = aligned(x, y);
                finite(x.negative, divide_digits(&a, &b).1, exponent)
            }
        }
    }

    /// `self` at the decimal place `10^exponent`, as mongod's `Decimal128::quantize`
    /// (behind `$round` and `$trunc`) gives it: IEEE quantize, except that a value
    /// whose 34 digits stop above that place comes back with its 34 digits (trailing
    /// zeros filled in) instead of IEEE's NaN: `1.298` at 10^-100 is
    /// `1.298000000000000000000000000000000`.
    pub fn quantize(&self, exponent: i32, mode: Rounding) -> Dec {
        let normalized = self.normalized();
        if let Dec::Finite(n) = &normalized
            && !n.digits.is_empty()
            && n.exponent > exponent
        {
            return normalized;
        }
        self.quantize_exact(exponent, mode)
    }

    /// IEEE quantize: exactly `exponent` as the power of ten, rounded when that drops
    /// digits, zero-padded when it adds some, NaN past 34 digits.
    fn quantize_exact(&self, exponent: i32, mode: Rounding) -> Dec {
        let Dec::Finite(x) = self else {
            return Dec::NaN;
        };
        let digits = match x.exponent.cmp(&exponent) {
            Ordering::Less => round_off(
                &x.digits,
                (exponent - x.exponent) as usize,
                x.negative,
                mode,
            ),
            Ordering::Equal => x.digits.clone(),
            Ordering::Greater => shifted(&x.digits, (x.exponent - exponent) as usize),
        };
        if digits.len() > PRECISION {
            return Dec::NaN;
        }
        finite(x.negative, digits, exponent)
    }

    /// `self` to an integer power, exact until [`Dec::to_decimal128`] rounds it; `None`
    /// for an infinite or NaN base, or when the exact power would run past a few
    /// thousand digits (the caller then approximates).
    pub fn pow_integer(&self, n: i64) -> Option<Dec> {
        let Dec::Finite(x) = self else {
            return None;
        };
        if x.digits
            .len()
            .max(1)
            .saturating_mul(n.unsigned_abs() as usize)
            > 4000
        {
            return None;
        }
        let mut result = Dec::from_i64(1);
        let mut square = self.clone();
        let mut k = n.unsigned_abs();
        while k > 0 {
            if k & 1 == 1 {
                result = result.multiply(&square);
            }
            k >>= 1;
            if k > 0 {
                square = square.multiply(&square);
            }
        }
        Some(if n < 0 {
            Dec::from_i64(1).divide(&result)
        } else {
            result
        })
    }

    /// The same value with as many digits as fit (what adding `0E-6176` gives; mongod's
    /// decimal `$pow` answers in this form).
    pub fn normalized(&self) -> Dec {
        match self.rounded(Rounding::HalfEven) {
            Dec::Finite(x) if !x.digits.is_empty() => {
                let room = (PRECISION - x.digits.len()).min((x.exponent - MIN_EXPONENT) as usize);
                finite(
                    x.negative,
                    shifted(&x.digits, room),
                    x.exponent - room as i32,
                )
            }
            other => other,
        }
    }

    /// `self` rounded to an integer (`$ceil`, `$floor`); the exponent becomes 0 only if
    /// it was negative, as IEEE's roundToIntegral prefers.
    pub fn to_integral(&self, mode: Rounding) -> Dec {
        match self {
            Dec::Finite(x) if x.exponent < 0 => self.quantize_exact(0, mode),
            other => other.clone(),
        }
    }

    pub fn abs(&self) -> Dec {
        if self.is_negative() {
            self.clone().negated()
        } else {
            self.clone()
        }
    }

    fn is_negative(&self) -> bool {
        match self {
            Dec::NaN => false,
            Dec::Infinite { negative } | Dec::Finite(Finite { negative, .. }) => *negative,
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Dec::Finite(x) if x.digits.is_empty())
    }
}

fn finite(negative: bool, mut digits: Vec<u8>, exponent: i32) -> Dec {
    let leading = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..leading);
    Dec::Finite(Finite {
        negative,
        digits,
        exponent,
    })
}

/// Both coefficients scaled to the smaller exponent, and that exponent.
fn aligned(x: &Finite, y: &Finite) -> (Vec<u8>, Vec<u8>, i32) {
    let exponent = x.exponent.min(y.exponent);
    (
        shifted(&x.digits, (x.exponent - exponent) as usize),
        shifted(&y.digits, (y.exponent - exponent) as usize),
        exponent,
    )
}

fn digits_of(n: u128) -> Vec<u8> {
    if n == 0 {
        return Vec::new();
    }
    n.to_string().bytes().map(|c| c - b'0').collect()
}

fn shifted(digits: &[u8], zeros: usize) -> Vec<u8> {
    let mut out = digits.to_vec();
    if !out.is_empty() {
        out.resize(out.len() + zeros, 0);
    }
    out
}

/// `digits` without its last `drop` digits, rounded by what they were (`negative` is the
/// sign of the value, which the directed roundings need).
fn round_off(digits: &[u8], drop: usize, negative: bool, mode: Rounding) -> Vec<u8> {
    let keep = digits.len().saturating_sub(drop);
    let (kept, gone) = digits.split_at(keep);
    // Dropping more digits than there are: the first dropped ones are zeros.
    let first_gone = if drop > digits.len() {
        0
    } else {
        gone.first().copied().unwrap_or(0)
    };
    let rest_nonzero = if drop > digits.len() {
        gone.iter().any(|&d| d != 0)
    } else {
        gone.iter().skip(1).any(|&d| d != 0)
    };
    let any_gone = first_gone != 0 || rest_nonzero;
    let up = match mode {
        Rounding::TowardZero => false,
        Rounding::Floor => negative && any_gone,
        Rounding::Ceiling => !negative && any_gone,
        Rounding::HalfEven => match first_gone.cmp(&5) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => rest_nonzero || kept.last().is_some_and(|d| d % 2 == 1),
        },
    };
    let kept = kept.to_vec();
    if up { add_digits(&kept, &[1]) } else { kept }
}

fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0);
    while i > 0 || j > 0 || carry > 0 {
        let x = if i > 0 { a[i - 1] } else { 0 };
        let y = if j > 0 { b[j - 1] } else { 0 };
        let sum = x + y + carry;
        out.push(sum % 10);
        carry = sum / 10;
        i = i.saturating_sub(1);
        j = j.saturating_sub(1);
    }
    out.reverse();
    strip(out)
}

/// `a - b` for `a >= b`.
fn subtract_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    let mut borrow = 0;
    for k in 0..out.len() {
        let i = out.len() - 1 - k;
        let y = if k < b.len() { b[b.len() - 1 - k] } else { 0 } + borrow;
        if out[i] >= y {
            out[i] -= y;
            borrow = 0;
        } else {
            out[i] = out[i] + 10 - y;
            borrow = 1;
        }
    }
    strip(out)
}

fn multiply_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut sums = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            sums[i + j + 1] += u32::from(x) * u32::from(y);
        }
    }
    for k in (1..sums.len()).rev() {
        sums[k - 1] += sums[k] / 10;
        sums[k] %= 10;
    }
    strip(sums.into_iter().map(|d| d as u8).collect())
}

/// Long division: quotient and remainder of `a / b` (`b` non-zero).
fn divide_digits(a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut quotient = Vec::with_capacity(a.len());
    let mut remainder: Vec<u8> = Vec::new();
    for &d in a {
        remainder.push(d);
        remainder = strip(remainder);
        let mut q = 0;
        while compare_digits(&remainder, b) != Ordering::Less {
            remainder = subtract_digits(&remainder, b);
            q += 1;
        }
        quotient.push(q);
    }
    (strip(quotient), remainder)
}

fn strip(mut digits: Vec<u8>) -> Vec<u8> {
    let leading = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..leading);
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::from_decimal128(&s.parse::<Decimal128>().unwrap())
    }

    fn text(x: &Dec) -> String {
        x.to_decimal128().to_string()
    }

    type Operation = fn(&Dec, &Dec) -> Dec;

    /// `a op b = result`, as decimal strings.
    #[rustfmt::skip]
    const BINARY: &[(&str, Operation, &str, &str)] = &[
        // Exact sums keep the smaller (preferred) exponent.
        ("0.1", Dec::add, "0.2", "0.3"),
        ("1.10", Dec::add, "1", "2.10"),
        ("1.5", Dec::subtract, "1.5", "0.0"),
        ("-0", Dec::add, "-0", "-0"),
        ("5", Dec::subtract, "7.25", "-2.25"),
        ("1E+3", Dec::add, "1", "1001"),
        // Past 34 digits, ties to even.
        ("9999999999999999999999999999999999", Dec::add, "1", "1.000000000000000000000000000000000E+34"),
        ("9999999999999999999999999999999999", Dec::add, "0.5", "1.000000000000000000000000000000000E+34"),
        ("1234567890123456789012345678901234", Dec::add, "0.5", "1234567890123456789012345678901234"),
        ("1234567890123456789012345678901233", Dec::add, "0.5", "1234567890123456789012345678901234"),
        ("1", Dec::add, "1E-100", "1.000000000000000000000000000000000"),
        // Products add exponents; quotients come back to the preferred one when exact.
        ("1.5", Dec::multiply, "2", "3.0"),
        ("-0.1", Dec::multiply, "0.1", "-0.01"),
        ("1", Dec::divide, "3", "0.3333333333333333333333333333333333"),
        ("2", Dec::divide, "3", "0.6666666666666666666666666666666667"),
        ("6", Dec::divide, "2", "3"),
        ("1", Dec::divide, "8", "0.125"),
        ("1.00", Dec::divide, "2", "0.50"),
        ("1E+1", Dec::divide, "2", "5"),
        ("1", Dec::divide, "0", "Infinity"),
        ("0", Dec::divide, "0", "NaN"),
        // Remainders take the dividend's sign.
        ("10", Dec::remainder, "3", "1"),
        ("-10", Dec::remainder, "3", "-1"),
        ("5.5", Dec::remainder, "2", "1.5"),
        ("1", Dec::remainder, "0", "NaN"),
        // The exponent range: clamped with zeros where that is exact, else infinite.
        ("9E+6144", Dec::multiply, "10", "Infinity"),
        ("1E+6111", Dec::multiply, "10", "1.0E+6112"),
        ("1E-6176", Dec::multiply, "0.1", "0E-6176"),
        ("-9E+6144", Dec::multiply, "10", "-Infinity"),
        ("Infinity", Dec::add, "-Infinity", "NaN"),
        ("Infinity", Dec::multiply, "0", "NaN"),
    ];

    #[test]
    fn binary_operations() {
        for (a, op, b, expected) in BINARY {
            assert_eq!(text(&op(&d(a), &d(b))), *expected, "{a} op {b}");
        }
    }

    #[test]
    fn doubles_convert_with_15_digits() {
        assert_eq!(text(&Dec::from_f64(0.1)), "0.100000000000000");
        assert_eq!(text(&d("1").add(&Dec::from_f64(0.1))), "1.100000000000000");
        assert_eq!(text(&Dec::from_f64(-2.5)), "-2.50000000000000");
        assert_eq!(text(&Dec::from_f64(1e20)), "1.00000000000000E+20");
        assert_eq!(text(&Dec::from_f64(0.0)), "0");
        assert_eq!(text(&Dec::from_f64(-0.0)), "-0");
        assert_eq!(text(&Dec::from_f64(f64::NAN)), "NaN");
        assert_eq!(text(&Dec::from_f64(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(
            text(&Dec::from_f64_digits(2.675, 34)),
            "2.674999999999999822364316059974954"
        );
    }

    #[test]
    fn integer_powers() {
        let p = |s: &str, n: i64| text(&d(s).pow_integer(n).unwrap().normalized());
        assert_eq!(p("10.0", -2), "0.01000000000000000000000000000000000");
        assert_eq!(p("-2.0", 2), "4.000000000000000000000000000000000");
        assert_eq!(p("5", -112), "5.192296858534827628530496329220096E-79");
        assert_eq!(p("3", 0), "1.000000000000000000000000000000000");
        assert_eq!(d("1.5").pow_integer(1_000_000), None);
    }

    #[test]
    fn integers_come_back_out() {
        assert_eq!(d("12E+2").to_i64(), Some(1200));
        assert_eq!(d("-7.00").to_i64(), Some(-7));
        assert_eq!(d("7.5").to_i64(), None);
        assert_eq!(d("9223372036854775808").to_i64(), None);
        assert_eq!(d("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(d("1E+6000").to_i64(), None);
    }

    #[test]
    fn rounding_at_a_place() {
        let q = |s: &str, e: i32, mode: Rounding| text(&d(s).quantize(e, mode));
        assert_eq!(q("2.345", -2, Rounding::HalfEven), "2.34");
        assert_eq!(q("2.355", -2, Rounding::HalfEven), "2.36");
        assert_eq!(q("-2.359", -2, Rounding::TowardZero), "-2.35");
        assert_eq!(q("12", -2, Rounding::HalfEven), "12.00");
        assert_eq!(q("1234", 2, Rounding::HalfEven), "1.2E+3");
        assert_eq!(q("-0.4", 0, Rounding::HalfEven), "-0");
        // mongod's quantize keeps 34 digits where IEEE's would need more (and give NaN).
        assert_eq!(
            q("1.298", -100, Rounding::HalfEven),
            "1.298000000000000000000000000000000"
        );
        assert_eq!(
            q("1E+30", -10, Rounding::HalfEven),
            "1000000000000000000000000000000.000"
        );
        assert_eq!(
            q("1.298912343250054252245154325", -20, Rounding::HalfEven),
            "1.29891234325005425225"
        );
        assert_eq!(q("0", -3, Rounding::HalfEven), "0.000");
        let i = |s: &str, mode: Rounding| text(&d(s).to_integral(mode));
        assert_eq!(i("1.5", Rounding::Ceiling), "2");
        assert_eq!(i("-1.5", Rounding::Ceiling), "-1");
        assert_eq!(i("-1.5", Rounding::Floor), "-2");
        assert_eq!(i("1.0", Rounding::Floor), "1");
        assert_eq!(i("1E+3", Rounding::Floor), "1E+3");
    }

    /// Small operands against exact integer arithmetic: with at most 24 digits nothing
    /// rounds, so the coefficient and the exponent must both come out exactly.
    mod against_integers {
        use super::*;
        use proptest::prelude::*;

        fn decimal(c: i64, e: i32) -> Dec {
            d(&format!("{c}E{e}"))
        }

        fn expected(negative_zero: bool, c: i128, e: i32) -> String {
            let sign = if c == 0 && negative_zero { "-" } else { "" };
            let d: Decimal128 = format!("{sign}{c}E{e}").parse().unwrap();
            d.to_string()
        }

        fn scaled(c: i64, e: i32, to: i32) -> i128 {
            i128::from(c) * 10i128.pow((e - to) as u32)
        }

        proptest! {
            #[test]
            fn add_multiply_and_remainder_are_exact(
                ca in -999_999_999_999i64..=999_999_999_999,
                ea in -6i32..=6,
                cb in -999_999_999_999i64..=999_999_999_999,
                eb in -6i32..=6,
            ) {
                let (a, b) = (decimal(ca, ea), decimal(cb, eb));
                let m = ea.min(eb);
                let (x, y) = (scaled(ca, ea, m), scaled(cb, eb, m));
                prop_assert_eq!(text(&a.add(&b)), expected(false, x + y, m));
                prop_assert_eq!(text(&a.subtract(&b)), expected(false, x - y, m));
                let product_negative = (ca < 0) != (cb < 0);
                prop_assert_eq!(
                    text(&a.multiply(&b)),
                    expected(product_negative, i128::from(ca) * i128::from(cb), ea + eb)
                );
                if cb != 0 {
                    prop_assert_eq!(text(&a.remainder(&b)), expected(ca < 0, x % y, m));
                }
            }

            /// A divisor made of twos and fives divides exactly: the quotient times the
            /// divisor is the dividend again.
            #[test]
            fn exact_quotients_multiply_back(
                ca in -999_999_999_999i64..=999_999_999_999,
                ea in -6i32..=6,
                cb in prop::sample::select(vec![1i64, 2, 4, 5, 8, 25, -16, 125, 64]),
                eb in -6i32..=6,
            ) {
                let (a, b) = (decimal(ca, ea), decimal(cb, eb));
                let q = a.divide(&b);
                prop_assert!(
                    equal_in_value(&q.multiply(&b), &a),
                    "{} / {} = {} does not multiply back", text(&a), text(&b), text(&q)
                );
            }
        }

        fn equal_in_value(x: &Dec, y: &Dec) -> bool {
            let (Dec::Finite(_), Dec::Finite(_)) = (x, y) else {
                return false;
            };
            let difference = x.subtract(y);
            difference.is_zero()
        }
    }
}
