//! SCRAM (RFC 5802), the server's side, with SHA-1 and SHA-256 (RFC 7677), as MongoDB
//! runs it over `saslStart`/`saslContinue`.
//!
//! ```text
//! client-first   n,,n=<user>,r=<client nonce>
//! server-first   r=<client nonce><server nonce>,s=<salt, base64>,i=<iterations>
//! client-final   c=biws,r=<nonce>,p=<proof, base64>
//! server-final   v=<server signature, base64>
//! ```
//!
//! Only what a password becomes is stored ([`Credential`]: salt, iterations, StoredKey,
//! ServerKey); the proof is checked by recomputing the client key from it and comparing
//! its hash with StoredKey in constant time. MongoDB's two mechanisms differ in the
//! password they salt: SCRAM-SHA-256 uses the password after SASLprep, SCRAM-SHA-1 the
//! hex MD5 of `user:mongo:password` (the "digest" older drivers compute). The hashes,
//! HMAC, PBKDF2 and comparison are RustCrypto's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq;

/// A SCRAM mechanism MongoDB offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Sha1,
    Sha256,
}

impl Mechanism {
    pub const ALL: [Mechanism; 2] = [Mechanism::Sha1, Mechanism::Sha256];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// mongod's default iteration counts (`scramIterationCount`,
    /// `scramSHA256IterationCount`).
    pub fn default_iterations(self) -> u32 {
        match self {
            Mechanism::Sha1 => 10_000,
            Mechanism::Sha256 => 15_000,
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Mechanism::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Mechanism::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
            Mechanism::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => {
                let mut out = [0u8; 20];
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            Mechanism::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }

    /// The password this mechanism salts: SASLprep'd for SHA-256, MongoDB's digest for
    /// SHA-1. `None`: a password SASLprep refuses (prohibited characters).
    pub fn prepared_password(self, user: &str, password: &str) -> Option<Vec<u8>> {
        match self {
            Mechanism::Sha1 => {
                let digest = Md5::digest(format!("{user}:mongo:{password}").as_bytes());
                Some(hex::encode(digest).into_bytes())
            }
            Mechanism::Sha256 => stringprep::saslprep(password)
                .ok()
                .map(|p| p.as_bytes().to_vec()),
        }
    }
}

/// HMAC-SHA-256 of `data` under `key` (32 bytes).
pub fn keyed_digest(key: &[u8], data: &[u8]) -> Vec<u8> {
    Mechanism::Sha256.hmac(key, data)
}

/// What a password becomes for one mechanism: all the server keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Credential {
    /// Derives the keys from a prepared password ([`Mechanism::prepared_password`]).
    pub fn derive(mechanism: Mechanism, prepared: &[u8], salt: Vec<u8>, iterations: u32) -> Self {
        let salted = mechanism.salted_password(prepared, &salt, iterations);
        let client_key = mechanism.hmac(&salted, b"Client Key");
        Credential {
            iterations,
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(&salted, b"Server Key"),
            salt,
        }
    }

    /// A new credential with a random salt and mongod's iteration count.
    pub fn new(mechanism: Mechanism, prepared: &[u8]) -> Self {
        let salt_len = match mechanism {
            Mechanism::Sha1 => 16,
            Mechanism::Sha256 => 28,
        };
        let salt: Vec<u8> = (0..salt_len).map(|_| rand::random::<u8>()).collect();
        Credential::derive(mechanism, prepared, salt, mechanism.default_iterations())
    }
}

/// Why a conversation failed. Each reaches the client as `AuthenticationFailed`; the
/// reason goes to the log only, so that a client cannot tell an unknown user from a
/// wrong password.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("channel binding is not supported")]
    ChannelBinding,
    #[error("the nonce does not continue the conversation's")]
    Nonce,
    #[error("the proof does not match the stored key")]
    Proof,
}

