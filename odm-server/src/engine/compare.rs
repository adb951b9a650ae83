//! The BSON total order that MongoDB uses for sorting, range comparisons and index keys.
//!
//! Values of different types compare by their *canonical type* first (MongoDB's
//! `canonicalizeBSONType`): MinKey < undefined < null < numbers < strings (and symbols) <
//! objects < arrays < binData < ObjectId < bool < date < timestamp < regex < dbPointer <
//! code < code-with-scope < MaxKey. Within a type:
//!
//! - numbers compare by value across int32, int64, double and decimal128; NaN is smaller
//!   than every other number and equal to itself;
//! - strings compare by their UTF-8 bytes (the "simple" collation), or under a
//!   collation (`compare_collated`, `engine::collation`);
//! - objects compare element by element: canonical type, then field name, then value; a
//!   prefix is smaller;
//! - arrays compare element by element; a prefix is smaller;
//! - binData compares by length, then subtype, then bytes.
//!
//! The canonical type rank doubles as the leading byte of an index key
//! (`storage::keycodec`), so the two orders agree by construction.

use std::cmp::Ordering;

use bson::{Bson, Decimal128, Document};

use super::collation::Collator;
use super::decimal::{self, Decimal, Exact};

/// The rank of a value's type in MongoDB's cross-type order. These numbers are stored on
/// disk as the first byte of every encoded index key: never renumber them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TypeRank {
    MinKey = 1,
    Undefined = 2,
    Null = 7,
    Number = 12,
    String = 17,
    Object = 22,
    Array = 27,
    BinData = 32,
    ObjectId = 37,
    Bool = 42,
    Date = 47,
    Timestamp = 49,
    Regex = 52,
    DbPointer = 57,
    Code = 62,
    CodeWithScope = 67,
    MaxKey = 129,
}

/// The canonical type rank of a value.
pub fn type_rank(value: &Bson) -> TypeRank {
    match value {
        Bson::MinKey => TypeRank::MinKey,
        Bson::Undefined => TypeRank::Undefined,
        Bson::Null => TypeRank::Null,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => TypeRank::Number,
        Bson::String(_) | Bson::Symbol(_) => TypeRank::String,
        Bson::Document(_) => TypeRank::Object,
        Bson::Array(_) => TypeRank::Array,
        Bson::Binary(_) => TypeRank::BinData,
        Bson::ObjectId(_) => TypeRank::ObjectId,
        Bson::Boolean(_) => TypeRank::Bool,
        Bson::DateTime(_) => TypeRank::Date,
        Bson::Timestamp(_) => TypeRank::Timestamp,
        Bson::RegularExpression(_) => TypeRank::Regex,
        Bson::DbPointer(_) => TypeRank::DbPointer,
        Bson::JavaScriptCode(_) => TypeRank::Code,
        Bson::JavaScriptCodeWithScope(_) => TypeRank::CodeWithScope,
        Bson::MaxKey => TypeRank::MaxKey,
    }
}

/// Compares two values in MongoDB's total order.
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    compare_collated(a, b, None)
}

/// Compares two values in MongoDB's total order, strings (also inside documents and
/// arrays, but not field names) under `collation` when there is one.
pub fn compare_collated(a: &Bson, b: &Bson, collation: Option<&Collator>) -> Ordering {
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => match collation {
            Some(c) => c.compare(x, y),
            None => x.as_bytes().cmp(y.as_bytes()),
        },
        (Bson::Document(x), Bson::Document(y)) => compare_documents_collated(x, y, collation),
        (Bson::Array(x), Bson::Array(y)) => compare_arrays_collated(x, y, collation),
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .as_str()
            .cmp(y.pattern.as_str())
            .then_with(|| x.options.as_str().cmp(y.options.as_str())),
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => x
            .code
            .cmp(&y.code)
            .then_with(|| compare_documents(&x.scope, &y.scope)),
        (Bson::DbPointer(_), Bson::DbPointer(_)) => {
            // mongod: value size first (so namespace length), then the bytes.
            let ((ns_a, oid_a), (ns_b, oid_b)) = (db_pointer_parts(a), db_pointer_parts(b));
            ns_a.len()
                .cmp(&ns_b.len())
                .then_with(|| ns_a.cmp(&ns_b))
                .then_with(|| oid_a.cmp(&oid_b))
        }
        _ if ra == TypeRank::Number => compare_numbers(a, b),
        // MinKey, MaxKey, null and undefined: one value per type.
        _ => Ordering::Equal,
    }
}

