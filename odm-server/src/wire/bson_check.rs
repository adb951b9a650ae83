//! Validates raw BSON from the network before anything decodes it.
//!
//! The `bson` crate's decoder recurses once per nesting level with no limit, so a
//! document nested ten thousand levels deep would overflow the stack. This check walks
//! the bytes with an explicit stack: it verifies every length, terminator and element
//! type, and refuses nesting deeper than a limit, so the decoder only ever sees input
//! that is well formed and shallow. The limit and the refusal are mongod's
//! (`bson_validate.cpp`): a document may nest [`MAX_BSON_DEPTH`](crate::depth::MAX_BSON_DEPTH) levels below its top,
//! and one nested deeper is `Overflow` (15), naming the path where it went too deep.

use std::fmt;

/// Why a byte string is not acceptable BSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BsonError {
    /// Structurally broken: the message is not BSON.
    Malformed(String),
    /// Well formed but nested deeper than allowed.
    TooDeep(TooDeep),
}

/// Where a document went too deep, for mongod's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    /// The field names from the top to the element that would nest too deep.
    pub path: Vec<String>,
    /// The document's top-level `_id`, printed as mongod prints it, when it came before.
    pub id: Option<String>,
}

impl TooDeep {
    /// mongod's wording: `BSONObj exceeds maximum nested object depth in element with
    /// field name 'a.b.c' in object with unknown _id`.
    pub fn message(&self) -> String {
        let context = format!(
            "in element with field name '{}' in object with {}",
            self.path.join("."),
            self.id.as_deref().unwrap_or("unknown _id")
        );
        format!(
            "BSONObj exceeds maximum nested object depth {}",
            escape(&context)
        )
    }
}

impl fmt::Display for BsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BsonError::Malformed(why) => write!(f, "invalid BSON: {why}"),
            BsonError::TooDeep(deep) => f.write_str(&deep.message()),
        }
    }
}

/// mongod's `str::escape`: quotes, backslashes and control characters as in JSON.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
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

/// Checks that `bytes` starts with one well-formed document nested at most `max_nesting`
/// levels below its top (a flat document nests 0 levels); returns the document's length.
pub fn check_document(bytes: &[u8], max_nesting: usize) -> Result<usize, BsonError> {
    check_nested(bytes, max_nesting).map_err(|e| match e {
        Refusal::Malformed(why) => BsonError::Malformed(why),
        Refusal::TooDeep { path, id } => BsonError::TooDeep(TooDeep {
            path: path
                .iter()
                .map(|&(at, end)| String::from_utf8_lossy(&bytes[at..end]).into_owned())
                .collect(),
            id: id.and_then(|(at, end)| print_id(&bytes[at..end])),
        }),
    })
}

/// A refusal with byte ranges into the input: field names, and the top-level `_id`
/// element.
enum Refusal {
    Malformed(String),
    TooDeep {
        path: Vec<(usize, usize)>,
        id: Option<(usize, usize)>,
    },
}

impl From<BsonError> for Refusal {
    fn from(e: BsonError) -> Refusal {
        match e {
            BsonError::Malformed(why) => Refusal::Malformed(why),
            BsonError::TooDeep(_) => Refusal::Malformed("unexpected depth refusal".into()),
        }
    }
}

/// One open document: where its next element starts, where it ends, and the name of the
/// element that opened it.
struct Frame {
    pos: usize,
    end: usize,
    name: (usize, usize),
}