/// A conversation after the server's first message, waiting for the client's final one.
#[derive(Clone, Debug)]
pub struct ServerFirst {
    pub mechanism: Mechanism,
    /// The user the client named (after `=2C`/`=3D` unescaping).
    pub user: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    /// The user's credential, or `None` for an unknown user: the conversation then runs
    /// to its end with made-up keys and fails there, as a wrong password does.
    credential: Option<Credential>,
}

/// Reads a client-first message: the user it names and the bare part (without the GS2
/// header).
pub fn parse_client_first(message: &str) -> Result<(String, String, String), ScramError> {
    let (gs2, bare) = match message.strip_prefix("n,") {
        Some(rest) => ("n", rest),
        None if message.starts_with("y,") => ("y", &message[2..]),
        None if message.starts_with("p=") => return Err(ScramError::ChannelBinding),
        None => return Err(ScramError::Malformed("a GS2 header must start the message")),
    };
    let _ = gs2;
    // An authorization identity (`a=`) before the second comma is not used by MongoDB.
    let Some((_, bare)) = bare.split_once(',') else {
        return Err(ScramError::Malformed("the GS2 header has no end"));
    };
    let mut user = None;
    let mut nonce = None;
    for attribute in bare.split(',') {
        match attribute.split_once('=') {
            Some(("n", v)) => user = Some(unescape(v)?),
            Some(("r", v)) => nonce = Some(v.to_string()),
            Some(("m", _)) => return Err(ScramError::Malformed("extensions are not supported")),
            _ => {}
        }
    }
    match (user, nonce) {
        (Some(user), Some(nonce)) if !nonce.is_empty() => Ok((user, nonce, bare.to_string())),
        _ => Err(ScramError::Malformed("the first message needs n= and r=")),
    }
}