/// Equality in the sense of the query language: numbers equal across types (`1 == 1.0`),
/// everything else by `compare`.
pub fn values_equal(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

/// Compares two documents element by element: canonical type, field name, value.
pub fn compare_documents(a: &Document, b: &Document) -> Ordering {
    compare_documents_collated(a, b, None)
}

fn compare_documents_collated(
    a: &Document,
    b: &Document,
    collation: Option<&Collator>,
) -> Ordering {
    crate::depth::guard(|| {
        let mut ia = a.iter();
        let mut ib = b.iter();
        loop {
            match (ia.next(), ib.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some((ka, va)), Some((kb, vb))) => {
                    let ord = type_rank(va)
                        .cmp(&type_rank(vb))
                        .then_with(|| ka.as_bytes().cmp(kb.as_bytes()))
                        .then_with(|| compare_collated(va, vb, collation));
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
            }
        }
    })
}

/// Compares two arrays element by element; a prefix is smaller.
pub fn compare_arrays(a: &[Bson], b: &[Bson]) -> Ordering {
    compare_arrays_collated(a, b, None)
}

fn compare_arrays_collated(a: &[Bson], b: &[Bson], collation: Option<&Collator>) -> Ordering {
    crate::depth::guard(|| {
        for (x, y) in a.iter().zip(b) {
            let ord = compare_collated(x, y, collation);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.len().cmp(&b.len())
    })
}

/// A value ordered (and equal) as MongoDB orders values, for maps keyed by values:
/// `1`, `1.0` and `NumberLong(1)` are one key, and strings equal under the command's
/// collation (`engine::collation`) are one key. Such a map lives within one command.
#[derive(Clone, Debug)]
pub struct OrderedBson(pub Bson);

impl PartialEq for OrderedBson {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedBson {}

impl PartialOrd for OrderedBson {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedBson {
    fn cmp(&self, other: &Self) -> Ordering {
        super::collation::compare(&self.0, &other.0)
    }
}

/// A DBPointer's namespace and ObjectId. The driver keeps the fields private, so they are
/// read back from the value's BSON form (type 0x0C: int32 length, string, NUL, 12 bytes).
pub fn db_pointer_parts(value: &Bson) -> (Vec<u8>, [u8; 12]) {
    let mut d = Document::new();
    d.insert("", value.clone());
    let bytes = d.to_vec().unwrap_or_default();
    // 4 (document length) + 1 (element type) + 1 (the empty name's NUL) = 6.
    let body = bytes.get(6..).unwrap_or_default();
    let len = body
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match len {
        Some(len) if len >= 1 && body.len() >= 4 + len + 12 => {
            let ns = body[4..4 + len - 1].to_vec();
            let mut oid = [0u8; 12];
            oid.copy_from_slice(&body[4 + len..4 + len + 12]);
            (ns, oid)
        }
        _ => (Vec::new(), [0; 12]),
    }
}

/// A number, compared by its exact value whatever its type.
#[derive(Clone, Copy, Debug)]
pub enum Number {
    Int(i64),
    Double(f64),
    Decimal(Decimal128),
}

impl Number {
    /// The number a BSON value holds, if it is one.
    pub fn from_bson(value: &Bson) -> Option<Number> {
        match value {
            Bson::Int32(i) => Some(Number::Int(i64::from(*i))),
            Bson::Int64(i) => Some(Number::Int(*i)),
            Bson::Double(d) => Some(Number::Double(*d)),
            Bson::Decimal128(d) => Some(Number::Decimal(*d)),
            _ => None,
        }
    }

    /// The value as a double (rounded to the nearest for large int64 and decimals).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) => d,
            Number::Decimal(d) => decimal_to_f64(&d),
        }
    }

    pub fn is_nan(self) -> bool {
        match self {
            Number::Int(_) => false,
            Number::Double(d) => d.is_nan(),
            Number::Decimal(d) => decimal::decode(&d) == Decimal::NaN,
        }
    }
}

/// Where a number stands on the line, exactly: what comparisons involving decimals use.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Exactly {
    NaN,
    NegativeInfinity,
    Finite(Exact),
    PositiveInfinity,
}

fn exactly(n: Number) -> Exactly {
    let infinite = |negative: bool| {
        if negative {
            Exactly::NegativeInfinity
        } else {
            Exactly::PositiveInfinity
        }
    };
    match n {
        Number::Int(i) => Exactly::Finite(Exact::from_i64(i)),
        Number::Double(d) if d.is_nan() => Exactly::NaN,
        Number::Double(d) => Exact::from_f64(d).map_or(infinite(d < 0.0), Exactly::Finite),
        Number::Decimal(d) => match decimal::decode(&d) {
            Decimal::NaN => Exactly::NaN,
            Decimal::Infinite { negative } => infinite(negative),
            Decimal::Finite(e) => Exactly::Finite(e),
        },
    }
}

/// Compares two numbers by value. NaN is below every other number and equal to itself;
/// `-0.0 == 0.0`; decimals compare exactly with every other type.
pub fn compare_number_values(a: Number, b: Number) -> Ordering {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => x.cmp(&y),
        (Number::Int(x), Number::Double(y)) => compare_int_to_double(x, y),
        (Number::Double(x), Number::Int(y)) => compare_int_to_double(y, x).reverse(),
        (Number::Double(x), Number::Double(y)) => compare_doubles(x, y),
        (x, y) => exactly(x).cmp(&exactly(y)),
    }
}