fn check_nested(bytes: &[u8], max_nesting: usize) -> Result<usize, Refusal> {
    let total = read_i32(bytes, 0)?;
    if total < 5 || total as usize > bytes.len() {
        return Err(Refusal::Malformed(format!(
            "document length {total} does not fit in {} bytes",
            bytes.len()
        )));
    }
    let mut stack: Vec<Frame> = vec![Frame {
        pos: 4,
        end: total as usize,
        name: (0, 0),
    }];
    // The top-level `_id`, once its element is read whole (mongod names it in the error).
    let mut id = None;
    while let Some(frame) = stack.last() {
        let (pos, end) = (frame.pos, frame.end);
        let type_byte = *bytes
            .get(pos)
            .ok_or_else(|| malformed("document runs past its length"))?;
        if type_byte == 0 {
            if pos + 1 != end {
                return Err(malformed("document ends before its stated length").into());
            }
            stack.pop();
            continue;
        }
        let value_at = cstring_end(bytes, pos + 1, end)?;
        let name = (pos + 1, value_at - 1);
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
                    return Err(malformed("boolean is neither 0 nor 1").into());
                }
                at
            }
            0x06 | 0x0A | 0x7F | 0xFF => value_at,
            0x02 | 0x0D | 0x0E => string_end(bytes, value_at, end)?,
            0x05 => {
                let len = read_i32(bytes, value_at)?;
                if len < 0 {
                    return Err(malformed("negative binary length").into());
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
                    return Err(malformed("DBPointer runs past its document").into());
                }
                s + 12
            }
            0x03 | 0x04 => {
                let len = read_i32(bytes, value_at)?;
                if len < 5 || value_at + len as usize > end {
                    return Err(malformed("embedded document length is out of bounds").into());
                }
                if stack.len() > max_nesting {
                    return Err(too_deep(&stack, name, id));
                }
                let child_end = value_at + len as usize;
                stack.last_mut().expect("current frame").pos = child_end;
                stack.push(Frame {
                    pos: value_at + 4,
                    end: child_end,
                    name,
                });
                continue;
            }
            0x0F => {
                // Code with scope: int32 total, string, document. mongod counts two levels
                // for it (the code and its scope).
                let len = read_i32(bytes, value_at)?;
                let stop = value_at + len.max(0) as usize;
                if len < 14 || stop > end {
                    return Err(malformed("code-with-scope length is out of bounds").into());
                }
                if stack.len() + 1 > max_nesting {
                    return Err(too_deep(&stack, name, id));
                }
                let code_end = string_end(bytes, value_at + 4, stop)?;
                let scope_len =
                    match check_nested(&bytes[code_end..stop], max_nesting - stack.len() - 1) {
                        Ok(n) => n,
                        Err(Refusal::TooDeep { path, .. }) => {
                            let mut refusal = too_deep(&stack, name, id);
                            if let Refusal::TooDeep { path: outer, .. } = &mut refusal {
                                outer.extend(
                                    path.iter().map(|&(a, b)| (a + code_end, b + code_end)),
                                );
                            }
                            return Err(refusal);
                        }
                        Err(e) => return Err(e),
                    };
                if code_end + scope_len != stop {
                    return Err(malformed("code-with-scope length does not match its parts").into());
                }
                stop
            }
            other => {
                return Err(malformed(format!("unknown element type 0x{other:02x}")).into());
            }
        };
        if stack.len() == 1 && type_byte != 0x0F && &bytes[name.0..name.1] == b"_id" {
            id = Some((pos, next));
        }
        stack.last_mut().expect("current frame").pos = next;
    }
    Ok(total as usize)
}

fn too_deep(stack: &[Frame], name: (usize, usize), id: Option<(usize, usize)>) -> Refusal {
    let mut path: Vec<(usize, usize)> = stack[1..].iter().map(|f| f.name).collect();
    path.push(name);
    Refusal::TooDeep { path, id }
}

