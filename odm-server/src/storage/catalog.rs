//! The catalog: which databases and collections exist, their options, and their indexes.
//!
//! Each collection has one record in the `catalog` table, keyed by its namespace
//! (`db.collection`) and stored as BSON. A collection's documents and each of its indexes
//! live in tables named after *idents*, numbers handed out once and never reused
//! (`d<ident>` for documents, `x<ident>` for an index). Renaming a collection therefore
//! rewrites one catalog record and moves no data, and dropping one deletes its tables.
//! A database exists while it has at least one collection, as in MongoDB.

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Bound;

use super::geo::GeoSpec;
use super::wildcard::WildcardSpec;
use super::{Durability, ReadTxn, StorageError, StorageResult, Store, WriteTxn, scan_all};
use crate::engine::collation::Collator;
use crate::engine::matcher::Filter;
use crate::engine::text::TextSpec;
use crate::error::{CmdResult, CommandError, ErrorCode};

/// The table of collection records.
pub const CATALOG_TABLE: &str = "catalog";
/// Counters and format markers.
pub const META_TABLE: &str = "meta";
const NEXT_IDENT_KEY: &[u8] = b"next_ident";
/// Which version of `keycodec` wrote the keys (documents' `_id`s and index entries).
const KEY_FORMAT_KEY: &[u8] = b"key_format";
/// The key format this server writes: 2 encodes int64 and decimal128 values that no
/// double holds by their exact value (format 1 used the int64's difference from the
/// double, and rounded decimals). Stores without a marker are format 1.
pub const KEY_FORMAT: u32 = 2;

/// The name MongoDB gives the index every collection has on `_id`.
pub const ID_INDEX_NAME: &str = "_id_";

/// A collection's catalog record.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionMeta {
    pub db: String,
    pub name: String,
    /// Names the table of documents: `d<ident>`.
    pub ident: u64,
    /// The collection's UUID (`info.uuid` in `listCollections`).
    pub uuid: Binary,
    /// Options given to `create` / `collMod` (validator, capped, ...), as given.
    pub options: Document,
    /// Secondary indexes; the `_id` index is the document table itself.
    pub indexes: Vec<IndexMeta>,
}

/// A secondary index's catalog record.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexMeta {
    pub name: String,
    /// The key pattern, in order: field path to `1` or `-1`.
    pub key: Document,
    pub unique: bool,
    pub sparse: bool,
    /// Set once a document has put an array on one of the indexed paths: from then on a
    /// document may have several entries, and scans must remove repeats.
    pub multikey: bool,
    /// Names the table of entries: `x<ident>`.
    pub ident: u64,
    /// Every option as the client gave it (for `listIndexes`), without `key` and `name`;
    /// a collation is stored resolved (every field, as mongod reports it).
    pub options: Document,
    /// The collation its string keys are sort keys of (`options.collation`); `None` for
    /// the simple one.
    pub collation: Option<Collator>,
    /// A partial index's filter (`options.partialFilterExpression`): it holds only the
    /// documents that match.
    pub partial: Option<PartialFilter>,
    /// A text index's weights and languages (its key has `_fts: "text"`).
    pub text: Option<std::sync::Arc<TextSpec>>,
    /// A wildcard index's paths (its key has `$**`).
    pub wildcard: Option<std::sync::Arc<WildcardSpec>>,
    /// A geospatial index's kind and fields (its key has `2dsphere` or `2d`).
    pub geo: Option<std::sync::Arc<GeoSpec>>,
}

/// The filter of a partial index, parsed once from its options.
#[derive(Clone, Debug)]
pub struct PartialFilter {
    pub filter: Filter,
}

/// Two partial filters are the same when their stored documents are (`options` holds it).
impl PartialEq for PartialFilter {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl CollectionMeta {
    /// `db.collection`.
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }

    pub fn documents_table(&self) -> String {
        format!("d{}", self.ident)
    }

