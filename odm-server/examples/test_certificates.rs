//! Writes test certificates into a directory: a CA (`ca.pem`), a server certificate for
//! `localhost` and `127.0.0.1` (`server.pem`, `server.key`) and a client certificate
//! with its key (`client.pem`). CI's TLS checks with pymongo, the Node.js driver and
//! mongosh use them; never use them for anything else.
//!
//! ```text
//! cargo run -p odm-server --example test_certificates -- DIR
//! ```

#[path = "../tests/common/certs.rs"]
mod certs;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args().nth(1) else {
        return Err("usage: test_certificates DIR".into());
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let written = certs::write_test_certificates(&dir)?;
    println!(
        "wrote {}, {}, {} and {}",
        written.ca.display(),
        written.server_cert.display(),
        written.server_key.display(),
        written.client.display()
    );
    Ok(())
}
