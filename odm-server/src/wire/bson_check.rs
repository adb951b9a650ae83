//! Validates raw BSON from the network before anything decodes it.
//!
//! The `bson` crate's decoder recurses once per nesting level with no limit, so a
//! document nested ten thousand levels deep would overflow the stack. This check walks
//! the bytes with an explicit stack: it verifies every length, terminator and element
//! type, and refuses nesting deeper than a limit, so the decoder only ever sees input
//! that is well formed and shallow.

use std::fmt;

/// Nesting accepted in a message (mongod's `maxBSONDepth` default). Stored documents are
/// held to [`crate::wire::MAX_DOCUMENT_DEPTH`] when written.
pub const MAX_MESSAGE_DEPTH: usize = 200;

/// Why a byte string is not acceptable BSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BsonError {
    /// Structurally broken: the message is not BSON.
    Malformed(String),
    /// Well formed but nested deeper than allowed.
    TooDeep { limit: usize },
}

impl fmt::Display for BsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BsonError::Malformed(why) => write!(f, "invalid BSON: {why}"),
            BsonError::TooDeep { limit } => {
                write!(f, "BSON document is nested more than {limit} levels deep")
            }
        }
    }
}

fn malformed(why: impl Into<String>) -> BsonError {
    BsonError::Malformed(why.into())
}

fn read_i32(bytes: &[u8], at: usize) -> Result<i32, BsonError> {
    bytes
        .get(at..at + 4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| malformed("length runs past the end"))
}

/// Where a NUL-terminated string starting at `at` ends (the index after its NUL).
fn cstring_end(bytes: &[u8], at: usize, end: usize) -> Result<usize, BsonError> {
    let slice = bytes
        .get(at..end)
        .ok_or_else(|| malformed("field name runs past the end"))?;
    let nul = slice
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| malformed("unterminated field name"))?;
    std::str::from_utf8(&slice[..nul]).map_err(|_| malformed("field name is not UTF-8"))?;
    Ok(at + nul + 1)
}

/// A length-prefixed string (`int32 length, bytes, NUL`) starting at `at`; returns its end.
fn string_end(bytes: &[u8], at: usize, end: usize) -> Result<usize, BsonError> {
    let len = read_i32(bytes, at)?;
    if len < 1 {
        return Err(malformed("string length below 1"));
    }
    let stop = at + 4 + len as usize;
    if stop > end {
        return Err(malformed("string runs past its document"));
    }
    if bytes[stop - 1] != 0 {
        return Err(malformed("string is not NUL-terminated"));
    }
    std::str::from_utf8(&bytes[at + 4..stop - 1]).map_err(|_| malformed("string is not UTF-8"))?;
    Ok(stop)
}

/// Checks that `bytes` starts with one well-formed document nested at most `max_depth`
/// levels deep (a flat document has depth 1); returns the document's length.
pub fn check_document(bytes: &[u8], max_depth: usize) -> Result<usize, BsonError> {
    let total = read_i32(bytes, 0)?;
    if total < 5 || total as usize > bytes.len() {
        return Err(malformed(format!(
            "document length {total} does not fit in {} bytes",
            bytes.len()
        )));
    }
    // Each frame: (position of the next element, end of the document).
    let mut stack: Vec<(usize, usize)> = vec![(4, total as usize)];
    if max_depth == 0 {
        return Err(BsonError::TooDeep { limit: max_depth });
    }
    while let Some(&(pos, end)) = stack.last() {
        let type_byte = *bytes
            .get(pos)
            .ok_or_else(|| malformed("document runs past its length"))?;
        if type_byte == 0 {
            if pos + 1 != end {
                return Err(malformed("document ends before its stated length"));
            }
            stack.pop();
            continue;
        }
        let value_at = cstring_end(bytes, pos + 1, end)?;
        let fixed = |n: usize| -> Result<usize, BsonError> {
            if value_at + n > end {
                Err(malformed("value runs past its document"))
            } else {
                Ok(value_at + n)
            }
        };
        let next = match type_byte {
            0x01 | 0x09 | 0x11 | 0x12 => fixed(8)?,
            0x10 => fixed(4)?,
            0x13 => fixed(16)?,
            0x07 => fixed(12)?,
            0x08 => {
                let at = fixed(1)?;
                if bytes[value_at] > 1 {
                    return Err(malformed("boolean is neither 0 nor 1"));
                }
                at
            }
            0x06 | 0x0A | 0x7F | 0xFF => value_at,
            0x02 | 0x0D | 0x0E => string_end(bytes, value_at, end)?,
            0x05 => {
                let len = read_i32(bytes, value_at)?;
                if len < 0 {
                    return Err(malformed("negative binary length"));
                }
                fixed(5 + len as usize)?
            }
            0x0B => {
                let pattern_end = cstring_end(bytes, value_at, end)?;
                cstring_end(bytes, pattern_end, end)?
            }
            0x0C => {
                let s = string_end(bytes, value_at, end)?;
                if s + 12 > end {
                    return Err(malformed("DBPointer runs past its document"));
                }
                s + 12
            }
            0x03 | 0x04 => {
                let len = read_i32(bytes, value_at)?;
                if len < 5 || value_at + len as usize > end {
                    return Err(malformed("embedded document length is out of bounds"));
                }
                if stack.len() >= max_depth {
                    return Err(BsonError::TooDeep { limit: max_depth });
                }
                let child_end = value_at + len as usize;
                stack.last_mut().expect("current frame").0 = child_end;
                stack.push((value_at + 4, child_end));
                continue;
            }
            0x0F => {
                // Code with scope: int32 total, string, document.
                let len = read_i32(bytes, value_at)?;
                let stop = value_at + len.max(0) as usize;
                if len < 14 || stop > end {
                    return Err(malformed("code-with-scope length is out of bounds"));
                }
                let code_end = string_end(bytes, value_at + 4, stop)?;
                let scope_len = check_document(
                    &bytes[code_end..stop],
                    max_depth.saturating_sub(stack.len()),
                )?;
                if code_end + scope_len != stop {
                    return Err(malformed("code-with-scope length does not match its parts"));
                }
                stop
            }
            other => return Err(malformed(format!("unknown element type 0x{other:02x}"))),
        };
        stack.last_mut().expect("current frame").0 = next;
    }
    Ok(total as usize)
}

