//! TLS on the TCP listener (`--tls-cert`, `--tls-key`, and `--tls-ca` to require client
//! certificates): rustls with ring's primitives, the provider the official driver
//! already brings.
//!
//! The handshake runs on the connection's own thread, at its first read, like every
//! other read of a connection: a client that never finishes it holds up only itself,
//! never the accept loop, and only for the stall timeout: a handshake is a message
//! begun, so silence in the middle of it ends the connection ([`TlsStream`]; rustls
//! reads once more after partial progress, so that takes one or two stall timeouts).
//! A client that is not speaking TLS fails the handshake and its
//! connection closes with a log line. The Unix socket stays plain: reaching it already
//! takes an account on the machine.

use std::io;
use std::sync::Arc;

use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use tokio::net::TcpListener;

use super::listen::{Closer, Listen};
use crate::config::TlsConfig;

/// The rustls configuration for `tls`, or an error naming the file at fault.
pub(crate) fn server_config(tls: &TlsConfig) -> io::Result<Arc<ServerConfig>> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            invalid(format!(
                "cannot read the certificate chain {}: {e}",
                tls.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(invalid(format!("no certificate in {}", tls.cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| {
        invalid(format!(
            "cannot read the private key {}: {e}",
            tls.key.display()
        ))
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let builder = match &tls.ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(ca)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    invalid(format!(
                        "cannot read the CA certificates {}: {e}",
                        ca.display()
                    ))
                })?;
            for cert in cas {
                roots.add(cert).map_err(|e| {
                    invalid(format!(
                        "a CA certificate in {} is unusable: {e}",
                        ca.display()
                    ))
                })?;
            }
            // Client certificates are required, as mongod requires them once it has a
            // CA file (unless told to allow connections without one).
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    invalid(format!(
                        "the CA certificates in {} cannot verify clients: {e}",
                        ca.display()
                    ))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key).map_err(|e| {
        invalid(format!(
            "the certificate and key do not make a server identity: {e}"
        ))
    })?;
    Ok(Arc::new(config))
}

/// The TCP listener, with TLS on every connection it accepts.
pub(crate) struct TlsListener {
    pub tcp: TcpListener,
    pub config: Arc<ServerConfig>,
}

impl Listen for TlsListener {
    type Stream = TlsStream;

    async fn accept(&self, stall: Duration) -> io::Result<(Self::Stream, String, Closer)> {
        let (socket, peer, closer) = Listen::accept(&self.tcp, stall).await?;
        let tls = ServerConnection::new(self.config.clone()).map_err(io::Error::other)?;
        Ok((TlsStream(StreamOwned::new(tls, socket)), peer, closer))
    }
}

/// A TLS connection. Between messages the connection's reader waits out read
/// timeouts (an idle client is fine); during the handshake a timeout is a stall, and
/// is reported as one that the reader does not wait out.
pub(crate) struct TlsStream(StreamOwned<ServerConnection, std::net::TcpStream>);

impl io::Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let handshaking = self.0.conn.is_handshaking();
        self.0.read(buf).map_err(|e| {
            if handshaking && crate::wire::is_timeout(&e) {
                io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the client stalled in the TLS handshake for the stall timeout",
                )
            } else {
                e
            }
        })
    }
}

impl io::Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
