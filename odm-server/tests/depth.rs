//! Nesting limits, end to end: filters, expressions, updates, projections and pipelines
//! exactly at mongod's limit are answered, one level past it get mongod's error, and a
//! thousand levels deep get an error reply while other clients go on being served.
//!
//! The server runs on a runtime whose threads have 256 KiB of stack (tokio's default is
//! 2 MiB), in this debug build: what is answered here is answered whatever the embedding
//! application's threads have. Commands are built as raw BSON, iteratively, and sent with
//! the official driver's `run_raw_command`: building or encoding a thousand-level
//! `bson::Document` would recurse on the client's own stack.

use std::time::Duration;

use bson::{Bson, Document, RawDocumentBuf, doc};
use mongodb::{Client, Database};
use odm_server::depth::{MAX_BSON_DEPTH, MAX_STORAGE_DEPTH};
use odm_server::wire::{self, OP_MSG};
use odm_server::{Config, Server, ServerHandle};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------
// Raw BSON, built without recursion.

/// A BSON value as bytes: its element type, its encoding, and how many levels of
/// documents and arrays it holds (0 for a scalar).
#[derive(Clone)]
struct Raw {
    ty: u8,
    bytes: Vec<u8>,
    depth: usize,
}

fn int(n: i32) -> Raw {
    Raw {
        ty: 0x10,
        bytes: n.to_le_bytes().to_vec(),
        depth: 0,
    }
}

fn string(s: &str) -> Raw {
    let mut bytes = ((s.len() + 1) as i32).to_le_bytes().to_vec();
    bytes.extend_from_slice(s.as_bytes());
    bytes.push(0);
    Raw {
        ty: 0x02,
        bytes,
        depth: 0,
    }
}

fn container(ty: u8, fields: Vec<(String, Raw)>) -> Raw {
    let mut body = Vec::new();
    let mut depth = 0;
    for (name, value) in fields {
        body.push(value.ty);
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(&value.bytes);
        depth = depth.max(value.depth);
    }
    let mut bytes = ((body.len() + 5) as i32).to_le_bytes().to_vec();
    bytes.extend(body);
    bytes.push(0);
    Raw {
        ty,
        bytes,
        depth: depth + 1,
    }
}

