//! Test certificates made with rcgen: a CA, a server certificate it signs for
//! `localhost` and `127.0.0.1`, and a client certificate it signs, written as PEM files.
//! Shared by the TLS tests and `examples/test_certificates.rs` (which CI uses for the
//! other drivers).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

/// Where the PEM files are.
pub struct TestCertificates {
    /// The CA's certificate: what clients trust (`tlsCAFile`) and the server checks client
    /// certificates against (`--tls-ca`).
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate and its key in one file (`tlsCertificateKeyFile`).
    pub client: PathBuf,
}

/// Writes a fresh CA, server and client certificate under `dir`.
pub fn write_test_certificates(dir: &Path) -> Result<TestCertificates, Box<dyn std::error::Error>> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "odm test CA");
    let ca = ca_params.self_signed(&ca_key)?;

    let server_key = KeyPair::generate()?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server_params.signed_by(&server_key, &ca, &ca_key)?;

    let client_key = KeyPair::generate()?;
    let mut client_params = CertificateParams::new(Vec::<String>::new())?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "odm test client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key)?;

    let paths = TestCertificates {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client: dir.join("client.pem"),
    };
    std::fs::write(&paths.ca, ca.pem())?;
    std::fs::write(&paths.server_cert, server.pem())?;
    std::fs::write(&paths.server_key, server_key.serialize_pem())?;
    std::fs::write(&paths.client, client.pem() + &client_key.serialize_pem())?;
    Ok(paths)
}
