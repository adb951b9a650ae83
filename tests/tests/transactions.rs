//! `Db::transaction` end to end, on the embedded server or the MongoDB that
//! `ODM_TEST_MONGODB_URI` names (a replica set): all-or-nothing across models, the
//! transaction's own reads, the retry of the whole closure after a write conflict and
//! after a transient error forced with a fail point, and the clear error of a standalone
//! server.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{db, finish};
use futures::TryStreamExt;
use odm::prelude::*;

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Account {
    #[odm(id)]
    id: Option<ObjectId>,
    owner: String,
    #[odm(range(min = 0))]
    balance: i64,
}

#[odm::model]
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Transfer {
    #[odm(id)]
    id: Option<ObjectId>,
    from: String,
    to: String,
    amount: i64,
}

fn account(owner: &str, balance: i64) -> Account {
    Account {
        owner: owner.into(),
        balance,
        ..Default::default()
    }
}

/// Moves `amount` from `from` to `to` with a journal entry: the shape of every test.
async fn transfer(db: &Db, from: &str, to: &str, amount: i64) -> odm::Result<i64> {
    let f = Account::fields();
    db.transaction(|tx| async move {
        let accounts = tx.collection::<Account>();
        let payer = accounts
            .find_one_and_update(f.owner.eq(from), f.balance.inc(-amount))
            .return_after()
            .await?
            .ok_or(Error::NotFound)?;
        if payer.balance < 0 {
            return Err(Error::custom(format!("{from} cannot pay {amount}")));
        }
        accounts
            .update_one(f.owner.eq(to), f.balance.inc(amount))
            .await?;
        let mut entry = Transfer {
            from: from.into(),
            to: to.into(),
            amount,
            ..Default::default()
        };
        tx.collection::<Transfer>().insert_one(&mut entry).await?;
        Ok(payer.balance)
    })
    .await
}

async fn balances(db: &Db) -> Vec<(String, i64)> {
    let f = Account::fields();
    db.collection::<Account>()
        .find(Filter::all())
        .sort(f.owner.asc())
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.owner, a.balance))
        .collect()
}

/// The balances and how many transfers are journaled.
async fn state(db: &Db) -> (Vec<(String, i64)>, u64) {
    let transfers = db.collection::<Transfer>().count(Filter::all()).await;
    (balances(db).await, transfers.unwrap())
}

