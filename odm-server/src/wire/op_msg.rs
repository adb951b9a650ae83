//! OP_MSG (opCode 2013), the message every command travels in.
//!
//! ```text
//! header      16 bytes (opCode 2013)
//! flagBits    uint32: bit 0 checksumPresent, bit 1 moreToCome, bit 16 exhaustAllowed;
//!             any other bit among 0..=15 is required-to-understand and refused
//! sections    one or more of:
//!   kind 0    byte 0, then one BSON document: the command body
//!   kind 1    byte 1, int32 size (counting itself), cstring identifier, then BSON
//!             documents filling the size: a document sequence (`documents` of an
//!             insert, `updates`, `deletes`), folded into the body as an array field
//! checksum    uint32 crc32c of everything before it, present iff bit 0 is set
//! ```
//!
//! A reply is flags 0 and a single kind-0 section, with no checksum (pymongo refuses
//! anything else). A request with `moreToCome` (an unacknowledged write) gets no reply.
//!
//! The `documents` sequence of an `insert` is the one kept as bytes
//! ([`DocumentSequence`]): those documents are stored as they came, so decoding them
//! into `Document`s only to encode them again would be the insert's largest cost.

use bson::{Bson, Document, RawDocument};

use super::bson_check::{BsonError, check_document};
use super::{HEADER_LEN, Header, OP_MSG, WireError, frame};
use crate::depth::MAX_BSON_DEPTH;

pub const CHECKSUM_PRESENT: u32 = 1;
pub const MORE_TO_COME: u32 = 1 << 1;
pub const EXHAUST_ALLOWED: u32 = 1 << 16;
/// Bits 0..=15 must be understood; only the first two are defined.
const REQUIRED_BITS: u32 = 0xFFFF;
const KNOWN_REQUIRED: u32 = CHECKSUM_PRESENT | MORE_TO_COME;

/// A parsed OP_MSG request.
#[derive(Debug)]
pub struct OpMsg {
    pub request_id: i32,
    pub flags: u32,
    /// The command body with every document sequence folded in as an array field,
    /// except the one in `documents`.
    pub body: Document,
    /// The `documents` sequence of an `insert`, checked but not decoded.
    pub documents: Option<DocumentSequence>,
}

/// Documents of a kind-1 section, checked (well formed, nested at most
/// [`MAX_BSON_DEPTH`] levels) and kept as the bytes that came.
#[derive(Debug, Default)]
pub struct DocumentSequence {
    bytes: Vec<u8>,
    count: usize,
}

impl DocumentSequence {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The documents in order.
    pub fn iter(&self) -> impl Iterator<Item = &RawDocument> {
        let mut at = 0;
        std::iter::from_fn(move || {
            let rest = self.bytes.get(at..).filter(|r| r.len() >= 5)?;
            let len = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            at += len;
            // Checked when the message was parsed: each length fits and ends with NUL.
            RawDocument::from_bytes(&rest[..len]).ok()
        })
    }
}

/// Whether a document sequence stays as bytes: only an `insert`'s documents, the one
/// command that stores what it is sent.
fn kept_raw(body: &Document, identifier: &str) -> bool {
    identifier == "documents" && body.keys().next().is_some_and(|k| k == "insert")
}

impl OpMsg {
    /// The client wants no reply (`w: 0` writes).
    pub fn more_to_come(&self) -> bool {
        self.flags & MORE_TO_COME != 0
    }
}

fn malformed(why: impl Into<String>) -> WireError {
    WireError::Malformed(why.into())
}

/// Checks the document `bytes` starts with; returns its length.
fn check(bytes: &[u8]) -> Result<usize, WireError> {
    check_document(bytes, MAX_BSON_DEPTH).map_err(|e| match e {
        BsonError::TooDeep(deep) => WireError::TooDeep(deep.message()),
        BsonError::Malformed(why) => malformed(why),
    })
}

