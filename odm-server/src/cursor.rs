//! Open cursors between `getMore`s: a registry keyed by random Int64 ids.
//!
//! A cursor is taken out of the registry while a batch is being produced and put back
//! afterwards, so two connections can never drive one cursor at once (the second gets
//! `CursorInUse`). Cursors idle longer than the timeout (10 minutes by default, as in
//! mongod) are reaped by a background task; a `getMore` on a reaped, killed or unknown id
//! gets `CursorNotFound` (43).
//!
//! Tailable cursors (a change stream, a tailable query on `local.oplog.rs`) carry their
//! own reader ([`Tail`]); with `awaitData`, a `getMore` waits up to its `maxTimeMS` (1 s
//! when absent, as mongod) for something new ([`await_deadline`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bson::{Bson, Document};

use crate::error::{CmdResult, CommandError, ErrorCode};
use crate::exec::CursorState;

/// What a cursor reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A collection, identified by its ident: a `getMore` checks it still exists.
    Collection { ident: u64 },
    /// Results computed up front (`listCollections`, `aggregate`, ...).
    Computed,
}

/// An open cursor.
#[derive(Debug)]
pub struct Cursor {
    pub id: i64,
    /// `db.collection`, as replies report it and `getMore` must match.
    pub ns: String,
    pub source: Source,
    pub state: CursorState,
    /// The batch size the cursor was opened with, for `getMore`s that give none.
    pub batch_size: Option<usize>,
    /// The logical session that opened it (killed with the session).
    pub lsid: Option<Bson>,
    /// The users (`user`, `db`) logged in on the connection that opened it: under access
    /// control, only a connection sharing one of them (or, for a cursor opened before
    /// any login, one with none) may use or kill it.
    pub owners: Vec<(String, String)>,
    /// The snapshot a `readConcern: snapshot` read keeps reading in its `getMore`s
    /// (`None`: each batch reads the latest data, or the cursor's transaction).
    pub snapshot: Option<std::sync::Arc<crate::replset::Published>>,
    /// A tailable cursor's reader: its `getMore`s read the oplog and may wait.
    pub tail: Option<Tail>,
    pub last_used: Instant,
}

/// What a tailable cursor reads.
#[derive(Debug)]
pub enum Tail {
    /// A change stream: events made from the oplog.
    ChangeStream(Box<crate::change_stream::ChangeStream>),
    /// A query on `local.oplog.rs`; `await_data`: a `getMore` waits for new entries.
    Oplog {
        cursor: Box<crate::oplog_collection::OplogCursor>,
        await_data: bool,
    },
    /// A query on a capped collection that follows new documents.
    Capped {
        cursor: Box<crate::capped_tail::CappedTail>,
        await_data: bool,
    },
}

impl Tail {
    /// Whether a `getMore` waits for something new (and so may carry `maxTimeMS`).
    pub fn awaits_data(&self) -> bool {
        match self {
            Tail::ChangeStream(_) => true,
            Tail::Oplog { await_data, .. } | Tail::Capped { await_data, .. } => *await_data,
        }
    }
}

/// How long a `getMore` of an `awaitData` cursor waits for something new: its
/// `maxTimeMS`, 1 s when it has none (mongod's default).
pub fn await_deadline(get_more: &Document) -> Instant {
    let wait = get_more
        .get("maxTimeMS")
        .and_then(crate::engine::arith::to_i64_exact)
        .filter(|ms| *ms >= 0)
        .unwrap_or(1000);
    Instant::now() + Duration::from_millis(wait as u64)
}

impl Cursor {
    /// A cursor `id` on `ns` opened by the session `lsid` for `owners`, over nothing
    /// yet: callers set what it reads (`Cursor { state, ..Cursor::new(..) }`).
    pub fn new(id: i64, ns: &str, lsid: Option<Bson>, owners: Vec<(String, String)>) -> Cursor {
        Cursor {
            id,
            ns: ns.to_owned(),
            source: Source::Computed,
            state: CursorState::Buffered(Default::default()),
            batch_size: None,
            lsid,
            owners,
            snapshot: None,
            tail: None,
            last_used: Instant::now(),
        }
    }
}

enum Slot {
    Idle(Box<Cursor>),
    InUse {
        lsid: Option<Bson>,
        owners: Vec<(String, String)>,
    },
}

/// Every open cursor of the server.
pub struct CursorRegistry {
    slots: Mutex<HashMap<i64, Slot>>,
    timeout: Duration,
}

