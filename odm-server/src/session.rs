//! Logical sessions: the ids drivers attach to every operation (`lsid`).
//!
//! The server records when each session was last used so that `startSession`,
//! `refreshSessions`, `endSessions` and `killSessions` behave as drivers expect; ending
//! or killing a session kills the cursors it opened. Sessions idle longer than
//! `logicalSessionTimeoutMinutes` (30) are forgotten. Transactions are not supported on
//! this standalone server: commands carrying `txnNumber` are refused as mongod does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};

/// `logicalSessionTimeoutMinutes` announced in `hello`.
pub const SESSION_TIMEOUT_MINUTES: i32 = 30;

/// Sessions by their `lsid` document (compared by value).
#[derive(Default)]
pub struct Sessions {
    last_used: Mutex<HashMap<Vec<u8>, (Bson, Instant)>>,
}

fn key(lsid: &Bson) -> Vec<u8> {
    crate::storage::keycodec::encode(lsid)
}

impl Sessions {
    /// A new session id: `{id: UUID}`.
    pub fn start(&self) -> Document {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&crate::random_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&crate::random_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        let id = doc! {"id": Binary { subtype: BinarySubtype::Uuid, bytes: bytes.to_vec() }};
        self.touch(&Bson::Document(id.clone()));
        id
    }

    /// Records a use of a session.
    pub fn touch(&self, lsid: &Bson) {
        let mut map = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key(lsid), (lsid.clone(), Instant::now()));
    }

    /// Forgets sessions.
    pub fn end(&self, lsids: &[Bson]) {
        let mut map = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        for l in lsids {
            map.remove(&key(l));
        }
    }

    /// Forgets every session; returns their ids.
    pub fn end_all(&self) -> Vec<Bson> {
        let mut map = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        map.drain().map(|(_, (lsid, _))| lsid).collect()
    }

    /// Forgets sessions idle longer than the session timeout.
    pub fn expire(&self, now: Instant) {
        let timeout = Duration::from_secs(SESSION_TIMEOUT_MINUTES as u64 * 60);
        let mut map = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, used)| now.duration_since(*used) < timeout);
    }

    pub fn active_count(&self) -> usize {
        self.last_used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}
