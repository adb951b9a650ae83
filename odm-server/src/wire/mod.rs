//! The MongoDB wire protocol: framing only, no command semantics.
//!
//! Every message starts with a 16-byte header (`messageLength`, `requestID`,
//! `responseTo`, `opCode`, little-endian int32s). The length is checked against
//! 16..=48,000,000 *before* the body is allocated or read. Two request kinds are
//! understood:
//!
//! - [`op_msg`] (opCode 2013): what every modern driver sends for every command;
//! - [`op_query`] (opCode 2004): only for the legacy first handshake (`isMaster` on
//!   `admin.$cmd`) that pymongo, the Node driver and mongosh still send, answered with
//!   OP_REPLY (opCode 1).
//!
//! Any document read off the network goes through [`bson_check`] before it is decoded, and
//! is decoded under [`crate::depth::guard`]: the decoder recurses once per level.

pub mod bson_check;
pub mod op_msg;
pub mod op_query;

use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt};

/// The header every message starts with.
pub const HEADER_LEN: usize = 16;
/// The largest message a client may send (`maxMessageSizeBytes`).
pub const MAX_MESSAGE_LEN: usize = 48_000_000;
/// The largest document (`maxBsonObjectSize`).
pub const MAX_DOCUMENT_LEN: usize = 16 * 1024 * 1024;
/// Writes in one batch (`maxWriteBatchSize`).
pub const MAX_WRITE_BATCH: usize = 100_000;

pub const OP_REPLY: i32 = 1;
pub const OP_QUERY: i32 = 2004;
pub const OP_COMPRESSED: i32 = 2012;
pub const OP_MSG: i32 = 2013;

/// A message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: i32,
    pub request_id: i32,
    pub response_to: i32,
    pub op_code: i32,
}

impl Header {
    fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        let field =
            |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Header {
            length: field(0),
            request_id: field(4),
            response_to: field(8),
            op_code: field(12),
        }
    }

    /// The body's length, checked against the limits before anything is allocated.
    fn body_len(&self) -> Result<usize, WireError> {
        if self.length < HEADER_LEN as i32 || self.length as usize > MAX_MESSAGE_LEN {
            return Err(WireError::BadLength(self.length));
        }
        Ok(self.length as usize - HEADER_LEN)
    }

    fn write(&self, out: &mut Vec<u8>) {
        for v in [self.length, self.request_id, self.response_to, self.op_code] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Why a message could not be read. Every one of these closes the connection: after a
/// broken frame the stream cannot be trusted to be at a message boundary.
#[derive(Debug)]
pub enum WireError {
    /// The peer closed the connection or the socket failed.
    Io(std::io::Error),
    /// A length outside 16..=48,000,000.
    BadLength(i32),
    /// An opCode this server does not handle (OP_COMPRESSED is not negotiated).
    UnsupportedOpCode(i32),
    /// The body does not follow the message format.
    Malformed(String),
    /// OP_MSG checksum mismatch.
    BadChecksum { expected: u32, actual: u32 },
    /// A well-formed document nested beyond the limit: answered with an error reply (this
    /// is mongod's message), the connection stays open.
    TooDeep(String),
    /// A document sequence longer than any write batch may be: answered with
    /// `InvalidLength` (16), the connection stays open.
    TooManyDocuments(usize),
    /// The client began a message and then sent nothing for the stall timeout: `received`
    /// of `expected` bytes (the header's 16 until the length is known).
    Stalled { received: usize, expected: usize },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "i/o error: {e}"),
            WireError::BadLength(n) => {
                write!(f, "message length {n} is outside 16..={MAX_MESSAGE_LEN}")
            }
            WireError::UnsupportedOpCode(op) => write!(f, "unsupported opCode {op}"),
            WireError::Malformed(why) => write!(f, "malformed message: {why}"),
            WireError::TooDeep(message) => f.write_str(message),
            WireError::TooManyDocuments(n) => {
                write!(
                    f,
                    "a document sequence of {n} documents (at most {MAX_WRITE_BATCH})"
                )
            }
            WireError::Stalled { received, expected } => write!(
                f,
                "the client sent {received} of the message's {expected} bytes, then nothing for the stall timeout"
            ),
            WireError::BadChecksum { expected, actual } => {
                write!(
                    f,
                    "OP_MSG checksum mismatch: message says {expected:#010x}, content is {actual:#010x}"
                )
            }
        }
    }
}