/// The nesting depth of a decoded document (1 for a flat one), for the limit on stored
/// documents.
pub fn document_depth(doc: &bson::Document) -> usize {
    // Iterative, so depth itself cannot overflow the stack here.
    let mut max = 1;
    let mut stack: Vec<(&bson::Bson, usize)> = doc.values().map(|v| (v, 1)).collect();
    while let Some((v, depth)) = stack.pop() {
        match v {
            bson::Bson::Document(d) => {
                max = max.max(depth + 1);
                stack.extend(d.values().map(|c| (c, depth + 1)));
            }
            bson::Bson::Array(items) => {
                max = max.max(depth + 1);
                stack.extend(items.iter().map(|c| (c, depth + 1)));
            }
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, doc};

    fn nested(depth: usize) -> Vec<u8> {
        let mut d = doc! {"leaf": 1};
        for _ in 1..depth {
            d = doc! {"x": d};
        }
        d.to_vec().unwrap()
    }

    #[test]
    fn accepts_every_type() {
        let d = doc! {
            "d": 1.5, "s": "x", "o": {"a": [1, 2]}, "b": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1, 2] }),
            "u": Bson::Undefined, "oid": bson::oid::ObjectId::new(), "t": true, "dt": bson::DateTime::now(), "n": null,
            "re": Bson::RegularExpression(bson::Regex { pattern: "a".try_into().unwrap(), options: "i".try_into().unwrap() }),
            "js": Bson::JavaScriptCode("f()".into()), "i": 1, "ts": Bson::Timestamp(bson::Timestamp { time: 1, increment: 2 }),
            "l": 5i64, "dec": Bson::Decimal128("1.5".parse().unwrap()), "min": Bson::MinKey, "max": Bson::MaxKey,
            "cws": Bson::JavaScriptCodeWithScope(bson::JavaScriptCodeWithScope { code: "f".into(), scope: doc! {"a": 1} }),
        };
        let bytes = d.to_vec().unwrap();
        assert_eq!(check_document(&bytes, 10), Ok(bytes.len()));
    }

    #[test]
    fn depth_is_limited_without_recursion() {
        assert!(check_document(&nested(5), 5).is_ok());
        assert_eq!(
            check_document(&nested(6), 5),
            Err(BsonError::TooDeep { limit: 5 })
        );
        // Far deeper than any stack could recurse: refused, not crashed.
        let mut deep = Vec::new();
        let levels = 100_000;
        // Build {"":{"":{...}}} by hand: each level is 4 (len) + 1 (type) + 1 (name NUL) + child + 1.
        let mut len = 5i32;
        let mut sizes = vec![len];
        for _ in 0..levels {
            len += 7;
            sizes.push(len);
        }
        for i in (1..=levels).rev() {
            deep.extend_from_slice(&sizes[i].to_le_bytes());
            deep.push(0x03);
            deep.push(0);
        }
        deep.extend_from_slice(&5i32.to_le_bytes());
        deep.push(0);
        deep.extend(std::iter::repeat_n(0u8, levels));
        assert_eq!(
            check_document(&deep, MAX_MESSAGE_DEPTH),
            Err(BsonError::TooDeep {
                limit: MAX_MESSAGE_DEPTH
            })
        );
    }

    #[test]
    fn refuses_broken_bytes() {
        let good = doc! {"a": "hello", "b": {"c": 1}}.to_vec().unwrap();
        for cut in [0, 3, 4, 10, good.len() - 1] {
            assert!(check_document(&good[..cut], 10).is_err(), "cut at {cut}");
        }
        let mut bad_type = good.clone();
        bad_type[4] = 0x42;
        assert!(matches!(
            check_document(&bad_type, 10),
            Err(BsonError::Malformed(_))
        ));
        let mut bad_len = good.clone();
        bad_len[0] = 0xFF;
        assert!(check_document(&bad_len, 10).is_err());
        let mut bad_bool = doc! {"t": true}.to_vec().unwrap();
        let at = bad_bool.len() - 2;
        bad_bool[at] = 7;
        assert!(check_document(&bad_bool, 10).is_err());
    }

    #[test]
    fn depth_of_decoded_documents() {
        assert_eq!(document_depth(&doc! {}), 1);
        assert_eq!(document_depth(&doc! {"a": {"b": [1]}}), 3);
    }
}