/// A top-level `_id` element as mongod's `BSONElement::toString` prints it (`_id: 5`,
/// `_id: "a"`, `_id: ObjectId('...')`).
fn print_id(element: &[u8]) -> Option<String> {
    // The element alone in a document: int32 length, the element, a terminating NUL.
    let mut doc = ((element.len() + 5) as i32).to_le_bytes().to_vec();
    doc.extend_from_slice(element);
    doc.push(0);
    let d = bson::Document::from_reader(&doc[..]).ok()?;
    let value = d.get("_id")?;
    let shown = match value {
        bson::Bson::Double(x) if x.fract() == 0.0 && x.abs() < 1e16 => format!("{x:.1}"),
        bson::Bson::Double(x) => x.to_string(),
        bson::Bson::String(s) => format!("\"{s}\""),
        bson::Bson::Int32(n) => n.to_string(),
        bson::Bson::Int64(n) => n.to_string(),
        bson::Bson::ObjectId(oid) => format!("ObjectId('{oid}')"),
        bson::Bson::Boolean(b) => b.to_string(),
        bson::Bson::Null => "null".to_string(),
        bson::Bson::Undefined => "undefined".to_string(),
        bson::Bson::MinKey => "MinKey".to_string(),
        bson::Bson::MaxKey => "MaxKey".to_string(),
        bson::Bson::DateTime(t) => format!("new Date({})", t.timestamp_millis()),
        bson::Bson::Timestamp(t) => format!("Timestamp({}, {})", t.time, t.increment),
        other => other.to_string(),
    };
    Some(format!("_id: {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depth::MAX_BSON_DEPTH;
    use bson::{Bson, doc};

    /// `levels` documents, each but the last holding the next under `x`.
    fn nested(levels: usize) -> Vec<u8> {
        let mut d = doc! {"leaf": 1};
        for _ in 1..levels {
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
        // A flat document nests 0 levels; five documents in a chain nest 4.
        assert!(check_document(&nested(1), 0).is_ok());
        assert!(check_document(&nested(5), 4).is_ok());
        let Err(BsonError::TooDeep(deep)) = check_document(&nested(6), 4) else {
            panic!("expected a depth refusal");
        };
        assert_eq!(deep.path, vec!["x"; 5]);
        assert_eq!(
            deep.message(),
            "BSONObj exceeds maximum nested object depth in element with field name 'x.x.x.x.x' in object with unknown _id"
        );
        // mongod's own example: maxBSONDepth 5 refuses a find whose filter nests 6 levels.
        let filter = doc! {"find": "coll", "filter": {"x": {"x": {"x": {"x": {"x": {"x": 1}}}}}}};
        let Err(BsonError::TooDeep(deep)) = check_document(&filter.to_vec().unwrap(), 5) else {
            panic!("expected a depth refusal");
        };
        assert_eq!(deep.path.join("."), "filter.x.x.x.x.x");
        // The top-level _id is named when it came first, escaped as mongod escapes.
        let with_id = doc! {"_id": "a\"b", "x": {"y": {"z": 1}}};
        let Err(e) = check_document(&with_id.to_vec().unwrap(), 1) else {
            panic!("expected a depth refusal");
        };
        assert_eq!(
            e.to_string(),
            "BSONObj exceeds maximum nested object depth in element with field name 'x.y' in object with _id: \\\"a\\\"b\\\""
        );
        let with_oid = doc! {"_id": 7, "x": {"y": 1}};
        let Err(BsonError::TooDeep(deep)) = check_document(&with_oid.to_vec().unwrap(), 0) else {
            panic!("expected a depth refusal");
        };
        assert_eq!(deep.id.as_deref(), Some("_id: 7"));
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
        let Err(BsonError::TooDeep(refusal)) = check_document(&deep, MAX_BSON_DEPTH) else {
            panic!("expected a depth refusal");
        };
        assert_eq!(refusal.path.len(), MAX_BSON_DEPTH + 1);
    }

    #[test]
    fn code_with_scope_counts_two_levels() {
        let cws = |scope: bson::Document| {
            doc! {"c": Bson::JavaScriptCodeWithScope(bson::JavaScriptCodeWithScope { code: "f".into(), scope })}
                .to_vec()
                .unwrap()
        };
        assert!(check_document(&cws(doc! {"a": 1}), 2).is_ok());
        assert!(check_document(&cws(doc! {"a": 1}), 1).is_err());
        assert!(check_document(&cws(doc! {"a": {"b": 1}}), 3).is_ok());
        assert!(matches!(
            check_document(&cws(doc! {"a": {"b": 1}}), 2),
            Err(BsonError::TooDeep(_))
        ));
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
}