    pub fn index(&self, name: &str) -> Option<&IndexMeta> {
        self.indexes.iter().find(|i| i.name == name)
    }

    fn to_document(&self) -> Document {
        doc! {
            "db": &self.db,
            "name": &self.name,
            "ident": self.ident as i64,
            "uuid": self.uuid.clone(),
            "options": self.options.clone(),
            "indexes": self.indexes.iter().map(|i| Bson::Document(i.to_document())).collect::<Vec<_>>(),
        }
    }

    fn from_document(d: &Document) -> Option<Self> {
        let indexes = d
            .get_array("indexes")
            .ok()?
            .iter()
            .map(|i| i.as_document().and_then(IndexMeta::from_document))
            .collect::<Option<Vec<_>>>()?;
        Some(CollectionMeta {
            db: d.get_str("db").ok()?.to_owned(),
            name: d.get_str("name").ok()?.to_owned(),
            ident: d.get_i64("ident").ok()? as u64,
            uuid: match d.get("uuid")? {
                Bson::Binary(b) => b.clone(),
                _ => return None,
            },
            options: d.get_document("options").ok()?.clone(),
            indexes,
        })
    }

    /// For a view: the collection (or view) it reads and its pipeline.
    pub fn view(&self) -> Option<(&str, &[Bson])> {
        let on = self.options.get_str("viewOn").ok()?;
        let pipeline = self
            .options
            .get_array("pipeline")
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        Some((on, pipeline))
    }

    /// The `_id` index as `listIndexes` shows it.
    pub fn id_index_spec() -> Document {
        doc! {"v": 2, "key": {"_id": 1}, "name": ID_INDEX_NAME}
    }
}

impl IndexMeta {
    /// An index with its options as stored: `unique`, `sparse`, the collation and the
    /// partial filter are read from them, so that every index is built one way.
    pub fn new(name: String, key: Document, ident: u64, options: Document) -> CmdResult<Self> {
        let partial = match options.get_document("partialFilterExpression") {
            Ok(f) => Some(PartialFilter {
                filter: Filter::parse(f)?,
            }),
            Err(_) => None,
        };
        let text = TextSpec::from_index(&key, &options).map(std::sync::Arc::new);
        let wildcard = WildcardSpec::from_index(&key, &options).map(std::sync::Arc::new);
        let geo = GeoSpec::from_index(&key, &options).map(std::sync::Arc::new);
        Ok(IndexMeta {
            name,
            key,
            unique: options.get_bool("unique").unwrap_or(false),
            sparse: options.get_bool("sparse").unwrap_or(false),
            multikey: false,
            ident,
            collation: crate::engine::collation::stored(&options)?,
            partial,
            text,
            wildcard,
            geo,
            options,
        })
    }

    /// Whether writes that would give two documents one key are refused: a unique index,
    /// or one `collMod` prepares to make unique (`prepareUnique`).
    pub fn refuses_duplicates(&self) -> bool {
        self.unique || self.options.get_bool("prepareUnique").unwrap_or(false)
    }

    /// Whether the index holds an entry for `doc`: a partial index only for the documents
    /// its filter matches (under the index's collation, whatever the command's).
    pub fn covers(&self, doc: &Document) -> bool {
        match &self.partial {
            None => true,
            Some(p) => crate::engine::collation::with_collation(self.collation.as_ref(), || {
                p.filter.matches(doc)
            }),
        }
    }

    pub fn table(&self) -> String {
        format!("x{}", self.ident)
    }

    /// The index as `listIndexes` shows it: `{v, key, name, ...options}`.
    pub fn spec(&self) -> Document {
        let mut spec = doc! {"v": 2, "key": self.key.clone(), "name": &self.name};
        for (k, v) in &self.options {
            spec.insert(k.clone(), v.clone());
        }
        spec
    }

    /// The key pattern's fields with their direction (`true` for descending).
    pub fn fields(&self) -> impl Iterator<Item = (&str, bool)> {
        self.key
            .iter()
            .map(|(path, dir)| (path.as_str(), is_descending(dir)))
    }

