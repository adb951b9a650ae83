//! Logical sessions: the ids drivers attach to every operation (`lsid`), and what each
//! session is in the middle of.
//!
//! A session is checked out for the length of one command ([`Session::lock`]):
//! commands of one session run one at a time, as mongod runs them. It holds the highest
//! transaction number seen (older ones are refused) and its current or last
//! [`Transaction`]. Ending or killing a session aborts its transaction and kills the
//! cursors it opened; sessions idle longer than `logicalSessionTimeoutMinutes` (30) are
//! forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};

use crate::replset::txn::Transaction;

/// `logicalSessionTimeoutMinutes` announced in `hello`.
pub const SESSION_TIMEOUT_MINUTES: i32 = 30;

/// What one session holds between its commands.
#[derive(Default)]
pub struct SessionData {
    /// The highest `txnNumber` this session has used (transaction or retryable write).
    pub txn_number: Option<i64>,
    /// The session's transaction: open, or the last one (so that a retried
    /// `commitTransaction` gets the same answer).
    pub txn: Option<Transaction>,
}

pub struct Session {
    pub lsid: Bson,
    data: Mutex<SessionData>,
    last_used: Mutex<Instant>,
}

impl Session {
    /// Checks the session's data out for one command; concurrent commands of the same
    /// session wait for it.
    pub fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The data, unless a command has it checked out.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, SessionData>> {
        match self.data.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// When the session was last used, as a date.
    pub fn last_use(&self) -> bson::DateTime {
        crate::cmd::current_op::before_now(self.idle_for(Instant::now()))
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.duration_since(*self.last_used.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Sessions by their `lsid` document (compared by value).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<Vec<u8>, Arc<Session>>>,
}

fn key(lsid: &Bson) -> Vec<u8> {
    crate::storage::keycodec::encode(lsid)
}

impl Sessions {
    fn map(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session id: `{id: UUID}`.
    pub fn start(&self) -> Document {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&crate::random_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&crate::random_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        let id = doc! {"id": Binary { subtype: BinarySubtype::Uuid, bytes: bytes.to_vec() }};
        self.get(&Bson::Document(id.clone()));
        id
    }

    /// The session `lsid`, created on first use, marked as used now.
    pub fn get(&self, lsid: &Bson) -> Arc<Session> {
        let session = self
            .map()
            .entry(key(lsid))
            .or_insert_with(|| {
                Arc::new(Session {
                    lsid: lsid.clone(),
                    data: Mutex::new(SessionData::default()),
                    last_used: Mutex::new(Instant::now()),
                })
            })
            .clone();
        session.touch();
        session
    }

    /// Forgets sessions; returns them so that their transactions can be aborted.
    pub fn end(&self, lsids: &[Bson]) -> Vec<Arc<Session>> {
        let mut map = self.map();
        lsids.iter().filter_map(|l| map.remove(&key(l))).collect()
    }

    /// Forgets every session; returns them.
    pub fn end_all(&self) -> Vec<Arc<Session>> {
        self.map().drain().map(|(_, s)| s).collect()
    }

    /// Forgets sessions idle longer than the session timeout; returns them.
    pub fn expire(&self, now: Instant) -> Vec<Arc<Session>> {
        let timeout = Duration::from_secs(SESSION_TIMEOUT_MINUTES as u64 * 60);
        let mut expired = Vec::new();
        self.map().retain(|_, s| {
            let keep = s.idle_for(now) < timeout;
            if !keep {
                expired.push(s.clone());
            }
            keep
        });
        expired
    }

    /// Every session (to look for transactions past their lifetime).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.map().values().cloned().collect()
    }

    pub fn active_count(&self) -> usize {
        self.map().len()
    }
}
