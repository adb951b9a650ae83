//! Accepting connections and keeping the register of open ones.
//!
//! The listeners are async tasks on the embedding runtime (TCP, and a Unix socket where
//! the configuration names one); each accepted socket is turned into a blocking one and
//! served on a thread of its own (see the parent module for why). The register holds,
//! for every open connection, a way to shut its reading side: shutdown closes them all
//! at once, which ends each thread between requests while a command in flight still
//! sends its reply, and then waits for the threads to finish.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ConnInfo;
use crate::state::ServerState;

/// Stack for a connection's thread: commands start with what `depth` budgets for and
/// grow from there; the pages are only touched when a command goes deep.
const CONNECTION_STACK: usize = 8 * 1024 * 1024;

/// Shuts the reading side of one connection's socket.
pub(crate) type Closer = Box<dyn Fn() + Send + Sync>;

/// The open connections.
#[derive(Default)]
pub(crate) struct Connections {
    open: Mutex<Open>,
    all_closed: Condvar,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Open {
    closers: HashMap<u64, Closer>,
    /// Set by [`Connections::close_all`]: a connection accepted after it is refused.
    closing: bool,
}

impl Connections {
    /// Serves `socket` on a new thread. `closer` shuts its reading side.
    fn start<S>(self: &Arc<Self>, state: &Arc<ServerState>, socket: S, peer: String, closer: Closer)
    where
        S: std::io::Read + std::io::Write + Send + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        {
            let mut open = lock(&self.open);
            if open.closing {
                return; // dropping the socket closes it
            }
            open.closers.insert(id, closer);
        }
        let conn = ConnInfo::new(id, peer);
        let register = self.clone();
        let state = state.clone();
        let spawned = std::thread::Builder::new()
            .name("odm-conn".into())
            .stack_size(CONNECTION_STACK)
            .spawn(move || {
                super::serve(socket, conn, &state);
                register.finished(id);
            });
        if let Err(e) = spawned {
            tracing::warn!("could not start a thread for connection {id}: {e}");
            self.finished(id);
        }
    }

    fn finished(&self, id: u64) {
        let mut open = lock(&self.open);
        open.closers.remove(&id);
        if open.closers.is_empty() {
            self.all_closed.notify_all();
        }
    }

    /// Closes every open connection between requests and refuses new ones.
    pub(crate) fn close_all(&self) {
        let mut open = lock(&self.open);
        open.closing = true;
        for close in open.closers.values() {
            close();
        }
    }

    /// Waits until every connection's thread has finished.
    pub(crate) fn wait_closed(&self) {
        let mut open = lock(&self.open);
        while !open.closers.is_empty() {
            open = self
                .all_closed
                .wait(open)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A listener whose connections are served on threads: it accepts one and hands it over
/// as a blocking stream, with the client's name and its [`Closer`].
pub(crate) trait Listen: Send + 'static {
    type Stream: std::io::Read + std::io::Write + Send + 'static;

    /// The next connection, its socket given `stall` as read and write timeout (see
    /// [`crate::Config::stall_timeout`]).
    fn accept(
        &self,
        stall: Duration,
    ) -> impl std::future::Future<Output = std::io::Result<(Self::Stream, String, Closer)>> + Send;
}

impl Listen for TcpListener {
    type Stream = std::net::TcpStream;

    async fn accept(&self, stall: Duration) -> std::io::Result<(Self::Stream, String, Closer)> {
        let (socket, peer) = TcpListener::accept(self).await?;
        socket.set_nodelay(true)?;
        let socket = socket.into_std()?;
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(stall))?;
        socket.set_write_timeout(Some(stall))?;
        let closer = closer(socket.try_clone()?, std::net::TcpStream::shutdown);
        Ok((socket, peer.to_string(), closer))
    }
}

#[cfg(unix)]
impl Listen for tokio::net::UnixListener {
    type Stream = std::os::unix::net::UnixStream;

    async fn accept(&self, stall: Duration) -> std::io::Result<(Self::Stream, String, Closer)> {
        let (socket, _) = tokio::net::UnixListener::accept(self).await?;
        let socket = socket.into_std()?;
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(stall))?;
        socket.set_write_timeout(Some(stall))?;
        let closer = closer(
            socket.try_clone()?,
            std::os::unix::net::UnixStream::shutdown,
        );
        // mongod's name for a client on its Unix socket.
        Ok((socket, "anonymous unix socket".to_string(), closer))
    }
}

/// A [`Closer`] that shuts the reading side of `handle` (a clone of the served socket).
fn closer<S: Send + Sync + 'static>(
    handle: S,
    shutdown: fn(&S, std::net::Shutdown) -> std::io::Result<()>,
) -> Closer {
    Box::new(move || {
        let _ = shutdown(&handle, std::net::Shutdown::Read);
    })
}

/// Accepts connections until the server stops.
pub(crate) async fn accept_loop<L: Listen>(
    listener: L,
    state: Arc<ServerState>,
    connections: Arc<Connections>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept(state.config.stall_timeout) => match accepted {
                Ok((socket, peer, closer)) => connections.start(&state, socket, peer, closer),
                Err(e) => back_off(e).await,
            },
        }
    }
}

/// Out of file descriptors and the like (or a connection gone before it was taken):
/// back off instead of spinning.
async fn back_off(e: std::io::Error) {
    tracing::warn!("accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
