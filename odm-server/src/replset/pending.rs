//! The writes under way (from the start of their storage transaction to its commit), so
//! that a durable write can let them commit before it flushes: one fsync then covers
//! them all. Without it, writers that queue for the commit lock behind a flush each pay
//! a flush of their own (group commit in name only).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct PendingWrites {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One write under way; it ends when this is dropped.
pub struct Pending<'a>(&'a PendingWrites);

impl PendingWrites {
    pub fn enter(&self) -> Pending<'_> {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Pending(self)
    }

    /// How many writes are under way.
    pub fn count(&self) -> usize {
        *self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until no write is under way, or `at_most`.
    pub fn wait_idle(&self, at_most: Duration) {
        let count = self.count.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .idle
            .wait_timeout_while(count, at_most, |n| *n > 0)
            .unwrap_or_else(|p| p.into_inner());
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(|p| p.into_inner());
        *count -= 1;
        if *count == 0 {
            self.0.idle.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn waits_for_writes_under_way_and_no_longer() {
        let pending = PendingWrites::default();
        let started = Instant::now();
        pending.wait_idle(Duration::from_secs(5));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "nothing under way"
        );
        std::thread::scope(|s| {
            let write = pending.enter();
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                drop(write);
            });
            let started = Instant::now();
            pending.wait_idle(Duration::from_secs(5));
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(15), "{waited:?}");
            assert!(waited < Duration::from_secs(4), "{waited:?}");
        });
        let _stuck = pending.enter();
        let started = Instant::now();
        pending.wait_idle(Duration::from_millis(10));
        assert!(started.elapsed() < Duration::from_secs(1), "bounded");
    }
}
