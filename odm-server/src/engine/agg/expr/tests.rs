//! Parsing and evaluation through [`parse`] and [`Expression::evaluate`], as every stage
//! uses them, and the operator registry the families fill.

use super::*;
use bson::doc;

fn eval(expr: Bson, doc: &Document) -> CmdResult<Option<Bson>> {
    parse(&expr)?.evaluate(&mut Scope::new(doc))
}

#[test]
fn field_paths_look_through_arrays() {
    let d = doc! {"a": [{"b": 1}, {"c": 2}, {"b": 3}], "x": {"y": 5}};
    assert_eq!(
        eval(Bson::String("$a.b".into()), &d).unwrap(),
        Some(Bson::Array(vec![1.into(), 3.into()]))
    );
    assert_eq!(
        eval(Bson::String("$x.y".into()), &d).unwrap(),
        Some(Bson::Int32(5))
    );
    assert_eq!(eval(Bson::String("$nope".into()), &d).unwrap(), None);
}

#[test]
fn arithmetic_and_conditions() {
    let d = doc! {"p": 10, "q": 2.5, "n": null};
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$p", 1]}), &d).unwrap(),
        Some(Bson::Int32(11))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$multiply": ["$p", "$q"]}), &d).unwrap(),
        Some(Bson::Double(25.0))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$p", "$n"]}), &d).unwrap(),
        Some(Bson::Null)
    );
    assert_eq!(
        eval(
            Bson::Document(
                doc! {"$cond": {"if": {"$gt": ["$p", 5]}, "then": "big", "else": "small"}}
            ),
            &d
        )
        .unwrap(),
        Some(Bson::String("big".into()))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$ifNull": ["$n", "$missing", 7]}), &d).unwrap(),
        Some(Bson::Int32(7))
    );
    let err = eval(Bson::Document(doc! {"$divide": [1, 0]}), &d).unwrap_err();
    assert!(err.message.contains("divide by zero"));
    let err = eval(Bson::Document(doc! {"$add": ["x", 1]}), &d).unwrap_err();
    assert_eq!(err.code, ErrorCode::TypeMismatch);
}

#[test]
fn unknown_operator_is_code_168() {
    let err = parse(&Bson::Document(doc! {"$frobnicate": 1})).unwrap_err();
    assert_eq!(err.code.code(), 168);
}

#[test]
fn arity_errors_are_worded_per_kind() {
    let refused = |spec: Document| parse(&Bson::Document(spec)).unwrap_err();
    let err = refused(doc! {"$subtract": [1]});
    assert_eq!(err.code.code(), 16020);
    assert_eq!(
        err.message,
        "Expression $subtract takes exactly 2 arguments. 1 were passed in."
    );
    let err = refused(doc! {"$round": [1, 2, 3]});
    assert_eq!(err.code.code(), 28667);
    assert_eq!(
        err.message,
        "Expression $round takes at least 1 arguments, and at most 2, but 3 were passed in."
    );
    let err = refused(doc! {"$ifNull": [1]});
    assert_eq!(err.code.code(), 1257300);
    assert_eq!(err.message, "$ifNull needs at least two arguments, had: 1");
    // A single argument that is not an array counts as one.
    assert_eq!(refused(doc! {"$pow": 2}).code.code(), 16020);
    assert!(parse(&Bson::Document(doc! {"$add": []})).is_ok());
}

#[test]
fn every_operator_is_registered_once_and_found() {
    let mut seen = std::collections::HashSet::new();
    for op in FAMILIES.iter().flat_map(|family| family.iter()) {
        assert!(seen.insert(op.name), "{} is registered twice", op.name);
        assert_eq!(lookup(op.name).map(|found| found.name), Some(op.name));
    }
    // A special form is parsed before the registry is asked, so an entry of the same
    // name could never be reached.
    for special in [
        "$cond", "$switch", "$let", "$map", "$filter", "$reduce", "$literal",
    ] {
        assert!(lookup(special).is_none(), "{special} is a special form");
    }
}

#[test]
fn map_filter_reduce_let() {
    let d = doc! {"xs": [1, 2, 3, 4]};
    assert_eq!(
        eval(
            Bson::Document(
                doc! {"$map": {"input": "$xs", "as": "x", "in": {"$multiply": ["$$x", 10]}}}
            ),
            &d
        )
        .unwrap(),
        Some(Bson::Array(vec![
            10.into(),
            20.into(),
            30.into(),
            40.into()
        ]))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$filter": {"input": "$xs", "cond": {"$gte": ["$$this", 3]}}}),
            &d
        )
        .unwrap(),
        Some(Bson::Array(vec![3.into(), 4.into()]))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$reduce": {"input": "$xs", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}), &d).unwrap(),
        Some(Bson::Int32(10))
    );
    assert_eq!(
        eval(
            Bson::Document(
                doc! {"$let": {"vars": {"k": 2}, "in": {"$multiply": ["$$k", {"$size": "$xs"}]}}}
            ),
            &d
        )
        .unwrap(),
        Some(Bson::Int32(8))
    );
}

#[test]
fn field_paths_and_built_values_are_bounded() {
    // `$a...` is read as `CURRENT.a...`: 199 parts are the most.
    let field = |parts: usize| Bson::String(format!("${}", vec!["a"; parts].join(".")));
    assert!(parse(&field(199)).is_ok());
    assert_eq!(parse(&field(200)).unwrap_err().code, ErrorCode::Overflow);
    let var = |parts: usize| Bson::String(format!("$${}", vec!["a"; parts].join(".")));
    assert!(parse(&var(200)).is_ok());
    assert_eq!(parse(&var(201)).unwrap_err().code, ErrorCode::Overflow);
    // An object built deeper than a result may be is refused where it is built.
    let mut deep = doc! {"leaf": 1};
    for _ in 1..199 {
        deep = doc! {"x": deep};
    }
    let d = doc! {"deep": deep};
    let wrapped = eval(Bson::Document(doc! {"w": "$deep"}), &d).unwrap();
    assert_eq!(crate::depth::value_depth(&wrapped.unwrap()), 200);
    let err = eval(Bson::Document(doc! {"w": {"v": "$deep"}}), &d).unwrap_err();
    assert_eq!(err.code, ErrorCode::Overflow);
    let err = eval(Bson::Array(vec![Bson::Array(vec!["$deep".into()])]), &d).unwrap_err();
    assert_eq!(err.code, ErrorCode::Overflow);
}

#[test]
fn date_arithmetic_past_the_range_is_an_overflow_not_a_panic() {
    let d = doc! {"dt": bson::DateTime::from_millis(i64::MAX - 5), "early": bson::DateTime::from_millis(i64::MIN)};
    for e in [
        doc! {"$add": ["$dt", f64::INFINITY]},
        doc! {"$add": ["$dt", 10]},
        doc! {"$add": ["$dt", 1e300]},
        doc! {"$subtract": ["$early", 10]},
        doc! {"$subtract": ["$dt", "$early"]},
        doc! {"$subtract": ["$dt", f64::NAN]},
    ] {
        let parsed = parse(&Bson::Document(e.clone())).unwrap();
        let err = parsed.evaluate(&mut Scope::new(&d)).unwrap_err();
        assert_eq!(err.code.code(), 15, "{e}");
    }
}
