//! The planner and the index code: over generated documents, a filter answered through
//! each index (hinted), through the planner's own choice and by a collection scan gives
//! the same documents.
#![no_main]

use arbitrary::Unstructured;
use bson::{Bson, Document, doc};
use libfuzzer_sys::fuzz_target;
use odm_fuzz::{collection, filter, found_ids};
use odm_server::fuzzing::CommandHarness;

/// The indexes every run has: single-field, compound (both directions), nested, sparse.
fn indexes() -> Vec<Document> {
    vec![
        doc! {"key": {"a": 1}, "name": "a"},
        doc! {"key": {"b": 1, "a": -1}, "name": "b_a"},
        doc! {"key": {"a.b": 1}, "name": "a.b"},
        doc! {"key": {"c": -1}, "name": "c_sparse", "sparse": true},
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(f), Ok(docs)) = (filter(&mut u, 2), collection(&mut u)) else {
        return;
    };
    let mut server = CommandHarness::new();
    let created = server.run("db", &doc! {"createIndexes": "c", "indexes": indexes()});
    assert_eq!(created.get_f64("ok").ok(), Some(1.0), "{created}");
    for d in docs {
        // A document some index refuses (a parallel array in `b_a`) is not stored:
        // that is mongod's answer too, and not the question here.
        server.run("db", &doc! {"insert": "c", "documents": [d]});
    }
    let Some(scanned) = found_ids(&mut server, &f, Some(Bson::Document(doc! {"$natural": 1})))
    else {
        return;
    };
    let planned =
        found_ids(&mut server, &f, None).expect("the planner answers what a scan answers");
    assert_eq!(planned, scanned, "{f}: the planner's plan");
    for index in indexes() {
        let name = index.get_str("name").unwrap().to_owned();
        // A sparse index hinted for a query it cannot answer whole gives fewer
        // documents in mongod too: it is only compared when the planner would use it.
        if index.contains_key("sparse") {
            continue;
        }
        if let Some(hinted) = found_ids(&mut server, &f, Some(Bson::String(name.clone()))) {
            assert_eq!(hinted, scanned, "{f}: through index {name}");
        }
    }
});