    /// The field indexed by its hash (`{a: "hashed"}`), if any: it holds one hash per
    /// document, serves equalities only and gives no order.
    pub fn hashed_field(&self) -> Option<&str> {
        self.key
            .iter()
            .find(|(_, dir)| matches!(dir, Bson::String(k) if k == "hashed"))
            .map(|(path, _)| path.as_str())
    }

    fn to_document(&self) -> Document {
        doc! {
            "name": &self.name,
            "key": self.key.clone(),
            "unique": self.unique,
            "sparse": self.sparse,
            "multikey": self.multikey,
            "ident": self.ident as i64,
            "options": self.options.clone(),
        }
    }

    fn from_document(d: &Document) -> Option<Self> {
        let mut index = IndexMeta::new(
            d.get_str("name").ok()?.to_owned(),
            d.get_document("key").ok()?.clone(),
            d.get_i64("ident").ok()? as u64,
            d.get_document("options").ok()?.clone(),
        )
        .ok()?;
        index.unique = d.get_bool("unique").ok()?;
        index.sparse = d.get_bool("sparse").ok()?;
        index.multikey = d.get_bool("multikey").ok()?;
        Some(index)
    }
}

/// Whether a key pattern value asks for descending order (any negative number).
pub fn is_descending(direction: &Bson) -> bool {
    match direction {
        Bson::Int32(i) => *i < 0,
        Bson::Int64(i) => *i < 0,
        Bson::Double(d) => *d < 0.0,
        _ => false,
    }
}

/// The key of `db.coll`'s record in the catalog table.
pub fn ns_key(db: &str, coll: &str) -> Vec<u8> {
    format!("{db}.{coll}").into_bytes()
}

fn corrupt(what: &str) -> CommandError {
    CommandError::internal(format!("catalog record for {what} is unreadable"))
}

/// The record of `db.coll`, if the collection exists.
pub fn get(txn: &dyn ReadTxn, db: &str, coll: &str) -> CmdResult<Option<CollectionMeta>> {
    let key = ns_key(db, coll);
    let Some(bytes) = txn.get(CATALOG_TABLE, &key)? else {
        return Ok(None);
    };
    DECODED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((seen, meta)) = cache.get(&key)
            && *seen == bytes
        {
            return Ok(Some(meta.clone()));
        }
        let d = Document::from_reader(&bytes[..]).map_err(|_| corrupt(&format!("{db}.{coll}")))?;
        let meta =
            CollectionMeta::from_document(&d).ok_or_else(|| corrupt(&format!("{db}.{coll}")))?;
        if cache.len() >= DECODED_CAPACITY {
            cache.clear();
        }
        cache.insert(key, (bytes, meta.clone()));
        Ok(Some(meta))
    })
}

/// How many records one thread keeps decoded; past it the cache starts again.
const DECODED_CAPACITY: usize = 64;

thread_local! {
    /// Records this thread decoded, by namespace, with the bytes they came from. Every
    /// command reads its collection's record, and comparing the bytes costs a fraction of
    /// decoding them again. Because an entry is only used for identical bytes, it is right
    /// under any snapshot and for every store in the process.
    static DECODED: RefCell<HashMap<Vec<u8>, Decoded>> = RefCell::new(HashMap::new());
}

/// A record's bytes and what they decode to.
type Decoded = (Vec<u8>, CollectionMeta);

/// Every collection of `db`, by name.
pub fn list(txn: &dyn ReadTxn, db: &str) -> CmdResult<Vec<CollectionMeta>> {
    Ok(list_all(txn)?.into_iter().filter(|c| c.db == db).collect())
}

