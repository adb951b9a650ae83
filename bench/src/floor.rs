//! The floor: a tokio ping-pong over TCP loopback and over a Unix socket, each message
//! length-prefixed as the wire protocol's are, with the request and reply sizes of the
//! workload it stands beside. The echo runs on a [`Host`] (two workers, not the client's
//! runtime), as the servers do. Nothing can answer a request on one connection faster
//! than this machine echoes bytes.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::host::Host;
use crate::measure::{Outcome, failed};

pub const TCP: &str = "floor: TCP ping-pong";
#[cfg(unix)]
pub const UNIX: &str = "floor: Unix ping-pong";

#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Tcp,
    #[cfg(unix)]
    Unix,
}

impl Transport {
    pub fn all() -> Vec<Transport> {
        vec![
            Transport::Tcp,
            #[cfg(unix)]
            Transport::Unix,
        ]
    }

    pub fn peer(self) -> &'static str {
        match self {
            Transport::Tcp => TCP,
            #[cfg(unix)]
            Transport::Unix => UNIX,
        }
    }
}

/// Round trips per second of `n` exchanges of `request` bytes answered by `reply` bytes.
pub async fn ping_pong(
    host: &Host,
    transport: Transport,
    n: usize,
    (request, reply): (usize, usize),
) -> Outcome {
    match transport {
        Transport::Tcp => {
            let listener = host
                .run(TcpListener::bind("127.0.0.1:0"))
                .await
                .map_err(failed)?;
            let addr = listener.local_addr().map_err(failed)?;
            let echo = host.spawn(async move {
                let (socket, _) = listener.accept().await?;
                socket.set_nodelay(true)?;
                echo(socket, request, reply).await;
                Ok::<(), std::io::Error>(())
            });
            let client = TcpStream::connect(addr).await.map_err(failed)?;
            client.set_nodelay(true).map_err(failed)?;
            let rate = exchange(client, n, request, reply).await;
            let _ = echo.await;
            rate
        }
        #[cfg(unix)]
        Transport::Unix => {
            let dir = tempfile::tempdir().map_err(failed)?;
            let path = dir.path().join("floor.sock");
            let bound = path.clone();
            let listener = host
                .run(async move { tokio::net::UnixListener::bind(bound) })
                .await
                .map_err(failed)?;
            let echo = host.spawn(async move {
                let (socket, _) = listener.accept().await?;
                echo(socket, request, reply).await;
                Ok::<(), std::io::Error>(())
            });
            let client = tokio::net::UnixStream::connect(&path)
                .await
                .map_err(failed)?;
            let rate = exchange(client, n, request, reply).await;
            let _ = echo.await;
            rate
        }
    }
}

async fn exchange<S>(mut client: S, n: usize, request: usize, reply: usize) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut message = vec![0u8; request];
    message[..4].copy_from_slice(&(request as u32).to_le_bytes());
    let mut buf = vec![0u8; reply];
    let started = Instant::now();
    for _ in 0..n {
        client.write_all(&message).await.map_err(failed)?;
        if !read_message(&mut client, &mut buf).await {
            return Err("the echo hung up".into());
        }
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Answers every message with `reply` bytes until the client hangs up.
async fn echo<S>(mut socket: S, request: usize, reply: usize)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut answer = vec![0u8; reply];
    answer[..4].copy_from_slice(&(reply as u32).to_le_bytes());
    let mut buf = vec![0u8; request];
    while read_message(&mut socket, &mut buf).await {
        if socket.write_all(&answer).await.is_err() {
            break;
        }
    }
}

/// Reads one length-prefixed message into `buf` (grown as needed); false at the end.
async fn read_message<S: AsyncRead + Unpin>(socket: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut len = [0u8; 4];
    if socket.read_exact(&mut len).await.is_err() {
        return false;
    }
    let len = (u32::from_le_bytes(len) as usize).max(4);
    buf.resize(len, 0);
    socket.read_exact(&mut buf[4..len]).await.is_ok()
}