fn obj(fields: Vec<(&str, Raw)>) -> Raw {
    container(
        0x03,
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn arr(items: Vec<Raw>) -> Raw {
    container(
        0x04,
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
    )
}

/// A command: its fields in order. `nesting` is how many levels it holds below its top,
/// what mongod's `maxBSONDepth` bounds.
struct Command {
    fields: Vec<(String, Raw)>,
    raw: Raw,
}

impl Command {
    fn new(fields: Vec<(&str, Raw)>) -> Command {
        let fields: Vec<(String, Raw)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let raw = container(0x03, fields.clone());
        Command { fields, raw }
    }

    fn nesting(&self) -> usize {
        self.raw.depth - 1
    }

    /// For the driver, which adds `$db` itself.
    fn raw(&self) -> RawDocumentBuf {
        RawDocumentBuf::from_bytes(self.raw.bytes.clone()).expect("well-formed bytes")
    }

    /// For a raw socket: the body with `$db`.
    fn with_db(&self) -> Raw {
        let mut fields = self.fields.clone();
        fields.push(("$db".to_string(), string("t")));
        container(0x03, fields)
    }
}

/// The smallest `k` for which `make(k)` nests exactly `target` levels.
fn nesting_exactly(target: usize, make: impl Fn(usize) -> Command) -> (usize, Command) {
    (0..2 * target)
        .map(|k| (k, make(k)))
        .find(|(_, c)| c.nesting() == target)
        .unwrap_or_else(|| panic!("no size nests exactly {target} levels"))
}

/// `{$abs: {$abs: ... -5}}`, `k` operators (one level each).
fn abs_chain(k: usize) -> Raw {
    (0..k).fold(int(-5), |e, _| obj(vec![("$abs", e)]))
}

/// `{$add: [{$add: [... 0, 1]}, 1]}`, nesting `k` levels: `k / 2` operators (two levels
/// each) around `0`, or around `{$literal: 0}` for an odd `k`. Its value is `k / 2`.
fn add_chain(k: usize) -> Raw {
    let base = if k % 2 == 1 {
        obj(vec![("$literal", int(0))])
    } else {
        int(0)
    };
    (0..k / 2).fold(base, |e, _| obj(vec![("$add", arr(vec![e, int(1)]))]))
}

/// `{$not: {$not: ... {$eq: 1}}}`, `k` negations (one level each).
fn not_chain(k: usize) -> Raw {
    (0..k).fold(obj(vec![("$eq", int(1))]), |c, _| obj(vec![("$not", c)]))
}

/// `{$and: [{$and: [... {a: 1}]}]}`, nesting `k + 1` levels: `k / 2` conjunctions (two
/// levels each) around `{a: 1}`, or around `{a: {$eq: 1}}` for an odd `k`.
fn and_chain(k: usize) -> Raw {
    let leaf = if k % 2 == 1 {
        obj(vec![("a", obj(vec![("$eq", int(1))]))])
    } else {
        obj(vec![("a", int(1))])
    };
    (0..k / 2).fold(leaf, |f, _| obj(vec![("$and", arr(vec![f]))]))
}

/// `{x: {x: ... leaf}}`, `k` documents.
fn nested_leaf(k: usize, leaf: i32) -> Raw {
    (0..k).fold(int(leaf), |v, _| obj(vec![("x", v)]))
}

/// `{x: {x: ... 1}}`, `k` documents.
fn nested_value(k: usize) -> Raw {
    nested_leaf(k, 1)
}

// ---------------------------------------------------------------------------------------
// A server on small threads, and clients.

struct Setup {
    handle: Option<ServerHandle>,
    /// Owns the server's threads (256 KiB of stack each).
    runtime: Option<tokio::runtime::Runtime>,
    client: Client,
    /// A second client, for the "others are still served" checks.
    other: Client,
}

impl Setup {
    async fn start() -> Setup {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(256 * 1024)
            .enable_all()
            .build()
            .expect("server runtime");
        let handle = runtime
            .spawn(Server::start(Config::in_memory()))
            .await
            .expect("server task")
            .expect("server starts");
        let uri = format!("{}?directConnection=true", handle.uri());
        let client = Client::with_uri_str(&uri).await.expect("client");
        let other = Client::with_uri_str(&uri).await.expect("client");
        let s = Setup {
            handle: Some(handle),
            runtime: Some(runtime),
            client,
            other,
        };
        let docs = vec![doc! {"_id": 1, "a": 1}, doc! {"_id": 2, "a": 2}];
        s.db().collection("c").insert_many(docs).await.unwrap();
        s
    }

    fn db(&self) -> Database {
        self.client.database("t")
    }

    /// Runs a raw command; the reply, or the error's code and message.
    async fn run(&self, command: &Command) -> Result<Document, (i32, String)> {
        self.db()
            .run_raw_command(command.raw())
            .await
            .map_err(|e| match &*e.kind {
                mongodb::error::ErrorKind::Command(c) => (c.code, c.message.clone()),
                _ => panic!("expected a command error, got {e}"),
            })
    }

    /// The other client answers `ping`, a `find` and a `count`.
    async fn others_are_served(&self) {
        let db = self.other.database("t");
        db.run_command(doc! {"ping": 1}).await.expect("ping");
        let coll = db.collection::<Document>("c");
        // `_id: 2` may hold a document nested 180 levels: decoding it here, on the test's
        // own thread, is not what is tested.
        let found = coll.find_one(doc! {"_id": 1}).await.expect("find");
        assert_eq!(found.and_then(|d| d.get_i32("a").ok()), Some(1));
        let n = coll
            .count_documents(doc! {"a": {"$gte": 1}})
            .await
            .expect("count");
        assert!(n >= 2, "the documents are still there");
    }

    async fn stop(mut self) {
        self.client.clone().shutdown().await;
        self.other.clone().shutdown().await;
        let runtime = self.runtime.take().expect("runtime");
        if let Some(handle) = self.handle.take() {
            runtime.spawn(handle.shutdown()).await.expect("shutdown");
        }
        runtime.shutdown_background();
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // A test that failed: the runtime may not block inside the test's own.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The first batch of a cursor reply.
fn first_batch(reply: &Document) -> Vec<Document> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a cursor reply")
        .iter()
        .map(|d| d.as_document().expect("documents").clone())
        .collect()
}

/// mongod's refusal of a message nested deeper than 200 levels: `Overflow` (15) and the
/// path, from the top, to the element that went one level too deep.
fn assert_too_deep(result: Result<Document, (i32, String)>, path_starts: &str) {
    let (code, message) = result.expect_err("refused");
    assert_eq!(code, 15, "{message}");
    let prefix = "BSONObj exceeds maximum nested object depth in element with field name '";
    let suffix = "' in object with unknown _id";
    assert!(
        message.starts_with(prefix) && message.ends_with(suffix),
        "{message}"
    );
    let path = &message[prefix.len()..message.len() - suffix.len()];
    assert!(path.starts_with(path_starts), "{path}");
    assert_eq!(path.split('.').count(), MAX_BSON_DEPTH + 1, "{path}");
}

/// Runs `make(k)` at exactly the limit (answered, checked by `check`), one level past it
/// and a thousand levels deep (both refused), checking others are served after each.
async fn at_past_and_far_past(
    s: &Setup,
    make: impl Fn(usize) -> Command,
    path_starts: &str,
    check: impl Fn(usize, Document),
) {
    let (k, at_limit) = nesting_exactly(MAX_BSON_DEPTH, &make);
    let reply = s.run(&at_limit).await.expect("answered at the limit");
    check(k, reply);
    s.others_are_served().await;

    let (_, past) = nesting_exactly(MAX_BSON_DEPTH + 1, &make);
    assert_too_deep(s.run(&past).await, path_starts);
    s.others_are_served().await;

    let (_, far) = nesting_exactly(1000, &make);
    assert_too_deep(s.run(&far).await, path_starts);
    s.others_are_served().await;
}

// ---------------------------------------------------------------------------------------
// Each kind of tree.

#[tokio::test(flavor = "multi_thread")]
async fn filters_at_the_limit_past_it_and_a_thousand_deep() {
    let s = Setup::start().await;
    // `{a: {$not: {$not: ... {$eq: 1}}}}`: an even number of negations matches a == 1.
    let find = |k: usize| {
        Command::new(vec![
            ("find", string("c")),
            ("filter", obj(vec![("a", not_chain(k))])),
        ])
    };
    at_past_and_far_past(&s, find, "filter.a.$not.$not", |k, reply| {
        let ids: Vec<i32> = first_batch(&reply)
            .iter()
            .map(|d| d.get_i32("_id").unwrap())
            .collect();
        assert_eq!(ids, if k % 2 == 0 { vec![1] } else { vec![2] }, "k = {k}");
    })
    .await;
    // `$and` of `$and` of ...: two levels each.
    let find = |k: usize| Command::new(vec![("find", string("c")), ("filter", and_chain(k))]);
    at_past_and_far_past(&s, find, "filter.$and.0.$and.0", |_, reply| {
        let batch = first_batch(&reply);
        assert_eq!(batch, vec![doc! {"_id": 1, "a": 1}]);
    })
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expressions_at_the_limit_past_it_and_a_thousand_deep() {
    let s = Setup::start().await;
    // The issue's shape: `$project` of an `$abs` nested as deep as a message allows.
    let project = |k: usize| {
        let stage = obj(vec![(
            "$project",
            obj(vec![("_id", int(0)), ("x", abs_chain(k))]),
        )]);
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(vec![stage])),
            ("cursor", obj(vec![])),
        ])
    };
    at_past_and_far_past(
        &s,
        project,
        "pipeline.0.$project.x.$abs.$abs",
        |k, reply| {
            assert!(k > 190, "k = {k}");
            assert_eq!(first_batch(&reply), vec![doc! {"x": 5}, doc! {"x": 5}]);
        },
    )
    .await;
    // `$add` of `$add` of ...: two levels each; the sum counts the operators.
    let add = |k: usize| {
        let stage = obj(vec![(
            "$project",
            obj(vec![("_id", int(0)), ("n", add_chain(k))]),
        )]);
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(vec![stage, obj(vec![("$limit", int(1))])])),
            ("cursor", obj(vec![])),
        ])
    };
    at_past_and_far_past(&s, add, "pipeline.0.$project.n.$add.0.$add", |k, reply| {
        assert_eq!(first_batch(&reply), vec![doc! {"n": (k / 2) as i32}]);
    })
    .await;
    // `$expr` in a filter.
    let expr = |k: usize| {
        let cond = obj(vec![("$eq", arr(vec![abs_chain(k), string("$a")]))]);
        Command::new(vec![
            ("find", string("c")),
            ("filter", obj(vec![("$expr", cond)])),
        ])
    };
    at_past_and_far_past(&s, expr, "filter.$expr.$eq.0.$abs", |_, reply| {
        // |-5| is 5: no document has a == 5.
        assert!(first_batch(&reply).is_empty());
    })
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_at_the_limit_past_it_and_a_thousand_deep() {
    let s = Setup::start().await;
    // A pipeline update computing from an expression as deep as a message allows.
    let update = |k: usize| {
        let set = obj(vec![("$set", obj(vec![("b", abs_chain(k))]))]);
        let statement = obj(vec![
            ("q", obj(vec![("_id", int(1))])),
            ("u", arr(vec![set])),
        ]);
        Command::new(vec![
            ("update", string("c")),
            ("updates", arr(vec![statement])),
        ])
    };
    at_past_and_far_past(&s, update, "updates.0.u.0.$set.b.$abs", |_, reply| {
        assert_eq!(reply.get_i32("nModified").unwrap(), 1, "{reply}");
    })
    .await;
    let stored = s
        .db()
        .collection::<Document>("c")
        .find_one(doc! {"_id": 1})
        .await
        .unwrap();
    assert_eq!(stored, Some(doc! {"_id": 1, "a": 1, "b": 5}));
    // A filter as deep as a message allows, in `q`.
    let by_filter = |k: usize| {
        let statement = obj(vec![
            ("q", obj(vec![("a", not_chain(k))])),
            ("u", obj(vec![("$inc", obj(vec![("n", int(1))]))])),
        ]);
        Command::new(vec![
            ("update", string("c")),
            ("updates", arr(vec![statement])),
        ])
    };
    at_past_and_far_past(&s, by_filter, "updates.0.q.a.$not", |_, reply| {
        assert_eq!(reply.get_i32("n").unwrap(), 1, "{reply}");
    })
    .await;
    // A `$set` value: the stored document may nest 180 levels (mongod's storage limit),
    // and one level more is refused with mongod's message; past the message limit it is
    // the message that is refused.
    let set_value = |k: usize| {
        let statement = obj(vec![
            ("q", obj(vec![("_id", int(2))])),
            ("u", obj(vec![("$set", obj(vec![("v", nested_value(k))]))])),
        ]);
        Command::new(vec![
            ("update", string("c")),
            ("updates", arr(vec![statement])),
        ])
    };
    // The stored document is `{_id, a, v: <k documents>}`: k + 1 levels.
    let reply = s.run(&set_value(MAX_STORAGE_DEPTH - 1)).await.unwrap();
    assert_eq!(reply.get_i32("nModified").unwrap(), 1, "{reply}");
    let reply = s.run(&set_value(MAX_STORAGE_DEPTH)).await.unwrap();
    let error = reply.get_array("writeErrors").expect("a write error")[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(error.get_i32("code").unwrap(), 15);
    assert_eq!(
        error.get_str("errmsg").unwrap(),
        "Document exceeds maximum nesting depth of 180"
    );
    let (_, far) = nesting_exactly(1000, set_value);
    assert_too_deep(s.run(&far).await, "updates.0.u.$set.v.x");
    s.others_are_served().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn projections_at_the_limit_past_it_and_a_thousand_deep() {
    let s = Setup::start().await;
    let find = |k: usize| {
        Command::new(vec![
            ("find", string("c")),
            ("filter", obj(vec![("_id", int(2))])),
            (
                "projection",
                obj(vec![("_id", int(0)), ("a", int(1)), ("x", abs_chain(k))]),
            ),
        ])
    };
    at_past_and_far_past(&s, find, "projection.x.$abs.$abs", |_, reply| {
        assert_eq!(first_batch(&reply), vec![doc! {"a": 2, "x": 5}]);
    })
    .await;
    // A projection's path is a `FieldPath`: at most 200 parts.
    let projection = |parts: usize| {
        Command::new(vec![
            ("find", string("c")),
            (
                "projection",
                obj(vec![(&vec!["a"; parts].join("."), int(1))]),
            ),
        ])
    };
    assert!(s.run(&projection(MAX_BSON_DEPTH)).await.is_ok());
    let (code, message) = s
        .run(&projection(MAX_BSON_DEPTH + 1))
        .await
        .expect_err("too long a path");
    assert_eq!((code, message.as_str()), (15, "FieldPath is too long"));
    s.others_are_served().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelines_at_the_limit_past_it_and_a_thousand_deep() {
    let s = Setup::start().await;
    // A `$match` as deep as a message allows, then more stages.
    let aggregate = |k: usize| {
        let stages = vec![
            obj(vec![("$match", obj(vec![("a", not_chain(k))]))]),
            obj(vec![("$project", obj(vec![("_id", int(1))]))]),
        ];
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(stages)),
            ("cursor", obj(vec![])),
        ])
    };
    at_past_and_far_past(&s, aggregate, "pipeline.0.$match.a.$not", |k, reply| {
        let expected = if k % 2 == 0 { 1 } else { 2 };
        assert_eq!(first_batch(&reply), vec![doc! {"_id": expected}]);
    })
    .await;
    // A pipeline may have 1000 stages (mongod's `internalPipelineLengthLimit`), not 1001.
    let long = |n: usize| {
        let stages = (0..n).map(|_| obj(vec![("$skip", int(0))])).collect();
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(stages)),
            ("cursor", obj(vec![])),
        ])
    };
    let reply = s.run(&long(1000)).await.expect("1000 stages");
    assert_eq!(first_batch(&reply).len(), 2);
    let (code, message) = s.run(&long(1001)).await.expect_err("1001 stages");
    assert_eq!(
        (code, message.as_str()),
        (
            7749501,
            "Pipeline length must be no longer than 1000 stages."
        )
    );
    s.others_are_served().await;
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Limits inside a message's depth.

