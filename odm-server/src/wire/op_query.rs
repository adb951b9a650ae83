//! Legacy OP_QUERY (opCode 2004) and its answer OP_REPLY (opCode 1), kept for one job:
//! the first handshake that pymongo (up to 4.17), the Node driver, mongosh and Compass
//! send before they know the server speaks OP_MSG.
//!
//! ```text
//! OP_QUERY   header, int32 flags, cstring fullCollectionName ("admin.$cmd"),
//!            int32 numberToSkip, int32 numberToReturn, document query,
//!            [document returnFieldsSelector]
//! OP_REPLY   header, int32 responseFlags, int64 cursorID (0), int32 startingFrom (0),
//!            int32 numberReturned (1), document reply
//! ```
//!
//! The query may wrap the command as `{$query: {...}, $readPreference: ...}`.

use bson::{Bson, Document};

use super::bson_check::{BsonError, check_document};
use super::{OP_REPLY, WireError, frame};
use crate::depth::MAX_BSON_DEPTH;

/// OP_REPLY flag: the query failed and the document is `{$err, code}`.
pub const QUERY_FAILURE: i32 = 1 << 1;

/// A parsed OP_QUERY.
#[derive(Debug)]
pub struct OpQuery {
    pub flags: i32,
    /// `db.collection`; commands go to `db.$cmd`.
    pub full_collection_name: String,
    pub query: Document,
}

impl OpQuery {
    /// The database a `db.$cmd` query addresses, if it is a command.
    pub fn command_db(&self) -> Option<&str> {
        self.full_collection_name.strip_suffix(".$cmd")
    }

    /// The command document, unwrapped from `$query` if needed.
    pub fn command(&self) -> Document {
        match self.query.get("$query").or_else(|| self.query.get("query")) {
            Some(Bson::Document(inner))
                if self
                    .query
                    .keys()
                    .next()
                    .is_some_and(|k| k.starts_with('$') || k == "query") =>
            {
                inner.clone()
            }
            _ => self.query.clone(),
        }
    }
}

fn malformed(why: impl Into<String>) -> WireError {
    WireError::Malformed(why.into())
}

/// Parses an OP_QUERY body.
pub fn parse(body: &[u8]) -> Result<OpQuery, WireError> {
    let flags = body
        .get(..4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| malformed("OP_QUERY shorter than its flags"))?;
    let nul = body[4..]
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| malformed("unterminated collection name"))?;
    let full_collection_name = std::str::from_utf8(&body[4..4 + nul])
        .map_err(|_| malformed("collection name is not UTF-8"))?
        .to_owned();
    let query_at = 4 + nul + 1 + 8;
    let query_bytes = body
        .get(query_at..)
        .ok_or_else(|| malformed("OP_QUERY ends before its query"))?;
    let len = check_document(query_bytes, MAX_BSON_DEPTH).map_err(|e| match e {
        BsonError::TooDeep(deep) => WireError::TooDeep(deep.message()),
        BsonError::Malformed(why) => malformed(why),
    })?;
    let query = crate::depth::guard(|| Document::from_reader(&query_bytes[..len]))
        .map_err(|e| malformed(format!("undecodable query: {e}")))?;
    let rest = &query_bytes[len..];
    if !rest.is_empty() {
        let selector_len =
            check_document(rest, MAX_BSON_DEPTH).map_err(|e| malformed(e.to_string()))?;
        if selector_len != rest.len() {
            return Err(malformed("trailing bytes after OP_QUERY documents"));
        }
    }
    Ok(OpQuery {
        flags,
        full_collection_name,
        query,
    })
}

/// Frames an OP_REPLY carrying one document.
pub fn encode_reply(response_to: i32, flags: i32, doc: &Document) -> Vec<u8> {
    let bytes = crate::depth::guard(|| doc.to_vec()).expect("server-built replies encode");
    let mut body = Vec::with_capacity(20 + bytes.len());
    body.extend_from_slice(&flags.to_le_bytes());
    body.extend_from_slice(&0i64.to_le_bytes());
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&1i32.to_le_bytes());
    body.extend_from_slice(&bytes);
    frame(OP_REPLY, response_to, &body)
}

/// Builds an OP_QUERY the way a legacy driver does (tests).
pub fn encode_request(request_id: i32, collection: &str, query: &Document) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(collection.as_bytes());
    body.push(0);
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&(-1i32).to_le_bytes());
    body.extend_from_slice(&query.to_vec().expect("query encodes"));
    let mut out = Vec::new();
    super::Header {
        length: (super::HEADER_LEN + body.len()) as i32,
        request_id,
        response_to: 0,
        op_code: super::OP_QUERY,
    }
    .write(&mut out);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn parses_handshake_and_unwraps_query() {
        let msg = encode_request(
            3,
            "admin.$cmd",
            &doc! {"$query": {"isMaster": 1}, "$readPreference": {"mode": "primary"}},
        );
        let q = parse(&msg[super::super::HEADER_LEN..]).unwrap();
        assert_eq!(q.command_db(), Some("admin"));
        assert_eq!(q.command(), doc! {"isMaster": 1});
        let plain = encode_request(
            3,
            "admin.$cmd",
            &doc! {"ismaster": 1, "client": {"driver": "x"}},
        );
        let q = parse(&plain[super::super::HEADER_LEN..]).unwrap();
        assert_eq!(q.command().keys().next().unwrap(), "ismaster");
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse(&[1, 2]).is_err());
        assert!(parse(&[0, 0, 0, 0, b'a', b'b']).is_err());
    }
}
