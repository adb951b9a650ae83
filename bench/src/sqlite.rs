//! SQLite (through `rusqlite`, the library compiled in) with the same documents: a
//! table of `id INTEGER PRIMARY KEY`, an indexed secondary column and the BSON bytes in
//! a `doc` BLOB. In WAL mode, `synchronous=NORMAL` stands for an acknowledged write and
//! `FULL` for `j: true`. It pays no network hop and no protocol, so it is context, not a
//! target: what an embedded store gives when the caller holds the file.

use std::time::Instant;

use bson::Document;
use rusqlite::{Connection, OptionalExtension, params};

use crate::data::{self, Tweet};
use crate::driver::{DRAIN, FIND, INSERT, INSERT_J, MANY_LARGE, MANY_SMALL, TWEETS, UPDATE};
use crate::measure::{failed, median_of_sync};
use crate::report::{Metric, Row};
use crate::{Args, scale};

pub const PEER: &str = "SQLite (rusqlite, in process)";

/// The workloads SQLite has an equivalent of: 2 to 7.
pub fn run_all(args: &Args) -> Vec<Row> {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return vec![Row::new(FIND, PEER, Metric::OpsPerSec, Err(failed(e)))],
    };
    let opened = Connection::open(dir.path().join("bench.sqlite")).and_then(|db| {
        db.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE tweets (id INTEGER PRIMARY KEY, user_id INTEGER, doc BLOB);
             CREATE INDEX tweets_user ON tweets (user_id);
             CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT, doc BLOB);
             CREATE INDEX small_name ON small (name);",
        )?;
        Ok(db)
    });
    let db = match opened {
        Ok(db) => db,
        Err(e) => return vec![Row::new(FIND, PEER, Metric::OpsPerSec, Err(failed(e)))],
    };
    let mut rows = Vec::new();
    let row = |workload, metric, value: rusqlite::Result<f64>| {
        Row::new(workload, PEER, metric, value.map_err(failed))
    };
    let seeded = args.ops(TWEETS);
    let bytes = insert_rows(
        &db,
        "tweets",
        (0..seeded as i64).map(|i| (i, data::tweet(i))),
    );
    match bytes {
        Ok(bytes) => {
            rows.push(row(FIND, Metric::OpsPerSec, find_by_id(args, &db, seeded)));
            let rate = drain(args, &db, seeded).map_err(failed);
            let per_doc_mb = bytes as f64 / seeded as f64 / 1e6;
            let throughput = rate.clone().map(|r| r * per_doc_mb);
            rows.push(Row::new(DRAIN, PEER, Metric::MbPerSec, throughput));
            rows.push(Row::new(DRAIN, PEER, Metric::DocsPerSec, rate));
        }
        Err(e) => rows.push(row(FIND, Metric::OpsPerSec, Err(e))),
    }
    rows.push(row(
        INSERT,
        Metric::OpsPerSec,
        insert_one(args, &db, "NORMAL", 0),
    ));
    rows.push(row(
        INSERT_J,
        Metric::OpsPerSec,
        insert_one(args, &db, "FULL", 1 << 40),
    ));
    rows.push(row(
        MANY_SMALL,
        Metric::DocsPerSec,
        insert_many(args, &db, false),
    ));
    rows.push(row(
        MANY_LARGE,
        Metric::MbPerSec,
        insert_many(args, &db, true),
    ));
    rows.push(row(UPDATE, Metric::OpsPerSec, update_one(args, &db)));
    rows.extend(indexed_queries(args, &db));
    rows
}

/// Inserts `(id, doc)` rows in one transaction; their BSON size in bytes.
fn insert_rows(
    db: &Connection,
    table: &str,
    docs: impl Iterator<Item = (i64, Document)>,
) -> rusqlite::Result<usize> {
    let tx = db.unchecked_transaction()?;
    let mut bytes = 0;
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO {table} (id, {}, doc) VALUES (?1, ?2, ?3)",
            if table == "tweets" { "user_id" } else { "name" }
        ))?;
        for (id, doc) in docs {
            let blob = encode(&doc)?;
            bytes += blob.len();
            match table {
                "tweets" => insert.execute(params![id, id % 10_000, blob])?,
                _ => insert.execute(params![id, data::name(id), blob])?,
            };
        }
    }
    tx.commit()?;
    Ok(bytes)
}

fn encode(doc: &Document) -> rusqlite::Result<Vec<u8>> {
    bson::serialize_to_vec(doc).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

fn decode<T: serde::de::DeserializeOwned>(blob: &[u8]) -> rusqlite::Result<T> {
    bson::deserialize_from_slice(blob).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
    })
}

/// `op(i)` for i in 0..n for each round, numbered across rounds: the median rate.
fn repeated(
    args: &Args,
    n: usize,
    mut op: impl FnMut(usize) -> rusqlite::Result<()>,
) -> rusqlite::Result<f64> {
    median_of_sync(args.rounds(), |r| {
        let started = Instant::now();
        for i in 0..n {
            op(r * n + i)?;
        }
        Ok(n as f64 / started.elapsed().as_secs_f64())
    })
}

