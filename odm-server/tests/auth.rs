//! Access control with the official Rust driver: the first user created from localhost,
//! SCRAM-SHA-256 and SCRAM-SHA-1 logins, `Unauthorized` (13) before login and for a role
//! that does not allow a command, `AuthenticationFailed` (18) for a wrong password and
//! an unknown user alike, user management, and the refusal to listen on a public
//! address without access control.

mod common;

use bson::{Binary, Document, doc, spec::BinarySubtype};
use common::code;
use mongodb::Client;
use mongodb::error::ErrorKind;
use odm_server::{Config, Server, ServerHandle};

async fn client(handle: &ServerHandle, credentials: Option<(&str, &str, &str, &str)>) -> Client {
    let uri = match credentials {
        None => format!("{}?directConnection=true", handle.uri()),
        Some((user, password, source, mechanism)) => format!(
            "mongodb://{user}:{password}@{}/?directConnection=true&authSource={source}&authMechanism={mechanism}",
            handle.addr
        ),
    };
    Client::with_uri_str(uri).await.expect("a valid URI")
}

async fn command(
    client: &Client,
    db: &str,
    command: Document,
) -> Result<Document, mongodb::error::Error> {
    client.database(db).run_command(command).await
}

fn binary(text: &str) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: text.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_log_in_with_scram_and_their_roles_decide_what_runs() {
    let handle = Server::start(Config::in_memory().auth(true)).await.unwrap();
    let anonymous = client(&handle, None).await;

    // Before any login: the handshake and ping only.
    command(&anonymous, "admin", doc! {"ping": 1})
        .await
        .unwrap();
    let err = command(&anonymous, "shop", doc! {"find": "items"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    assert!(err.to_string().contains("requires authentication"), "{err}");

    // The localhost exception: the first user, and only it.
    command(
        &anonymous,
        "admin",
        doc! {"createUser": "boss", "pwd": "s3cret", "roles": ["root"]},
    )
    .await
    .unwrap();
    let err = command(
        &anonymous,
        "admin",
        doc! {"createUser": "sneaky", "pwd": "x", "roles": ["root"]},
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");

    // SCRAM-SHA-256, the default, for the root user.
    let boss = client(&handle, Some(("boss", "s3cret", "admin", "SCRAM-SHA-256"))).await;
    command(
        &boss,
        "shop",
        doc! {"createUser": "reader", "pwd": "r", "roles": ["read"]},
    )
    .await
    .unwrap();
    command(
        &boss,
        "shop",
        doc! {"createUser": "writer", "pwd": "w", "roles": [{"role": "readWrite", "db": "shop"}], "mechanisms": ["SCRAM-SHA-1"]},
    )
    .await
    .unwrap();
    let err = command(
        &boss,
        "shop",
        doc! {"createUser": "ghost", "pwd": "g", "roles": ["superuser"]},
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), Some(31), "{err}");
    let err = command(
        &boss,
        "shop",
        doc! {"createUser": "reader", "pwd": "again", "roles": []},
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), Some(51003), "{err}");

    // Not even root edits the users' documents directly: a role given that way would
    // bypass createUser's checks.
    let users = boss
        .database("admin")
        .collection::<Document>("system.users");
    let err = users
        .update_one(doc! {"user": "reader"}, doc! {"$set": {"roles": ["root"]}})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(73), "{err}");
    let err = users.insert_one(doc! {"user": "forged"}).await.unwrap_err();
    assert_eq!(code(&err), Some(73), "{err}");
    let all = command(&boss, "admin", doc! {"usersInfo": {"forAllDBs": true}})
        .await
        .unwrap();
    assert_eq!(all.get_array("users").unwrap().len(), 3);

    // SCRAM-SHA-1 for a user that only has it; its role lets it write.
    let writer = client(&handle, Some(("writer", "w", "shop", "SCRAM-SHA-1"))).await;
    let items = writer.database("shop").collection::<Document>("items");
    items
        .insert_one(doc! {"_id": 1, "name": "pen"})
        .await
        .unwrap();

    // A read-only user reads and is refused a write.
    let reader = client(&handle, Some(("reader", "r", "shop", "SCRAM-SHA-256"))).await;
    let seen = reader
        .database("shop")
        .collection::<Document>("items")
        .find_one(doc! {})
        .await
        .unwrap();
    assert_eq!(seen, Some(doc! {"_id": 1, "name": "pen"}));
    let err = reader
        .database("shop")
        .collection::<Document>("items")
        .insert_one(doc! {"_id": 2})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    let err = command(&reader, "other", doc! {"find": "x"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    let err = command(&reader, "admin", doc! {"serverStatus": 1})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    let status = command(&reader, "shop", doc! {"connectionStatus": 1})
        .await
        .unwrap();
    assert_eq!(
        status
            .get_document("authInfo")
            .unwrap()
            .get_array("authenticatedUsers")
            .unwrap(),
        &vec![bson::Bson::Document(doc! {"user": "reader", "db": "shop"})]
    );

    // A wrong password and an unknown user fail alike.
    for (user, password) in [("reader", "wrong"), ("nobody", "r")] {
        let bad = client(&handle, Some((user, password, "shop", "SCRAM-SHA-256"))).await;
        let err = command(&bad, "shop", doc! {"ping": 1}).await.unwrap_err();
        assert!(
            matches!(&*err.kind, ErrorKind::Authentication { .. }),
            "{user}: {err}"
        );
    }

    // usersInfo shows mechanisms, not keys; roles change; a password change locks out the
    // old one; a dropped user cannot log in.
    let info = command(&boss, "shop", doc! {"usersInfo": "writer"})
        .await
        .unwrap();
    let user = info.get_array("users").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(
        user.get_array("mechanisms").unwrap(),
        &vec![bson::Bson::from("SCRAM-SHA-1")]
    );
    assert!(!user.contains_key("credentials"));
    command(
        &boss,
        "shop",
        doc! {"grantRolesToUser": "reader", "roles": ["readWrite"]},
    )
    .await
    .unwrap();
    let promoted = client(&handle, Some(("reader", "r", "shop", "SCRAM-SHA-256"))).await;
    promoted
        .database("shop")
        .collection::<Document>("items")
        .insert_one(doc! {"_id": 2})
        .await
        .unwrap();
    command(&boss, "shop", doc! {"updateUser": "reader", "pwd": "new"})
        .await
        .unwrap();
    let stale = client(&handle, Some(("reader", "r", "shop", "SCRAM-SHA-256"))).await;
    assert!(command(&stale, "shop", doc! {"ping": 1}).await.is_err());
    let fresh = client(&handle, Some(("reader", "new", "shop", "SCRAM-SHA-256"))).await;
    command(&fresh, "shop", doc! {"count": "items"})
        .await
        .unwrap();
    command(&boss, "shop", doc! {"dropUser": "reader"})
        .await
        .unwrap();
    let dropped = client(&handle, Some(("reader", "new", "shop", "SCRAM-SHA-256"))).await;
    assert!(command(&dropped, "shop", doc! {"ping": 1}).await.is_err());
    let err = command(&boss, "shop", doc! {"dropUser": "reader"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(11), "{err}");

    for c in [
        anonymous, boss, writer, reader, promoted, stale, fresh, dropped,
    ] {
        c.shutdown().await;
    }
    handle.shutdown().await;
}

/// The conversation by hand: a wrong proof and an unknown user both get 18 at the
/// proof, and `hello` answers the first step speculatively.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_proof_is_authentication_failed_for_known_and_unknown_users() {
    let handle = Server::start(Config::in_memory().auth(true)).await.unwrap();
    let anonymous = client(&handle, None).await;
    command(
        &anonymous,
        "admin",
        doc! {"createUser": "ann", "pwd": "pw", "roles": ["root"]},
    )
    .await
    .unwrap();
    for user in ["ann", "nobody"] {
        let first = command(
            &anonymous,
            "admin",
            doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": binary(&format!("n,,n={user},r=abcdefgh")), "options": {"skipEmptyExchange": true}},
        )
        .await
        .unwrap();
        assert!(!first.get_bool("done").unwrap());
        let server_first =
            String::from_utf8(first.get_binary_generic("payload").unwrap().clone()).unwrap();
        assert!(server_first.starts_with("r=abcdefgh"), "{server_first}");
        assert!(server_first.ends_with(",i=15000"), "{server_first}");
        let nonce = server_first.split(',').next().unwrap();
        let proof = "A".repeat(43) + "=";
        let err = command(
            &anonymous,
            "admin",
            doc! {"saslContinue": 1, "conversationId": first.get_i32("conversationId").unwrap(), "payload": binary(&format!("c=biws,{nonce},p={proof}"))},
        )
        .await
        .unwrap_err();
        assert_eq!(code(&err), Some(18), "{user}: {err}");
        assert!(err.to_string().contains("Authentication failed."), "{err}");
    }
    let err = command(
        &anonymous,
        "admin",
        doc! {"saslStart": 1, "mechanism": "PLAIN", "payload": binary("x")},
    )
    .await
    .unwrap_err();
    assert_eq!(code(&err), Some(334), "{err}");

    let hello = command(
        &anonymous,
        "admin",
        doc! {"hello": 1, "saslSupportedMechs": "admin.ann", "speculativeAuthenticate": {
            "saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": binary("n,,n=ann,r=xyz"), "db": "admin",
        }},
    )
    .await
    .unwrap();
    assert_eq!(
        hello.get_array("saslSupportedMechs").unwrap(),
        &vec![
            bson::Bson::from("SCRAM-SHA-1"),
            bson::Bson::from("SCRAM-SHA-256")
        ]
    );
    let speculative = hello.get_document("speculativeAuthenticate").unwrap();
    let payload = speculative.get_binary_generic("payload").unwrap();
    assert!(payload.starts_with(b"r=xyz"));
    anonymous.shutdown().await;
    handle.shutdown().await;
}

#[tokio::test]
async fn listening_on_a_public_address_needs_auth_or_an_explicit_flag() {
    let public = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let err = Server::start(Config::in_memory().bind(public))
        .await
        .err()
        .expect("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("--auth"), "{err}");
    let with_auth = Server::start(Config::in_memory().bind(public).auth(true))
        .await
        .unwrap();
    with_auth.shutdown().await;
    let trusted = Config {
        allow_remote_without_auth: true,
        ..Config::in_memory().bind(public)
    };
    Server::start(trusted).await.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cursors_belong_to_their_user_and_databases_show_to_those_with_a_role() {
    let handle = Server::start(Config::in_memory().auth(true)).await.unwrap();
    let anonymous = client(&handle, None).await;
    command(
        &anonymous,
        "admin",
        doc! {"createUser": "boss", "pwd": "s3cret", "roles": ["root"]},
    )
    .await
    .unwrap();
    let boss = client(&handle, Some(("boss", "s3cret", "admin", "SCRAM-SHA-256"))).await;
    for (user, db) in [("ann", "shop"), ("bob", "shop"), ("cid", "hr")] {
        command(
            &boss,
            db,
            doc! {"createUser": user, "pwd": "pw", "roles": ["readWrite"]},
        )
        .await
        .unwrap();
    }
    for db in ["shop", "hr", "ops"] {
        command(
            &boss,
            db,
            doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]},
        )
        .await
        .unwrap();
    }
    let ann = client(&handle, Some(("ann", "pw", "shop", "SCRAM-SHA-256"))).await;
    let bob = client(&handle, Some(("bob", "pw", "shop", "SCRAM-SHA-256"))).await;
    let opened = command(&ann, "shop", doc! {"find": "c", "batchSize": 1})
        .await
        .unwrap();
    let id = opened
        .get_document("cursor")
        .unwrap()
        .get_i64("id")
        .unwrap();

    // Another user of the same database may neither read nor kill it.
    let err = command(&bob, "shop", doc! {"getMore": id, "collection": "c"})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    assert!(
        err.to_string()
            .contains("not created by the authenticated user"),
        "{err}"
    );
    let err = command(&bob, "shop", doc! {"killCursors": "c", "cursors": [id]})
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(13), "{err}");
    // Its owner still can.
    let more = command(
        &ann,
        "shop",
        doc! {"getMore": id, "collection": "c", "batchSize": 1},
    )
    .await
    .unwrap();
    assert_eq!(
        more.get_document("cursor")
            .unwrap()
            .get_array("nextBatch")
            .unwrap()
            .len(),
        1
    );
    let killed = command(&ann, "shop", doc! {"killCursors": "c", "cursors": [id]})
        .await
        .unwrap();
    assert_eq!(
        killed.get_array("cursorsKilled").unwrap().len(),
        1,
        "{killed}"
    );

    // listDatabases shows each user the databases it has a role on; root sees all.
    let names = |reply: Document| -> Vec<String> {
        reply
            .get_array("databases")
            .unwrap()
            .iter()
            .map(|d| d.as_document().unwrap().get_str("name").unwrap().to_owned())
            .collect()
    };
    let cid = client(&handle, Some(("cid", "pw", "hr", "SCRAM-SHA-256"))).await;
    let listed = command(&cid, "admin", doc! {"listDatabases": 1, "nameOnly": true})
        .await
        .unwrap();
    assert_eq!(names(listed), vec!["hr"]);
    let listed = command(&boss, "admin", doc! {"listDatabases": 1, "nameOnly": true})
        .await
        .unwrap();
    let all = names(listed);
    for db in ["admin", "hr", "ops", "shop"] {
        assert!(all.iter().any(|n| n == db), "{all:?}");
    }
    handle.shutdown().await;
}
