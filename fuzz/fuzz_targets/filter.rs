//! The query engine: a filter either parses or is refused; one that parses answers for
//! every document without panicking, and its answer does not depend on the order of
//! its clauses or operators, nor (without `$expr`) on the order of the document's
//! fields, since MongoDB ANDs them.
#![no_main]

use arbitrary::Unstructured;
use bson::{Bson, Document};
use libfuzzer_sys::fuzz_target;
use odm_fuzz::{collection, filter, mentions_expr, reorder_filter};
use odm_server::engine::matcher::Filter;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(f), Ok(docs)) = (filter(&mut u, 3), collection(&mut u)) else {
        return;
    };
    let Ok(parsed) = Filter::parse(&f) else {
        return;
    };
    let reordered = Filter::parse(&reorder_filter(&f))
        .unwrap_or_else(|e| panic!("{f} parses, reordered it does not: {e:?}"));
    let reads_root = mentions_expr(&Bson::Document(f.clone()));
    for d in &docs {
        let Ok(answer) = parsed.matches_checked(d) else {
            continue;
        };
        if let Ok(again) = reordered.matches_checked(d) {
            assert_eq!(answer, again, "{f} on {d}: clause order changed the answer");
        }
        if !reads_root {
            let reversed: Document = odm_fuzz::reversed(d)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Ok(again) = parsed.matches_checked(&reversed) {
                assert_eq!(answer, again, "{f} on {d}: field order changed the answer");
            }
        }
    }
});