/// Every collection of every database, by namespace.
pub fn list_all(txn: &dyn ReadTxn) -> CmdResult<Vec<CollectionMeta>> {
    use std::ops::Bound::Unbounded;
    scan_all(txn, CATALOG_TABLE, (Unbounded, Unbounded))?
        .into_iter()
        .map(|(k, v)| {
            let what = String::from_utf8_lossy(&k).into_owned();
            let d = Document::from_reader(&v[..]).map_err(|_| corrupt(&what))?;
            CollectionMeta::from_document(&d).ok_or_else(|| corrupt(&what))
        })
        .collect()
}

/// The names of the databases that have collections, sorted.
pub fn databases(txn: &dyn ReadTxn) -> CmdResult<Vec<String>> {
    let mut names: Vec<String> = list_all(txn)?.into_iter().map(|c| c.db).collect();
    names.dedup();
    Ok(names)
}

/// Writes (or rewrites) a collection's record.
pub fn put(txn: &mut dyn WriteTxn, meta: &CollectionMeta) -> StorageResult<()> {
    let bytes = meta
        .to_document()
        .to_vec()
        .map_err(super::StorageError::new)?;
    txn.put(CATALOG_TABLE, &ns_key(&meta.db, &meta.name), &bytes)
}

/// Checks that the store's keys were written in this server's format, marking a new
/// store with it. Reading keys of another format would silently miss documents, so a
/// store of another format is refused with a message saying so.
pub fn check_key_format(store: &dyn Store) -> StorageResult<()> {
    let mut txn = store.begin_write()?;
    let found = match txn.get(META_TABLE, KEY_FORMAT_KEY)? {
        Some(b) if b.len() == 4 => u32::from_be_bytes(b.try_into().expect("length checked")),
        Some(_) => return Err(StorageError("the key format marker is unreadable".into())),
        None if scan_all(&*txn, CATALOG_TABLE, (Bound::Unbounded, Bound::Unbounded))?
            .is_empty() =>
        {
            txn.put(META_TABLE, KEY_FORMAT_KEY, &KEY_FORMAT.to_be_bytes())?;
            return txn.commit(Durability::Immediate);
        }
        None => 1,
    };
    if found == KEY_FORMAT {
        return Ok(());
    }
    Err(StorageError(format!(
        "this data was written with key format {found}, and this odm-server reads format {KEY_FORMAT}: \
         export it with the odm-server that wrote it (mongodump) and import it here (mongorestore)"
    )))
}

/// Hands out a fresh ident.
pub fn next_ident(txn: &mut dyn WriteTxn) -> StorageResult<u64> {
    let current = match txn.get(META_TABLE, NEXT_IDENT_KEY)? {
        Some(b) if b.len() == 8 => u64::from_be_bytes(b.try_into().expect("length checked")),
        _ => 1,
    };
    txn.put(META_TABLE, NEXT_IDENT_KEY, &(current + 1).to_be_bytes())?;
    Ok(current)
}

/// Creates `db.coll` with `options`; `NamespaceExists` if it is there already.
pub fn create(
    txn: &mut dyn WriteTxn,
    db: &str,
    coll: &str,
    options: Document,
) -> CmdResult<CollectionMeta> {
    if !SERVER_OWNED.contains(&(db, coll)) {
        validate_collection_name(db, coll)?;
    }
    if get(txn, db, coll)?.is_some() {
        return Err(CommandError::new(
            ErrorCode::NamespaceExists,
            format!("Collection {db}.{coll} already exists."),
        ));
    }
    let meta = CollectionMeta {
        db: db.to_owned(),
        name: coll.to_owned(),
        ident: next_ident(txn)?,
        uuid: Binary {
            subtype: BinarySubtype::Uuid,
            bytes: new_uuid().to_vec(),
        },
        options,
        indexes: Vec::new(),
    };
    put(txn, &meta)?;
    Ok(meta)
}

