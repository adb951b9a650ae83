//! A write in progress: the storage writes of one command (or one statement of a
//! transaction) and the changes they make, which become its oplog entries.
//!
//! Commands write documents through [`Writer::insert`], [`Writer::update`] and
//! [`Writer::delete`], which keep the indexes in step (`storage::collection`) and record
//! the change; commands that change the catalog record theirs with [`Writer::record`].
//! A plain write checks each key against the locks of open transactions: touching a
//! locked key stops it (see [`super::locks`]) and [`Writer::blocked_by`] says by whom.

use bson::{Document, RawDocument, RawDocumentBuf};

use super::locks::{LockTable, TxnId};
use super::oplog::{Change, Target};
use crate::error::CmdResult;
use crate::storage::catalog::{self, CollectionMeta};
use crate::storage::{
    Direction, Durability, KeyRange, ReadTxn, StorageError, StorageResult, Visitor, WriteTxn,
    collection,
};

pub struct Writer<'a> {
    txn: &'a mut dyn WriteTxn,
    /// For plain writes: the locks of open transactions, which this write must not cross.
    locks: Option<&'a LockTable>,
    blocked_by: Option<TxnId>,
    changes: Vec<Change>,
    /// Catalog records (namespaces) whose collection this write changed documents of.
    touched: Vec<(String, String)>,
}

