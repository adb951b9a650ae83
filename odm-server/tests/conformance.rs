//! The conformance corpus: MongoDB's documented query, update, projection, sort and
//! findAndModify semantics written down as data (`tests/conformance/*.json`, the format is
//! in that folder's README), each case citing the manual page its expectation comes from.
//!
//! One runner sends every case through the official driver as a raw command (so nothing
//! between the case and the server reinterprets it) to the embedded server, always, and to
//! `ODM_TEST_MONGODB_URI` when that is set: anyone with Docker can check every expectation
//! against a real MongoDB (`docker compose up -d`). It prints `N passed, N failed` per
//! target and lists the failures by file and case name.
//!
//! `CONFORMANCE_FILTER=update_positional` runs only the cases whose `file/name` contains
//! that text; `CONFORMANCE_DIR` reads the corpus from another folder.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bson::{Bson, Document, doc};
use common::TestServer;
use mongodb::{Client, Database};

/// The corpus must not shrink below what the issue asked for.
const MINIMUM_CASES: usize = 500;

/// The operations a case can run; each is sent as the command of the same name.
const OPERATIONS: [&str; 9] = [
    "find",
    "aggregate",
    "update",
    "findAndModify",
    "delete",
    "distinct",
    "count",
    "insert",
    "createIndexes",
];

/// Keys a case may have besides its operation.
const CASE_KEYS: [&str; 13] = [
    "name",
    "manual",
    "source",
    "docs",
    "create",
    "indexes",
    "collections",
    "options",
    "expect",
    "result",
    "value",
    "error",
    "ordered",
];

struct Case {
    /// `file.json/name`, how failures are listed.
    id: String,
    docs: Vec<Document>,
    /// Options of an explicit `create` (a default collation, ...), before the indexes.
    create: Option<Document>,
    indexes: Vec<Document>,
    /// Other collections of the database and their documents (what `$lookup` and
    /// `$unionWith` read), created beside the case's own.
    collections: Vec<(String, Vec<Document>)>,
    /// Fields added to the command (`let`, or `aggregate: 1` for a database-level one).
    options: Document,
    operation: &'static str,
    argument: Bson,
    /// Query results (`find`, `aggregate`, `distinct`), or the collection after a write.
    expect: Option<Vec<Bson>>,
    /// Fields the command's reply must have (`n`, `nModified`, `upserted`, ...).
    result: Option<Document>,
    /// findAndModify's `value`.
    value: Option<Bson>,
    /// The codes the case may fail with (one, or several where MongoDB versions differ).
    error: Option<Vec<i32>>,
    /// Whether result order is part of the expectation: by default a find with `sort` and a
    /// pipeline with a `$sort` stage are ordered, everything else is compared as a multiset.
    ordered: bool,
}

fn corpus_dir() -> PathBuf {
    match std::env::var("CONFORMANCE_DIR") {
        Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance"),
    }
}

fn load_corpus(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
        let Bson::Document(top) =
            Bson::try_from(json).map_err(|e| format!("{file}: not extended JSON: {e}"))?
        else {
            return Err(format!("{file}: the top level must be an object"));
        };
        load_file(&file, &top, &mut cases).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(cases)
}

fn documents(value: &Bson, what: &str) -> Result<Vec<Document>, String> {
    let Bson::Array(items) = value else {
        return Err(format!("`{what}` must be an array of documents"));
    };
    items
        .iter()
        .map(|d| match d {
            Bson::Document(d) => Ok(d.clone()),
            other => Err(format!("`{what}` holds a non-document: {other}")),
        })
        .collect()
}

fn load_file(file: &str, top: &Document, cases: &mut Vec<Case>) -> Result<(), String> {
    let file_manual = top.get("manual").is_some();
    let file_docs = match top.get("docs") {
        Some(d) => documents(d, "docs")?,
        None => Vec::new(),
    };
    let file_collections = match top.get("collections") {
        Some(c) => collections(c)?,
        None => Vec::new(),
    };
    let Ok(list) = top.get_array("cases") else {
        return Err("no `cases` array".into());
    };
    let mut names = std::collections::HashSet::new();
    for case in list {
        let Bson::Document(case) = case else {
            return Err("a case is not an object".into());
        };
        let name = case
            .get_str("name")
            .map_err(|_| "a case has no `name`".to_string())?;
        let id = format!("{file}/{name}");
        if !names.insert(name.to_string()) {
            return Err(format!("two cases are named `{name}`"));
        }
        cases.push(load_case(
            id,
            case,
            file_manual,
            &file_docs,
            &file_collections,
        )?);
    }
    Ok(())
}

