//! An order-preserving byte encoding of BSON values, for document and index keys.
//!
//! `encode(a) < encode(b)` (bytewise) exactly when `compare(a, b)` is `Less` in MongoDB's
//! order (`engine::compare`), and equal values encode to equal bytes, including numbers of
//! different types (`1`, `1.0`, `NumberLong(1)` are one key). Every encoding is *prefix
//! free* (no encoding is a proper prefix of another), so the keys of a compound index are
//! plain concatenations, and a descending field is the bitwise complement of its
//! ascending encoding. `docs/keycodec.md` describes the format byte by byte; it is stored
//! on disk, so changes need a format version bump.

use bson::{Bson, Document};

use crate::engine::collation::Collator;
use crate::engine::compare::{
    Number, TypeRank, db_pointer_parts, relation_to_nearest_double, type_rank,
};

/// Ends a string, and every escaped byte sequence.
const STRING_END: [u8; 2] = [0x00, 0x00];
/// Follows a 0x00 byte inside a string, so that `00 00` only ever ends one.
const ZERO_ESCAPE: u8 = 0xFF;
/// Ends an object or an array (smaller than every type byte).
const CONTAINER_END: u8 = 0x00;
/// After a number's 8 bytes: whether an int64's exact value lies below, at or above the
/// double written before it.
const RESIDUAL_NEGATIVE: u8 = 0x04;
const RESIDUAL_NONE: u8 = 0x08;
const RESIDUAL_POSITIVE: u8 = 0x0C;

/// The encoding of one value.
pub fn encode(value: &Bson) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_into(value, &mut out);
    out
}

/// Appends the encoding of `value` as a component of an index key; with `descending`, its
/// bitwise complement. Under an index's `collation`, every string (also inside documents
/// and arrays; field names excepted) is written as its collation sort key, so that the
/// bytes order as the collation orders and strings it holds equal are one key.
pub fn encode_component_collated(
    value: &Bson,
    descending: bool,
    collation: Option<&Collator>,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.push(type_rank(value) as u8);
    encode_body(value, collation, out);
    if descending {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

/// Appends the encoding of `value` (type byte, then body).
pub fn encode_into(value: &Bson, out: &mut Vec<u8>) {
    out.push(type_rank(value) as u8);
    encode_body(value, None, out);
}

fn encode_body(value: &Bson, collation: Option<&Collator>, out: &mut Vec<u8>) {
    match value {
        Bson::MinKey | Bson::MaxKey | Bson::Null | Bson::Undefined => {}
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => {
            let n = Number::from_bson(value).expect("numeric variants are numbers");
            encode_number(n, out);
        }
        Bson::String(s) | Bson::Symbol(s) => match collation {
            Some(c) => {
                let mut key = Vec::with_capacity(s.len() * 2);
                c.sort_key(s, &mut key);
                encode_string(&key, out);
            }
            None => encode_string(s.as_bytes(), out),
        },
        Bson::JavaScriptCode(s) => encode_string(s.as_bytes(), out),
        Bson::Document(d) => encode_object_body(d, collation, out),
        Bson::Array(items) => {
            for item in items {
                out.push(type_rank(item) as u8);
                encode_body(item, collation, out);
            }
            out.push(CONTAINER_END);
        }
        Bson::Binary(b) => {
            out.extend_from_slice(&(b.bytes.len() as u32).to_be_bytes());
            out.push(u8::from(b.subtype));
            out.extend_from_slice(&b.bytes);
        }
        Bson::ObjectId(oid) => out.extend_from_slice(&oid.bytes()),
        Bson::Boolean(b) => out.push(u8::from(*b)),
        Bson::DateTime(dt) => out.extend_from_slice(&order_i64(dt.timestamp_millis())),
        Bson::Timestamp(ts) => {
            out.extend_from_slice(&ts.time.to_be_bytes());
            out.extend_from_slice(&ts.increment.to_be_bytes());
        }
        Bson::RegularExpression(re) => {
            encode_string(re.pattern.as_str().as_bytes(), out);
            encode_string(re.options.as_str().as_bytes(), out);
        }
        Bson::JavaScriptCodeWithScope(cws) => {
            encode_string(cws.code.as_bytes(), out);
            encode_object_body(&cws.scope, None, out);
        }
        Bson::DbPointer(_) => {
            // Length first, as mongod compares DBPointers (the length prefix also makes
            // the namespace bytes self-delimiting).
            let (ns, oid) = db_pointer_parts(value);
            out.extend_from_slice(&(ns.len() as u32).to_be_bytes());
            out.extend_from_slice(&ns);
            out.extend_from_slice(&oid);
        }
    }
}

fn encode_object_body(d: &Document, collation: Option<&Collator>, out: &mut Vec<u8>) {
    // Elements compare by type, then name, then value: write them in that order.
    for (name, v) in d {
        out.push(type_rank(v) as u8);
        encode_string(name.as_bytes(), out);
        encode_body(v, collation, out);
    }
    out.push(CONTAINER_END);
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(ZERO_ESCAPE);
        }
    }
    out.extend_from_slice(&STRING_END);
}