impl CursorRegistry {
    pub fn new(timeout: Duration) -> Self {
        CursorRegistry {
            slots: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh, unused, positive id.
    pub fn new_id(&self) -> i64 {
        let slots = self.lock();
        loop {
            let id = (crate::random_u64() >> 1) as i64;
            if id != 0 && !slots.contains_key(&id) {
                return id;
            }
        }
    }

    /// Stores a cursor that has more results.
    pub fn put(&self, mut cursor: Cursor) {
        cursor.last_used = Instant::now();
        self.lock().insert(cursor.id, Slot::Idle(Box::new(cursor)));
    }

    /// Takes a cursor out for a `getMore`.
    pub fn take(&self, id: i64) -> CmdResult<Cursor> {
        let mut slots = self.lock();
        match slots.remove(&id) {
            Some(Slot::Idle(cursor)) => {
                slots.insert(
                    id,
                    Slot::InUse {
                        lsid: cursor.lsid.clone(),
                        owners: cursor.owners.clone(),
                    },
                );
                Ok(*cursor)
            }
            Some(in_use @ Slot::InUse { .. }) => {
                slots.insert(id, in_use);
                Err(CommandError::new(
                    ErrorCode::CursorInUse,
                    format!("cursor id {id} is already in use"),
                ))
            }
            None => Err(not_found(id)),
        }
    }

    /// Returns a taken cursor (it has more results), or forgets it (exhausted or failed).
    pub fn give_back(&self, id: i64, cursor: Option<Cursor>) {
        let mut slots = self.lock();
        // A kill while the cursor was in use removed its slot: the cursor dies now.
        if !slots.contains_key(&id) {
            return;
        }
        match cursor {
            Some(mut c) => {
                c.last_used = Instant::now();
                slots.insert(id, Slot::Idle(Box::new(c)));
            }
            None => {
                slots.remove(&id);
            }
        }
    }

    /// The owners of the cursors among `ids` that exist.
    pub fn owners(&self, ids: &[i64]) -> Vec<(i64, Vec<(String, String)>)> {
        let slots = self.lock();
        ids.iter()
            .filter_map(|id| match slots.get(id)? {
                Slot::Idle(cursor) => Some((*id, cursor.owners.clone())),
                Slot::InUse { owners, .. } => Some((*id, owners.clone())),
            })
            .collect()
    }

    /// Kills cursors by id; returns (killed, not found).
    pub fn kill(&self, ids: &[i64]) -> (Vec<i64>, Vec<i64>) {
        let mut slots = self.lock();
        let (mut killed, mut missing) = (Vec::new(), Vec::new());
        for id in ids {
            match slots.remove(id) {
                Some(_) => killed.push(*id),
                None => missing.push(*id),
            }
        }
        (killed, missing)
    }

    /// Kills every cursor opened by one of `sessions` (compared by value).
    pub fn kill_sessions(&self, sessions: &[Bson]) -> usize {
        let mut slots = self.lock();
        let before = slots.len();
        slots.retain(|_, slot| {
            let lsid = match slot {
                Slot::Idle(c) => c.lsid.as_ref(),
                Slot::InUse { lsid, .. } => lsid.as_ref(),
            };
            !lsid.is_some_and(|l| sessions.contains(l))
        });
        before - slots.len()
    }

    /// Removes cursors idle longer than the timeout; returns how many.
    pub fn reap_idle(&self, now: Instant) -> usize {
        let mut slots = self.lock();
        let before = slots.len();
        slots.retain(|_, slot| match slot {
            Slot::Idle(c) => now.duration_since(c.last_used) < self.timeout,
            Slot::InUse { .. } => true,
        });
        before - slots.len()
    }

    /// The cursors waiting for a `getMore`, as `$currentOp` shows idle cursors.
    pub fn describe(&self) -> Vec<bson::Document> {
        self.lock()
            .values()
            .filter_map(|slot| match slot {
                Slot::Idle(c) => {
                    let mut d = bson::doc! {
                        "cursorId": c.id,
                        "ns": &c.ns,
                        "lastAccessDate": crate::cmd::current_op::before_now(c.last_used.elapsed()),
                        "noCursorTimeout": false,
                        "tailable": c.tail.is_some(),
                    };
                    if let Some(lsid) = &c.lsid {
                        d.insert("lsid", lsid.clone());
                    }
                    Some(d)
                }
                Slot::InUse { .. } => None,
            })
            .collect()
    }

    /// How many cursors are open.
    pub fn open_count(&self) -> usize {
        self.lock().len()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// `CursorNotFound` for an id.
pub fn not_found(id: i64) -> CommandError {
    CommandError::new(
        ErrorCode::CursorNotFound,
        format!("cursor id {id} not found"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(reg: &CursorRegistry, lsid: Option<Bson>) -> i64 {
        let id = reg.new_id();
        reg.put(Cursor::new(id, "db.c", lsid, Vec::new()));
        id
    }

    #[test]
    fn take_give_back_and_kill() {
        let reg = CursorRegistry::new(Duration::from_secs(600));
        let id = cursor(&reg, None);
        assert!(id > 0);
        let c = reg.take(id).unwrap();
        assert_eq!(reg.take(id).unwrap_err().code, ErrorCode::CursorInUse);
        reg.give_back(id, Some(c));
        assert_eq!(reg.kill(&[id, 42]), (vec![id], vec![42]));
        assert_eq!(reg.take(id).unwrap_err().code, ErrorCode::CursorNotFound);
    }

    #[test]
    fn idle_cursors_are_reaped() {
        let reg = CursorRegistry::new(Duration::from_millis(10));
        let id = cursor(&reg, None);
        assert_eq!(reg.reap_idle(Instant::now()), 0);
        assert_eq!(reg.reap_idle(Instant::now() + Duration::from_secs(1)), 1);
        assert_eq!(reg.take(id).unwrap_err().code.code(), 43);
    }

    #[test]
    fn session_kill_takes_its_cursors() {
        let reg = CursorRegistry::new(Duration::from_secs(600));
        let lsid = Bson::Document(bson::doc! {"id": 1});
        cursor(&reg, Some(lsid.clone()));
        let other = cursor(&reg, None);
        assert_eq!(reg.kill_sessions(&[lsid]), 1);
        assert!(reg.take(other).is_ok());
    }
}
