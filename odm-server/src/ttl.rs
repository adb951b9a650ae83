//! The TTL monitor: deletes documents whose TTL index date has expired.
//!
//! As in mongod, a single-field index with `expireAfterSeconds` expires a document once
//! its indexed date (or the earliest date of an array) is older than that many seconds.
//! Documents whose field is not a date never expire. The server runs a pass every
//! `Config::ttl_monitor_interval` (60 seconds by default, like mongod's
//! `ttlMonitorSleepSecs`), so expiry is not instant. A time-series collection's
//! `expireAfterSeconds` expires measurements by their `timeField`, a clustered
//! collection's by their `_id` date.

use bson::{Bson, DateTime, doc};

use crate::engine::matcher::Filter;
use crate::error::CmdResult;
use crate::exec::{Query, collect};
use crate::planner::Hint;
use crate::storage::catalog::{self, CollectionMeta};
use std::time::{Duration, Instant};

use crate::replset::ReplState;
use crate::storage::Store;

/// One pass over every collection; returns how many documents were deleted. The
/// deletes are ordinary writes: logged in the oplog (change streams see them) and
/// waiting for transactions that hold the documents.
pub fn expire(store: &dyn Store, repl: &ReplState, now: DateTime) -> CmdResult<usize> {
    let collections: Vec<CollectionMeta> = catalog::list_all(&*repl.snapshot().snapshot)?;
    let mut deleted = 0;
    for meta in collections {
        for index in &meta.indexes {
            let Some(seconds) = index
                .options
                .get("expireAfterSeconds")
                .and_then(crate::engine::arith::to_i64_exact)
            else {
                continue;
            };
            if index.key.len() != 1 {
                continue; // mongod ignores TTL on compound indexes
            }
            let Some((field, _)) = index.fields().next() else {
                continue;
            };
            let cutoff = expiry_cutoff(now, seconds);
            // A partial TTL index expires only the documents it holds.
            let held = index.partial.as_ref().map(|p| p.filter.clone());
            deleted += expire_older(
                store,
                repl,
                &meta,
                field,
                cutoff,
                held,
                Some(Hint::Name(index.name.clone())),
            );
        }
        // A time-series or clustered collection's own `expireAfterSeconds`.
        if let Some((field, seconds)) = meta.expiry() {
            let cutoff = expiry_cutoff(now, seconds);
            deleted += expire_older(store, repl, &meta, field, cutoff, None, None);
        }
    }
    Ok(deleted)
}

/// The date before which a document expires `seconds` after it.
fn expiry_cutoff(now: DateTime, seconds: i64) -> DateTime {
    DateTime::from_millis(
        now.timestamp_millis()
            .saturating_sub(seconds.saturating_mul(1000)),
    )
}

/// Deletes the documents of `meta` (those `held` matches, if given) whose date in `field`
/// is before `cutoff`; how many. A failure is logged and ends this collection's turn
/// only: the other collections still expire.
fn expire_older(
    store: &dyn Store,
    repl: &ReplState,
    meta: &CollectionMeta,
    field: &str,
    cutoff: DateTime,
    held: Option<Filter>,
    hint: Option<Hint>,
) -> usize {
    match delete_older(store, repl, meta, field, cutoff, held, hint) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("TTL: expiring {} by {field} failed: {e}", meta.ns());
            0
        }
    }
}

fn delete_older(
    store: &dyn Store,
    repl: &ReplState,
    meta: &CollectionMeta,
    field: &str,
    cutoff: DateTime,
    held: Option<Filter>,
    hint: Option<Hint>,
) -> CmdResult<usize> {
    let expired = Filter::parse(&doc! {field: {"$lt": Bson::DateTime(cutoff)}})?;
    let filter = match held {
        Some(h) => Filter::And(vec![expired, h]),
        None => expired,
    };
    let query = Query {
        hint,
        ..Query::matching(filter)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (expired, _) = repl.write(
        store,
        None,
        false,
        deadline,
        |w| {
            // The collection may have changed since it was listed: read it again.
            let Some(current) =
                catalog::get(w, &meta.db, &meta.name)?.filter(|c| c.ident == meta.ident)
            else {
                return Ok(Vec::new());
            };
            let expired = collect(w, &current, &query)?;
            for d in &expired {
                w.delete(&current, d)?;
            }
            Ok(expired)
        },
        |_| None,
    )?;
    Ok(expired.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replset::topology::Topology;
    use crate::storage::catalog::IndexMeta;
    use crate::storage::memory::MemoryStore;
    use crate::storage::{Durability, collection};
    use bson::Document;

    #[test]
    fn expires_only_old_dates() {
        let store = MemoryStore::new();
        let now = DateTime::from_millis(1_000_000_000);
        let mut w = store.begin_write().unwrap();
        let (mut meta, _) = catalog::get_or_create(&mut *w, "db", "sessions").unwrap();
        let ident = catalog::next_ident(&mut *w).unwrap();
        meta.indexes.push(
            IndexMeta::new(
                "at_1".into(),
                doc! {"at": 1},
                ident,
                doc! {"expireAfterSeconds": 60},
            )
            .unwrap(),
        );
        catalog::put(&mut *w, &meta).unwrap();
        let old = DateTime::from_millis(now.timestamp_millis() - 61_000);
        let fresh = DateTime::from_millis(now.timestamp_millis() - 10_000);
        for d in [
            doc! {"_id": 1, "at": old},
            doc! {"_id": 2, "at": fresh},
            doc! {"_id": 3, "at": "not a date"},
            doc! {"_id": 4},
            doc! {"_id": 5, "at": [fresh, old]},
        ] {
            collection::insert(&mut *w, &mut meta, &d).unwrap();
        }
        w.commit(Durability::Immediate).unwrap();
        let repl = ReplState::open(
            &store,
            Topology::new(Some("rs0".into()), "localhost:1".into()),
            1 << 20,
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(expire(&store, &repl, now).unwrap(), 2);
        let r = store.begin_read().unwrap();
        let left: Vec<Document> = collect(
            &*r,
            &meta,
            &Query::matching(Filter::parse(&doc! {}).unwrap()),
        )
        .unwrap();
        let ids: Vec<i32> = left.iter().map(|d| d.get_i32("_id").unwrap()).collect();
        assert_eq!(ids, vec![2, 3, 4]);
    }
}
