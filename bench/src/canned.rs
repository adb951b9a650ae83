//! The driver's own floor: a server that answers every command from memory with one
//! canned reply (and the handshake with a canned `hello`), doing no work at all. What the
//! raw driver reaches against it is the most any server can give through that driver on
//! this machine, so it tells the driver's cost apart from the server's. It runs on a
//! [`Host`], as odm-server does.

use bson::{Document, doc};
use odm_server::wire::{self, Request, op_msg, op_query};
use tokio::io::AsyncWriteExt;
use tokio::io::BufReader;
use tokio::net::TcpListener;

use crate::host::Host;

pub const PEER: &str = "canned server (driver ceiling)";

/// A running canned server; dropping it stops accepting.
pub struct Canned {
    pub uri: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `hello` reply of a standalone server, as a driver needs it.
pub fn hello_reply() -> Document {
    doc! {
        "helloOk": true, "isWritablePrimary": true, "ismaster": true,
        "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000, "localTime": bson::DateTime::now(),
        "logicalSessionTimeoutMinutes": 30, "connectionId": 1,
        "minWireVersion": 0, "maxWireVersion": 21, "readOnly": false, "ok": 1.0,
    }
}

/// A `find` answered with `doc` and a closed cursor.
pub fn find_reply(ns: &str, doc: Document) -> Document {
    doc! {"cursor": {"firstBatch": [doc], "id": 0_i64, "ns": ns}, "ok": 1.0}
}

/// An insert of one document.
pub fn insert_reply() -> Document {
    doc! {"n": 1, "ok": 1.0}
}

/// An update of one document.
pub fn update_reply() -> Document {
    doc! {"n": 1, "nModified": 1, "ok": 1.0}
}

/// Starts a server on 127.0.0.1 that answers every command but the handshake with `reply`.
pub async fn start(host: &Host, reply: Document) -> std::io::Result<Canned> {
    let listener = host.run(TcpListener::bind("127.0.0.1:0")).await?;
    let addr = listener.local_addr()?;
    let task = host.spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            if socket.set_nodelay(true).is_ok() {
                tokio::spawn(serve(socket, reply.clone()));
            }
        }
    });
    Ok(Canned {
        uri: format!("mongodb://{addr}/?directConnection=true"),
        task,
    })
}

async fn serve(socket: tokio::net::TcpStream, reply: Document) {
    let hello = hello_reply();
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some((header, body))) = wire::read_message(&mut reader).await {
        let bytes = match wire::parse_request(&header, &body) {
            Ok(Request::Query(_)) => op_query::encode_reply(header.request_id, 0, &hello),
            Ok(Request::Msg(msg)) => {
                let name = msg.body.keys().next().map(String::as_str);
                let answer = match name {
                    Some("hello" | "isMaster" | "ismaster") => &hello,
                    _ => &reply,
                };
                op_msg::encode_reply(header.request_id, answer)
            }
            Err(_) => return,
        };
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
}
