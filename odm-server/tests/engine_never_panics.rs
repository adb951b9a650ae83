//! The query engine never panics: random documents against random filters, updates,
//! projections, sorts and aggregation stages. Each either works or returns an error (a
//! client's bad input must never take the server down); which one is not the question
//! here, the conformance corpus checks the answers.
//!
//! The generators are biased towards what breaks engines: every BSON type, NaN, -0.0,
//! integer extremes, decimals, arrays of arrays, numeric path components, empty and
//! dotted keys, and operator names in every position. Pipelines mix stages with random
//! arguments and stages built from valid parts (`$lookup`, `$graphLookup`, `$bucket`,
//! `$facet`, `$setWindowFields`, ...) that read the same documents as their other collection.

use std::sync::LazyLock;

use bson::{Bson, DateTime, Decimal128, Document, Regex, Timestamp, oid::ObjectId};
use odm_server::engine::agg::join::Collections;
use odm_server::engine::agg::pipeline::Pipeline;
use odm_server::engine::matcher::Filter;
use odm_server::engine::projection::Projection;
use odm_server::engine::sort::SortSpec;
use odm_server::engine::update::{ApplyContext, ArrayFilters, UPDATE_OPERATORS, Update};
use proptest::prelude::*;

fn decimal(s: &str) -> Bson {
    Bson::Decimal128(s.parse::<Decimal128>().expect("a valid decimal literal"))
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        prop_oneof![
            Just(0),
            Just(1),
            Just(-1),
            Just(i32::MAX),
            Just(i32::MIN),
            any::<i32>()
        ]
        .prop_map(Bson::Int32),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(1i64 << 53),
            any::<i64>()
        ]
        .prop_map(Bson::Int64),
        prop_oneof![
            Just(f64::NAN),
            Just(-0.0),
            Just(0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(1.5),
            Just(-2.5),
            Just(9007199254740993.0),
            any::<f64>(),
        ]
        .prop_map(Bson::Double),
        prop_oneof![
            Just("1.5"),
            Just("-0"),
            Just("NaN"),
            Just("Infinity"),
            Just("1E+6144"),
            Just("1E-6176"),
            Just("9999999999999999999999999999999999"),
            Just("-0.001"),
            Just("3")
        ]
        .prop_map(decimal),
        // Any 128 bits: non-canonical encodings and extreme exponents included.
        any::<[u8; 16]>().prop_map(|b| Bson::Decimal128(Decimal128::from_bytes(b))),
        prop_oneof![
            Just(String::new()),
            Just("a".to_string()),
            Just("B".to_string()),
            Just("$a".to_string()),
            Just("a.b".to_string()),
            Just("é".to_string()),
            "[a-c$.0-9]{0,4}",
        ]
        .prop_map(Bson::String),
        any::<i64>().prop_map(|m| Bson::DateTime(DateTime::from_millis(m))),
        Just(Bson::ObjectId(ObjectId::from_bytes([7; 12]))),
        Just(Bson::RegularExpression(Regex {
            pattern: "^a".to_string().try_into().unwrap(),
            options: "i".to_string().try_into().unwrap(),
        })),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
        Just(Bson::Undefined),
        any::<u32>().prop_map(|t| Bson::Timestamp(Timestamp {
            time: t,
            increment: 1
        })),
    ]
}

/// Keys for stored documents: plain, numeric, dotted, `$`-prefixed and empty.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop_oneof![Just("a"), Just("b"), Just("c"), Just("_id")].prop_map(str::to_string),
        2 => prop_oneof![Just("0"), Just("1"), Just("10")].prop_map(str::to_string),
        1 => prop_oneof![Just("a.b"), Just("$x"), Just("")].prop_map(str::to_string),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            proptest::collection::vec((key(), inner), 0..4)
                .prop_map(|fields| { Bson::Document(fields.into_iter().collect()) }),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    proptest::collection::vec((key(), value()), 0..5).prop_map(|f| f.into_iter().collect())
}

/// Paths as queries, updates and projections spell them.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("a.b"),
        Just("a.0"),
        Just("a.0.b"),
        Just("a.b.c"),
        Just("a.$"),
        Just("a.$[]"),
        Just("a.$[x]"),
        Just("a.$[].b"),
        Just("_id"),
        Just("0"),
        Just(""),
        Just("a..b"),
        Just("$a"),
    ]
    .prop_map(str::to_string)
}

