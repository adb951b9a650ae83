//! Retry records: what the last retryable write or transaction of each session did.
//!
//! Drivers on a replica set give each write a `(lsid, txnNumber)` and, when the
//! connection fails before the reply, send it again with the same numbers. The server
//! must not apply it twice: the record of the session's last write, written in the same
//! storage transaction as the write itself (so it is exactly as durable), holds its
//! reply, and a retry is answered with that reply. A committed transaction's record lets
//! a retried `commitTransaction` succeed again, even after a restart.
//!
//! Table `txn_records`: key = the encoded `lsid`, value =
//! `{txnNumber: Long, state: "retryable" | "committed", reply?: {...}, lastWrite: Date}`.
//! Records of sessions idle past the session timeout are removed by the idle task.

use std::ops::{Bound, ControlFlow};

use bson::{Bson, DateTime, Document, doc};

use crate::error::CmdResult;
use crate::storage::{Direction, ReadTxn, StorageResult, WriteTxn, keycodec};

pub const RECORDS_TABLE: &str = "txn_records";

/// What a session's last write was.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A retryable write, and its reply.
    Write(Document),
    /// A committed transaction.
    Committed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub txn_number: i64,
    pub outcome: Outcome,
}

fn key(lsid: &Bson) -> Vec<u8> {
    keycodec::encode(lsid)
}

pub fn get(txn: &dyn ReadTxn, lsid: &Bson) -> CmdResult<Option<Record>> {
    let Some(bytes) = txn.get(RECORDS_TABLE, &key(lsid))? else {
        return Ok(None);
    };
    let d = crate::storage::collection::decode(&bytes)?;
    let txn_number = d.get_i64("txnNumber").unwrap_or(i64::MIN);
    let outcome = match (d.get_str("state"), d.get_document("reply")) {
        (Ok("committed"), _) => Outcome::Committed,
        (_, Ok(reply)) => Outcome::Write(reply.clone()),
        _ => return Ok(None),
    };
    Ok(Some(Record {
        txn_number,
        outcome,
    }))
}

pub fn put(txn: &mut dyn WriteTxn, lsid: &Bson, record: &Record) -> StorageResult<()> {
    let mut d = doc! {"txnNumber": record.txn_number, "lastWrite": DateTime::now()};
    match &record.outcome {
        Outcome::Write(reply) => {
            d.insert("state", "retryable");
            d.insert("reply", reply.clone());
        }
        Outcome::Committed => {
            d.insert("state", "committed");
        }
    }
    let bytes = d.to_vec().map_err(crate::storage::StorageError::new)?;
    txn.put(RECORDS_TABLE, &key(lsid), &bytes)
}

/// Keys of records last written before `cutoff`.
pub fn older_than(txn: &dyn ReadTxn, cutoff: DateTime) -> StorageResult<Vec<Vec<u8>>> {
    let mut old = Vec::new();
    txn.scan(
        RECORDS_TABLE,
        (Bound::Unbounded, Bound::Unbounded),
        Direction::Forward,
        &mut |k, v| {
            let written = Document::from_reader(v)
                .ok()
                .and_then(|d| d.get_datetime("lastWrite").ok().copied());
            if written.is_none_or(|w| w < cutoff) {
                old.push(k.to_vec());
            }
            ControlFlow::Continue(())
        },
    )?;
    Ok(old)
}