/// How a number relates to its nearest double, [`Number::as_f64`]: `Equal` when the
/// double holds it exactly. Index keys store the double and, when it is not exact, the
/// exact value after it.
pub fn relation_to_nearest_double(n: Number) -> (f64, Ordering, Option<Exact>) {
    let approx = n.as_f64();
    match n {
        Number::Double(_) => (approx, Ordering::Equal, None),
        Number::Int(i) if compare_int_to_double(i, approx) == Ordering::Equal => {
            (approx, Ordering::Equal, None)
        }
        _ => match exactly(n) {
            Exactly::Finite(e) => {
                let relation = match Exact::from_f64(approx) {
                    Some(a) => e.cmp(&a),
                    // Beyond the doubles: between the largest finite one and infinity.
                    None if approx > 0.0 => Ordering::Less,
                    None => Ordering::Greater,
                };
                match relation {
                    Ordering::Equal => (approx, Ordering::Equal, None),
                    other => (approx, other, Some(e)),
                }
            }
            _ => (approx, Ordering::Equal, None),
        },
    }
}

fn compare_numbers(a: &Bson, b: &Bson) -> Ordering {
    match (Number::from_bson(a), Number::from_bson(b)) {
        (Some(x), Some(y)) => compare_number_values(x, y),
        _ => Ordering::Equal,
    }
}

/// Doubles in MongoDB's order: NaN first, and `-0.0 == 0.0`.
pub fn compare_doubles(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// An exact comparison of an int64 with a double, without rounding the integer.
fn compare_int_to_double(i: i64, d: f64) -> Ordering {
    if d.is_nan() {
        return Ordering::Greater;
    }
    // 2^63 is exactly representable; every double at or above it exceeds every i64.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO_POW_63 {
        return Ordering::Less;
    }
    if d < -TWO_POW_63 {
        return Ordering::Greater;
    }
    // Now d truncates into i64 range exactly.
    let t = d.trunc();
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = d - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        other => other,
    }
}