/// Decodes a document [`check`] accepted.
fn decode(bytes: &[u8]) -> Result<Document, WireError> {
    crate::depth::guard(|| Document::from_reader(bytes))
        .map_err(|e| malformed(format!("undecodable document: {e}")))
}

/// A document from the network: checked, then decoded.
fn read_document(bytes: &[u8]) -> Result<(Document, usize), WireError> {
    let len = check(bytes)?;
    Ok((decode(&bytes[..len])?, len))
}

/// Parses an OP_MSG body (everything after the header).
pub fn parse(header: &Header, body: &[u8]) -> Result<OpMsg, WireError> {
    let flags = body
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| malformed("OP_MSG shorter than its flags"))?;
    let unknown = flags & REQUIRED_BITS & !KNOWN_REQUIRED;
    if unknown != 0 {
        return Err(malformed(format!(
            "unrecognized required OP_MSG flag bits {unknown:#x}"
        )));
    }
    let mut end = body.len();
    if flags & CHECKSUM_PRESENT != 0 {
        if end < 4 + 4 {
            return Err(malformed("OP_MSG too short to hold its checksum"));
        }
        end -= 4;
        let expected = u32::from_le_bytes([body[end], body[end + 1], body[end + 2], body[end + 3]]);
        let mut hasher_input = Vec::with_capacity(HEADER_LEN + end);
        header.write(&mut hasher_input);
        hasher_input.extend_from_slice(&body[..end]);
        let actual = crc32c::crc32c(&hasher_input);
        if actual != expected {
            return Err(WireError::BadChecksum { expected, actual });
        }
    }
    let mut pos = 4;
    let mut main: Option<Document> = None;
    // Each sequence's identifier and the byte ranges of its documents.
    let mut sequences: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
    while pos < end {
        let kind = body[pos];
        pos += 1;
        match kind {
            0 => {
                if main.is_some() {
                    return Err(malformed("OP_MSG has more than one kind-0 section"));
                }
                let (doc, len) = read_document(&body[pos..end])?;
                main = Some(doc);
                pos += len;
            }
            1 => {
                let size = body
                    .get(pos..pos + 4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| malformed("document sequence size runs past the end"))?;
                if size < 5 || pos + size as usize > end {
                    return Err(malformed(format!(
                        "document sequence size {size} is out of bounds"
                    )));
                }
                let seq_end = pos + size as usize;
                let name_start = pos + 4;
                let nul = body[name_start..seq_end]
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| malformed("unterminated document sequence identifier"))?;
                let name = std::str::from_utf8(&body[name_start..name_start + nul])
                    .map_err(|_| malformed("document sequence identifier is not UTF-8"))?
                    .to_owned();
                let mut at = name_start + nul + 1;
                let mut docs = Vec::new();
                while at < seq_end {
                    if docs.len() == super::MAX_WRITE_BATCH {
                        // Only write commands send sequences, and none takes more than a
                        // batch: the rest is counted for the error, not checked or decoded.
                        return Err(WireError::TooManyDocuments(
                            docs.len() + count_documents(&body[at..seq_end]),
                        ));
                    }
                    let len = check(&body[at..seq_end])?;
                    docs.push((at, at + len));
                    at += len;
                }
                sequences.push((name, docs));
                pos = seq_end;
            }
            other => return Err(malformed(format!("unknown OP_MSG section kind {other}"))),
        }
    }
    let mut body_doc = main.ok_or_else(|| malformed("OP_MSG has no kind-0 section"))?;
    let mut documents = None;
    for (name, ranges) in sequences {
        if body_doc.contains_key(&name) || (documents.is_some() && name == "documents") {
            return Err(malformed(format!(
                "duplicate field '{name}' in OP_MSG body and document sequence"
            )));
        }
        if kept_raw(&body_doc, &name) {
            let (start, end) = match (ranges.first(), ranges.last()) {
                (Some(first), Some(last)) => (first.0, last.1),
                _ => (0, 0),
            };
            documents = Some(DocumentSequence {
                bytes: body[start..end].to_vec(),
                count: ranges.len(),
            });
            continue;
        }
        let docs = ranges
            .into_iter()
            .map(|(start, end)| decode(&body[start..end]).map(Bson::Document))
            .collect::<Result<Vec<_>, _>>()?;
        body_doc.insert(name, Bson::Array(docs));
    }
    Ok(OpMsg {
        request_id: header.request_id,
        flags,
        body: body_doc,
        documents,
    })
}