fn unescape(name: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("a user name has a bad escape")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

impl ServerFirst {
    /// Answers a client-first message. `credential` is the named user's (`None` if there
    /// is no such user: `fake_salt` then stands in for a salt, stable per user name so
    /// that asking twice does not reveal the user is unknown).
    pub fn start(
        mechanism: Mechanism,
        client_first: &str,
        credential: impl FnOnce(&str) -> Option<Credential>,
        server_nonce: &str,
        fake_salt: impl FnOnce(&str) -> Vec<u8>,
    ) -> Result<(ServerFirst, String), ScramError> {
        let (user, client_nonce, bare) = parse_client_first(client_first)?;
        let credential = credential(&user);
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (fake_salt(&user), mechanism.default_iterations()),
        };
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!("r={nonce},s={},i={iterations}", BASE64.encode(salt));
        Ok((
            ServerFirst {
                mechanism,
                user,
                client_first_bare: bare,
                server_first: server_first.clone(),
                nonce,
                credential,
            },
            server_first,
        ))
    }

    /// Checks the client's final message; on success returns the server-final message.
    pub fn finish(&self, client_final: &str) -> Result<String, ScramError> {
        let Some((without_proof, proof)) = client_final.rsplit_once(",p=") else {
            return Err(ScramError::Malformed("the final message has no proof"));
        };
        let mut binding = None;
        let mut nonce = None;
        for attribute in without_proof.split(',') {
            match attribute.split_once('=') {
                Some(("c", v)) => binding = Some(v),
                Some(("r", v)) => nonce = Some(v),
                _ => {}
            }
        }
        // "biws" is base64 of "n,,", "eSws" of "y,,": no channel binding either way.
        if !matches!(binding, Some("biws" | "eSws")) {
            return Err(ScramError::ChannelBinding);
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(ScramError::Nonce);
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("the proof is not base64"))?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let m = self.mechanism;
        // An unknown user gets the same computation against keys that match nothing.
        let unknown = Credential {
            iterations: 0,
            salt: Vec::new(),
            stored_key: vec![0; m.hash(b"").len()],
            server_key: vec![0; m.hash(b"").len()],
        };
        let credential = self.credential.as_ref().unwrap_or(&unknown);
        let signature = m.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(ScramError::Proof);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let matches: bool = m.hash(&client_key).ct_eq(&credential.stored_key).into();
        if !matches || self.credential.is_none() {
            return Err(ScramError::Proof);
        }
        let server_signature = m.hmac(&credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", BASE64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 / 7677's example conversation: the password as the mechanism salts
    /// it, the server's nonce and salt (4096 iterations), the client's messages, and
    /// the server messages expected.
    struct Vector {
        mechanism: Mechanism,
        prepared: &'static [u8],
        salt: &'static str,
        server_nonce: &'static str,
        client_first: &'static str,
        server_first: &'static str,
        client_final: &'static str,
        server_final: &'static str,
    }

    fn run(v: Vector) {
        let m = v.mechanism;
        let credential = Credential::derive(m, v.prepared, BASE64.decode(v.salt).unwrap(), 4096);
        let (conversation, server_first) = ServerFirst::start(
            m,
            v.client_first,
            |user| (user == "user").then(|| credential.clone()),
            v.server_nonce,
            |_| unreachable!("the user exists"),
        )
        .unwrap();
        assert_eq!(server_first, v.server_first);
        assert_eq!(conversation.finish(v.client_final).unwrap(), v.server_final);
        // The proof's last character changed: refused.
        let mut tampered = v.client_final.to_string();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(conversation.finish(&tampered).is_err());
    }

    #[test]
    fn rfc_5802_sha1_test_vector() {
        // RFC 5802 section 5 salts the plain password ("pencil") with SHA-1; MongoDB's
        // digest is a separate step, checked below.
        run(Vector {
            mechanism: Mechanism::Sha1,
            prepared: b"pencil",
            salt: "QSXCR+Q6sek8bf92",
            server_nonce: "3rfcNHYJY1ZVvWVs7j",
            client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        });
    }

    #[test]
    fn rfc_7677_sha256_test_vector() {
        run(Vector {
            mechanism: Mechanism::Sha256,
            prepared: b"pencil",
            salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
            server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        });
    }

    #[test]
    fn mongodb_sha1_salts_the_digest_and_sha256_the_saslprepped_password() {
        // MongoDB's SCRAM-SHA-1: hex(MD5("user:mongo:pencil")).
        assert_eq!(
            Mechanism::Sha1.prepared_password("user", "pencil").unwrap(),
            b"1c33006ec1ffd90f9cadcbcc0e118200".to_vec()
        );
        // SASLprep maps a non-ASCII space to a space and drops soft hyphens.
        assert_eq!(
            Mechanism::Sha256
                .prepared_password("user", "I\u{00AD}X\u{00A0}")
                .unwrap(),
            b"IX ".to_vec()
        );
        assert_eq!(
            Mechanism::Sha256.prepared_password("user", "a\u{0007}"),
            None
        );
    }

    #[test]
    fn an_unknown_user_fails_at_the_same_step_as_a_wrong_password() {
        let m = Mechanism::Sha256;
        let (conversation, server_first) =
            ServerFirst::start(m, "n,,n=ghost,r=abc", |_| None, "def", |_| vec![7; 28]).unwrap();
        assert!(server_first.starts_with("r=abcdef,s="));
        assert!(server_first.ends_with(",i=15000"));
        let proof = BASE64.encode([0u8; 32]);
        assert_eq!(
            conversation.finish(&format!("c=biws,r=abcdef,p={proof}")),
            Err(ScramError::Proof)
        );
    }

    #[test]
    fn malformed_messages_and_channel_binding_are_refused() {
        for bad in [
            "",
            "n,,r=x",
            "p=tls-unique,,n=u,r=x",
            "x,,n=u,r=x",
            "n,,n=a=2,r=x",
        ] {
            assert!(parse_client_first(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_client_first("n,,n=a=2Cb=3Dc,r=x").unwrap().0, "a,b=c");
    }
}
