//! TLS with the official Rust driver: a `tls=true` URI trusting the test CA reaches the
//! server; a plain client does not; with `--tls-ca`, a client must present a certificate
//! the CA signed. Certificates are made by rcgen in the test.

mod common;

use bson::doc;
use common::certs::write_test_certificates;
use mongodb::Client;
use odm_server::TlsConfig;
use odm_server::{Config, Server};

async fn ping(uri: String) -> Result<bson::Document, mongodb::error::Error> {
    let client = Client::with_uri_str(uri).await?;
    let out = client.database("admin").run_command(doc! {"ping": 1}).await;
    client.shutdown().await;
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn drivers_connect_over_tls_and_plain_clients_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let certs = write_test_certificates(dir.path()).unwrap();
    let tls = TlsConfig {
        cert: certs.server_cert.clone(),
        key: certs.server_key.clone(),
        ca: None,
    };
    let handle = Server::start(Config::in_memory().tls(tls)).await.unwrap();
    let base = format!(
        "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=2000",
        handle.addr
    );
    let ca = certs.ca.display();
    ping(format!("{base}&tls=true&tlsCAFile={ca}"))
        .await
        .unwrap();
    // Over TLS, the driver's whole round: write, read back.
    let client = Client::with_uri_str(format!("{base}&tls=true&tlsCAFile={ca}"))
        .await
        .unwrap();
    let coll = client.database("t").collection::<bson::Document>("c");
    coll.insert_one(doc! {"_id": 1, "secret": "over tls"})
        .await
        .unwrap();
    assert_eq!(
        coll.find_one(doc! {})
            .await
            .unwrap()
            .unwrap()
            .get_str("secret")
            .unwrap(),
        "over tls"
    );
    client.shutdown().await;
    // A client that does not trust the CA, and one that does not speak TLS, fail.
    assert!(ping(format!("{base}&tls=true")).await.is_err());
    assert!(ping(base.clone()).await.is_err());
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_ca_the_server_requires_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = write_test_certificates(dir.path()).unwrap();
    let tls = TlsConfig {
        cert: certs.server_cert.clone(),
        key: certs.server_key.clone(),
        ca: Some(certs.ca.clone()),
    };
    let handle = Server::start(Config::in_memory().tls(tls)).await.unwrap();
    let base = format!(
        "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=2000&tls=true&tlsCAFile={}",
        handle.addr,
        certs.ca.display()
    );
    ping(format!(
        "{base}&tlsCertificateKeyFile={}",
        certs.client.display()
    ))
    .await
    .unwrap();
    assert!(ping(base).await.is_err());
    handle.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_wrong_file_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let certs = write_test_certificates(dir.path()).unwrap();
    let missing = TlsConfig {
        cert: dir.path().join("nope.pem"),
        key: certs.server_key.clone(),
        ca: None,
    };
    let err = Server::start(Config::in_memory().tls(missing))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("nope.pem"), "{err}");
    let swapped = TlsConfig {
        cert: certs.server_key.clone(),
        key: certs.server_cert.clone(),
        ca: None,
    };
    assert!(
        Server::start(Config::in_memory().tls(swapped))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stalls_in_the_handshake_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let certs = write_test_certificates(dir.path()).unwrap();
    let tls = TlsConfig {
        cert: certs.server_cert.clone(),
        key: certs.server_key.clone(),
        ca: None,
    };
    let config = Config::in_memory().tls(tls);
    let stall = config.stall_timeout;
    let handle = Server::start(config).await.unwrap();
    // Nothing at all, and the first bytes of a ClientHello record then nothing.
    for opening in [&[][..], &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01][..]] {
        let mut stream = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
        stream.write_all(opening).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let ended = tokio::time::timeout(stall * 5, async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "a stalled handshake kept its connection");
        let took = started.elapsed();
        // rustls reads once more after partial progress: one or two stall timeouts.
        assert!(
            took >= stall && took < 2 * stall + std::time::Duration::from_secs(1),
            "closed after {took:?}"
        );
    }
    // Others still get in.
    let ca = certs.ca.display();
    ping(format!(
        "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=2000&tls=true&tlsCAFile={ca}",
        handle.addr
    ))
    .await
    .unwrap();
    handle.shutdown().await;
}
