//! BSON written as bytes, for the hot paths where building a `Document` and encoding it
//! cost more than the work itself.
//!
//! - [`RawWriter`] writes a document straight into one buffer, nested documents in
//!   place, patching each one's length when it is closed. The oplog writes its entries
//!   with it (an inserted document's stored bytes are copied in as they are), and a
//!   cursor reply is written with it around its batch.
//! - [`RawBatch`] is a cursor batch: the stored bytes of each result, as the elements
//!   of the reply's `firstBatch`/`nextBatch` array. A query that neither filters nor
//!   projects hands stored documents from storage to the socket without decoding them.
//! - [`with_id_first`] gives a document to insert its `_id` first, as stored documents
//!   have it, without decoding it when it has one there already (drivers put it there).

use std::io::Write;

use std::borrow::Cow;

use bson::oid::ObjectId;
use bson::{Binary, Bson, DateTime, Document, RawDocument, RawDocumentBuf, Timestamp};

/// BSON element types this writer emits.
const DOUBLE: u8 = 0x01;
const STRING: u8 = 0x02;
const DOCUMENT: u8 = 0x03;
const ARRAY: u8 = 0x04;
const BINARY: u8 = 0x05;
const BOOLEAN: u8 = 0x08;
const DATETIME: u8 = 0x09;
const INT32: u8 = 0x10;
const TIMESTAMP: u8 = 0x11;
const INT64: u8 = 0x12;
const OBJECT_ID: u8 = 0x07;

pub(crate) struct RawWriter {
    buf: Vec<u8>,
    /// Where each open document's length goes.
    open: Vec<usize>,
}

impl RawWriter {
    /// A writer with the top-level document open and room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> RawWriter {
        let mut w = RawWriter {
            buf: Vec::with_capacity(capacity),
            open: Vec::new(),
        };
        w.start();
        w
    }

    fn start(&mut self) {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&[0; 4]);
    }

    fn key(&mut self, element_type: u8, key: &str) {
        self.buf.push(element_type);
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.push(0);
    }

    pub(crate) fn open_document(&mut self, key: &str) {
        self.key(DOCUMENT, key);
        self.start();
    }

    pub(crate) fn open_array(&mut self, key: &str) {
        self.key(ARRAY, key);
        self.start();
    }

    /// Closes the innermost open document or array.
    pub(crate) fn close(&mut self) {
        self.buf.push(0);
        let start = self.open.pop().expect("a document is open");
        let len = (self.buf.len() - start) as i32;
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) {
        self.key(STRING, key);
        self.buf
            .extend_from_slice(&(value.len() as i32 + 1).to_le_bytes());
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(0);
    }

    pub(crate) fn i32(&mut self, key: &str, value: i32) {
        self.key(INT32, key);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, key: &str, value: i64) {
        self.key(INT64, key);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn timestamp(&mut self, key: &str, ts: Timestamp) {
        self.key(TIMESTAMP, key);
        self.buf.extend_from_slice(&ts.increment.to_le_bytes());
        self.buf.extend_from_slice(&ts.time.to_le_bytes());
    }

    pub(crate) fn datetime(&mut self, key: &str, value: DateTime) {
        self.key(DATETIME, key);
        self.buf
            .extend_from_slice(&value.timestamp_millis().to_le_bytes());
    }

    pub(crate) fn binary(&mut self, key: &str, value: &Binary) {
        self.key(BINARY, key);
        self.buf
            .extend_from_slice(&(value.bytes.len() as i32).to_le_bytes());
        self.buf.push(u8::from(value.subtype));
        self.buf.extend_from_slice(&value.bytes);
    }

    /// An encoded document, copied in as it is.
    pub(crate) fn document(&mut self, key: &str, doc: &RawDocument) {
        self.key(DOCUMENT, key);
        self.buf.extend_from_slice(doc.as_bytes());
    }

    /// A batch as the array `key`.
    pub(crate) fn batch(&mut self, key: &str, batch: &RawBatch) {
        self.open_array(key);
        self.buf.extend_from_slice(&batch.elements);
        self.close();
    }

    /// Any value: the types a reply's own fields have are written directly, others
    /// (rare on these paths) go through the encoder.
    pub(crate) fn bson(&mut self, key: &str, value: &Bson) -> bson::error::Result<()> {
        match value {
            Bson::String(v) => self.str(key, v),
            Bson::Int32(v) => self.i32(key, *v),
            Bson::Int64(v) => self.i64(key, *v),
            Bson::Double(v) => {
                self.key(DOUBLE, key);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
            Bson::Boolean(v) => {
                self.key(BOOLEAN, key);
                self.buf.push(u8::from(*v));
            }
            Bson::Timestamp(v) => self.timestamp(key, *v),
            Bson::DateTime(v) => self.datetime(key, *v),
            Bson::Binary(v) => self.binary(key, v),
            Bson::Document(d) => {
                self.open_document(key);
                for (k, v) in d {
                    self.bson(k, v)?;
                }
                self.close();
            }
            other => {
                let mut one = bson::Document::new();
                one.insert(key, other.clone());
                let bytes = one.to_vec()?;
                // The element alone: without the document's length and its closing NUL.
                self.buf.extend_from_slice(&bytes[4..bytes.len() - 1]);
            }
        }
        Ok(())
    }

    /// Closes the top-level document and returns its bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.close();
        debug_assert!(self.open.is_empty(), "every nested document is closed");
        self.buf
    }
}