impl std::error::Error for WireError {}

/// A request as the command layer sees it.
#[derive(Debug)]
pub enum Request {
    Msg(op_msg::OpMsg),
    Query(op_query::OpQuery),
}

/// Reads one message: `Ok(None)` on a clean end of stream between messages.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<Option<(Header, Vec<u8>)>, WireError> {
    let mut head = [0u8; HEADER_LEN];
    // The first byte tells apart a clean close from a cut-off header.
    match reader.read(&mut head[..1]).await.map_err(WireError::Io)? {
        0 => return Ok(None),
        _ => reader
            .read_exact(&mut head[1..])
            .await
            .map_err(WireError::Io)?,
    };
    let header = Header::parse(&head);
    let mut body = vec![0u8; header.body_len()?];
    reader.read_exact(&mut body).await.map_err(WireError::Io)?;
    Ok(Some((header, body)))
}

/// The most a body buffer is given before any of the body has arrived: a header's
/// length is a promise, and memory is spent on bytes received, not on bytes promised.
const FIRST_BODY_RESERVE: usize = 64 * 1024;

/// Whether a socket call failed for its timeout (a read with nothing sent, a write with
/// nothing taken): Linux reports `WouldBlock`, other systems `TimedOut`.
pub(crate) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// [`read_message`] on a blocking stream, into a buffer the caller keeps between
/// messages (a connection's thread reads one message after another into the same one).
///
/// The stream may have a read timeout (the connection's stall timeout): between
/// messages a client may stay silent as long as it likes, so a timeout there is waited
/// out; once a message has begun, a timeout is [`WireError::Stalled`]. The body grows
/// with the bytes that arrive, so a header that promises 48 MB and stalls costs what
/// was sent, not 48 MB.
pub fn read_message_blocking<R: Read>(
    reader: &mut R,
    body: &mut Vec<u8>,
) -> Result<Option<Header>, WireError> {
    let mut head = [0u8; HEADER_LEN];
    loop {
        match reader.read(&mut head[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e) if is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    let mut received = 1;
    while received < HEADER_LEN {
        match reader.read(&mut head[received..]) {
            Ok(0) => return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => received += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return Err(WireError::Stalled {
                    received,
                    expected: HEADER_LEN,
                });
            }
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    let header = Header::parse(&head);
    let len = header.body_len()?;
    body.clear();
    body.reserve(len.min(FIRST_BODY_RESERVE));
    match reader.take(len as u64).read_to_end(body) {
        Ok(n) if n == len => Ok(Some(header)),
        Ok(_) => Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into())),
        Err(e) if is_timeout(&e) => Err(WireError::Stalled {
            received: HEADER_LEN + body.len(),
            expected: HEADER_LEN + len,
        }),
        Err(e) => Err(WireError::Io(e)),
    }
}

/// Parses a message body according to its header.
pub fn parse_request(header: &Header, body: &[u8]) -> Result<Request, WireError> {
    match header.op_code {
        OP_MSG => op_msg::parse(header, body).map(Request::Msg),
        OP_QUERY => op_query::parse(body).map(Request::Query),
        other => Err(WireError::UnsupportedOpCode(other)),
    }
}

/// A fresh id for a message this server sends.
pub fn next_request_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Frames a body after a header with the given opCode.
fn frame(op_code: i32, response_to: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    Header {
        length: (HEADER_LEN + body.len()) as i32,
        request_id: next_request_id(),
        response_to,
        op_code,
    }
    .write(&mut out);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lengths_are_checked_before_reading_the_body() {
        for bad in [0i32, 15, -1, 48_000_001] {
            let mut msg = bad.to_le_bytes().to_vec();
            msg.extend_from_slice(&[0; 12]);
            let err = read_message(&mut msg.as_slice()).await.unwrap_err();
            assert!(matches!(err, WireError::BadLength(n) if n == bad), "{err}");
        }
    }

    #[tokio::test]
    async fn clean_close_and_truncation() {
        assert!(read_message(&mut &[][..]).await.unwrap().is_none());
        let mut msg = 40i32.to_le_bytes().to_vec();
        msg.extend_from_slice(&[0; 14]);
        assert!(matches!(
            read_message(&mut msg.as_slice()).await,
            Err(WireError::Io(_))
        ));
    }
}
