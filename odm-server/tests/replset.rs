//! The server as the primary of a one-member replica set, through the official Rust
//! driver: discovery from a bare URI, transactions (commit, abort, conflicts, the
//! convenient API's retry, snapshot isolation under concurrent transfers), retryable
//! writes applied once, and fail points.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bson::{Bson, Document, doc};
use common::{TestServer, all_of, code, raw_command as raw};
use futures::{FutureExt, TryStreamExt};
use mongodb::Client;
use mongodb::error::{Error, TRANSIENT_TRANSACTION_ERROR};
use mongodb::options::{Acknowledgment, ReadConcern, TransactionOptions, WriteConcern};
use odm_server::Config;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_uri_and_the_set_name_both_find_the_primary() {
    let s = TestServer::start().await;
    for uri in [s.handle.uri(), format!("{}?replicaSet=rs0", s.handle.uri())] {
        let client = Client::with_uri_str(&uri).await.unwrap();
        let coll = client.database("app").collection::<Document>("c");
        coll.insert_one(doc! {"uri": &uri}).await.unwrap();
        assert_eq!(coll.count_documents(doc! {"uri": &uri}).await.unwrap(), 1);
        let status = client
            .database("admin")
            .run_command(doc! {"replSetGetStatus": 1})
            .await
            .unwrap();
        assert_eq!(status.get_str("set").unwrap(), "rs0");
        let members = status.get_array("members").unwrap();
        assert_eq!(members.len(), 1);
        let me = members[0].as_document().unwrap();
        assert_eq!(me.get_str("stateStr").unwrap(), "PRIMARY");
        assert_eq!(me.get_str("name").unwrap(), s.handle.addr.to_string());
        let again = client
            .database("admin")
            .run_command(doc! {"replSetInitiate": {}})
            .await
            .unwrap_err();
        assert_eq!(code(&again), Some(23));
        client.shutdown().await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_makes_everything_visible_at_once_and_abort_nothing() {
    let s = TestServer::start().await;
    let db = s.db("bank");
    let accounts = db.collection::<Document>("accounts");
    let log = s.db("audit").collection::<Document>("log");
    accounts
        .insert_one(doc! {"_id": "a", "balance": 100})
        .await
        .unwrap();

    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    accounts
        .update_one(doc! {"_id": "a"}, doc! {"$inc": {"balance": -30}})
        .session(&mut session)
        .await
        .unwrap();
    accounts
        .insert_one(doc! {"_id": "b", "balance": 30})
        .session(&mut session)
        .await
        .unwrap();
    log.insert_one(doc! {"moved": 30})
        .session(&mut session)
        .await
        .unwrap();
    // Inside: the transaction's own writes. Outside: nothing yet.
    let inside = accounts
        .find_one(doc! {"_id": "a"})
        .session(&mut session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inside.get_i32("balance").unwrap(), 70);
    assert_eq!(accounts.count_documents(doc! {}).await.unwrap(), 1);
    assert_eq!(log.count_documents(doc! {}).await.unwrap(), 0);
    // A write outside the transaction after its snapshot is not seen inside it.
    accounts
        .insert_one(doc! {"_id": "late", "balance": 0})
        .await
        .unwrap();
    let seen: Vec<Document> = accounts
        .find(doc! {})
        .session(&mut session)
        .await
        .unwrap()
        .stream(&mut session)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    session.commit_transaction().await.unwrap();
    assert_eq!(accounts.count_documents(doc! {}).await.unwrap(), 3);
    assert_eq!(log.count_documents(doc! {}).await.unwrap(), 1);

    session.start_transaction().await.unwrap();
    accounts
        .delete_many(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    assert_eq!(
        accounts
            .count_documents(doc! {})
            .session(&mut session)
            .await
            .unwrap(),
        0
    );
    let count = db
        .run_command(doc! {"count": "accounts"})
        .session(&mut session)
        .await
        .unwrap_err();
    assert_eq!(
        code(&count),
        Some(263),
        "the count command is refused in a transaction, as mongod refuses it: {count}"
    );
    session.abort_transaction().await.unwrap();
    assert_eq!(accounts.count_documents(doc! {}).await.unwrap(), 3);
    drop(session);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_writer_of_a_document_conflicts_and_the_convenient_api_retries() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("counters");
    coll.insert_one(doc! {"_id": 1, "n": 0}).await.unwrap();

    let mut first = s.client.start_session().await.unwrap();
    first.start_transaction().await.unwrap();
    coll.update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 1}})
        .session(&mut first)
        .await
        .unwrap();

    let mut second = s.client.start_session().await.unwrap();
    second.start_transaction().await.unwrap();
    let err = coll
        .update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 10}})
        .session(&mut second)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(112), "{err}");
    assert!(err.contains_label(TRANSIENT_TRANSACTION_ERROR), "{err}");
    let _ = second.abort_transaction().await;

    // A plain write to the locked document waits for the transaction to end.
    let plain = {
        let coll = coll.clone();
        tokio::spawn(async move {
            coll.update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 100}})
                .await
                .unwrap()
        })
    };
    // The convenient API retries its whole callback until the first transaction ends.
    let attempts = Arc::new(AtomicU64::new(0));
    let retried = {
        let coll = coll.clone();
        let attempts = attempts.clone();
        let client = s.client.clone();
        tokio::spawn(async move {
            let mut session = client.start_session().await.unwrap();
            session
                .start_transaction()
                .and_run((coll, attempts), |session, (coll, attempts)| {
                    async move {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        coll.update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 10}})
                            .session(session)
                            .await
                    }
                    .boxed()
                })
                .await
                .unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!plain.is_finished(), "the plain write waits for the lock");
    first.commit_transaction().await.unwrap();
    plain.await.unwrap();
    retried.await.unwrap();
    assert!(
        attempts.load(Ordering::SeqCst) >= 2,
        "the callback was retried"
    );
    let doc = coll.find_one(doc! {"_id": 1}).await.unwrap().unwrap();
    assert_eq!(doc.get_i32("n").unwrap(), 111);
    drop(first);
    drop(second);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_conflicts_on_a_collection_created_after_its_snapshot() {
    let s = TestServer::start().await;
    let db = s.db("app");
    let anchor = db.collection::<Document>("anchor");
    anchor.insert_one(doc! {"_id": 0}).await.unwrap();
    let fresh = db.collection::<Document>("fresh");

    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    // The snapshot is taken by the first statement, before `fresh` exists.
    anchor
        .find_one(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    // Meanwhile another client creates the collection with a unique index.
    db.run_command(doc! {"createIndexes": "fresh", "indexes": [
        {"key": {"email": 1}, "name": "email_1", "unique": true}
    ]})
    .await
    .unwrap();
    // The transaction's snapshot has no `fresh`: writing it would create it again.
    let err = fresh
        .insert_one(doc! {"_id": 1, "email": "a@x.co"})
        .session(&mut session)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(112), "{err}");
    assert!(err.contains_label(TRANSIENT_TRANSACTION_ERROR), "{err}");
    let _ = session.abort_transaction().await;
    // The index the other client made is still there and enforced.
    let names: Vec<String> = fresh.list_index_names().await.unwrap();
    assert!(names.contains(&"email_1".to_string()), "{names:?}");
    fresh
        .insert_one(doc! {"_id": 2, "email": "b@x.co"})
        .await
        .unwrap();
    let dup = fresh
        .insert_one(doc! {"_id": 3, "email": "b@x.co"})
        .await
        .unwrap_err();
    assert_eq!(code(&dup), Some(11000));
    assert_eq!(fresh.count_documents(doc! {}).await.unwrap(), 1);
    drop(session);
    s.stop().await;
}

