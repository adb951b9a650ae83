//! Collections, databases and server commands through the driver: create, drop,
//! dropDatabase, listDatabases, listCollections, renameCollection, collMod validators,
//! dbStats, collStats, and the diagnostics drivers and shells ask for.

mod common;

use bson::{Bson, Document, doc};
use common::{TestServer, aggregate_all, expect_code, expect_command_codes};
use futures::TryStreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn collections_and_databases() {
    let s = TestServer::start().await;
    let db = s.db("shop");
    db.create_collection("orders").await.unwrap();
    expect_code(db.create_collection("orders").await, 48);
    expect_code(db.create_collection("bad$name").await, 73);
    expect_code(
        db.run_command(doc! {"create": "v", "viewOn": "orders", "pipeline": [], "capped": true})
            .await,
        72,
    );
    db.collection::<Document>("items")
        .insert_one(doc! {"x": 1})
        .await
        .unwrap();
    s.db("other")
        .collection::<Document>("c")
        .insert_one(doc! {"y": 1})
        .await
        .unwrap();

    let mut names = db.list_collection_names().await.unwrap();
    names.sort();
    assert_eq!(names, vec!["items", "orders"]);
    let specs: Vec<Document> = db
        .run_command(doc! {"listCollections": 1, "filter": {"name": "items"}})
        .await
        .unwrap()
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .iter()
        .map(|d| d.as_document().unwrap().clone())
        .collect();
    assert_eq!(specs.len(), 1);
    let spec = &specs[0];
    assert_eq!(spec.get_str("type").unwrap(), "collection");
    assert!(spec.get_document("options").is_ok());
    assert!(
        matches!(spec.get_document("info").unwrap().get("uuid"), Some(Bson::Binary(b)) if b.bytes.len() == 16)
    );
    assert_eq!(
        spec.get_document("idIndex")
            .unwrap()
            .get_str("name")
            .unwrap(),
        "_id_"
    );
    let listed: Vec<_> = db
        .list_collections()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);

    let dbs = s.client.list_databases().await.unwrap();
    let names: Vec<&str> = dbs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["other", "shop"]);
    assert!(dbs.iter().all(|d| !d.empty));
    assert_eq!(
        s.client
            .list_database_names()
            .filter(doc! {"name": "shop"})
            .await
            .unwrap(),
        vec!["shop"]
    );
    expect_code(db.run_command(doc! {"listDatabases": 1}).await, 13);

    db.collection::<Document>("orders").drop().await.unwrap();
    // Dropping what is not there succeeds, as in MongoDB 7.0.
    db.collection::<Document>("orders").drop().await.unwrap();
    assert_eq!(db.list_collection_names().await.unwrap(), vec!["items"]);
    s.db("other").drop().await.unwrap();
    assert_eq!(s.client.list_database_names().await.unwrap(), vec!["shop"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_collection_keeps_data_and_indexes() {
    let s = TestServer::start().await;
    let admin = s.db("admin");
    let from = s.db("a").collection::<Document>("from");
    from.insert_many(vec![doc! {"_id": 1, "k": "x"}, doc! {"_id": 2, "k": "y"}])
        .await
        .unwrap();
    from.create_index(mongodb::IndexModel::builder().keys(doc! {"k": 1}).build())
        .await
        .unwrap();
    admin
        .run_command(doc! {"renameCollection": "a.from", "to": "b.to"})
        .await
        .unwrap();
    let to = s.db("b").collection::<Document>("to");
    assert_eq!(to.count_documents(doc! {"k": "y"}).await.unwrap(), 1);
    assert_eq!(to.list_index_names().await.unwrap(), vec!["_id_", "k_1"]);
    assert_eq!(from.count_documents(doc! {}).await.unwrap(), 0);

    expect_code(
        admin
            .run_command(doc! {"renameCollection": "a.from", "to": "b.x"})
            .await,
        26,
    );
    s.db("b")
        .collection::<Document>("taken")
        .insert_one(doc! {})
        .await
        .unwrap();
    expect_code(
        admin
            .run_command(doc! {"renameCollection": "b.to", "to": "b.taken"})
            .await,
        48,
    );
    admin
        .run_command(doc! {"renameCollection": "b.to", "to": "b.taken", "dropTarget": true})
        .await
        .unwrap();
    assert_eq!(
        s.db("b")
            .collection::<Document>("taken")
            .count_documents(doc! {})
            .await
            .unwrap(),
        2
    );
    let rename = |to: &str| doc! {"renameCollection": "b.taken", "to": to};
    expect_command_codes(
        &admin,
        vec![(rename("b.taken"), 20), (rename("b.$bad"), 73)],
    )
    .await;
    // Only the admin database runs renameCollection.
    expect_command_codes(&s.db("b"), vec![(rename("b.y"), 13)]).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_refuse_bad_documents() {
    let s = TestServer::start().await;
    let db = s.db("v");
    db.run_command(
        doc! {"create": "people", "validator": {"age": {"$gte": 0}, "name": {"$type": "string"}}},
    )
    .await
    .unwrap();
    let people = db.collection::<Document>("people");
    people
        .insert_one(doc! {"name": "ok", "age": 3})
        .await
        .unwrap();
    expect_code(
        people.insert_one(doc! {"name": "neg", "age": -1}).await,
        121,
    );
    expect_code(
        people
            .update_one(doc! {"name": "ok"}, doc! {"$set": {"age": -5}})
            .await,
        121,
    );
    people
        .insert_one(doc! {"name": "neg", "age": -1})
        .bypass_document_validation(true)
        .await
        .unwrap();
    db.run_command(doc! {"collMod": "people", "validationAction": "warn"})
        .await
        .unwrap();
    people.insert_one(doc! {"name": 5}).await.unwrap();
    assert_eq!(people.count_documents(doc! {}).await.unwrap(), 3);
    expect_command_codes(
        &db,
        vec![
            (
                doc! {"create": "x", "validator": {"$jsonSchema": {"frob": 1}}},
                9,
            ),
            (
                doc! {"collMod": "people", "validationLevel": "sometimes"},
                2,
            ),
        ],
    )
    .await;

    // A $jsonSchema validator, as DESIGN.md's validators use.
    let schema = doc! {
        "bsonType": "object",
        "required": ["name"],
        "properties": {
            "name": {"bsonType": "string", "minLength": 1},
            "tags": {"bsonType": "array", "items": {"bsonType": "string"}},
        },
    };
    db.run_command(doc! {"create": "typed", "validator": {"$jsonSchema": schema}})
        .await
        .unwrap();
    let typed = db.collection::<Document>("typed");
    typed
        .insert_one(doc! {"name": "a", "tags": ["x"]})
        .await
        .unwrap();
    for bad in [
        doc! {"tags": ["x"]},
        doc! {"name": ""},
        doc! {"name": "b", "tags": [1]},
    ] {
        expect_code(typed.insert_one(bad).await, 121);
    }
    assert_eq!(typed.count_documents(doc! {}).await.unwrap(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_commands() {
    let s = TestServer::start().await;
    let db = s.db("st");
    let coll = db.collection::<Document>("c");
    coll.insert_many(
        (0..10)
            .map(|i| doc! {"_id": i, "pad": "0123456789"})
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    coll.create_index(mongodb::IndexModel::builder().keys(doc! {"pad": 1}).build())
        .await
        .unwrap();
    let stats = db.run_command(doc! {"dbStats": 1}).await.unwrap();
    assert_eq!(stats.get_str("db").unwrap(), "st");
    assert_eq!(stats.get_i64("collections").unwrap(), 1);
    assert_eq!(stats.get_i64("objects").unwrap(), 10);
    assert_eq!(stats.get_i64("indexes").unwrap(), 2);
    assert!(stats.get_f64("dataSize").unwrap() > 0.0);
    let cs = db.run_command(doc! {"collStats": "c"}).await.unwrap();
    assert_eq!(cs.get_str("ns").unwrap(), "st.c");
    assert_eq!(cs.get_i64("count").unwrap(), 10);
    assert_eq!(cs.get_i32("nindexes").unwrap(), 2);
    assert!(cs.get_document("indexSizes").unwrap().contains_key("pad_1"));
    let scaled = db
        .run_command(doc! {"collStats": "c", "scale": 1024})
        .await
        .unwrap();
    assert_eq!(scaled.get_i64("scaleFactor").unwrap(), 1024);
    expect_code(db.run_command(doc! {"collStats": "nope"}).await, 26);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coll_stats_and_index_stats_stages_as_compass_sends_them() {
    let s = TestServer::start().await;
    let db = s.db("shop");
    let items = db.collection::<Document>("items");
    items
        .insert_many((0..5).map(|i| doc! {"_id": i, "sku": format!("s{i}")}))
        .await
        .unwrap();
    items
        .create_index(mongodb::IndexModel::builder().keys(doc! {"sku": 1}).build())
        .await
        .unwrap();
    let stats = aggregate_all(
        &items,
        vec![doc! {"$collStats": {"storageStats": {}, "count": {}, "latencyStats": {}}}],
    )
    .await
    .unwrap();
    assert_eq!(stats.len(), 1);
    let doc = &stats[0];
    assert_eq!(doc.get_str("ns").unwrap(), "shop.items");
    assert_eq!(doc.get_i64("count").unwrap(), 5);
    let storage = doc.get_document("storageStats").unwrap();
    assert_eq!(storage.get_i64("count").unwrap(), 5);
    assert_eq!(storage.get_i32("nindexes").unwrap(), 2);
    assert!(doc.get_document("latencyStats").is_ok());

    let names: Vec<String> = aggregate_all(
        &items,
        vec![doc! {"$indexStats": {}}, doc! {"$sort": {"name": 1}}],
    )
    .await
    .unwrap()
    .iter()
    .map(|d| {
        assert!(d.get_document("accesses").is_ok(), "{d}");
        d.get_str("name").unwrap().to_string()
    })
    .collect();
    assert_eq!(names, ["_id_", "sku_1"]);

    expect_command_codes(
        &db,
        vec![
            (doc! {"aggregate": "nothing_here", "pipeline": [{"$collStats": {"count": {}}}], "cursor": {}}, 26),
            (doc! {"aggregate": "items", "pipeline": [{"$match": {}}, {"$collStats": {}}], "cursor": {}}, 40602),
            (doc! {"aggregate": "items", "pipeline": [{"$indexStats": {"x": 1}}], "cursor": {}}, 28803),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_and_diagnostics() {
    let s = TestServer::start().await;
    let admin = s.db("admin");
    let hello = admin
        .run_command(doc! {"hello": 1, "helloOk": true})
        .await
        .unwrap();
    assert!(hello.get_bool("isWritablePrimary").unwrap());
    assert!(hello.get_bool("helloOk").unwrap());
    assert_eq!(
        hello.get_i32("maxBsonObjectSize").unwrap(),
        16 * 1024 * 1024
    );
    assert_eq!(hello.get_i32("maxMessageSizeBytes").unwrap(), 48_000_000);
    assert_eq!(hello.get_i32("maxWriteBatchSize").unwrap(), 100_000);
    assert_eq!(hello.get_i32("maxWireVersion").unwrap(), 25);
    assert_eq!(hello.get_i32("logicalSessionTimeoutMinutes").unwrap(), 30);
    // The primary of the one-member set rs0, known by the address clients dial.
    assert!(hello.get_document("topologyVersion").is_ok());
    assert_eq!(hello.get_str("setName").unwrap(), "rs0");
    assert_eq!(
        hello.get_str("me").unwrap(),
        hello.get_str("primary").unwrap()
    );
    assert_eq!(
        hello.get_array("hosts").unwrap(),
        &vec![Bson::String(hello.get_str("me").unwrap().to_owned())]
    );
    assert!(!hello.get_bool("secondary").unwrap());
    assert!(hello.get_document("$clusterTime").is_ok());
    let legacy = admin.run_command(doc! {"isMaster": 1}).await.unwrap();
    assert!(legacy.get_bool("ismaster").unwrap());
    let lower = admin.run_command(doc! {"ismaster": 1}).await.unwrap();
    assert!(lower.get_bool("ismaster").unwrap());

    let ping = admin.run_command(doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.get_f64("ok").unwrap(), 1.0);
    assert_eq!(
        ping.keys().collect::<Vec<_>>(),
        ["ok", "operationTime", "$clusterTime"]
    );
    let build = admin.run_command(doc! {"buildInfo": 1}).await.unwrap();
    assert_eq!(build.get_str("version").unwrap(), "8.0.0");
    assert_eq!(build.get_array("versionArray").unwrap()[0], Bson::Int32(8));
    let all = admin.run_command(doc! {"getParameter": "*"}).await.unwrap();
    assert!(all.contains_key("featureCompatibilityVersion"));
    let fcv = admin
        .run_command(doc! {"getParameter": 1, "featureCompatibilityVersion": 1})
        .await
        .unwrap();
    assert_eq!(
        fcv.get_document("featureCompatibilityVersion")
            .unwrap()
            .get_str("version")
            .unwrap(),
        "8.0"
    );
    expect_code(
        admin
            .run_command(doc! {"getParameter": 1, "noSuchParameter": 1})
            .await,
        72,
    );
    let host = admin.run_command(doc! {"hostInfo": 1}).await.unwrap();
    assert!(
        host.get_document("system")
            .unwrap()
            .get_i32("numCores")
            .unwrap()
            >= 1
    );
    let opts = admin.run_command(doc! {"getCmdLineOpts": 1}).await.unwrap();
    assert!(
        opts.get_document("parsed")
            .unwrap()
            .get_document("storage")
            .unwrap()
            .get_bool("inMemory")
            .unwrap()
    );
    let status = admin.run_command(doc! {"serverStatus": 1}).await.unwrap();
    assert!(
        status
            .get_document("connections")
            .unwrap()
            .get_i32("current")
            .unwrap()
            >= 1
    );
    assert!(
        status
            .get_document("opcounters")
            .unwrap()
            .get_i64("command")
            .unwrap()
            >= 1
    );
    let conn = admin
        .run_command(doc! {"connectionStatus": 1})
        .await
        .unwrap();
    assert!(
        conn.get_document("authInfo")
            .unwrap()
            .get_array("authenticatedUsers")
            .unwrap()
            .is_empty()
    );
    let me = admin.run_command(doc! {"whatsmyuri": 1}).await.unwrap();
    assert!(me.get_str("you").unwrap().starts_with("127.0.0.1:"));
    let logs = admin.run_command(doc! {"getLog": "*"}).await.unwrap();
    assert_eq!(logs.get_array("names").unwrap().len(), 2);
    let warnings = admin
        .run_command(doc! {"getLog": "startupWarnings"})
        .await
        .unwrap();
    let line = warnings.get_array("log").unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        line.starts_with('{') && line.contains("in memory only"),
        "{line}"
    );
    let global = admin.run_command(doc! {"getLog": "global"}).await.unwrap();
    assert!(global.get_i32("totalLinesWritten").unwrap() >= 1);
    let commands = admin.run_command(doc! {"listCommands": 1}).await.unwrap();
    let commands = commands.get_document("commands").unwrap();
    for name in [
        "find",
        "insert",
        "getMore",
        "killAllSessions",
        "collMod",
        "explain",
    ] {
        assert!(commands.contains_key(name), "{name}");
    }
    expect_code(s.db("x").run_command(doc! {"getLog": "global"}).await, 13);
    expect_code(admin.run_command(doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![] }}).await, 18);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn current_op_and_local_sessions() {
    let s = TestServer::start().await;
    let coll = s.db("app").collection::<Document>("c");
    coll.insert_many((0..10).map(|i| doc! {"_id": i}))
        .await
        .unwrap();
    // An open cursor, waiting for its getMore.
    let mut session = s.client.start_session().await.unwrap();
    let mut cursor = coll
        .find(doc! {})
        .batch_size(2)
        .session(&mut session)
        .await
        .unwrap();
    assert!(cursor.advance(&mut session).await.unwrap());

    let admin = s.db("admin");
    let reply = admin
        .run_command(doc! {"aggregate": 1, "pipeline": [{"$currentOp": {"idleCursors": true}}], "cursor": {}})
        .await
        .unwrap();
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()
        .clone();
    // The aggregation itself is running.
    let me = batch
        .iter()
        .filter_map(Bson::as_document)
        .find(|d| d.get_str("type").ok() == Some("op"))
        .unwrap_or_else(|| panic!("no running op in {batch:?}"));
    assert_eq!(me.get_str("ns").unwrap(), "admin.$cmd");
    assert!(
        me.get_document("command")
            .unwrap()
            .contains_key("aggregate")
    );
    assert!(me.get_bool("active").unwrap());
    // The find's cursor is idle, with its namespace.
    assert!(
        batch.iter().filter_map(Bson::as_document).any(|d| {
            d.get_str("type").ok() == Some("idleCursor")
                && d.get_document("cursor").unwrap().get_str("ns").ok() == Some("app.c")
        }),
        "{batch:?}"
    );
    // The command mongosh's db.currentOp() sends, with a filter.
    let inprog = admin
        .run_command(doc! {"currentOp": 1, "op": "query"})
        .await
        .unwrap();
    assert!(inprog.get_array("inprog").unwrap().is_empty(), "{inprog}");
    let inprog = admin
        .run_command(doc! {"currentOp": 1, "op": "command"})
        .await
        .unwrap();
    assert_eq!(inprog.get_array("inprog").unwrap().len(), 1, "{inprog}");

    // The session the cursor runs in is a local session.
    let lsid = session.id().clone();
    let sessions = admin
        .run_command(doc! {"aggregate": 1, "pipeline": [{"$listLocalSessions": {}}, {"$match": {"_id": lsid}}], "cursor": {}})
        .await
        .unwrap();
    let found = sessions
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(found.len(), 1, "{sessions}");
    assert!(
        found[0]
            .as_document()
            .unwrap()
            .get_datetime("lastUse")
            .is_ok()
    );

    expect_command_codes(
        &s.db("app"),
        vec![
            (doc! {"aggregate": 1, "pipeline": [{"$currentOp": {}}], "cursor": {}}, 73),
            (doc! {"aggregate": "c", "pipeline": [{"$listLocalSessions": {}}], "cursor": {}}, 73),
            (doc! {"aggregate": 1, "pipeline": [{"$match": {}}, {"$currentOp": {}}], "cursor": {}}, 40602),
        ],
    )
    .await;
    expect_command_codes(
        &admin,
        vec![(
            doc! {"aggregate": 1, "pipeline": [{"$currentOp": {"bogus": true}}], "cursor": {}},
            9,
        )],
    )
    .await;
    drop(cursor);
}
