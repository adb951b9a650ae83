//! Exact numeric values across int64, double and decimal128.
//!
//! mongod compares numbers of different types by their exact value: `NumberDecimal("0.1")`
//! is less than the double `0.1` (which is 0.1000000000000000055…), and
//! `NumberLong("9007199254740993")` equals `NumberDecimal("9007199254740993")` but not the
//! double `9007199254740992.0` that is its nearest. Doubles alone cannot decide that, so a
//! value whose type mix needs it is turned into [`Exact`]: its decimal digits and a power
//! of ten, which every finite int64, double and decimal128 has exactly (a double's
//! binary fraction always ends in decimal).
//!
//! The decoding of decimal128 follows IEEE 754-2008's binary integer decimal (BID)
//! encoding, which is what BSON stores.

use std::cmp::Ordering;

use bson::Decimal128;

/// A decimal128 value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decimal {
    NaN,
    Infinite { negative: bool },
    Finite(Exact),
}

/// A finite number, exactly: `0.d₁d₂…dₙ × 10^exponent`, with no leading or trailing zero
/// digit; zero has no digits (and no sign).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exact {
    negative: bool,
    digits: Vec<u8>,
    exponent: i32,
}

const EXPONENT_BIAS: i32 = 6176;
const MAX_COEFFICIENT: u128 = 9_999_999_999_999_999_999_999_999_999_999_999; // 10^34 - 1

/// A decimal128 as it is stored: sign, integer coefficient and power of ten, so
/// `1.50` (150 × 10^-2) and `1.5` (15 × 10^-1) stay apart, as arithmetic needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raw {
    NaN,
    Infinite {
        negative: bool,
    },
    Finite {
        negative: bool,
        coefficient: u128,
        exponent: i32,
    },
}

/// The smallest and largest power of ten a decimal128 coefficient can carry.
pub const MIN_EXPONENT: i32 = -EXPONENT_BIAS;
pub const MAX_EXPONENT: i32 = 6111;

/// Splits a decimal128 into its parts (non-canonical coefficients read as zero, as the
/// standard says).
pub fn decode_raw(d: &Decimal128) -> Raw {
    let bits = u128::from_le_bytes(d.bytes());
    let negative = bits >> 127 == 1;
    let (exponent, coefficient) = if (bits >> 125) & 0b11 == 0b11 {
        match (bits >> 122) & 0b11111 {
            0b11110 => return Raw::Infinite { negative },
            0b11111 => return Raw::NaN,
            // A coefficient of 2^113 or more: above 10^34 - 1, so non-canonical.
            _ => (((bits >> 111) & 0x3FFF) as i32, 0),
        }
    } else {
        (((bits >> 113) & 0x3FFF) as i32, bits & ((1u128 << 113) - 1))
    };
    Raw::Finite {
        negative,
        coefficient: if coefficient > MAX_COEFFICIENT {
            0
        } else {
            coefficient
        },
        exponent: exponent - EXPONENT_BIAS,
    }
}

/// Builds a decimal128 from parts already in range (`coefficient` below 10^34, exponent
/// within [`MIN_EXPONENT`]..=[`MAX_EXPONENT`]).
pub fn encode_raw(raw: Raw) -> Decimal128 {
    let bits: u128 = match raw {
        Raw::NaN => 0b11111 << 122,
        Raw::Infinite { negative } => (u128::from(negative) << 127) | (0b11110 << 122),
        Raw::Finite {
            negative,
            coefficient,
            exponent,
        } => {
            debug_assert!(coefficient <= MAX_COEFFICIENT);
            debug_assert!((MIN_EXPONENT..=MAX_EXPONENT).contains(&exponent));
            (u128::from(negative) << 127)
                | (((exponent + EXPONENT_BIAS) as u128) << 113)
                | coefficient
        }
    };
    Decimal128::from_bytes(bits.to_le_bytes())
}

/// Decodes a decimal128 into its exact value.
pub fn decode(d: &Decimal128) -> Decimal {
    match decode_raw(d) {
        Raw::NaN => Decimal::NaN,
        Raw::Infinite { negative } => Decimal::Infinite { negative },
        Raw::Finite {
            negative,
            coefficient,
            exponent,
        } => Decimal::Finite(Exact::from_parts(
            negative,
            coefficient.to_string().as_bytes(),
            exponent,
        )),
    }
}

impl Exact {
    /// `±digits × 10^exponent` (ASCII digits, leading and trailing zeros allowed).
    fn from_parts(negative: bool, ascii: &[u8], exponent: i32) -> Exact {
        let digits: Vec<u8> = ascii.iter().map(|c| c - b'0').collect();
        let start = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
        let end = digits
            .iter()
            .rposition(|&d| d != 0)
            .map_or(start, |p| p + 1);
        let significant = digits[start..end].to_vec();
        if significant.is_empty() {
            return Exact::zero();
        }
        // digits × 10^exponent = 0.digits × 10^(exponent + len); drop leading zeros.
        let len = (digits.len() - start) as i32;
        Exact {
            negative,
            digits: significant,
            exponent: exponent + len,
        }
    }

