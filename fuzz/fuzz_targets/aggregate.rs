//! The aggregation engine: a pipeline either parses or is refused; one that parses runs
//! or fails without panicking, every document it outputs encodes as BSON, and a
//! leading `$match` keeps exactly the documents its filter matches.
#![no_main]

use arbitrary::Unstructured;
use bson::{Bson, Document};
use libfuzzer_sys::fuzz_target;
use odm_fuzz::{collection, pipeline};
use odm_server::engine::agg::join::NoCollections;
use odm_server::engine::agg::pipeline::Pipeline;
use odm_server::engine::matcher::Filter;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(stages), Ok(docs)) = (pipeline(&mut u), collection(&mut u)) else {
        return;
    };
    let Ok(parsed) = Pipeline::parse(&stages) else {
        return;
    };
    if let Ok(out) = parsed.run_with(docs.clone(), &NoCollections) {
        for d in &out {
            d.to_vec().expect("an output document encodes");
        }
    }
    if let Some(Bson::Document(first)) = stages.first()
        && let Ok(f) = first.get_document("$match")
        && let Ok(filter) = Filter::parse(f)
        && let Ok(matched) = Pipeline::parse(&stages[..1])
            .expect("a stage of a pipeline that parses parses alone")
            .run_with(docs.clone(), &NoCollections)
    {
        // Compared as bytes: NaN is not equal to itself.
        let bytes = |d: &Document| d.to_vec().unwrap();
        let expected: Vec<Vec<u8>> = docs
            .iter()
            .filter(|d| filter.matches(d))
            .map(bytes)
            .collect();
        assert_eq!(
            matched.iter().map(bytes).collect::<Vec<_>>(),
            expected,
            "$match {f}"
        );
    }
});