/// The nearest double to a decimal128 (through its canonical string form).
pub fn decimal_to_f64(d: &Decimal128) -> f64 {
    let text = d.to_string();
    match text.as_str() {
        "NaN" | "-NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => text.parse::<f64>().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Binary, DateTime, Regex, Timestamp, doc, oid::ObjectId, spec::BinarySubtype};

    fn ord(a: Bson, b: Bson) -> Ordering {
        compare(&a, &b)
    }

    #[test]
    fn cross_type_order_follows_canonical_types() {
        let ascending = vec![
            Bson::MinKey,
            Bson::Undefined,
            Bson::Null,
            Bson::Double(f64::NAN),
            Bson::Int32(-5),
            Bson::Double(1.5),
            Bson::Int64(2),
            Bson::String(String::new()),
            Bson::String("a".into()),
            Bson::Document(doc! {}),
            Bson::Array(vec![]),
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![],
            }),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
            Bson::Boolean(false),
            Bson::Boolean(true),
            Bson::DateTime(DateTime::from_millis(-1)),
            Bson::DateTime(DateTime::from_millis(0)),
            Bson::Timestamp(Timestamp {
                time: 0,
                increment: 0,
            }),
            Bson::RegularExpression(Regex {
                pattern: "a".try_into().unwrap(),
                options: "".try_into().unwrap(),
            }),
            Bson::JavaScriptCode("x".into()),
            Bson::MaxKey,
        ];
        for (i, a) in ascending.iter().enumerate() {
            for (j, b) in ascending.iter().enumerate() {
                assert_eq!(compare(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        assert_eq!(ord(Bson::Int32(1), Bson::Double(1.0)), Ordering::Equal);
        assert_eq!(ord(Bson::Int64(1), Bson::Int32(1)), Ordering::Equal);
        assert_eq!(ord(Bson::Double(-0.0), Bson::Int32(0)), Ordering::Equal);
        assert_eq!(ord(Bson::Double(0.5), Bson::Int32(1)), Ordering::Less);
        assert_eq!(ord(Bson::Double(-0.5), Bson::Int64(-1)), Ordering::Greater);
        let dec: Decimal128 = "2.5".parse().unwrap();
        assert_eq!(
            ord(Bson::Decimal128(dec), Bson::Double(2.5)),
            Ordering::Equal
        );
        assert_eq!(ord(Bson::Decimal128(dec), Bson::Int32(3)), Ordering::Less);
    }

    #[test]
    fn large_int64_compares_exactly_with_doubles() {
        let big = (1i64 << 53) + 1;
        assert_eq!(
            ord(Bson::Int64(big), Bson::Double((1i64 << 53) as f64)),
            Ordering::Greater
        );
        assert_eq!(
            ord(Bson::Int64(i64::MAX), Bson::Double(9.3e18)),
            Ordering::Less
        );
        assert_eq!(
            ord(Bson::Int64(i64::MIN), Bson::Double(-9.3e18)),
            Ordering::Greater
        );
        assert_eq!(
            ord(Bson::Int64(i64::MIN), Bson::Double(f64::NEG_INFINITY)),
            Ordering::Greater
        );
    }

    #[test]
    fn nan_is_smallest_number_and_equal_to_itself() {
        assert_eq!(
            ord(Bson::Double(f64::NAN), Bson::Double(f64::NAN)),
            Ordering::Equal
        );
        assert_eq!(
            ord(Bson::Double(f64::NAN), Bson::Double(f64::NEG_INFINITY)),
            Ordering::Less
        );
        assert_eq!(
            ord(Bson::Double(f64::NAN), Bson::Int64(i64::MIN)),
            Ordering::Less
        );
    }

    #[test]
    fn documents_compare_type_then_name_then_value() {
        // Type first: a number field sorts before a string field whatever the names.
        assert_eq!(
            compare_documents(&doc! {"z": 1}, &doc! {"a": "x"}),
            Ordering::Less
        );
        assert_eq!(
            compare_documents(&doc! {"a": 1}, &doc! {"b": 1}),
            Ordering::Less
        );
        assert_eq!(
            compare_documents(&doc! {"a": 1}, &doc! {"a": 1, "b": 0}),
            Ordering::Less
        );
        assert_eq!(
            compare_documents(&doc! {"a": 2}, &doc! {"a": 1.0, "b": 0}),
            Ordering::Greater
        );
    }

    #[test]
    fn bindata_compares_length_first() {
        let short = Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![9],
        });
        let long = Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![0, 0],
        });
        assert_eq!(compare(&short, &long), Ordering::Less);
    }
}