/// How many documents `bytes` holds, by their length prefixes alone (a count for an
/// error message: a length that does not fit ends it).
fn count_documents(mut bytes: &[u8]) -> usize {
    let mut n = 0;
    while let Some(prefix) = bytes.get(..4) {
        let len = i32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        if len < 5 || len as usize > bytes.len() {
            break;
        }
        n += 1;
        bytes = &bytes[len as usize..];
    }
    n
}

/// Frames a reply document: flags 0, one kind-0 section.
pub fn encode_reply(response_to: i32, doc: &Document) -> Vec<u8> {
    frame_reply(response_to, crate::depth::guard(|| doc.to_vec()))
}

/// Frames a cursor reply whose batch is bytes already: the `cursor` document gets the
/// batch as its first field (`field`: `firstBatch` or `nextBatch`), then the fields
/// `doc` gives it; the other fields of `doc` follow as they are.
pub(crate) fn encode_cursor_reply(
    response_to: i32,
    doc: &Document,
    field: &str,
    batch: &crate::raw_bson::RawBatch,
) -> Vec<u8> {
    let encoded = crate::depth::guard(|| {
        let mut w = crate::raw_bson::RawWriter::with_capacity(batch.bytes() + 512);
        for (key, value) in doc {
            match value {
                Bson::Document(cursor) if key == "cursor" => {
                    w.open_document(key);
                    w.batch(field, batch);
                    for (key, value) in cursor {
                        w.bson(key, value)?;
                    }
                    w.close();
                }
                other => w.bson(key, other)?,
            }
        }
        Ok(w.finish())
    });
    frame_reply(response_to, encoded)
}

/// Frames an encoded reply: flags 0, one kind-0 section. A reply the server built
/// itself that failed to encode is answered with an error saying so, instead of
/// hanging up.
fn frame_reply(response_to: i32, encoded: bson::error::Result<Vec<u8>>) -> Vec<u8> {
    let bytes = encoded.unwrap_or_else(|e| {
        bson::doc! {"ok": 0.0, "errmsg": format!("reply could not be encoded: {e}"), "code": 1, "codeName": "InternalError"}
            .to_vec()
            .expect("a small literal document encodes")
    });
    let mut body = Vec::with_capacity(5 + bytes.len());
    body.extend_from_slice(&0u32.to_le_bytes());
    body.push(0);
    body.extend_from_slice(&bytes);
    frame(OP_MSG, response_to, &body)
}