/// A small deterministic generator, so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_transfers_keep_the_total_exact_at_every_snapshot() {
    const ACCOUNTS: i32 = 100;
    const TASKS: u64 = 8;
    const TRANSFERS: usize = 500;
    let s = TestServer::start().await;
    let accounts = s.db("bank").collection::<Document>("accounts");
    let initial: Vec<Document> = (0..ACCOUNTS)
        .map(|i| doc! {"_id": i, "balance": 1000i64})
        .collect();
    accounts.insert_many(initial).await.unwrap();
    let total = i64::from(ACCOUNTS) * 1000;

    let writers: Vec<_> = (0..TASKS)
        .map(|task| {
            let client = s.client.clone();
            let accounts = accounts.clone();
            tokio::spawn(async move {
                let mut rng = Lcg(task + 1);
                let mut session = client.start_session().await.unwrap();
                for _ in 0..TRANSFERS {
                    let from = rng.below(ACCOUNTS as u64) as i32;
                    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as i32) % ACCOUNTS;
                    let amount = 1 + rng.below(50) as i64;
                    session
                        .start_transaction()
                        .and_run(&accounts, |session, accounts| {
                            async move {
                                accounts
                                    .update_one(
                                        doc! {"_id": from},
                                        doc! {"$inc": {"balance": -amount}},
                                    )
                                    .session(&mut *session)
                                    .await?;
                                accounts
                                    .update_one(
                                        doc! {"_id": to},
                                        doc! {"$inc": {"balance": amount}},
                                    )
                                    .session(&mut *session)
                                    .await?;
                                Ok(())
                            }
                            .boxed()
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();

    let done = Arc::new(AtomicU64::new(0));
    let reader = {
        let client = s.client.clone();
        let accounts = accounts.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut session = client.start_session().await.unwrap();
            let mut reads = 0;
            loop {
                let finished = done.load(Ordering::SeqCst) == TASKS;
                let options = TransactionOptions::builder()
                    .read_concern(ReadConcern::snapshot())
                    .build();
                session
                    .start_transaction()
                    .with_options(options)
                    .await
                    .unwrap();
                let docs: Vec<Document> = accounts
                    .find(doc! {})
                    .session(&mut session)
                    .await
                    .unwrap()
                    .stream(&mut session)
                    .try_collect()
                    .await
                    .unwrap();
                session.commit_transaction().await.unwrap();
                let sum: i64 = docs.iter().map(|d| d.get_i64("balance").unwrap()).sum();
                assert_eq!(docs.len(), ACCOUNTS as usize);
                assert_eq!(sum, total, "read {reads} saw a partial transfer");
                reads += 1;
                if finished {
                    return reads;
                }
            }
        })
    };
    for w in writers {
        w.await.unwrap();
        done.fetch_add(1, Ordering::SeqCst);
    }
    let reads = reader.await.unwrap();
    assert!(reads > 1, "the reader read while transfers ran");
    let docs = all_of(&accounts).await;
    let sum: i64 = docs.iter().map(|d| d.get_i64("balance").unwrap()).sum();
    assert_eq!(sum, total);
    assert!(docs.iter().any(|d| d.get_i64("balance").unwrap() != 1000));
    s.stop().await;
}

fn without_times(mut reply: Document) -> Document {
    reply.remove("operationTime");
    reply.remove("$clusterTime");
    reply
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_write_is_applied_once() {
    let s = TestServer::start().await;
    let mut stream = TcpStream::connect(s.handle.addr).await.unwrap();
    let lsid =
        doc! {"id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] }};
    let insert = doc! {
        "insert": "c", "documents": [{"_id": 1, "n": 0}, {"_id": 2, "n": 0}],
        "lsid": lsid.clone(), "txnNumber": 1i64, "$db": "app",
    };
    let first = without_times(raw(&mut stream, insert.clone()).await);
    assert_eq!(first, doc! {"n": 2, "ok": 1.0});
    // The same (lsid, txnNumber) again, as a driver retries after a network error: the
    // first outcome, not a duplicate key.
    assert_eq!(without_times(raw(&mut stream, insert.clone()).await), first);

    let modify = doc! {
        "findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"n": 1}}, "new": true,
        "lsid": lsid.clone(), "txnNumber": 2i64, "$db": "app",
    };
    let first = without_times(raw(&mut stream, modify.clone()).await);
    assert_eq!(
        first.get_document("value").unwrap(),
        &doc! {"_id": 1, "n": 1}
    );
    assert_eq!(without_times(raw(&mut stream, modify.clone()).await), first);

    // An older number is refused once a newer one was used.
    let old = raw(&mut stream, insert).await;
    assert_eq!(old.get_i32("code").unwrap(), 225, "{old}");
    let docs = all_of(&s.db("app").collection::<Document>("c")).await;
    assert_eq!(docs, vec![doc! {"_id": 1, "n": 1}, doc! {"_id": 2, "n": 0}]);
    // Writes that are not retryable writes may not carry a number.
    let find = raw(
        &mut stream,
        doc! {"find": "c", "lsid": lsid.clone(), "txnNumber": 3i64, "$db": "app"},
    )
    .await;
    assert_eq!(find.get_i32("code").unwrap(), 50768, "{find}");
    // startTransaction needs autocommit: false beside it.
    let start = raw(
        &mut stream,
        doc! {"find": "c", "lsid": lsid, "txnNumber": 4i64, "startTransaction": true, "$db": "app"},
    )
    .await;
    assert_eq!(start.get_i32("code").unwrap(), 72, "{start}");
    s.stop().await;
}

fn fail_point_error(err: &Error) -> (Option<i32>, bool) {
    (code(err), err.contains_label("CustomLabel"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fail_point_fails_the_next_insert_with_the_chosen_code_and_labels() {
    let s = TestServer::with_config(Config::in_memory().enable_test_commands(true)).await;
    let admin = s.db("admin");
    let coll = s.db("app").collection::<Document>("c");
    admin
        .run_command(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["insert"], "errorCode": 2, "errorLabels": ["CustomLabel"]},
        })
        .await
        .unwrap();
    let err = coll.insert_one(doc! {"_id": 1}).await.unwrap_err();
    assert_eq!(fail_point_error(&err), (Some(2), true), "{err}");
    coll.insert_one(doc! {"_id": 1}).await.unwrap();

    // A retryable code without labels gets RetryableWriteError from the server, so the
    // driver retries and the insert lands once.
    admin
        .run_command(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["insert"], "errorCode": 91},
        })
        .await
        .unwrap();
    coll.insert_one(doc! {"_id": 2}).await.unwrap();
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 2);

    // A write concern error after the write.
    admin
        .run_command(doc! {
            "configureFailPoint": "failCommand",
            "mode": "alwaysOn",
            "data": {"failCommands": ["delete"], "writeConcernError": {"code": 64, "errmsg": "waiting for replication timed out"}},
        })
        .await
        .unwrap();
    let err = coll
        .delete_one(doc! {"_id": 1})
        .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(64), "{err}");
    admin
        .run_command(doc! {"configureFailPoint": "failCommand", "mode": "off"})
        .await
        .unwrap();
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 1);

    // Without test commands the command does not exist.
    let plain = TestServer::start().await;
    let err = plain
        .db("admin")
        .run_command(doc! {"configureFailPoint": "failCommand", "mode": "off"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(59));
    plain.stop().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_carry_the_cluster_time_and_it_grows_with_writes() {
    let s = TestServer::start().await;
    let db = s.db("app");
    let before = db.run_command(doc! {"ping": 1}).await.unwrap();
    let t0 = match before
        .get_document("$clusterTime")
        .unwrap()
        .get("clusterTime")
    {
        Some(Bson::Timestamp(ts)) => *ts,
        other => panic!("{other:?}"),
    };
    db.run_command(doc! {"insert": "c", "documents": [{"x": 1}]})
        .await
        .unwrap();
    let after = db.run_command(doc! {"ping": 1}).await.unwrap();
    let t1 = match after.get("operationTime") {
        Some(Bson::Timestamp(ts)) => *ts,
        other => panic!("{other:?}"),
    };
    assert!((t1.time, t1.increment) > (t0.time, t0.increment));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_stream_sees_every_change_in_order_and_resumes_after_a_restart() {
    use mongodb::change_stream::event::OperationType;
    use mongodb::options::FullDocumentType;

    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with_config(Config::with_dbpath(dir.path())).await;
    let coll = s.db("app").collection::<Document>("items");
    let mut stream = coll
        .watch()
        .full_document(FullDocumentType::UpdateLookup)
        .await
        .unwrap();
    coll.insert_one(doc! {"_id": 1, "name": "pen", "tags": ["a", "b"]})
        .await
        .unwrap();
    coll.update_one(
        doc! {"_id": 1},
        doc! {"$set": {"name": "ink pen"}, "$pop": {"tags": 1}},
    )
    .await
    .unwrap();
    coll.replace_one(doc! {"_id": 1}, doc! {"name": "pencil"})
        .await
        .unwrap();
    coll.delete_one(doc! {"_id": 1}).await.unwrap();

    let mut events = Vec::new();
    while events.len() < 4 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next_if_any())
            .await
            .expect("events arrive")
            .unwrap();
        if let Some(e) = event {
            events.push(e);
        }
    }
    let kinds: Vec<_> = events.iter().map(|e| e.operation_type.clone()).collect();
    assert_eq!(
        kinds,
        [
            OperationType::Insert,
            OperationType::Update,
            OperationType::Replace,
            OperationType::Delete
        ]
    );
    let update = &events[1];
    let description = update.update_description.as_ref().unwrap();
    assert_eq!(description.updated_fields, doc! {"name": "ink pen"});
    assert!(description.removed_fields.is_empty());
    assert_eq!(description.truncated_arrays.as_ref().unwrap().len(), 1);
    // updateLookup: the document as it is when the event is read (already deleted).
    assert_eq!(update.full_document, None);
    assert_eq!(
        events[2].full_document.as_ref().unwrap(),
        &doc! {"_id": 1, "name": "pencil"}
    );
    assert_eq!(events[3].document_key.as_ref().unwrap(), &doc! {"_id": 1});
    let after_insert = events[0].id.clone();
    drop(stream);
    s.stop().await;

    // A restart: the oplog is on disk, so the stream resumes from its token.
    let s = TestServer::with_config(Config::with_dbpath(dir.path())).await;
    let coll = s.db("app").collection::<Document>("items");
    let mut resumed = coll.watch().resume_after(after_insert).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        if let Some(e) = tokio::time::timeout(Duration::from_secs(10), resumed.next_if_any())
            .await
            .expect("events arrive")
            .unwrap()
        {
            kinds.push(e.operation_type);
        }
    }
    assert_eq!(
        kinds,
        [
            OperationType::Update,
            OperationType::Replace,
            OperationType::Delete
        ]
    );
    drop(resumed);
    s.stop().await;
}

/// On disk, plain writes that arrive together are committed together (group commit).
/// One of them here waits for a transaction's lock: the batch it continued is dropped
/// and its other members write again. Every acknowledged write is there exactly once,
/// and the waiting one lands after the transaction commits.
#[tokio::test(flavor = "multi_thread")]
async fn batched_writes_beside_a_write_blocked_by_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with_config(Config::with_dbpath(dir.path())).await;
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_one(doc! {"_id": "held", "n": 0}).await.unwrap();
    let mut session = s.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    coll.update_one(doc! {"_id": "held"}, doc! {"$inc": {"n": 1}})
        .session(&mut session)
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for w in 0..8i64 {
        let coll = coll.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..100i64 {
                coll.insert_one(doc! {"_id": w * 1_000 + n}).await.unwrap();
            }
        }));
    }
    // Blocked writers, one after another while the batches go on.
    let mut blocked = Vec::new();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let coll = coll.clone();
        blocked.push(tokio::spawn(async move {
            coll.update_one(doc! {"_id": "held"}, doc! {"$inc": {"n": 10}})
                .await
                .unwrap()
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    session.commit_transaction().await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    for b in blocked {
        assert_eq!(b.await.unwrap().modified_count, 1);
    }
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 801);
    let held = coll.find_one(doc! {"_id": "held"}).await.unwrap().unwrap();
    assert_eq!(held.get_i32("n").unwrap(), 41);
    drop(session);
    s.stop().await;
}