const QUERY_OPERATORS: [&str; 29] = [
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$type",
    "$mod",
    "$regex",
    "$options",
    "$size",
    "$all",
    "$elemMatch",
    "$not",
    "$and",
    "$or",
    "$nor",
    "$expr",
    "$jsonSchema",
    "$comment",
    "$where",
    "$bitsAllSet",
    "$bitsAllClear",
    "$bitsAnySet",
    "$bitsAnyClear",
    "$sampleRate",
];

/// Every expression operator the server declares (its registry), and names it does not.
static EXPRESSION_OPERATORS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut names = odm_server::engine::agg::expr::operator_names();
    names.extend(["$nope", "$accumulator", "$meta"]);
    names
});

/// The date operators that take an object of named arguments, which a random operand
/// almost never spells: [`date_expression`] builds them from their argument names.
const DATE_OPERATORS: [&str; 11] = [
    "$year",
    "$isoWeekYear",
    "$dateToParts",
    "$dateFromParts",
    "$dateToString",
    "$dateFromString",
    "$dateAdd",
    "$dateSubtract",
    "$dateDiff",
    "$dateTrunc",
    "$toDate",
];

const DATE_ARGUMENTS: [&str; 23] = [
    "date",
    "timezone",
    "format",
    "onNull",
    "onError",
    "dateString",
    "unit",
    "amount",
    "startDate",
    "endDate",
    "binSize",
    "startOfWeek",
    "iso8601",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "isoWeekYear",
    "isoWeek",
    "isoDayOfWeek",
];

/// Values at the edges of what the date operators read: dates at the ends of the BSON
/// range, units, zones (with skipped and repeated hours), formats, date strings and
/// amounts that overflow.
fn date_argument() -> impl Strategy<Value = Bson> {
    let text = |items: &'static [&'static str]| {
        proptest::sample::select(items).prop_map(|s| Bson::String(s.to_string()))
    };
    prop_oneof![
        3 => value(),
        3 => prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(-1),
            Just(253_402_300_800_000),
            Just(-62_198_755_200_000),
            Just(1_604_210_400_000),
            any::<i64>(),
        ]
        .prop_map(|m| Bson::DateTime(DateTime::from_millis(m))),
        2 => text(&["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond", "decade"]),
        2 => text(&["UTC", "GMT", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kathmandu", "+04:45", "-0530", "+99", "Mars/Olympus"]),
        1 => text(&["%Y-%m-%dT%H:%M:%S.%L", "%G-W%V-%u", "%z %Z", "%j %U %w", "%b %B", "%", "%n", "%Y-%j", "%m/%d/%G"]),
        1 => text(&["2017-07-04T11:56:02Z", "July 4th, 2017 11am", "@-99999999999999", "2017-W53-7", "04-07-2017", "9999-12-31T23:59:59 GMT+24:00", "1-1-1", "noon", "\0", "Tue, 04 Jul 2017 11:56:02 +0000", "2017-02-29"]),
        1 => text(&["mon", "SUNDAY", "fri", "Saturday", "x"]),
        1 => prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(32_768), Just(-32_769), Just(100_000_000_001), any::<i64>()]
            .prop_map(Bson::Int64),
    ]
}

/// A date operator with named arguments drawn from every operator's names.
fn date_expression() -> impl Strategy<Value = Bson> {
    (
        proptest::sample::select(&DATE_OPERATORS[..]),
        proptest::collection::vec(
            (
                proptest::sample::select(&DATE_ARGUMENTS[..]),
                date_argument(),
            ),
            0..6,
        ),
        date_argument(),
    )
        .prop_map(|(op, args, direct)| {
            let mut d = Document::new();
            if args.is_empty() {
                d.insert(op, direct);
            } else {
                let args: Document = args.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                d.insert(op, args);
            }
            Bson::Document(d)
        })
}

/// Every update operator, and modifiers out of place.
static UPDATE_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut names = UPDATE_OPERATORS.to_vec();
    names.extend(["$each", "$slice", "$bit"]);
    names
});