async fn seeded() -> Db {
    let db = db().await;
    let accounts = db.collection::<Account>();
    accounts
        .insert_many(&mut [account("ann", 100), account("bob", 0)])
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn a_transaction_stores_every_write_or_none() {
    let db = seeded().await;
    assert_eq!(transfer(&db, "ann", "bob", 30).await.unwrap(), 70);
    assert_eq!(
        state(&db).await,
        (vec![("ann".into(), 70), ("bob".into(), 30)], 1)
    );

    // The closure's own error aborts: the debit it made is not stored.
    let err = transfer(&db, "bob", "ann", 31).await.unwrap_err();
    assert!(
        matches!(&err, Error::Custom(e) if e.to_string() == "bob cannot pay 31"),
        "{err}"
    );
    // So does a validation failure in the middle.
    let err = db
        .transaction(|tx| async move {
            let accounts = tx.collection::<Account>();
            accounts
                .update_one(
                    Account::fields().owner.eq("ann"),
                    Account::fields().balance.inc(-1),
                )
                .await?;
            accounts.insert_one(&mut account("eve", -5)).await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err}");
    assert_eq!(
        state(&db).await,
        (vec![("ann".into(), 70), ("bob".into(), 30)], 1)
    );
    finish(db).await;
}

#[tokio::test]
async fn inside_the_transaction_its_writes_are_seen_and_outside_not_until_commit() {
    let db = seeded().await;
    let outside = db.clone();
    let f = Account::fields();
    db.transaction(|tx| {
        let outside = outside.clone();
        async move {
            let accounts = tx.collection::<Account>();
            accounts.insert_one(&mut account("cat", 5)).await?;
            accounts
                .update_many(Filter::all(), f.balance.inc(1))
                .await?;
            // A stream in the transaction, with a write between two reads.
            let mut stream = accounts
                .find(Filter::all())
                .sort(f.owner.asc())
                .batch_size(1)
                .stream()
                .await?;
            let first = stream.try_next().await?.unwrap();
            assert_eq!((first.owner.as_str(), first.balance), ("ann", 101));
            // The session is free between two reads of the stream.
            accounts
                .update_one(f.owner.eq("cat"), f.balance.inc(10))
                .await?;
            let rest: Vec<Account> = stream.try_collect().await?;
            assert_eq!(
                rest.iter().map(|a| a.owner.as_str()).collect::<Vec<_>>(),
                vec!["bob", "cat"]
            );
            let cat = accounts.find(f.owner.eq("cat")).first().await?.unwrap();
            assert_eq!(cat.balance, 16);
            assert_eq!(accounts.count(f.balance.gt(0)).await?, 3);
            assert!(accounts.exists(f.owner.eq("cat")).await?);
            // Nothing shows outside before the commit.
            let seen = outside.collection::<Account>();
            assert!(!seen.exists(f.owner.eq("cat")).await?);
            let ann = seen.find(f.owner.eq("ann")).first().await?.unwrap();
            assert_eq!(ann.balance, 100);
            Ok(())
        }
    })
    .await
    .unwrap();
    assert_eq!(
        balances(&db).await,
        vec![("ann".into(), 101), ("bob".into(), 1), ("cat".into(), 16)]
    );
    finish(db).await;
}

#[tokio::test]
async fn a_write_conflict_retries_the_whole_closure_until_it_commits() {
    let db = seeded().await;
    let f = Account::fields();
    let holding = tokio::sync::Notify::new();
    let conflicted = tokio::sync::Notify::new();
    let attempts = AtomicU32::new(0);
    // The first transaction changes ann's balance and holds on until the second has
    // run into it.
    let first = db.transaction(|tx| {
        let (holding, conflicted) = (&holding, &conflicted);
        async move {
            tx.collection::<Account>()
                .update_one(f.owner.eq("ann"), f.balance.inc(-1))
                .await?;
            holding.notify_one();
            conflicted.notified().await;
            Ok(())
        }
    });
    let second = async {
        holding.notified().await;
        db.transaction(|tx| {
            let (attempts, conflicted) = (&attempts, &conflicted);
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                let written = tx
                    .collection::<Account>()
                    .update_one(f.owner.eq("ann"), f.balance.inc(-10))
                    .await;
                if let Err(e) = &written {
                    assert_eq!(e.code(), Some(112), "{e}");
                    assert!(e.has_label("TransientTransactionError"), "{e}");
                }
                conflicted.notify_one();
                written.map(|_| ())
            }
        })
        .await
    };
    let (first, second) = tokio::join!(first, second);
    first.unwrap();
    second.unwrap();
    assert!(
        attempts.load(Ordering::SeqCst) >= 2,
        "the closure ran again"
    );
    assert_eq!(balances(&db).await[0], ("ann".into(), 89));
    finish(db).await;
}

#[tokio::test]
async fn a_transient_error_from_a_fail_point_is_retried() {
    let db = common::db_for_fail_points("odm-tx-fail-point").await;
    let accounts = db.collection::<Account>();
    accounts.insert_one(&mut account("ann", 1)).await.unwrap();
    common::fail_next(
        &db,
        "odm-tx-fail-point",
        doc! {"failCommands": ["insert"], "errorCode": 112, "errorLabels": ["TransientTransactionError"]},
    )
    .await;
    let attempts = AtomicU32::new(0);
    let stored = db
        .transaction(|tx| {
            let attempts = &attempts;
            async move {
                let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                let mut dan = account(&format!("dan{n}"), 2);
                tx.collection::<Account>().insert_one(&mut dan).await?;
                Ok(dan.owner)
            }
        })
        .await
        .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(stored, "dan2");
    let owners: Vec<String> = balances(&db).await.into_iter().map(|(o, _)| o).collect();
    assert_eq!(
        owners,
        vec!["ann", "dan2"],
        "only the second attempt is stored"
    );

    // A non-transient error is not retried.
    common::fail_next(
        &db,
        "odm-tx-fail-point",
        doc! {"failCommands": ["insert"], "errorCode": 2},
    )
    .await;
    let attempts = AtomicU32::new(0);
    let err = db
        .transaction(|tx| {
            let attempts = &attempts;
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                tx.collection::<Account>()
                    .insert_one(&mut account("eve", 3))
                    .await
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(2), "{err}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    finish(db).await;
}

#[tokio::test]
async fn collection_changes_are_refused_inside_a_transaction() {
    let db = seeded().await;
    let err = db
        .transaction(|tx| async move {
            tx.collection::<Account>().sync_indexes().await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NotInTransaction {
                operation: "sync_indexes"
            }
        ),
        "{err}"
    );
    finish(db).await;
}

#[tokio::test]
async fn a_standalone_server_says_transactions_need_a_replica_set() {
    let db = Db::start(odm::server::Config::in_memory().replica_set(None))
        .await
        .unwrap();
    let err = db
        .transaction(|tx| async move {
            tx.collection::<Account>()
                .insert_one(&mut account("ann", 1))
                .await
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ReplicaSetRequired {
                feature: "transactions",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--replSet"), "{err}");
    assert_eq!(
        db.collection::<Account>()
            .count(Filter::all())
            .await
            .unwrap(),
        0
    );
    db.close().await;
}
