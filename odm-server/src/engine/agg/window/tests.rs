//! `$setWindowFields` through parsed pipelines: windows, ranks, fills and the refusals.

use bson::doc;

use super::*;
use crate::engine::agg::pipeline::Pipeline;

fn run(spec: Document, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
    Pipeline::parse(&[Bson::Document(doc! {"$setWindowFields": spec})])?.run(docs)
}

fn sales() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "state": "CA", "day": 1, "qty": 10},
        doc! {"_id": 2, "state": "WA", "day": 1, "qty": 5},
        doc! {"_id": 3, "state": "CA", "day": 2, "qty": 20},
        doc! {"_id": 4, "state": "CA", "day": 4, "qty": 30},
        doc! {"_id": 5, "state": "WA", "day": 3, "qty": 15},
    ]
}

fn column(out: &[Document], field: &str) -> Vec<Bson> {
    out.iter()
        .map(|d| d.get(field).cloned().unwrap_or(Bson::Null))
        .collect()
}

#[test]
fn running_totals_moving_windows_and_ranges() {
    let out = run(
        doc! {"partitionBy": "$state", "sortBy": {"day": 1}, "output": {
            "running": {"$sum": "$qty", "window": {"documents": ["unbounded", "current"]}},
            "moving": {"$avg": "$qty", "window": {"documents": [-1, 0]}},
            "near": {"$sum": "$qty", "window": {"range": [-1, 1]}},
            "total": {"$sum": "$qty"},
        }},
        sales(),
    )
    .unwrap();
    let ids = column(&out, "_id");
    assert_eq!(ids, [1, 3, 4, 2, 5].map(Bson::Int32));
    assert_eq!(
        column(&out, "running"),
        [10, 30, 60, 5, 20].map(Bson::Int32)
    );
    assert_eq!(
        column(&out, "moving"),
        [10.0, 15.0, 25.0, 5.0, 10.0].map(Bson::Double)
    );
    // CA days 1, 2, 4: within one day of each other: 1-2, 1-2, 4 alone.
    assert_eq!(column(&out, "near"), [30, 30, 30, 5, 15].map(Bson::Int32));
    assert_eq!(column(&out, "total"), [60, 60, 60, 20, 20].map(Bson::Int32));
}

#[test]
fn ranks_shift_and_locf() {
    let docs = vec![
        doc! {"_id": 1, "score": 5, "v": 1},
        doc! {"_id": 2, "score": 7, "v": null},
        doc! {"_id": 3, "score": 7},
        doc! {"_id": 4, "score": 9, "v": 4},
    ];
    let out = run(
        doc! {"sortBy": {"score": 1}, "output": {
            "rank": {"$rank": {}}, "dense": {"$denseRank": {}}, "n": {"$documentNumber": {}},
            "prev": {"$shift": {"output": "$_id", "by": -1, "default": 0}},
            "filled": {"$locf": "$v"},
        }},
        docs,
    )
    .unwrap();
    assert_eq!(column(&out, "rank"), [1, 2, 2, 4].map(Bson::Int64));
    assert_eq!(column(&out, "dense"), [1, 2, 2, 3].map(Bson::Int64));
    assert_eq!(column(&out, "n"), [1, 2, 3, 4].map(Bson::Int64));
    assert_eq!(column(&out, "prev"), [0, 1, 2, 3].map(Bson::Int32));
    assert_eq!(column(&out, "filled"), [1, 1, 1, 4].map(Bson::Int32));
}

#[test]
fn linear_fill_interpolates_between_known_values() {
    let docs = vec![
        doc! {"t": 1, "v": 10},
        doc! {"t": 2, "v": null},
        doc! {"t": 4},
        doc! {"t": 5, "v": 40},
        doc! {"t": 6},
    ];
    let out = run(
        doc! {"sortBy": {"t": 1}, "output": {"v": {"$linearFill": "$v"}}},
        docs,
    )
    .unwrap();
    assert_eq!(
        column(&out, "v"),
        [
            Bson::Int32(10),
            Bson::Double(17.5),
            Bson::Double(32.5),
            Bson::Int32(40),
            Bson::Null
        ]
    );
}

#[test]
fn bad_specifications_name_the_problem() {
    for (spec, code) in [
        (doc! {"sortBy": {"a": 1}}, 40414),
        (doc! {"output": {"r": {"$rank": {}}}}, 5371602),
        (
            doc! {"sortBy": {"a": 1}, "output": {"r": {"$rank": {}, "window": {"documents": [0, 1]}}}},
            5371601,
        ),
        (
            doc! {"sortBy": {"a": 1}, "output": {"s": {"$sum": "$a", "window": {"documents": [1, 0]}}}},
            5339900,
        ),
        (
            doc! {"sortBy": {"a": 1, "b": 1}, "output": {"s": {"$sum": "$a", "window": {"range": [0, 1]}}}},
            5339902,
        ),
        (doc! {"output": {"s": {"$frob": "$a"}}}, 5371602),
        // $integral needs a sortBy to measure along.
        (doc! {"output": {"s": {"$integral": {"input": "$a"}}}}, 9),
    ] {
        assert_eq!(
            run(spec.clone(), vec![]).unwrap_err().code.code(),
            code,
            "{spec}"
        );
    }
    let err = run(
        doc! {"sortBy": {"a": 1}, "output": {"s": {"$sum": 1, "window": {"range": [0, 1]}}}},
        vec![doc! {"a": "x"}],
    )
    .unwrap_err();
    assert_eq!(err.code.code(), 5429413);
}