/// A value or an operator document built from `operators`, nested a few levels.
fn operand(operators: &'static [&'static str]) -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        3 => value(),
        1 => prop_oneof![Just("$a"), Just("$a.b"), Just("$$ROOT"), Just("$$CURRENT")]
            .prop_map(|s| Bson::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 3, move |inner| {
        prop_oneof![
            proptest::collection::vec(
                (
                    proptest::sample::select(operators).prop_map(str::to_string),
                    inner.clone()
                ),
                1..3
            )
            .prop_map(|f| Bson::Document(f.into_iter().collect())),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            proptest::collection::vec((path(), inner), 1..3)
                .prop_map(|f| Bson::Document(f.into_iter().collect())),
        ]
    })
}

/// Filters that parse: paths with values or comparisons, so that matching, not only
/// parsing, is exercised.
fn well_formed_filter() -> impl Strategy<Value = Document> {
    let condition = prop_oneof![
        2 => value(),
        2 => (
            proptest::sample::select(&["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"][..]),
            value()
        )
            .prop_map(|(op, v)| Bson::Document(bson::doc! {op: v})),
        1 => proptest::collection::vec(value(), 0..3).prop_map(|vs| Bson::Document(bson::doc! {"$in": vs})),
        1 => any::<bool>().prop_map(|b| Bson::Document(bson::doc! {"$exists": b})),
        1 => (0i32..3).prop_map(|n| Bson::Document(bson::doc! {"$size": n})),
        1 => Just(Bson::Document(bson::doc! {"$regex": "^a", "$options": "i"})),
    ];
    proptest::collection::vec((path(), condition), 1..3).prop_map(|f| f.into_iter().collect())
}

fn filter() -> impl Strategy<Value = Document> {
    prop_oneof![2 => well_formed_filter(), 1 => any_filter()]
}

fn any_filter() -> impl Strategy<Value = Document> {
    proptest::collection::vec(
        (
            prop_oneof![
                path(),
                proptest::sample::select(&QUERY_OPERATORS[..]).prop_map(str::to_string)
            ],
            prop_oneof![
                operand(&QUERY_OPERATORS),
                operand(&EXPRESSION_OPERATORS[..])
            ],
        ),
        0..4,
    )
    .prop_map(|f| f.into_iter().collect())
}

fn update() -> impl Strategy<Value = Document> {
    proptest::collection::vec(
        (
            proptest::sample::select(&UPDATE_NAMES[..]).prop_map(str::to_string),
            proptest::collection::vec((path(), operand(&UPDATE_NAMES)), 0..3)
                .prop_map(|f| Bson::Document(f.into_iter().collect())),
        ),
        0..3,
    )
    .prop_map(|f| f.into_iter().collect())
}

fn projection() -> impl Strategy<Value = Document> {
    let item = prop_oneof![
        Just(Bson::Int32(1)),
        Just(Bson::Int32(0)),
        Just(Bson::Boolean(true)),
        operand(&["$slice", "$elemMatch", "$literal", "$add", "$size"]),
    ];
    proptest::collection::vec((path(), item), 0..4).prop_map(|f| f.into_iter().collect())
}

const STAGES: [&str; 32] = [
    "$match",
    "$project",
    "$set",
    "$unset",
    "$group",
    "$sort",
    "$unwind",
    "$replaceWith",
    "$count",
    "$limit",
    "$lookup",
    "$graphLookup",
    "$unionWith",
    "$facet",
    "$bucket",
    "$bucketAuto",
    "$sample",
    "$documents",
    "$redact",
    "$sortByCount",
    "$skip",
    "$addFields",
    "$replaceRoot",
    "$out",
    "$merge",
    "$setWindowFields",
    "$densify",
    "$fill",
    "$collStats",
    "$indexStats",
    "$currentOp",
    "$listLocalSessions",
];

/// A stage with a generic argument: an expression-like operand or a filter.
fn generic_stage() -> impl Strategy<Value = Bson> {
    (
        proptest::sample::select(&STAGES[..]),
        prop_oneof![
            operand(&EXPRESSION_OPERATORS[..]),
            filter().prop_map(Bson::Document)
        ],
    )
        .prop_map(|(stage, arg)| {
            let mut d = Document::new();
            d.insert(stage, arg);
            Bson::Document(d)
        })
}

fn stage(name: &str, spec: Document) -> Bson {
    let mut d = Document::new();
    d.insert(name, spec);
    Bson::Document(d)
}

/// A field path or an expression, as `startWith` and `groupBy` take.
fn path_or_expression() -> impl Strategy<Value = Bson> {
    prop_oneof![
        3 => path().prop_map(|p| Bson::String(format!("${p}"))),
        1 => operand(&EXPRESSION_OPERATORS[..]),
    ]
}