/// The record of `db.coll`, creating the collection (with no options) if needed, as an
/// insert or an index creation does implicitly. The flag says whether it was created.
/// [`get`] for a command that writes documents or indexes: a view has neither, and is
/// refused with `CommandNotSupportedOnView` (166).
pub fn get_collection(
    txn: &dyn ReadTxn,
    db: &str,
    coll: &str,
) -> CmdResult<Option<CollectionMeta>> {
    let meta = get(txn, db, coll)?;
    if meta.as_ref().is_some_and(|m| m.view().is_some()) {
        return Err(CommandError::new(
            ErrorCode::CommandNotSupportedOnView,
            format!("Namespace {db}.{coll} is a view, not a collection"),
        ));
    }
    Ok(meta)
}

pub fn get_or_create(
    txn: &mut dyn WriteTxn,
    db: &str,
    coll: &str,
) -> CmdResult<(CollectionMeta, bool)> {
    match get_collection(txn, db, coll)? {
        Some(meta) => Ok((meta, false)),
        None => Ok((create(txn, db, coll, Document::new())?, true)),
    }
}

/// Deletes a collection's record and all its tables.
pub fn remove(txn: &mut dyn WriteTxn, meta: &CollectionMeta) -> StorageResult<()> {
    txn.drop_table(&meta.documents_table())?;
    super::capped::dropped(txn, meta)?;
    for index in &meta.indexes {
        txn.drop_table(&index.table())?;
    }
    txn.delete(CATALOG_TABLE, &ns_key(&meta.db, &meta.name))?;
    Ok(())
}

/// Moves a collection's record to a new namespace (its data stays where it is).
pub fn rename(
    txn: &mut dyn WriteTxn,
    meta: &CollectionMeta,
    db: &str,
    coll: &str,
) -> CmdResult<CollectionMeta> {
    validate_collection_name(db, coll)?;
    txn.delete(CATALOG_TABLE, &ns_key(&meta.db, &meta.name))?;
    let moved = CollectionMeta {
        db: db.to_owned(),
        name: coll.to_owned(),
        ..meta.clone()
    };
    put(txn, &moved)?;
    Ok(moved)
}

/// MongoDB's rules for database names (`InvalidNamespace`, code 73).
pub fn validate_db_name(db: &str) -> CmdResult<()> {
    const FORBIDDEN: &[char] = &[
        '/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?', '\0',
    ];
    if db.is_empty() || db.len() >= 64 || db.contains(FORBIDDEN) {
        return Err(CommandError::new(
            ErrorCode::InvalidNamespace,
            format!("Invalid database name: '{db}'"),
        ));
    }
    Ok(())
}

/// MongoDB's rules for collection names (`InvalidNamespace`, code 73).
/// System collections the server itself creates and writes (clients change them only
/// through their commands: users through `createUser` and the rest).
pub const SERVER_OWNED: &[(&str, &str)] = &[("admin", "system.users")];

pub fn validate_collection_name(db: &str, coll: &str) -> CmdResult<()> {
    validate_db_name(db)?;
    let invalid = |why: &str| {
        Err(CommandError::new(
            ErrorCode::InvalidNamespace,
            format!("Invalid collection name '{coll}': {why}"),
        ))
    };
    if coll.is_empty() {
        return invalid("collection names cannot be empty");
    }
    if coll.contains('$') {
        return invalid("collection names must not contain '$'");
    }
    if coll.contains('\0') {
        return invalid("collection names must not contain null characters");
    }
    if coll.starts_with('.') {
        return invalid("collection names must not start with '.'");
    }
    // The profiler's collection: clients read it, and may create it (capped, to size it)
    // while profiling is off, as with mongod.
    if coll.starts_with("system.") && coll != "system.profile" {
        return invalid("collection names must not start with 'system.' (reserved)");
    }
    if db.len() + 1 + coll.len() > 255 {
        return invalid("the namespace is longer than 255 bytes");
    }
    Ok(())
}

