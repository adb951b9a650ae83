//! odm-server in this process, on a runtime of its own (two worker threads, as the
//! binary has on this machine), so that the client's scheduler does not run its tasks.

use std::sync::mpsc;
use std::thread::JoinHandle;

use odm_server::{Config, Server};

pub struct Embedded {
    pub uri: String,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Embedded {
    /// Starts an in-memory server and returns once it listens.
    pub fn start() -> Embedded {
        let (started, uri) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("the server's runtime");
            runtime.block_on(async move {
                let handle = Server::start(Config::in_memory())
                    .await
                    .expect("odm-server starts");
                started
                    .send(handle.uri())
                    .expect("the bench waits for the address");
                let _ = stopped.await;
                handle.shutdown().await;
            });
        });
        let uri = uri.recv().expect("the server reports its address");
        Embedded { uri, stop, thread }
    }

    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