#[tokio::test(flavor = "multi_thread")]
async fn paths_results_and_stored_documents_are_bounded_like_mongod() {
    let s = Setup::start().await;
    let path = |parts: usize| vec!["a"; parts].join(".");
    // A filter's path: 180 parts (the storage depth), then 5729100.
    let find = |p: &str| {
        Command::new(vec![
            ("find", string("c")),
            ("filter", obj(vec![(p, int(1))])),
        ])
    };
    let reply = s.run(&find(&path(180))).await.expect("180 parts");
    assert!(first_batch(&reply).is_empty());
    assert_eq!(
        s.run(&find(&path(181))).await.expect_err("181 parts"),
        (5729100, "FieldPath is too long".to_string())
    );
    // An expression's field path: `$a...` is `CURRENT.a...`, 200 parts in all.
    let project = |p: String| {
        let stage = obj(vec![("$project", obj(vec![("x", string(&p))]))]);
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(vec![stage])),
            ("cursor", obj(vec![])),
        ])
    };
    assert!(s.run(&project(format!("${}", path(199)))).await.is_ok());
    assert_eq!(
        s.run(&project(format!("${}", path(200))))
            .await
            .expect_err("201 parts"),
        (15, "FieldPath is too long".to_string())
    );
    // What an expression builds is held to what mongod can return: 200 levels. Each
    // `$addFields` wraps the document in one more level.
    let wrap = obj(vec![("$replaceWith", obj(vec![("w", string("$$ROOT"))]))]);
    let wrapped = |n: usize| {
        Command::new(vec![
            ("aggregate", string("c")),
            ("pipeline", arr(vec![wrap.clone(); n])),
            ("cursor", obj(vec![])),
        ])
    };
    assert!(s.run(&wrapped(199)).await.is_ok());
    let (code, message) = s.run(&wrapped(200)).await.expect_err("201 levels");
    assert_eq!(code, 15);
    assert_eq!(
        message,
        "cannot convert document to BSON because it exceeds the limit of 200 levels of nesting"
    );
    // A `$reduce` that nests its value one level per element stops once it is deeper
    // than a result may be.
    let reduce = obj(vec![(
        "$reduce",
        obj(vec![
            ("input", arr(vec![int(0); 1000])),
            ("initialValue", arr(vec![])),
            (
                "in",
                obj(vec![(
                    "$map",
                    obj(vec![
                        ("input", arr(vec![int(0)])),
                        ("in", string("$$value")),
                    ]),
                )]),
            ),
        ]),
    )]);
    let command = Command::new(vec![
        ("aggregate", string("c")),
        (
            "pipeline",
            arr(vec![obj(vec![("$project", obj(vec![("r", reduce)]))])]),
        ),
        ("cursor", obj(vec![])),
    ]);
    let (code, message) = s.run(&command).await.expect_err("too deep a value");
    assert_eq!(code, 15);
    assert_eq!(
        message,
        "cannot convert document to BSON because it exceeds the limit of 200 levels of nesting"
    );
    // Stored documents: 180 levels, the document itself included.
    let insert = |id: i32, k: usize| {
        let d = obj(vec![("_id", int(id)), ("v", nested_leaf(k, id))]);
        Command::new(vec![("insert", string("c")), ("documents", arr(vec![d]))])
    };
    for id in [10, 11] {
        let reply = s.run(&insert(id, MAX_STORAGE_DEPTH - 1)).await.unwrap();
        assert_eq!(reply.get_i32("n").unwrap(), 1, "{reply}");
    }
    let reply = s.run(&insert(12, MAX_STORAGE_DEPTH)).await.unwrap();
    let error = reply.get_array("writeErrors").expect("a write error")[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(error.get_i32("code").unwrap(), 15);
    assert_eq!(
        error.get_str("errmsg").unwrap(),
        "cannot insert document because it exceeds 180 levels of nesting"
    );
    // The 180-level documents read back, sort and compare whole.
    let sorted = Command::new(vec![
        ("find", string("c")),
        ("filter", obj(vec![("_id", obj(vec![("$gte", int(10))]))])),
        ("sort", obj(vec![("v", int(-1))])),
        ("projection", obj(vec![("_id", int(1))])),
    ]);
    let reply = s.run(&sorted).await.unwrap();
    assert_eq!(
        first_batch(&reply),
        vec![doc! {"_id": 11}, doc! {"_id": 10}]
    );
    let equal = Command::new(vec![
        ("find", string("c")),
        (
            "filter",
            obj(vec![("v", nested_leaf(MAX_STORAGE_DEPTH - 1, 11))]),
        ),
        ("projection", obj(vec![("_id", int(1))])),
    ]);
    let reply = s.run(&equal).await.unwrap();
    assert_eq!(first_batch(&reply), vec![doc! {"_id": 11}]);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// The connection and the other clients.

/// Sends one OP_MSG whose body is `body` (raw) and reads the reply.
async fn raw_command(stream: &mut TcpStream, body: &Raw) -> Document {
    let mut message = Vec::new();
    let length = 16 + 4 + 1 + body.bytes.len();
    for field in [length as i32, 7, 0, OP_MSG] {
        message.extend_from_slice(&field.to_le_bytes());
    }
    message.extend_from_slice(&0u32.to_le_bytes());
    message.push(0);
    message.extend_from_slice(&body.bytes);
    stream.write_all(&message).await.unwrap();
    let (header, reply) = tokio::time::timeout(Duration::from_secs(10), wire::read_message(stream))
        .await
        .expect("a reply arrives")
        .expect("the reply is well framed")
        .expect("the connection is still open");
    assert_eq!(header.op_code, OP_MSG);
    Document::from_reader(&reply[5..]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_and_other_clients_are_served_throughout() {
    let s = Setup::start().await;
    // On one socket: a thousand-level filter, expression, update and pipeline are each
    // answered with an error, and the same socket then answers a ping.
    let addr = s.handle.as_ref().unwrap().addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let bombs = [
        Command::new(vec![
            ("find", string("c")),
            ("filter", obj(vec![("a", not_chain(1000))])),
        ]),
        Command::new(vec![
            ("aggregate", string("c")),
            (
                "pipeline",
                arr(vec![obj(vec![(
                    "$project",
                    obj(vec![("x", abs_chain(1000))]),
                )])]),
            ),
            ("cursor", obj(vec![])),
        ]),
        Command::new(vec![
            ("update", string("c")),
            (
                "updates",
                arr(vec![obj(vec![
                    ("q", obj(vec![])),
                    (
                        "u",
                        obj(vec![("$set", obj(vec![("v", nested_value(1000))]))]),
                    ),
                ])]),
            ),
        ]),
        Command::new(vec![
            ("aggregate", string("c")),
            (
                "pipeline",
                arr(vec![obj(vec![("$match", and_chain(1000))])]),
            ),
            ("cursor", obj(vec![])),
        ]),
    ];
    for bomb in &bombs {
        assert!(bomb.nesting() >= 1000);
        let reply = raw_command(&mut stream, &bomb.with_db()).await;
        assert_eq!(reply.get_i32("code").unwrap(), 15, "{reply}");
        assert_eq!(reply.get_str("codeName").unwrap(), "Overflow");
    }
    let ping = Command::new(vec![("ping", int(1))]);
    let pong = raw_command(&mut stream, &ping.with_db()).await;
    assert_eq!(pong.get_f64("ok").unwrap(), 1.0, "{pong}");

    // Meanwhile, on other connections: the deep commands (at the limit and far past it)
    // run on one client while the other pings and finds, and every answer arrives.
    let deep_client = async {
        for round in 0..5 {
            let (_, at_limit) = nesting_exactly(MAX_BSON_DEPTH, |k| {
                Command::new(vec![
                    ("find", string("c")),
                    ("filter", obj(vec![("a", not_chain(k))])),
                ])
            });
            s.run(&at_limit).await.expect("answered");
            for bomb in &bombs {
                let (code, _) = s.run(bomb).await.expect_err("refused");
                assert_eq!(code, 15, "round {round}");
            }
        }
    };
    let other_client = async {
        for _ in 0..20 {
            s.others_are_served().await;
        }
    };
    tokio::join!(deep_client, other_client);
    s.others_are_served().await;
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// The engine alone, on a thread far smaller than the recursion needs.

#[test]
fn the_engine_recurses_on_a_small_thread() {
    use odm_server::engine::agg::expr::{self, Scope};
    use odm_server::engine::matcher::Filter;
    let h = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            // Built iteratively, so only the engine recurses.
            let mut e = Bson::Int32(-3);
            let mut f = doc! {"$eq": 1};
            for _ in 0..MAX_BSON_DEPTH {
                e = Bson::Document(doc! {"$abs": e});
                f = doc! {"$not": f};
            }
            let root = doc! {"a": 1};
            let parsed = expr::parse(&e).unwrap();
            let value = parsed.evaluate(&mut Scope::new(&root)).unwrap();
            assert_eq!(value, Some(Bson::Int32(3)));
            let spec = doc! {"a": f};
            let filter = Filter::parse(&spec).unwrap();
            assert!(filter.matches(&root));
            // Dropping recurses too (a few hundred bytes a level): not the engine's part.
            odm_server::depth::guard(|| drop((parsed, filter, e, spec)));
        })
        .unwrap();
    h.join().expect("no overflow");
}
