//! The update engine: an update either parses or is refused; applied, it either fails
//! or gives a document that keeps its `_id`, encodes as BSON and reads back equal.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use odm_fuzz::{collection, update};
use odm_server::engine::update::Update;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(spec), Ok(docs)) = (update(&mut u), collection(&mut u)) else {
        return;
    };
    let Ok(parsed) = Update::parse(&spec) else {
        return;
    };
    for d in &docs {
        for inserting in [false, true] {
            let Ok(out) = parsed.apply(d, inserting) else {
                continue;
            };
            assert_eq!(
                out.get("_id"),
                d.get("_id"),
                "{spec} on {d} changed _id: {out}"
            );
            let bytes = out.to_vec().expect("an updated document encodes");
            let back = bson::Document::from_reader(&bytes[..]).expect("and decodes");
            // Compared as bytes: NaN is not equal to itself.
            assert_eq!(back.to_vec().unwrap(), bytes);
        }
    }
});