/// `{"customers": [docs], ...}`: collections by name with their documents.
fn collections(value: &Bson) -> Result<Vec<(String, Vec<Document>)>, String> {
    let Bson::Document(spec) = value else {
        return Err("`collections` must be an object of arrays of documents".into());
    };
    spec.iter()
        .map(|(name, docs)| Ok((name.clone(), documents(docs, name)?)))
        .collect()
}

fn load_case(
    id: String,
    case: &Document,
    file_manual: bool,
    file_docs: &[Document],
    file_collections: &[(String, Vec<Document>)],
) -> Result<Case, String> {
    let fail = |message: &str| Err(format!("{id}: {message}"));
    if let Some(key) = case
        .keys()
        .find(|k| !CASE_KEYS.contains(&k.as_str()) && !OPERATIONS.contains(&k.as_str()))
    {
        return fail(&format!("unknown key `{key}`"));
    }
    if !file_manual && case.get_str("manual").is_err() {
        return fail("no `manual` page cited (in the case or for its file)");
    }
    let ops: Vec<&'static str> = OPERATIONS
        .iter()
        .copied()
        .filter(|op| case.contains_key(*op))
        .collect();
    let [operation] = ops[..] else {
        return fail("needs exactly one operation");
    };
    let argument = case.get(operation).unwrap().clone();
    let expect = match case.get("expect") {
        Some(Bson::Array(a)) => Some(a.clone()),
        Some(_) => return fail("`expect` must be an array"),
        None => None,
    };
    let error = match case.get("error") {
        None => None,
        Some(Bson::Int32(c)) => Some(vec![*c]),
        Some(Bson::Array(codes)) => Some(
            codes
                .iter()
                .map(|c| {
                    c.as_i32()
                        .ok_or_else(|| format!("{id}: bad error code {c}"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(other) => return fail(&format!("bad `error`: {other}")),
    };
    let result = case.get_document("result").ok().cloned();
    let value = case.get("value").cloned();
    if expect.is_none() && result.is_none() && value.is_none() && error.is_none() {
        return fail("expects nothing: give `expect`, `result`, `value` or `error`");
    }
    let sorted = match operation {
        "find" => argument
            .as_document()
            .is_some_and(|f| f.contains_key("sort")),
        "aggregate" => argument.as_array().is_some_and(|stages| {
            stages
                .iter()
                .any(|s| s.as_document().is_some_and(|s| s.contains_key("$sort")))
        }),
        _ => false,
    };
    let ordered = case.get_bool("ordered").unwrap_or(sorted);
    Ok(Case {
        docs: match case.get("docs") {
            Some(d) => documents(d, "docs").map_err(|e| format!("{id}: {e}"))?,
            None => file_docs.to_vec(),
        },
        create: match case.get("create") {
            None => None,
            Some(Bson::Document(o)) => Some(o.clone()),
            Some(_) => return fail("`create` must be an object"),
        },
        indexes: match case.get("indexes") {
            Some(d) => documents(d, "indexes").map_err(|e| format!("{id}: {e}"))?,
            None => Vec::new(),
        },
        collections: match case.get("collections") {
            Some(c) => collections(c).map_err(|e| format!("{id}: {e}"))?,
            None => file_collections.to_vec(),
        },
        options: match case.get("options") {
            None => Document::new(),
            Some(Bson::Document(o)) => o.clone(),
            Some(_) => return fail("`options` must be an object"),
        },
        id,
        operation,
        argument,
        expect,
        result,
        value,
        error,
        ordered,
    })
}

/// What running a case produced.
enum Outcome {
    /// The command failed with this code (a command error or the first write error).
    Failed(i32, String),
    Succeeded {
        reply: Document,
        /// The documents of a query's cursor, or `distinct`'s values.
        rows: Option<Vec<Bson>>,
    },
}

async fn run_case(db: &Database, coll: &str, case: &Case) -> Result<(), String> {
    db.collection::<Document>(coll)
        .drop()
        .await
        .map_err(|e| format!("setup: drop: {e}"))?;
    for (name, docs) in &case.collections {
        let other = db.collection::<Document>(name);
        other
            .drop()
            .await
            .map_err(|e| format!("setup: drop {name}: {e}"))?;
        if !docs.is_empty() {
            other
                .insert_many(docs.clone())
                .await
                .map_err(|e| format!("setup: insert into {name}: {e}"))?;
        }
    }
    if let Some(options) = &case.create {
        let mut create = doc! {"create": coll};
        create.extend(options.clone());
        db.run_command(create)
            .await
            .map_err(|e| format!("setup: create: {e}"))?;
    }
    if !case.indexes.is_empty() {
        db.run_command(doc! {"createIndexes": coll, "indexes": case.indexes.clone()})
            .await
            .map_err(|e| format!("setup: createIndexes: {e}"))?;
    }
    if !case.docs.is_empty() {
        let reply = db
            .run_command(doc! {"insert": coll, "documents": case.docs.clone()})
            .await
            .map_err(|e| format!("setup: insert: {e}"))?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            return Err(format!("setup: insert: {errors:?}"));
        }
    }
    let outcome = execute(db, coll, case).await?;
    let mut problems = String::new();
    match (&outcome, &case.error) {
        (Outcome::Failed(code, message), Some(codes)) if !codes.contains(code) => {
            let _ = write!(
                problems,
                "expected error {codes:?}, got {code}: {message}; "
            );
        }
        (Outcome::Failed(code, message), None) => {
            let _ = write!(problems, "unexpected error {code}: {message}; ");
        }
        (Outcome::Succeeded { reply, .. }, Some(codes)) => {
            let _ = write!(problems, "expected error {codes:?}, got success: {reply}; ");
        }
        _ => {}
    }
    if let Outcome::Succeeded { reply, rows } = &outcome {
        if let Some(expected) = &case.result {
            for (key, want) in expected {
                match reply.get(key) {
                    Some(got) if same_loosely(want, got) => {}
                    got => {
                        let _ = write!(problems, "reply.{key}: expected {want}, got {got:?}; ");
                    }
                }
            }
        }
        if let Some(want) = &case.value {
            let got = reply.get("value").cloned().unwrap_or(Bson::Null);
            if !same(want, &got) {
                let _ = write!(problems, "value: expected {want}, got {got}; ");
            }
        }
        if let (Some(want), Some(rows)) = (&case.expect, rows)
            && !same_rows(want, rows, case.ordered)
        {
            let _ = write!(
                problems,
                "expected {}, got {}; ",
                Bson::Array(want.clone()),
                Bson::Array(rows.clone())
            );
        }
    }
    // After a write (or a failed one), `expect` is what the collection holds.
    let is_query = matches!(case.operation, "find" | "aggregate" | "distinct");
    if let (Some(want), false) = (&case.expect, is_query) {
        let stored = read_cursor(db, coll, doc! {"find": coll, "sort": {"_id": 1}})
            .await
            .map_err(|(code, e)| format!("reading back: {code} {e}"))?;
        if !same_rows(want, &stored, false) {
            let _ = write!(
                problems,
                "collection: expected {}, holds {}; ",
                Bson::Array(want.clone()),
                Bson::Array(stored)
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

async fn execute(db: &Database, coll: &str, case: &Case) -> Result<Outcome, String> {
    let spec = || {
        case.argument
            .as_document()
            .cloned()
            .ok_or_else(|| format!("`{}` takes a document", case.operation))
    };
    let mut command = doc! {};
    match case.operation {
        "aggregate" => {
            let Bson::Array(pipeline) = &case.argument else {
                return Err("`aggregate` takes a pipeline (an array)".into());
            };
            command.insert("aggregate", coll);
            command.insert("pipeline", pipeline.clone());
            command.insert("cursor", doc! {});
        }
        "update" => {
            command.insert("update", coll);
            command.insert("updates", vec![Bson::Document(spec()?)]);
        }
        "delete" => {
            command.insert("delete", coll);
            command.insert("deletes", vec![Bson::Document(spec()?)]);
        }
        "insert" | "createIndexes" => {
            let Bson::Array(items) = &case.argument else {
                return Err(format!("`{}` takes an array", case.operation));
            };
            let field = if case.operation == "insert" {
                "documents"
            } else {
                "indexes"
            };
            command.insert(case.operation, coll);
            command.insert(field, items.clone());
        }
        op => {
            command.insert(op, coll);
            command.extend(spec()?);
        }
    }
    command.extend(case.options.clone());
    if matches!(case.operation, "find" | "aggregate") {
        return Ok(match read_cursor(db, coll, command).await {
            Ok(rows) => Outcome::Succeeded {
                reply: doc! {},
                rows: Some(rows),
            },
            Err((code, message)) => Outcome::Failed(code, message),
        });
    }
    let reply = match db.run_command(command).await {
        Ok(reply) => reply,
        Err(e) => return Ok(failed(&e)),
    };
    if let Some(Bson::Document(first)) = reply
        .get_array("writeErrors")
        .ok()
        .and_then(|errors| errors.first())
    {
        let code = first.get_i32("code").unwrap_or(-1);
        let message = first.get_str("errmsg").unwrap_or_default().to_string();
        return Ok(Outcome::Failed(code, message));
    }
    let rows = match case.operation {
        "distinct" => Some(reply.get_array("values").cloned().unwrap_or_default()),
        _ => None,
    };
    Ok(Outcome::Succeeded { reply, rows })
}

fn failed(e: &mongodb::error::Error) -> Outcome {
    Outcome::Failed(common::code(e).unwrap_or(-1), e.to_string())
}

/// Runs a cursor command and drains the cursor with `getMore`.
async fn read_cursor(
    db: &Database,
    coll: &str,
    command: Document,
) -> Result<Vec<Bson>, (i32, String)> {
    let error = |e: mongodb::error::Error| (common::code(&e).unwrap_or(-1), e.to_string());
    let mut reply = db.run_command(command).await.map_err(error)?;
    let mut rows = Vec::new();
    let mut batch_key = "firstBatch";
    loop {
        let cursor = reply
            .get_document("cursor")
            .map_err(|_| (-1, format!("no cursor in {reply}")))?;
        rows.extend(cursor.get_array(batch_key).cloned().unwrap_or_default());
        let id = cursor.get_i64("id").unwrap_or(0);
        if id == 0 {
            return Ok(rows);
        }
        reply = db
            .run_command(doc! {"getMore": id, "collection": coll})
            .await
            .map_err(error)?;
        batch_key = "nextBatch";
    }
}

/// Exact equality, field order and numeric types included; `NaN` equals `NaN` and `-0.0`
/// differs from `0.0` (MongoDB returns what it stores). In the expectation,
/// `{"$$type": "<alias>"}` stands for any value of that type (a generated `_id`).
fn same(want: &Bson, got: &Bson) -> bool {
    match (want, got) {
        (Bson::Document(w), _) if w.len() == 1 && w.contains_key("$$type") => w
            .get_str("$$type")
            .is_ok_and(|alias| type_alias(got) == alias),
        (Bson::Double(a), Bson::Double(b)) => {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        }
        (Bson::Document(w), Bson::Document(g)) => {
            w.len() == g.len()
                && w.iter()
                    .zip(g.iter())
                    .all(|((wk, wv), (gk, gv))| wk == gk && same(wv, gv))
        }
        (Bson::Array(w), Bson::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| same(a, b))
        }
        _ => want == got,
    }
}

/// For reply counters: `n: 1` matches an int32 or an int64 1.
fn same_loosely(want: &Bson, got: &Bson) -> bool {
    match (
        want.as_i64().or(want.as_i32().map(i64::from)),
        got.as_i64().or(got.as_i32().map(i64::from)),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => same(want, got),
    }
}

fn same_rows(want: &[Bson], got: &[Bson], ordered: bool) -> bool {
    if want.len() != got.len() {
        return false;
    }
    if ordered {
        return want.iter().zip(got).all(|(a, b)| same(a, b));
    }
    let mut unmatched: Vec<&Bson> = got.iter().collect();
    want.iter()
        .all(|w| match unmatched.iter().position(|g| same(w, g)) {
            Some(i) => {
                unmatched.swap_remove(i);
                true
            }
            None => false,
        })
}

fn type_alias(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        _ => "other",
    }
}

/// Runs every selected case against one target; returns (passed, failures).
async fn run_corpus(db: &Database, cases: &[&Case]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let coll = format!("case_{i}");
        if let Err(problem) = run_case(db, &coll, case).await {
            failures.push(format!("{}: {problem}", case.id));
        }
        let _ = db.collection::<Document>(&coll).drop().await;
    }
    (cases.len() - failures.len(), failures)
}

fn report(target: &str, passed: usize, failures: &[String]) {
    println!(
        "conformance on {target}: {passed} passed, {} failed",
        failures.len()
    );
    for failure in failures {
        println!("  FAILED {failure}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_corpus() {
    let cases = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("the corpus: {e}"));
    let filter = std::env::var("CONFORMANCE_FILTER").unwrap_or_default();
    let selected: Vec<&Case> = cases.iter().filter(|c| c.id.contains(&filter)).collect();
    let server = TestServer::start().await;
    let (passed, failures) = run_corpus(&server.db("conformance"), &selected).await;
    report("the embedded server", passed, &failures);
    server.stop().await;

    let mut remote_failures = Vec::new();
    if let Ok(uri) = std::env::var("ODM_TEST_MONGODB_URI")
        && !uri.is_empty()
    {
        let client = Client::with_uri_str(&uri)
            .await
            .expect("ODM_TEST_MONGODB_URI connects");
        let db = client.database(&format!("odm_conformance_{}", std::process::id()));
        let (passed, failures) = run_corpus(&db, &selected).await;
        report(&uri, passed, &failures);
        let _ = db.drop().await;
        remote_failures = failures;
    }
    assert!(
        failures.is_empty() && remote_failures.is_empty(),
        "{} conformance case(s) failed on the embedded server, {} on MongoDB (listed above)",
        failures.len(),
        remote_failures.len()
    );
    if filter.is_empty() {
        assert!(
            cases.len() >= MINIMUM_CASES,
            "the corpus has {} cases, fewer than {MINIMUM_CASES}",
            cases.len()
        );
    }
}
