//! A runtime of its own for whatever answers the benchmark's requests: the floor's echo,
//! the canned server and odm-server. Two worker threads, as the odm-server binary has on
//! this machine, and never the client's runtime: every peer's server side is scheduled
//! the same way, so that their figures compare.

use std::future::Future;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

pub struct Host {
    /// Taken on drop: a runtime is shut down without blocking, since the host may be
    /// dropped inside the client's runtime.
    runtime: Option<Runtime>,
}

impl Host {
    pub fn new() -> Host {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-host")
            .enable_all()
            .build()
            .expect("the host's runtime");
        Host {
            runtime: Some(runtime),
        }
    }

    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.as_ref().expect("running").spawn(future)
    }

    /// Runs `future` on the host and waits for it from any runtime: what it creates
    /// (listeners, servers) is registered with the host's reactor, not the caller's.
    pub async fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn(future).await.expect("a host task panicked")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