/// Builds a request the way a driver does (used by tests and benchmarks).
pub fn encode_request(
    request_id: i32,
    flags: u32,
    body: &Document,
    sequences: &[(&str, Vec<Document>)],
) -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&flags.to_le_bytes());
    payload.push(0);
    payload.extend_from_slice(&body.to_vec().expect("request encodes"));
    for (name, docs) in sequences {
        let mut seq = Vec::new();
        seq.extend_from_slice(name.as_bytes());
        seq.push(0);
        for d in docs {
            seq.extend_from_slice(&d.to_vec().expect("request encodes"));
        }
        payload.push(1);
        payload.extend_from_slice(&((seq.len() + 4) as i32).to_le_bytes());
        payload.extend_from_slice(&seq);
    }
    let length =
        (HEADER_LEN + payload.len() + if flags & CHECKSUM_PRESENT != 0 { 4 } else { 0 }) as i32;
    let header = Header {
        length,
        request_id,
        response_to: 0,
        op_code: OP_MSG,
    };
    let mut out = Vec::new();
    header.write(&mut out);
    out.extend_from_slice(&payload);
    if flags & CHECKSUM_PRESENT != 0 {
        let sum = crc32c::crc32c(&out);
        out.extend_from_slice(&sum.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn split(msg: &[u8]) -> (Header, &[u8]) {
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&msg[..HEADER_LEN]);
        (Header::parse(&head), &msg[HEADER_LEN..])
    }

    #[test]
    fn document_sequences_are_folded_into_the_body() {
        let msg = encode_request(
            7,
            0,
            &doc! {"update": "c", "$db": "t"},
            &[("updates", vec![doc! {"q": {}}, doc! {"q": {"a": 2}}])],
        );
        let (h, body) = split(&msg);
        let parsed = parse(&h, body).unwrap();
        assert_eq!(parsed.request_id, 7);
        assert_eq!(
            parsed.body,
            doc! {"update": "c", "$db": "t", "updates": [{"q": {}}, {"q": {"a": 2}}]}
        );
        assert!(parsed.documents.is_none());
    }

    #[test]
    fn an_inserts_documents_stay_bytes() {
        let docs = vec![doc! {"a": 1}, doc! {"b": "two", "c": [3]}];
        let msg = encode_request(
            7,
            0,
            &doc! {"insert": "c", "$db": "t"},
            &[("documents", docs.clone())],
        );
        let (h, body) = split(&msg);
        let parsed = parse(&h, body).unwrap();
        assert_eq!(parsed.body, doc! {"insert": "c", "$db": "t"});
        let seq = parsed.documents.expect("kept as bytes");
        assert_eq!(seq.len(), 2);
        let back: Vec<Document> = seq.iter().map(|d| Document::try_from(d).unwrap()).collect();
        assert_eq!(back, docs);
        // Named twice (in the body, or as a second sequence): refused.
        for (body_doc, seqs) in [
            (
                doc! {"insert": "c", "$db": "t", "documents": []},
                vec![("documents", docs.clone())],
            ),
            (
                doc! {"insert": "c", "$db": "t"},
                vec![("documents", docs.clone()), ("documents", docs.clone())],
            ),
        ] {
            let msg = encode_request(1, 0, &body_doc, &seqs);
            let (h, body) = split(&msg);
            assert!(matches!(parse(&h, body), Err(WireError::Malformed(_))));
        }
    }

    #[test]
    fn checksum_is_verified() {
        let msg = encode_request(1, CHECKSUM_PRESENT, &doc! {"ping": 1, "$db": "admin"}, &[]);
        let (h, body) = split(&msg);
        assert!(parse(&h, body).is_ok());
        let mut bad = msg.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let (h, body) = split(&bad);
        assert!(matches!(
            parse(&h, body),
            Err(WireError::BadChecksum { .. })
        ));
    }

    #[test]
    fn malformed_sections_are_refused() {
        let msg = encode_request(1, 0, &doc! {"ping": 1}, &[]);
        let (h, body) = split(&msg);
        let mut unknown_kind = body.to_vec();
        unknown_kind[4] = 7;
        assert!(matches!(
            parse(&h, &unknown_kind),
            Err(WireError::Malformed(_))
        ));
        let mut bad_flags = body.to_vec();
        bad_flags[0] = 0x04;
        assert!(matches!(
            parse(&h, &bad_flags),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            parse(&h, &body[..body.len() - 3]),
            Err(WireError::Malformed(_))
        ));
        // Exhaust is optional (bit 16): ignored, not refused.
        let mut exhaust = body.to_vec();
        exhaust[2] = 0x01;
        assert!(parse(&h, &exhaust).is_ok());
    }

    #[test]
    fn reply_is_one_kind_zero_section() {
        let reply = encode_reply(9, &doc! {"ok": 1.0});
        let (h, body) = split(&reply);
        assert_eq!(h.response_to, 9);
        assert_eq!(h.op_code, OP_MSG);
        assert_eq!(h.length as usize, reply.len());
        assert_eq!(&body[..5], &[0, 0, 0, 0, 0]);
    }
}