    fn zero() -> Exact {
        Exact {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    pub fn from_i64(i: i64) -> Exact {
        Exact::from_parts(i < 0, i.unsigned_abs().to_string().as_bytes(), 0)
    }

    /// The exact value of a finite double (`None` for NaN and infinities).
    pub fn from_f64(x: f64) -> Option<Exact> {
        if !x.is_finite() {
            return None;
        }
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7FF) as i32;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, power_of_two) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), biased - 1075)
        };
        if mantissa == 0 {
            return Some(Exact::zero());
        }
        let mut big = BigDecimalDigits::from_u64(mantissa);
        let exponent = if power_of_two >= 0 {
            big.multiply_by_power(2, power_of_two as u32);
            0
        } else {
            // m × 2^-k = m × 5^k × 10^-k
            big.multiply_by_power(5, power_of_two.unsigned_abs());
            power_of_two
        };
        Some(Exact::from_parts(
            negative,
            big.to_ascii().as_bytes(),
            exponent,
        ))
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn sign(&self) -> i8 {
        match (self.is_zero(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    /// Appends an encoding whose bytes order as the values do (for index keys): a sign
    /// byte, then the power of ten and the digits, inverted for negative values.
    pub fn encode_ordered(&self, out: &mut Vec<u8>) {
        match self.sign() {
            0 => out.push(1),
            1 => {
                out.push(2);
                out.extend_from_slice(&((self.exponent as u32) ^ 0x8000_0000).to_be_bytes());
                out.extend(self.digits.iter().map(|d| d + 1));
                out.push(0);
            }
            _ => {
                out.push(0);
                out.extend_from_slice(&(!((self.exponent as u32) ^ 0x8000_0000)).to_be_bytes());
                out.extend(self.digits.iter().map(|d| 0xFE - d));
                out.push(0xFF);
            }
        }
    }
}

impl Ord for Exact {
    fn cmp(&self, other: &Exact) -> Ordering {
        let by_sign = self.sign().cmp(&other.sign());
        if by_sign != Ordering::Equal || self.is_zero() {
            return by_sign;
        }
        // Same sign, both non-zero: magnitude by power of ten, then digit by digit (a
        // shorter digit string is a prefix padded with zeros, so it is smaller).
        let magnitude = self
            .exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Exact) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A non-negative integer in base 10^9, just enough to expand a double into decimal.
struct BigDecimalDigits {
    /// Little-endian limbs, each below 10^9.
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigDecimalDigits {
    fn from_u64(mut n: u64) -> BigDecimalDigits {
        let mut limbs = Vec::new();
        while n > 0 {
            limbs.push((n % LIMB) as u32);
            n /= LIMB;
        }
        BigDecimalDigits { limbs }
    }

    fn multiply(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (product % LIMB) as u32;
            carry = product / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    /// Multiplies by `base^power` (`base` 2 or 5), in steps that keep products in a u64.
    fn multiply_by_power(&mut self, base: u32, mut power: u32) {
        let step = if base == 2 { 29 } else { 13 };
        while power > 0 {
            let n = power.min(step);
            self.multiply(base.pow(n));
            power -= n;
        }
    }

    fn to_ascii(&self) -> String {
        let mut out = String::new();
        for (i, limb) in self.limbs.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&limb.to_string());
            } else {
                out.push_str(&format!("{limb:09}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        decode(&s.parse::<Decimal128>().unwrap())
    }

    fn exact(s: &str) -> Exact {
        match dec(s) {
            Decimal::Finite(e) => e,
            other => panic!("{s} is {other:?}"),
        }
    }

    #[test]
    fn decodes_finite_special_and_zero() {
        assert_eq!(dec("NaN"), Decimal::NaN);
        assert_eq!(dec("-Infinity"), Decimal::Infinite { negative: true });
        assert_eq!(exact("1.50"), exact("1.5"));
        assert_eq!(exact("-0"), exact("0"));
        assert_eq!(exact("100"), Exact::from_i64(100));
        assert_eq!(
            exact("-12345678901234567890"),
            Exact::from_parts(true, b"12345678901234567890", 0)
        );
    }

    #[test]
    fn doubles_expand_exactly() {
        assert_eq!(Exact::from_f64(0.5).unwrap(), exact("0.5"));
        assert_eq!(Exact::from_f64(-2.0).unwrap(), Exact::from_i64(-2));
        // More digits than a decimal128 holds.
        assert_eq!(
            Exact::from_f64(0.1).unwrap(),
            Exact::from_parts(
                false,
                b"1000000000000000055511151231257827021181583404541015625",
                -55
            )
        );
        assert_eq!(
            Exact::from_f64(9007199254740992.0).unwrap(),
            Exact::from_i64(1 << 53)
        );
        assert!(Exact::from_f64(f64::MIN_POSITIVE / 4.0).is_some());
        assert!(Exact::from_f64(f64::MAX).is_some());
    }

    #[test]
    fn order_is_exact() {
        assert!(exact("0.1") < Exact::from_f64(0.1).unwrap());
        assert!(Exact::from_i64(9007199254740993) > Exact::from_f64(9007199254740992.0).unwrap());
        assert!(exact("-0.12") > exact("-0.123"));
        assert!(exact("-5") > exact("-50"));
        assert!(exact("-1") < Exact::zero());
        assert!(exact("1E-6000") > Exact::zero());
        let mut sorted = [
            exact("2"),
            exact("-0.5"),
            exact("0"),
            exact("-3"),
            exact("0.25"),
            exact("10"),
        ];
        sorted.sort();
        let mut encoded: Vec<Vec<u8>> = sorted
            .iter()
            .map(|e| {
                let mut out = Vec::new();
                e.encode_ordered(&mut out);
                out
            })
            .collect();
        let before = encoded.clone();
        encoded.sort();
        assert_eq!(encoded, before, "byte order follows value order");
    }
}