impl<'a> Writer<'a> {
    /// A plain write into a storage transaction.
    pub fn plain(txn: &'a mut dyn WriteTxn, locks: &'a LockTable) -> Writer<'a> {
        Writer {
            txn,
            locks: Some(locks),
            blocked_by: None,
            changes: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// A statement of a transaction, writing into its overlay.
    pub fn in_transaction(overlay: &'a mut dyn WriteTxn) -> Writer<'a> {
        Writer {
            txn: overlay,
            locks: None,
            blocked_by: None,
            changes: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// The open transaction whose lock stopped this write, if one did.
    pub fn blocked_by(&self) -> Option<TxnId> {
        self.blocked_by
    }

    /// The changes made, in order, and the collections whose documents changed.
    pub fn into_changes(self) -> (Vec<Change>, Vec<(String, String)>) {
        (self.changes, self.touched)
    }

    pub fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    fn touch(&mut self, meta: &CollectionMeta) {
        if !self
            .touched
            .iter()
            .any(|(d, c)| *d == meta.db && *c == meta.name)
        {
            self.touched.push((meta.db.clone(), meta.name.clone()));
        }
    }

    /// The collection `db.coll`, created (and the creation recorded) if missing.
    pub fn collection(&mut self, db: &str, coll: &str) -> CmdResult<CollectionMeta> {
        let (meta, created) = catalog::get_or_create(self, db, coll)?;
        if created {
            self.record(Change::Command {
                db: db.to_owned(),
                uuid: Some(meta.uuid.clone()),
                o: bson::doc! {"create": coll, "idIndex": CollectionMeta::id_index_spec()},
            });
        }
        Ok(meta)
    }

    pub fn insert(&mut self, meta: &mut CollectionMeta, doc: &Document) -> CmdResult<()> {
        self.refuse_capped_in_transaction(meta)?;
        if meta.time_field().is_some() {
            crate::storage::timeseries::check_measurement(meta, &encode_raw(doc)?)?;
        }
        let stored = collection::insert(self, meta, doc)?;
        self.inserted(meta, stored);
        self.trim_capped(meta)
    }

    /// [`Writer::insert`] of a document as bytes, stored as they are.
    pub fn insert_raw(&mut self, meta: &mut CollectionMeta, doc: &RawDocument) -> CmdResult<()> {
        self.refuse_capped_in_transaction(meta)?;
        crate::storage::timeseries::check_measurement(meta, doc)?;
        collection::insert_raw(self, meta, doc)?;
        self.inserted(meta, doc.to_owned());
        self.trim_capped(meta)
    }

    /// A capped collection's order and counters are one row every write changes: a
    /// transaction holding it would stop every other writer, so mongod refuses (263).
    fn refuse_capped_in_transaction(&self, meta: &CollectionMeta) -> CmdResult<()> {
        if self.locks.is_none() && meta.capped().is_some() {
            return Err(crate::error::CommandError::new(
                crate::error::ErrorCode::OperationNotSupportedInTransaction,
                format!(
                    "Collection '{}' is a capped collection. Writes in transactions are not allowed on capped collections.",
                    meta.ns()
                ),
            ));
        }
        Ok(())
    }

    /// Removes a capped collection's oldest documents until it is within its limits
    /// (each a delete in the oplog, as mongod's capped deletes are).
    fn trim_capped(&mut self, meta: &CollectionMeta) -> CmdResult<()> {
        if meta.capped().is_none() {
            return Ok(());
        }
        for oldest in crate::storage::capped::overflow(self, meta)? {
            self.delete(meta, &oldest)?;
        }
        Ok(())
    }

    fn inserted(&mut self, meta: &CollectionMeta, stored: RawDocumentBuf) {
        self.touch(meta);
        self.record(Change::Insert {
            coll: Target::of(meta),
            doc: stored,
        });
    }

    /// Stores `after` in place of `before`; `replace` when it is a whole new document
    /// rather than a modification (the oplog and change streams tell them apart).
    pub fn update(
        &mut self,
        meta: &mut CollectionMeta,
        before: &Document,
        after: &Document,
        replace: bool,
    ) -> CmdResult<()> {
        self.refuse_capped_in_transaction(meta)?;
        collection::update(self, meta, before, after)?;
        self.touch(meta);
        self.record(Change::Update {
            coll: Target::of(meta),
            before: before.clone(),
            after: after.clone(),
            replace,
        });
        Ok(())
    }

    pub fn delete(&mut self, meta: &CollectionMeta, before: &Document) -> CmdResult<()> {
        self.refuse_capped_in_transaction(meta)?;
        collection::delete(self, meta, before)?;
        self.touch(meta);
        self.record(Change::Delete {
            coll: Target::of(meta),
            before: before.clone(),
        });
        Ok(())
    }

    fn check_lock(&mut self, table: &str, key: Option<&[u8]>) -> StorageResult<()> {
        let Some(locks) = self.locks else {
            return Ok(());
        };
        let holder = match key {
            Some(k) => locks.holder(table, k),
            None => locks.holder_in_table(table),
        };
        match holder {
            None => Ok(()),
            Some(txn) => {
                self.blocked_by = Some(txn);
                Err(StorageError(format!(
                    "write conflict: an open transaction holds a key of {table}"
                )))
            }
        }
    }
}

impl ReadTxn for Writer<'_> {
    fn get(&self, table: &str, key: &[u8]) -> StorageResult<Option<Vec<u8>>> {
        self.txn.get(table, key)
    }

    fn scan(
        &self,
        table: &str,
        range: KeyRange<'_>,
        direction: Direction,
        visit: &mut Visitor<'_>,
    ) -> StorageResult<()> {
        self.txn.scan(table, range, direction, visit)
    }
}

impl WriteTxn for Writer<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> StorageResult<()> {
        self.check_lock(table, Some(key))?;
        self.txn.put(table, key, value)
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> StorageResult<bool> {
        self.check_lock(table, Some(key))?;
        self.txn.delete(table, key)
    }

    fn drop_table(&mut self, table: &str) -> StorageResult<()> {
        self.check_lock(table, None)?;
        self.txn.drop_table(table)
    }

    fn commit(self: Box<Self>, _durability: Durability) -> StorageResult<()> {
        Err(StorageError(
            "a Writer is committed by the replica-set state, not directly".into(),
        ))
    }
}

fn encode_raw(doc: &Document) -> CmdResult<bson::RawDocumentBuf> {
    bson::RawDocumentBuf::try_from(doc)
        .map_err(|e| crate::error::CommandError::bad_value(format!("cannot encode document: {e}")))
}
