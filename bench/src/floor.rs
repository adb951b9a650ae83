//! The floor: a tokio ping-pong over TCP loopback, each message length-prefixed as the
//! wire protocol's are, with the request and reply sizes of the workload it stands beside.
//! Nothing can answer a request on one connection faster than this machine echoes bytes.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Round trips per second of `n` exchanges of `request` bytes answered by `reply` bytes.
pub async fn ping_pong(n: usize, request: usize, reply: usize) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let echo = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        socket.set_nodelay(true).expect("nodelay");
        let mut answer = vec![0u8; reply];
        answer[..4].copy_from_slice(&(reply as u32).to_le_bytes());
        let mut buf = vec![0u8; request];
        while read_message(&mut socket, &mut buf).await {
            if socket.write_all(&answer).await.is_err() {
                break;
            }
        }
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.set_nodelay(true).expect("nodelay");
    let mut message = vec![0u8; request];
    message[..4].copy_from_slice(&(request as u32).to_le_bytes());
    let mut buf = vec![0u8; reply];
    let started = Instant::now();
    for _ in 0..n {
        client.write_all(&message).await.expect("send");
        assert!(
            read_message(&mut client, &mut buf).await,
            "the echo answers"
        );
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(client);
    let _ = echo.await;
    rate
}

/// Reads one length-prefixed message into `buf` (grown as needed); false at the end.
async fn read_message(socket: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut len = [0u8; 4];
    if socket.read_exact(&mut len).await.is_err() {
        return false;
    }
    let len = u32::from_le_bytes(len) as usize;
    buf.resize(len.max(4), 0);
    socket.read_exact(&mut buf[4..len.max(4)]).await.is_ok()
}