/// `doc` with `_id` as its first field: as it is when it is there already; with a new
/// ObjectId in front when it has none; otherwise rebuilt with `_id` moved first.
pub(crate) fn with_id_first(doc: &RawDocument) -> bson::error::Result<Cow<'_, RawDocument>> {
    let mut fields = doc.iter();
    match fields.next().transpose()? {
        Some((key, _)) if key.as_str() == "_id" => return Ok(Cow::Borrowed(doc)),
        Some(_) if doc.get("_id")?.is_some() => {
            let moved = crate::engine::update::ensure_id_first(Document::try_from(doc)?);
            return Ok(Cow::Owned(RawDocumentBuf::try_from(&moved)?));
        }
        _ => {}
    }
    // Prepend `_id: ObjectId(..)` to the elements as they are.
    let elements = &doc.as_bytes()[4..];
    let mut bytes = Vec::with_capacity(4 + 5 + 12 + elements.len());
    let len = (4 + 5 + 12 + elements.len()) as i32;
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.push(OBJECT_ID);
    bytes.extend_from_slice(b"_id\0");
    bytes.extend_from_slice(&ObjectId::new().bytes());
    bytes.extend_from_slice(elements);
    Ok(Cow::Owned(RawDocumentBuf::from_bytes(bytes)?))
}

/// A cursor batch: encoded documents, already laid out as array elements.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawBatch {
    elements: Vec<u8>,
    count: usize,
}

impl RawBatch {
    /// Appends an encoded document.
    pub(crate) fn push(&mut self, doc: &[u8]) {
        self.elements.push(DOCUMENT);
        // The array index as its key, written without an allocation.
        let _ = write!(self.elements, "{}\0", self.count);
        self.elements.extend_from_slice(doc);
        self.count += 1;
    }

    /// How many documents it holds.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The bytes it adds to a reply.
    pub(crate) fn bytes(&self) -> usize {
        self.elements.len()
    }

    /// The documents, decoded (for tests and for what reads a batch back).
    #[cfg(test)]
    pub(crate) fn documents(&self) -> Vec<bson::Document> {
        let mut w = RawWriter::with_capacity(self.elements.len() + 16);
        w.batch("b", self);
        let doc = bson::Document::from_reader(&w.finish()[..]).expect("a batch decodes");
        doc.get_array("b")
            .expect("the batch")
            .iter()
            .map(|d| d.as_document().expect("a document").clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;
    use bson::spec::BinarySubtype;

    #[test]
    fn writes_what_the_encoder_writes() {
        let inner = RawDocumentBuf::try_from(&doc! {"_id": 7, "x": "y"}).unwrap();
        let uuid = Binary {
            subtype: BinarySubtype::Uuid,
            bytes: vec![9; 16],
        };
        let ts = Timestamp {
            time: 5,
            increment: 6,
        };
        let mut w = RawWriter::with_capacity(16);
        w.str("op", "i");
        w.binary("ui", &uuid);
        w.document("o", &inner);
        w.open_document("prev");
        w.timestamp("ts", ts);
        w.i64("t", -1);
        w.close();
        w.open_array("ops");
        w.open_document("0");
        w.i32("n", 1);
        w.close();
        w.close();
        w.datetime("wall", DateTime::from_millis(42));
        w.bson("img", &Bson::Array(vec![Bson::Null])).unwrap();
        w.bson(
            "nested",
            &Bson::Document(doc! {"f": 1.5, "b": true, "s": "t", "n": null}),
        )
        .unwrap();
        let expected = doc! {
            "op": "i", "ui": uuid, "o": {"_id": 7, "x": "y"},
            "prev": {"ts": ts, "t": -1i64}, "ops": [{"n": 1}],
            "wall": DateTime::from_millis(42), "img": [null],
            "nested": {"f": 1.5, "b": true, "s": "t", "n": null},
        };
        assert_eq!(w.finish(), expected.to_vec().unwrap());
    }

    #[test]
    fn a_batch_is_an_array_of_its_documents() {
        let docs: Vec<bson::Document> = (0..12).map(|i| doc! {"_id": i, "v": "x"}).collect();
        let mut batch = RawBatch::default();
        for d in &docs {
            batch.push(&d.to_vec().unwrap());
        }
        assert_eq!(batch.len(), 12);
        assert_eq!(batch.documents(), docs);
        let mut w = RawWriter::with_capacity(0);
        w.open_document("cursor");
        w.batch("firstBatch", &batch);
        w.i64("id", 0);
        w.close();
        let expected = doc! {"cursor": {"firstBatch": docs, "id": 0i64}};
        assert_eq!(w.finish(), expected.to_vec().unwrap());
    }

    #[test]
    fn the_id_goes_first() {
        let raw = |d: Document| RawDocumentBuf::try_from(&d).unwrap();
        let first = raw(doc! {"_id": 1, "a": 2});
        assert!(matches!(with_id_first(&first).unwrap(), Cow::Borrowed(_)));
        let later = raw(doc! {"a": 2, "_id": 1, "b": 3});
        let moved = Document::try_from(&*with_id_first(&later).unwrap()).unwrap();
        assert_eq!(moved, doc! {"_id": 1, "a": 2, "b": 3});
        for missing in [doc! {}, doc! {"a": 2, "b": {"c": [1]}}] {
            let given =
                Document::try_from(&*with_id_first(&raw(missing.clone())).unwrap()).unwrap();
            let mut keys = given.keys();
            assert_eq!(keys.next().map(String::as_str), Some("_id"));
            assert!(given.get_object_id("_id").is_ok());
            let mut rest = given.clone();
            rest.remove("_id");
            assert_eq!(rest, missing);
        }
    }
}