fn find_by_id(args: &Args, db: &Connection, seeded: usize) -> rusqlite::Result<f64> {
    let mut select = db.prepare_cached("SELECT doc FROM tweets WHERE id = ?1")?;
    repeated(args, args.ops(10_000), |i| {
        let blob: Vec<u8> = select.query_row([(i % seeded) as i64], |r| r.get(0))?;
        decode::<Document>(&blob).map(drop)
    })
}

/// Every tweet decoded into [`Tweet`]: documents per second.
fn drain(args: &Args, db: &Connection, seeded: usize) -> rusqlite::Result<f64> {
    let mut select = db.prepare_cached("SELECT doc FROM tweets")?;
    median_of_sync(args.rounds(), |_| {
        let started = Instant::now();
        let mut rows = select.query([])?;
        let mut all: Vec<Tweet> = Vec::with_capacity(seeded);
        while let Some(row) = rows.next()? {
            all.push(decode(row.get_ref(0)?.as_blob()?)?);
        }
        Ok(all.len() as f64 / started.elapsed().as_secs_f64())
    })
}

/// One insert a transaction, with `synchronous` as given; ids from `first`.
fn insert_one(
    args: &Args,
    db: &Connection,
    synchronous: &str,
    first: i64,
) -> rusqlite::Result<f64> {
    db.execute_batch(&format!("PRAGMA synchronous={synchronous}"))?;
    let mut insert = db.prepare_cached("INSERT INTO small (id, name, doc) VALUES (?1, ?2, ?3)")?;
    let rate = repeated(args, args.ops(10_000), |i| {
        let id = first + i as i64;
        insert
            .execute(params![id, data::name(id), encode(&data::small(id))?])
            .map(drop)
    });
    db.execute_batch("PRAGMA synchronous=NORMAL")?;
    rate
}

/// 10k small documents (docs/s) or 10 large ones (MB/s) in one transaction, into a
/// table emptied first.
fn insert_many(args: &Args, db: &Connection, large: bool) -> rusqlite::Result<f64> {
    db.execute_batch("CREATE TABLE many (id INTEGER PRIMARY KEY, name TEXT, doc BLOB); CREATE INDEX many_name ON many (name);")?;
    let rate = median_of_sync(args.rounds(), |_| {
        db.execute_batch("DELETE FROM many")?;
        let docs: Vec<(i64, Document)> = match large {
            true => (0..if args.quick { 2 } else { 10 })
                .map(|i| (i, data::large(i)))
                .collect(),
            false => (0..args.ops(10_000) as i64)
                .map(|i| (i, data::small(i)))
                .collect(),
        };
        let count = docs.len();
        let started = Instant::now();
        let bytes = insert_rows(db, "many", docs.into_iter())?;
        let seconds = started.elapsed().as_secs_f64();
        Ok(if large {
            bytes as f64 / 1e6
        } else {
            count as f64
        } / seconds)
    });
    db.execute_batch("DROP TABLE many")?;
    rate
}

/// Read, `$set` in the decoded document, write back: what an update of one field of a
/// stored document is here.
fn update_one(args: &Args, db: &Connection) -> rusqlite::Result<f64> {
    let docs = args.ops(10_000) * args.rounds();
    repeated(args, args.ops(10_000), |i| {
        let id = (i % docs) as i64;
        let tx = db.unchecked_transaction()?;
        {
            let mut select = tx.prepare_cached("SELECT doc FROM small WHERE id = ?1")?;
            let blob: Option<Vec<u8>> = select.query_row([id], |r| r.get(0)).optional()?;
            let mut doc: Document = decode(&blob.unwrap_or_default())?;
            doc.insert("score", i as f64);
            let mut update = tx.prepare_cached("UPDATE small SET doc = ?2 WHERE id = ?1")?;
            update.execute(params![id, encode(&doc)?])?;
        }
        tx.commit()
    })
}

/// Workload 7: equality on the indexed `name` column at each size.
fn indexed_queries(args: &Args, db: &Connection) -> Vec<Row> {
    let mut rows = Vec::new();
    let outcome = (|| -> rusqlite::Result<()> {
        db.execute_batch("CREATE TABLE scale (id INTEGER PRIMARY KEY, name TEXT, doc BLOB); CREATE INDEX scale_name ON scale (name);")?;
        let mut seeded = 0;
        for (size, workload) in scale::sizes(args) {
            insert_rows(
                db,
                "scale",
                (seeded as i64..size as i64).map(|i| (i, data::small(i))),
            )?;
            seeded = size;
            let mut select = db.prepare_cached("SELECT doc FROM scale WHERE name = ?1")?;
            let rate = repeated(args, args.ops(10_000), |i| {
                let mut found = select.query([data::name(((i * 7_919) % size) as i64)])?;
                let mut n = 0;
                while let Some(row) = found.next()? {
                    decode::<Document>(row.get_ref(0)?.as_blob()?)?;
                    n += 1;
                }
                if n == 1 {
                    Ok(())
                } else {
                    Err(rusqlite::Error::QueryReturnedNoRows)
                }
            });
            rows.push(Row::new(
                workload,
                PEER,
                Metric::Micros,
                rate.map(|r| 1e6 / r).map_err(failed),
            ));
        }
        db.execute_batch("DROP TABLE scale")
    })();
    if let Err(e) = outcome {
        rows.push(Row::new(
            scale::AT_10K,
            PEER,
            Metric::Micros,
            Err(failed(e)),
        ));
    }
    rows
}
