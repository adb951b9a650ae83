//! Cluster time: the `Timestamp` every write is ordered by.
//!
//! A timestamp is (seconds since the epoch, increment within that second). Each oplog
//! entry gets the next one, handed out while the commit lock is held, so timestamp order
//! is commit order. The seconds follow the wall clock but never go back: after a clock
//! step backwards, or more than 2^32 writes in one second, the increment keeps counting
//! on the last second used. A restarted server starts after the last timestamp in its
//! oplog.

use std::sync::atomic::{AtomicU64, Ordering};

use bson::Timestamp;

/// A timestamp as one number: seconds in the high half, so numbers order as timestamps.
pub fn to_u64(ts: Timestamp) -> u64 {
    (u64::from(ts.time) << 32) | u64::from(ts.increment)
}

pub fn from_u64(n: u64) -> Timestamp {
    Timestamp {
        time: (n >> 32) as u32,
        increment: n as u32,
    }
}

/// The last timestamp handed out.
#[derive(Default)]
pub struct Clock {
    last: AtomicU64,
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

impl Clock {
    /// The next timestamp: later than every one handed out before.
    pub fn tick(&self) -> Timestamp {
        let now = u64::from(now_secs()) << 32;
        let mut last = self.last.load(Ordering::SeqCst);
        loop {
            let next = if now > last { now | 1 } else { last + 1 };
            match self
                .last
                .compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return from_u64(next),
                Err(seen) => last = seen,
            }
        }
    }

    /// Makes every later tick come after `ts` (on startup, from the oplog's last entry).
    pub fn advance_past(&self, ts: Timestamp) {
        self.last.fetch_max(to_u64(ts), Ordering::SeqCst);
    }

    /// The last timestamp handed out.
    pub fn last(&self) -> Timestamp {
        from_u64(self.last.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_grow_and_never_go_back() {
        let clock = Clock::default();
        let far = Timestamp {
            time: u32::MAX - 1,
            increment: 7,
        };
        let a = clock.tick();
        assert!(a.time > 1_600_000_000 && a.increment == 1);
        let b = clock.tick();
        assert!(to_u64(b) > to_u64(a));
        clock.advance_past(far);
        assert_eq!(
            clock.tick(),
            Timestamp {
                time: u32::MAX - 1,
                increment: 8
            }
        );
        assert_eq!(from_u64(to_u64(far)), far);
    }
}
