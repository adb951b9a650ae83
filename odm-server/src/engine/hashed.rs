//! The 64-bit hash mongod gives a value for hashed indexes and `$toHashedIndexKey`: the
//! first eight bytes, little-endian, of the MD5 of a seed and the value's canonical
//! type and bytes.
//!
//! Numbers of every type hash as the same 64-bit integer (truncated, clamped, NaN as 0,
//! and the double 2^63 as -2^63, an old cast mongod keeps), so `1`, `1.0` and
//! `NumberLong(1)` hash alike; strings and symbols share a canonical type, as do the
//! other types that compare equal. Documents and arrays hash field by field, names
//! included, ending with an end-of-object marker.

use bson::{Bson, Document};
use md5::{Digest, Md5};

use crate::engine::compare::decimal_to_f64;

/// mongod's seed for hashed indexes (`hashed` keys are built with seed 0).
const SEED: i32 = 0;

/// The hash of `value`, as `$toHashedIndexKey` returns it.
pub fn hash64(value: &Bson) -> i64 {
    let mut md5 = Md5::new();
    md5.update(SEED.to_le_bytes());
    element(&mut md5, None, value);
    let digest = md5.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

/// The canonical type number types that compare as one share.
fn canonical_type(value: &Bson) -> i32 {
    match value {
        Bson::MinKey => -1,
        Bson::Undefined => 0,
        Bson::Null => 5,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => 10,
        Bson::String(_) | Bson::Symbol(_) => 15,
        Bson::Document(_) => 20,
        Bson::Array(_) => 25,
        Bson::Binary(_) => 30,
        Bson::ObjectId(_) => 35,
        Bson::Boolean(_) => 40,
        Bson::DateTime(_) => 45,
        Bson::Timestamp(_) => 47,
        Bson::RegularExpression(_) => 50,
        Bson::DbPointer(_) => 55,
        Bson::JavaScriptCode(_) => 60,
        Bson::JavaScriptCodeWithScope(_) => 65,
        Bson::MaxKey => 100,
    }
}

/// A number as the 64-bit integer it hashes as.
fn number_for_hash(value: &Bson) -> i64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    let clamp = |d: f64| -> i64 {
        if d.is_nan() {
            0
        } else if d >= TWO_POW_63 {
            i64::MAX
        } else if d < -TWO_POW_63 {
            i64::MIN
        } else {
            d.trunc() as i64
        }
    };
    match value {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(d) if *d == TWO_POW_63 => i64::MIN,
        Bson::Double(d) => clamp(*d),
        Bson::Decimal128(d) => clamp(decimal_to_f64(d)),
        _ => 0,
    }
}

fn string_bytes(md5: &mut Md5, s: &str) {
    md5.update(((s.len() + 1) as i32).to_le_bytes());
    md5.update(s.as_bytes());
    md5.update([0]);
}

fn cstring(md5: &mut Md5, s: &str) {
    md5.update(s.as_bytes());
    md5.update([0]);
}

/// One element: its canonical type, its name (inside documents and arrays), its value.
fn element(md5: &mut Md5, name: Option<&str>, value: &Bson) {
    md5.update(canonical_type(value).to_le_bytes());
    if let Some(name) = name {
        cstring(md5, name);
    }
    match value {
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => {
            md5.update(number_for_hash(value).to_le_bytes());
        }
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => string_bytes(md5, s),
        Bson::Document(d) => fields(md5, d),
        Bson::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                element(md5, Some(&i.to_string()), item);
            }
            end_of_object(md5);
        }
        Bson::Binary(b) => {
            md5.update((b.bytes.len() as i32).to_le_bytes());
            md5.update([u8::from(b.subtype)]);
            md5.update(&b.bytes);
        }
        Bson::ObjectId(o) => md5.update(o.bytes()),
        Bson::Boolean(b) => md5.update([u8::from(*b)]),
        Bson::DateTime(d) => md5.update(d.timestamp_millis().to_le_bytes()),
        Bson::Timestamp(t) => {
            md5.update(t.increment.to_le_bytes());
            md5.update(t.time.to_le_bytes());
        }
        Bson::RegularExpression(r) => {
            cstring(md5, r.pattern.as_str());
            cstring(md5, r.options.as_str());
        }
        Bson::DbPointer(_) => {
            let (ns, id) = crate::engine::compare::db_pointer_parts(value);
            md5.update(((ns.len() + 1) as i32).to_le_bytes());
            md5.update(&ns);
            md5.update([0]);
            md5.update(id);
        }
        Bson::JavaScriptCodeWithScope(c) => {
            cstring(md5, &c.code);
            fields(md5, &c.scope);
        }
        Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey => {}
    }
}

fn fields(md5: &mut Md5, d: &Document) {
    for (k, v) in d {
        element(md5, Some(k), v);
    }
    end_of_object(md5);
}

/// The end-of-object element: canonical type 0, no name, no value.
fn end_of_object(md5: &mut Md5) {
    md5.update(0_i32.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_every_type_hash_alike() {
        let one = hash64(&Bson::Int32(1));
        assert_eq!(hash64(&Bson::Int64(1)), one);
        assert_eq!(hash64(&Bson::Double(1.0)), one);
        assert_eq!(hash64(&Bson::Double(1.9)), one);
        assert_ne!(hash64(&Bson::String("1".into())), one);
        assert_eq!(
            hash64(&Bson::Double(9_223_372_036_854_775_808.0)),
            hash64(&Bson::Int64(i64::MIN))
        );
    }
}
