//! The bitwise query operators: `$bitsAllSet`, `$bitsAllClear`, `$bitsAnySet`,
//! `$bitsAnyClear`.
//!
//! A mask is a number (its set bits), an array of bit positions, or binary data (bit 0
//! is the lowest bit of the first byte). A value is tested when it is an integral number
//! that fits in 64 bits (a negative one in two's complement, its sign extending above
//! bit 63) or binary data (zeros past its end); any other value does not match.

use bson::{Binary, Bson};

use super::arith;
use crate::error::{CmdResult, CommandError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitsOp {
    AllSet,
    AllClear,
    AnySet,
    AnyClear,
}

impl BitsOp {
    pub fn from_name(name: &str) -> Option<BitsOp> {
        Some(match name {
            "$bitsAllSet" => BitsOp::AllSet,
            "$bitsAllClear" => BitsOp::AllClear,
            "$bitsAnySet" => BitsOp::AnySet,
            "$bitsAnyClear" => BitsOp::AnyClear,
            _ => return None,
        })
    }
}

/// A parsed bitwise condition: the operator and the positions its mask names.
#[derive(Clone, Debug, PartialEq)]
pub struct Bits {
    op: BitsOp,
    positions: Vec<u32>,
}

fn bad(op: &str, msg: impl std::fmt::Display) -> CommandError {
    CommandError::bad_value(format!("{}{msg}", &op[1..]))
}

impl Bits {
    pub fn parse(op_name: &str, op: BitsOp, operand: &Bson) -> CmdResult<Bits> {
        let positions = match operand {
            Bson::Binary(Binary { bytes, .. }) => set_bits_of_bytes(bytes),
            Bson::Array(items) => items
                .iter()
                .map(|i| match arith::to_i64_exact(i) {
                    Some(n) if (0..i64::from(i32::MAX)).contains(&n) => Ok(n as u32),
                    Some(n) if n < 0 => Err(bad(
                        op_name,
                        format!(" bit positions must be >= 0 but got: {n}"),
                    )),
                    _ => Err(bad(
                        op_name,
                        format!(" bit positions must be an integer but got: {i}"),
                    )),
                })
                .collect::<CmdResult<_>>()?,
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                match arith::to_i64_exact(operand) {
                    Some(n) if n >= 0 => (0..64).filter(|p| n >> p & 1 == 1).collect(),
                    Some(n) => {
                        return Err(bad(
                            op_name,
                            format!(
                                " takes an Array, a number, or a BinData but received: {n} (a negative number)"
                            ),
                        ));
                    }
                    None => {
                        return Err(bad(
                            op_name,
                            format!(
                                " takes an Array, a number, or a BinData but received: {operand} (not an integer that fits in 64 bits)"
                            ),
                        ));
                    }
                }
            }
            other => {
                return Err(bad(
                    op_name,
                    format!(" takes an Array, a number, or a BinData but received: {other}"),
                ));
            }
        };
        Ok(Bits { op, positions })
    }

    pub fn matches(&self, value: &Bson) -> bool {
        let bit: Box<dyn Fn(u32) -> bool> = match value {
            Bson::Binary(Binary { bytes, .. }) => {
                let bytes = bytes.clone();
                Box::new(move |p| {
                    bytes
                        .get((p / 8) as usize)
                        .is_some_and(|b| b >> (p % 8) & 1 == 1)
                })
            }
            Bson::Double(d) if !d.is_finite() || d.fract() != 0.0 => return false,
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                let Some(n) = arith::to_i64_exact(value) else {
                    return false;
                };
                Box::new(move |p| if p < 64 { n >> p & 1 == 1 } else { n < 0 })
            }
            _ => return false,
        };
        let mut set = self.positions.iter().map(|p| bit(*p));
        match self.op {
            BitsOp::AllSet => set.all(|b| b),
            BitsOp::AllClear => set.all(|b| !b),
            BitsOp::AnySet => set.any(|b| b),
            BitsOp::AnyClear => set.any(|b| !b),
        }
    }
}

fn set_bits_of_bytes(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        for bit in 0..8 {
            if b >> bit & 1 == 1 {
                out.push(i as u32 * 8 + bit);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bson::spec::BinarySubtype;

    use super::*;

    fn bits(op: &str, mask: Bson) -> Bits {
        Bits::parse(op, BitsOp::from_name(op).unwrap(), &mask).unwrap()
    }

    #[test]
    fn numbers_positions_and_binary_masks() {
        // 54 is 0b110110.
        let v = Bson::Int32(54);
        assert!(bits("$bitsAllSet", Bson::Array(vec![1.into(), 5.into()])).matches(&v));
        assert!(!bits("$bitsAllSet", Bson::Array(vec![0.into(), 1.into()])).matches(&v));
        assert!(bits("$bitsAllClear", Bson::Int32(0b1001)).matches(&v));
        assert!(bits("$bitsAnySet", Bson::Int32(0b1001_0000)).matches(&v));
        assert!(bits("$bitsAnyClear", Bson::Int32(0b110111)).matches(&v));
        let mask = Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![0b0011_0000],
        });
        assert!(bits("$bitsAllSet", mask).matches(&v));
        // A negative number's sign extends past bit 63; a fraction never matches.
        assert!(bits("$bitsAllSet", Bson::Array(vec![200.into()])).matches(&Bson::Int64(-1)));
        assert!(!bits("$bitsAnySet", Bson::Int32(1)).matches(&Bson::Double(1.5)));
        assert!(!bits("$bitsAnySet", Bson::Int32(1)).matches(&Bson::String("1".into())));
    }

    #[test]
    fn bad_masks_are_refused() {
        for mask in [
            Bson::Int32(-1),
            Bson::Double(1.5),
            Bson::String("x".into()),
            Bson::Array(vec![Bson::Int32(-1)]),
        ] {
            let err = Bits::parse("$bitsAllSet", BitsOp::AllSet, &mask).unwrap_err();
            assert_eq!(err.code.code(), 2, "{mask}");
        }
    }
}
