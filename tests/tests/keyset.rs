//! Keyset pages follow the query's sort, in either direction and on compound keys, with
//! ties and missing values: every document is visited once, in the order a single
//! sorted query gives. What cannot be honoured is refused.

mod common;

use common::{db, finish};
use futures::TryStreamExt;
use odm::prelude::*;

#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Entry {
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    n: i32,
    created_at: DateTime,
    /// Absent on some documents: those sort first ascending and last descending.
    score: Option<i32>,
    tags: Vec<String>,
}

const DOCS: i32 = 95;

async fn seeded(db: &Db) -> odm::Collection<Entry> {
    let entries = db.collection::<Entry>();
    let mut all: Vec<Entry> = (0..DOCS)
        .map(|n| Entry {
            id: None,
            n,
            // Ten documents share each timestamp: ties only `_id` can order.
            created_at: DateTime::from_millis(1_700_000_000_000 + i64::from(n / 10) * 1000),
            score: (n % 4 != 0).then_some(n % 7),
            tags: vec![format!("t{}", n % 3)],
        })
        .collect();
    entries.insert_many(&mut all).await.unwrap();
    entries
}

/// Reads every page of `size` and returns the documents in the order visited.
async fn visit(entries: &odm::Collection<Entry>, sort: Sort<Entry>, size: u64) -> Vec<Entry> {
    let mut seen: Vec<Entry> = Vec::new();
    loop {
        let page = entries
            .find(Filter::all())
            .sort(sort.clone())
            .page_after(seen.last(), size)
            .await
            .unwrap();
        assert!(page.len() as u64 <= size);
        if page.is_empty() {
            return seen;
        }
        seen.extend(page);
    }
}

fn numbers(entries: &[Entry]) -> Vec<i32> {
    entries.iter().map(|e| e.n).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn newest_first_pages_visit_every_document_once_in_order() {
    let db = db().await;
    let entries = seeded(&db).await;
    let f = Entry::fields();
    let seen = visit(&entries, f.created_at.desc(), 3).await;
    assert_eq!(seen.len(), DOCS as usize);
    let mut unique = numbers(&seen);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), DOCS as usize, "a document was visited twice");
    // Newest first; ties by `_id` descending, which is insertion order reversed.
    let expected: Vec<i32> = (0..DOCS).rev().collect();
    assert_eq!(numbers(&seen), expected);
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compound_keys_in_mixed_directions_match_one_sorted_query() {
    let db = db().await;
    let entries = seeded(&db).await;
    let f = Entry::fields();
    for sort in [
        f.score.desc().then(f.created_at.asc()),
        f.score.asc().then(f.created_at.desc()),
        f.created_at.asc().then(f.score.desc()).then(f.n.asc()),
        f.score.desc(),
        f.score.asc(),
    ] {
        for size in [1, 7, 95, 200] {
            let seen = visit(&entries, sort.clone(), size).await;
            // The same sort with `_id` as the last tie-breaker, in one query.
            let last = sort.keys().last().map_or(1, |(_, d)| d);
            let mut whole = sort.to_document();
            if !whole.contains_key("_id") {
                whole.insert("_id", last);
            }
            let expected: Vec<Entry> = entries
                .raw()
                .clone_with_type::<Entry>()
                .find(doc! {})
                .sort(whole.clone())
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(
                numbers(&seen),
                numbers(&expected),
                "pages of {size} by {whole}"
            );
        }
    }
    finish(db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_pages_cannot_honour_is_refused() {
    let db = db().await;
    let entries = seeded(&db).await;
    let f = Entry::fields();
    let err = entries
        .find(Filter::all())
        .sort(f.created_at.desc())
        .limit(5)
        .page_after(None, 3)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot also honour limit(5)"),
        "{err}"
    );
    for sort in [f.tags.asc(), f.tags.any().asc()] {
        let err = entries
            .find(Filter::all())
            .sort(sort)
            .page_after(None, 3)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`tags` has no single value per document"),
            "{err}"
        );
    }
    finish(db).await;
}