/// The stages whose specifications a random operand almost never gets right, built
/// from their parts so that their execution is exercised, not only their refusals.
fn structured_stage() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (path(), path(), path(), proptest::option::of(filter())).prop_map(|(l, f, a, m)| {
            let mut spec = bson::doc! {"from": "c", "localField": l, "foreignField": f, "as": a};
            if let Some(m) = m {
                spec.insert("let", bson::doc! {"v": "$a"});
                spec.insert("pipeline", vec![Bson::Document(bson::doc! {"$match": m})]);
            }
            stage("$lookup", spec)
        }),
        (path_or_expression(), path(), path(), proptest::option::of(0i32..3)).prop_map(
            |(start, from, to, depth)| {
                let mut spec = bson::doc! {"from": "c", "startWith": start, "connectFromField": from,
                    "connectToField": to, "as": "g", "depthField": "d"};
                if let Some(d) = depth {
                    spec.insert("maxDepth", d);
                }
                stage("$graphLookup", spec)
            }
        ),
        (
            path_or_expression(),
            proptest::collection::vec(value(), 0..4),
            proptest::option::of(value())
        )
            .prop_map(|(g, b, default)| {
                let mut spec = bson::doc! {"groupBy": g, "boundaries": b};
                if let Some(d) = default {
                    spec.insert("default", d);
                }
                stage("$bucket", spec)
            }),
        (path_or_expression(), value())
            .prop_map(|(g, n)| stage("$bucketAuto", bson::doc! {"groupBy": g, "buckets": n})),
        (filter(), filter()).prop_map(|(a, b)| stage(
            "$facet",
            bson::doc! {"x": [{"$match": a}], "y": [{"$match": b}, {"$count": "n"}]}
        )),
        value().prop_map(|n| stage("$sample", bson::doc! {"size": n})),
        operand(&EXPRESSION_OPERATORS[..])
            .prop_map(|e| stage("$redact", bson::doc! {"$cond": [e, "$$DESCEND", "$$PRUNE"]})),
        (path_or_expression(), path(), path_or_expression(), -2i32..2, 0i32..3).prop_map(
            |(partition, sort, arg, lower, width)| stage(
                "$setWindowFields",
                bson::doc! {"partitionBy": partition, "sortBy": {sort: 1}, "output": {
                    "moving": {"$avg": arg.clone(), "window": {"documents": [lower, lower + width]}},
                    "near": {"$sum": arg.clone(), "window": {"range": [lower, lower + width]}},
                    "rank": {"$rank": {}},
                    "prev": {"$shift": {"output": arg, "by": -1}},
                }}
            )
        ),
        (path_or_expression(), path(), path_or_expression(), value(), value()).prop_map(
            |(key, sort, arg, n, p)| stage(
                "$group",
                bson::doc! {"_id": key, "top": {"$topN": {"output": arg.clone(), "sortBy": {sort.clone(): -1}, "n": n.clone()}},
                    "bottom": {"$bottom": {"output": arg.clone(), "sortBy": {sort: 1}}},
                    "first": {"$firstN": {"input": arg.clone(), "n": n.clone()}},
                    "max": {"$maxN": {"input": arg.clone(), "n": n}},
                    "median": {"$median": {"input": arg.clone(), "method": "approximate"}},
                    "pct": {"$percentile": {"input": arg.clone(), "p": [p], "method": "continuous"}},
                    "dev": {"$stdDevSamp": arg.clone()},
                    "merged": {"$mergeObjects": arg}}
            )
        ),
        (path(), path_or_expression(), path_or_expression(), -2i32..2, 0i32..3, value()).prop_map(
            |(sort, x, y, lower, width, unit)| stage(
                "$setWindowFields",
                bson::doc! {"sortBy": {sort: 1}, "output": {
                    "slope": {"$derivative": {"input": x.clone()}, "window": {"documents": [lower, lower + width]}},
                    "area": {"$integral": {"input": x.clone(), "unit": unit.clone()}, "window": {"range": [lower, lower + width], "unit": unit}},
                    "ema": {"$expMovingAvg": {"input": x.clone(), "alpha": 0.5}},
                    "cov": {"$covarianceSamp": [x.clone(), y], "window": {"documents": [lower, lower + width]}},
                    "low": {"$minN": {"input": x, "n": 2}, "window": {"documents": ["unbounded", "current"]}},
                }}
            )
        ),
        (path(), path(), value(), prop_oneof![Just(Bson::String("full".into())), Just(Bson::String("partition".into())), (value(), value()).prop_map(|(a, b)| Bson::Array(vec![a, b]))], proptest::option::of(Just("hour"))).prop_map(
            |(field, partition, step, bounds, unit)| {
                let mut range = bson::doc! {"step": step, "bounds": bounds};
                if let Some(u) = unit {
                    range.insert("unit", u);
                }
                stage("$densify", bson::doc! {"field": field, "partitionByFields": [partition], "range": range})
            }
        ),
        Just(stage(
            "$unionWith",
            bson::doc! {"coll": "c", "pipeline": [{"$limit": 2}]}
        )),
    ]
}