/// Numbers of every type share one encoding: the nearest double in an order-preserving
/// form, then, for an int64 or a decimal that the double does not hold exactly, whether
/// the value is below or above it and the value itself, exactly.
fn encode_number(n: Number, out: &mut Vec<u8>) {
    let (approx, relation, exact) = relation_to_nearest_double(n);
    out.extend_from_slice(&order_f64(approx));
    match (relation, exact) {
        (std::cmp::Ordering::Less, Some(e)) => {
            out.push(RESIDUAL_NEGATIVE);
            e.encode_ordered(out);
        }
        (std::cmp::Ordering::Greater, Some(e)) => {
            out.push(RESIDUAL_POSITIVE);
            e.encode_ordered(out);
        }
        _ => out.push(RESIDUAL_NONE),
    }
}

/// A double as 8 bytes that sort like its value; NaN below everything, `-0.0` as `0.0`.
fn order_f64(d: f64) -> [u8; 8] {
    if d.is_nan() {
        return [0; 8];
    }
    let d = if d == 0.0 { 0.0 } else { d };
    let bits = d.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered.to_be_bytes()
}

fn order_i64(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

/// The smallest byte string greater than every string that starts with `prefix`, or
/// `None` when there is none (the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The one-byte prefix shared by every value of a type bracket (all numbers, all
/// strings, ...), complemented for a descending field.
pub fn type_prefix(rank: TypeRank, descending: bool) -> Vec<u8> {
    let b = rank as u8;
    vec![if descending { !b } else { b }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compare::compare;
    use bson::{
        Binary, DateTime, Decimal128, Regex, Timestamp, doc, oid::ObjectId, spec::BinarySubtype,
    };
    use proptest::prelude::*;

    fn samples() -> Vec<Bson> {
        vec![
            Bson::MinKey,
            Bson::Undefined,
            Bson::Null,
            Bson::Double(f64::NAN),
            Bson::Double(f64::NEG_INFINITY),
            Bson::Int64(i64::MIN),
            Bson::Int64(i64::MIN + 1),
            Bson::Double(-1e300),
            Bson::Int32(-5),
            Bson::Double(-0.5),
            Bson::Double(-0.0),
            Bson::Int32(0),
            Bson::Double(0.25),
            Bson::Int32(1),
            Bson::Int64(1),
            Bson::Double(1.0),
            Bson::Decimal128("1".parse::<Decimal128>().unwrap()),
            Bson::Int64((1 << 53) + 1),
            Bson::Int64(i64::MAX - 1),
            Bson::Int64(i64::MAX),
            Bson::Double(1e300),
            Bson::Double(f64::INFINITY),
            Bson::String(String::new()),
            Bson::String("\0".into()),
            Bson::String("\0\0".into()),
            Bson::String("\x01".into()),
            Bson::String("a".into()),
            Bson::String("a\0".into()),
            Bson::String("ab".into()),
            Bson::Symbol("ab".into()),
            Bson::String("b".into()),
            Bson::Document(doc! {}),
            Bson::Document(doc! {"a": 1}),
            Bson::Document(doc! {"a": 1, "b": 1}),
            Bson::Document(doc! {"a": 2}),
            Bson::Document(doc! {"b": 1}),
            Bson::Document(doc! {"a": "x"}),
            Bson::Document(doc! {"a": {"x": 1}}),
            Bson::Array(vec![]),
            Bson::Array(vec![Bson::Null]),
            Bson::Array(vec![Bson::Int32(1)]),
            Bson::Array(vec![Bson::Int32(1), Bson::Int32(2)]),
            Bson::Array(vec![Bson::String("a".into())]),
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![],
            }),
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![9],
            }),
            Bson::Binary(Binary {
                subtype: BinarySubtype::Uuid,
                bytes: vec![1],
            }),
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![0, 0],
            }),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
            Bson::ObjectId(ObjectId::from_bytes([1; 12])),
            Bson::Boolean(false),
            Bson::Boolean(true),
            Bson::DateTime(DateTime::from_millis(i64::MIN)),
            Bson::DateTime(DateTime::from_millis(-1)),
            Bson::DateTime(DateTime::from_millis(0)),
            Bson::DateTime(DateTime::from_millis(5)),
            Bson::Timestamp(Timestamp {
                time: 1,
                increment: 0,
            }),
            Bson::Timestamp(Timestamp {
                time: 1,
                increment: 7,
            }),
            Bson::Timestamp(Timestamp {
                time: 2,
                increment: 0,
            }),
            Bson::RegularExpression(Regex {
                pattern: "a".try_into().unwrap(),
                options: "".try_into().unwrap(),
            }),
            Bson::RegularExpression(Regex {
                pattern: "a".try_into().unwrap(),
                options: "i".try_into().unwrap(),
            }),
            db_pointer("b", 9),
            db_pointer("aa", 1),
            db_pointer("aa", 2),
            Bson::JavaScriptCode("f".into()),
            Bson::MaxKey,
        ]
    }

    /// A DBPointer, built from its BSON bytes (the driver offers no constructor).
    fn db_pointer(ns: &str, oid_byte: u8) -> Bson {
        let mut body = vec![0x0C, b'p', 0];
        body.extend_from_slice(&((ns.len() + 1) as i32).to_le_bytes());
        body.extend_from_slice(ns.as_bytes());
        body.push(0);
        body.extend_from_slice(&[oid_byte; 12]);
        body.push(0);
        let mut bytes = ((body.len() + 4) as i32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        Document::from_reader(&bytes[..])
            .unwrap()
            .get("p")
            .unwrap()
            .clone()
    }

    #[test]
    fn byte_order_matches_value_order_on_samples() {
        let values = samples();
        for a in &values {
            for b in &values {
                let by_value = compare(a, b);
                let by_bytes = encode(a).cmp(&encode(b));
                assert_eq!(by_bytes, by_value, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn descending_components_reverse_the_order() {
        let values = samples();
        for a in &values {
            for b in &values {
                let (mut ka, mut kb) = (Vec::new(), Vec::new());
                encode_component_collated(a, true, None, &mut ka);
                encode_component_collated(b, true, None, &mut kb);
                assert_eq!(ka.cmp(&kb), compare(a, b).reverse(), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn compound_keys_compare_field_by_field() {
        // ("a", 2) < ("ab", 1): the first field decides even though "a" is a prefix of "ab".
        let key = |s: &str, n: i32| {
            let mut k = Vec::new();
            encode_component_collated(&Bson::String(s.into()), false, None, &mut k);
            encode_component_collated(&Bson::Int32(n), false, None, &mut k);
            k
        };
        assert!(key("a", 2) < key("ab", 1));
        assert!(key("a", 1) < key("a", 2));
    }

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }

    fn scalar() -> impl Strategy<Value = Bson> {
        prop_oneof![
            any::<i32>().prop_map(Bson::Int32),
            any::<i64>().prop_map(Bson::Int64),
            any::<f64>().prop_map(Bson::Double),
            (-1i64 << 60..1i64 << 60).prop_map(|i| Bson::Double(i as f64)),
            ".{0,6}".prop_map(Bson::String),
            any::<bool>().prop_map(Bson::Boolean),
            any::<i64>().prop_map(|m| Bson::DateTime(DateTime::from_millis(m))),
            Just(Bson::Null),
        ]
    }

    fn value() -> impl Strategy<Value = Bson> {
        scalar().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
                proptest::collection::vec(("[ab]{1,2}", inner), 0..3).prop_map(|fields| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k, v);
                    }
                    Bson::Document(d)
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn byte_order_matches_value_order(a in value(), b in value()) {
            prop_assert_eq!(encode(&a).cmp(&encode(&b)), compare(&a, &b));
        }
    }
}
