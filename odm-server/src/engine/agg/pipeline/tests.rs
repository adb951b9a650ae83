//! The pipeline's own tests: parsing, each stage's behaviour on plain documents.

use super::*;

fn run(stages: Vec<Document>, docs: Vec<Document>) -> CmdResult<Vec<Document>> {
    Pipeline::parse(&stages.into_iter().map(Bson::Document).collect::<Vec<_>>())?.run(docs)
}

fn sample() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "cat": "a", "n": 5, "tags": ["x", "y"]},
        doc! {"_id": 2, "cat": "b", "n": 1, "tags": []},
        doc! {"_id": 3, "cat": "a", "n": 2.5},
    ]
}

#[test]
fn count_documents_shape() {
    // What the drivers send for count_documents.
    let out = run(
        vec![
            doc! {"$match": {"cat": "a"}},
            doc! {"$skip": 0},
            doc! {"$group": {"_id": 1, "n": {"$sum": 1}}},
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"_id": 1, "n": 2}]);
    let out = run(
        vec![
            doc! {"$match": {"cat": "zzz"}},
            doc! {"$group": {"_id": 1, "n": {"$sum": 1}}},
        ],
        sample(),
    )
    .unwrap();
    assert!(out.is_empty());
}

#[test]
fn group_with_accumulators() {
    let out = run(
        vec![
            doc! {"$group": {"_id": "$cat", "total": {"$sum": "$n"}, "avg": {"$avg": "$n"}, "max": {"$max": "$n"}, "ids": {"$push": "$_id"}, "first": {"$first": "$_id"}, "last": {"$last": "$_id"}, "min": {"$min": "$n"}}},
            doc! {"$sort": {"_id": 1}},
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(
        out[0],
        doc! {"_id": "a", "total": 7.5, "avg": 3.75, "max": 5, "ids": [1, 3], "first": 1, "last": 3, "min": 2.5}
    );
    assert_eq!(out[1].get_i32("total").unwrap(), 1);
}

#[test]
fn unwind_project_count_limit() {
    let out = run(
        vec![
            doc! {"$unwind": "$tags"},
            doc! {"$project": {"tags": 1, "_id": 0}},
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"tags": "x"}, doc! {"tags": "y"}]);
    let out = run(vec![doc! {"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "i"}}], sample()).unwrap();
    assert_eq!(out.len(), 4);
    let out = run(
        vec![
            doc! {"$sort": {"n": -1}},
            doc! {"$limit": 2},
            doc! {"$count": "c"},
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"c": 2}]);
}

#[test]
fn add_fields_unset_replace_root() {
    let out = run(
        vec![
            doc! {"$addFields": {"double": {"$multiply": ["$n", 2]}, "meta.k": "v"}},
            doc! {"$unset": ["tags", "cat"]},
            doc! {"$limit": 1},
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "n": 5, "double": 10, "meta": {"k": "v"}}]
    );
    let out = run(
        vec![doc! {"$replaceWith": {"k": "$cat"}}, doc! {"$limit": 1}],
        sample(),
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"k": "a"}]);
}

#[test]
fn add_fields_paths_go_through_arrays_and_merge_objects() {
    let docs = vec![doc! {"_id": 1, "a": [{"x": 1}, 5, {"x": 2}], "s": {"k": 1}, "n": 3}];
    let out = run(
        vec![doc! {"$addFields": {"a.b": 0, "s": {"j": 2}, "n.m": 1}}],
        docs.clone(),
    )
    .unwrap();
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "a": [{"x": 1, "b": 0}, {"b": 0}, {"x": 2, "b": 0}], "s": {"k": 1, "j": 2}, "n": {"m": 1}}
        ]
    );
    let out = run(vec![doc! {"$unset": "a.x"}], docs).unwrap();
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "a": [{}, 5, {}], "s": {"k": 1}, "n": 3}]
    );
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(
        run(vec![doc! {"$frob": {}}], vec![])
            .unwrap_err()
            .code
            .code(),
        40324
    );
    assert_eq!(
        run(vec![doc! {"$limit": 0}], vec![])
            .unwrap_err()
            .code
            .code(),
        15958
    );
    assert_eq!(
        run(vec![doc! {"$group": {"n": {"$sum": 1}}}], vec![])
            .unwrap_err()
            .code
            .code(),
        15955
    );
    assert_eq!(
        run(vec![doc! {"$unwind": "tags"}], vec![])
            .unwrap_err()
            .code
            .code(),
        28818
    );
}