fn pipeline() -> impl Strategy<Value = Vec<Bson>> {
    proptest::collection::vec(
        prop_oneof![2 => generic_stage(), 1 => structured_stage()],
        0..4,
    )
}

/// Every other collection holds the pipeline's own input: what `$lookup`,
/// `$graphLookup` and `$unionWith` read.
struct Same(Vec<Document>);

impl Collections for Same {
    fn find(&self, _: &str, filter: &Filter) -> odm_server::error::CmdResult<Vec<Document>> {
        Ok(self
            .0
            .iter()
            .filter(|d| filter.matches(d))
            .cloned()
            .collect())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn filters_match_or_refuse(f in filter(), docs in proptest::collection::vec(document(), 1..4)) {
        if let Ok(filter) = Filter::parse(&f) {
            for d in &docs {
                let _ = filter.matches_checked(d);
                let _ = filter.matches(d);
                let _ = filter.array_position(d);
            }
        }
    }

    #[test]
    fn updates_apply_or_refuse(u in update(), filters in proptest::collection::vec(filter(), 0..2), q in filter(), d in document()) {
        let array_filters: Vec<Bson> = filters.into_iter().map(Bson::Document).collect();
        if let (Ok(update), Ok(af), Ok(query)) = (Update::parse(&u), ArrayFilters::parse(&array_filters), Filter::parse(&q)) {
            let _ = af.check_against(&update, &Bson::Document(u.clone()));
            for inserting in [false, true] {
                let cx = ApplyContext { position: query.array_position(&d), array_filters: Some(&af) };
                let _ = update.apply_in(&d, inserting, cx);
                let _ = update.apply_in(&d, inserting, ApplyContext { position: Some(1), array_filters: None });
            }
        }
    }

    #[test]
    fn pipeline_updates_and_aggregations_run_or_refuse(stages in pipeline(), docs in proptest::collection::vec(document(), 0..4)) {
        if let Ok(update) = Update::parse_pipeline(&stages) {
            for d in &docs {
                let _ = update.apply(d, false);
            }
        }
        if let Ok(p) = Pipeline::parse(&stages) {
            let _ = p.run_with(docs.clone(), &Same(docs));
        }
    }

    #[test]
    fn date_operators_answer_or_refuse(exprs in proptest::collection::vec(date_expression(), 1..4), docs in proptest::collection::vec(document(), 1..3)) {
        let fields: Document = exprs.into_iter().enumerate().map(|(i, e)| (format!("r{i}"), e)).collect();
        let stages = vec![stage("$project", fields)];
        if let Ok(p) = Pipeline::parse(&stages) {
            let _ = p.run_with(docs.clone(), &Same(docs));
        }
    }

    #[test]
    fn projections_and_sorts_apply_or_refuse(p in projection(), s in proptest::collection::vec((path(), prop_oneof![4 => Just(Bson::Int32(1)), 4 => Just(Bson::Int32(-1)), 1 => value()]), 0..3), q in filter(), mut docs in proptest::collection::vec(document(), 0..5)) {
        let query = Filter::parse(&q).unwrap_or(Filter::Const(true));
        if let Ok(Some(projection)) = Projection::parse(&p) {
            for d in &docs {
                let _ = projection.apply_matched(d, &query);
            }
        }
        let spec: Document = s.into_iter().collect();
        if let Ok(sort) = SortSpec::parse(&spec) {
            sort.sort(&mut docs);
        }
    }
}