/// [`validate_collection_name`] for a collection a client writes to: the profiler's
/// `system.profile` is written by the server only (mongod answers 73 too).
pub fn validate_writable(db: &str, coll: &str) -> CmdResult<()> {
    validate_collection_name(db, coll)?;
    if coll == "system.profile" {
        return Err(CommandError::new(
            ErrorCode::InvalidNamespace,
            format!("cannot write to '{db}.system.profile'"),
        ));
    }
    Ok(())
}

/// A random (version 4) UUID.
fn new_uuid() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&crate::random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&crate::random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;
    use crate::storage::memory::MemoryStore;

    #[test]
    fn create_rename_drop_round_trip() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        let a = create(&mut *w, "shop", "orders", doc! {"capped": false}).unwrap();
        let b = create(&mut *w, "shop", "users", Document::new()).unwrap();
        assert_ne!(a.ident, b.ident);
        let err = create(&mut *w, "shop", "orders", Document::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::NamespaceExists);
        let moved = rename(&mut *w, &a, "archive", "orders2019").unwrap();
        assert_eq!(moved.ident, a.ident);
        w.commit(crate::storage::Durability::Immediate).unwrap();

        let r = store.begin_read().unwrap();
        assert_eq!(
            databases(&*r).unwrap(),
            vec!["archive".to_string(), "shop".to_string()]
        );
        assert!(get(&*r, "shop", "orders").unwrap().is_none());
        let got = get(&*r, "archive", "orders2019").unwrap().unwrap();
        assert_eq!(got.options, doc! {"capped": false});
        drop(r);

        let mut w = store.begin_write().unwrap();
        remove(&mut *w, &got).unwrap();
        w.commit(crate::storage::Durability::Immediate).unwrap();
        assert_eq!(
            databases(&*store.begin_read().unwrap()).unwrap(),
            vec!["shop".to_string()]
        );
    }

    #[test]
    fn a_snapshot_reads_its_own_record_after_a_newer_one_was_read() {
        let store = MemoryStore::new();
        let mut w = store.begin_write().unwrap();
        create(&mut *w, "shop", "orders", doc! {"v": 1}).unwrap();
        w.commit(crate::storage::Durability::Immediate).unwrap();
        let old = store.begin_read().unwrap();
        assert_eq!(
            get(&*old, "shop", "orders").unwrap().unwrap().options,
            doc! {"v": 1}
        );

        let mut w = store.begin_write().unwrap();
        let mut meta = get(&*w, "shop", "orders").unwrap().unwrap();
        meta.options = doc! {"v": 2};
        put(&mut *w, &meta).unwrap();
        w.commit(crate::storage::Durability::Immediate).unwrap();
        let new = store.begin_read().unwrap();
        assert_eq!(
            get(&*new, "shop", "orders").unwrap().unwrap().options,
            doc! {"v": 2}
        );
        // The same thread, the same namespace, the older snapshot: still the old record.
        assert_eq!(
            get(&*old, "shop", "orders").unwrap().unwrap().options,
            doc! {"v": 1}
        );
    }

    #[test]
    fn stores_of_another_key_format_are_refused() {
        // A new store is marked and then accepted.
        let store = MemoryStore::new();
        check_key_format(&store).unwrap();
        check_key_format(&store).unwrap();
        // Collections without a marker were written by format 1.
        let old = MemoryStore::new();
        let mut w = old.begin_write().unwrap();
        create(&mut *w, "shop", "orders", Document::new()).unwrap();
        w.commit(crate::storage::Durability::Immediate).unwrap();
        let err = check_key_format(&old).unwrap_err();
        assert!(err.0.contains("key format 1"), "{}", err.0);
    }

    #[test]
    fn names_follow_mongodb_rules() {
        assert!(validate_collection_name("db", "ok.name").is_ok());
        for bad in ["", "a$b", "system.x", ".a"] {
            let err = validate_collection_name("db", bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidNamespace, "{bad}");
        }
        for bad in ["", "a.b", "a b", "a/b"] {
            assert!(validate_db_name(bad).is_err(), "{bad}");
        }
    }
}
