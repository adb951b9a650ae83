//! Group commit of plain writes: several commands' writes in one storage transaction.
//!
//! On disk, a commit costs far more than the writes in it: every table a write touches
//! has its path of pages copied and later written out, and the flush that makes it
//! durable writes them all. So when a write finishes its work while another is waiting
//! to write, it does not commit: it leaves the transaction open
//! ([`WriteTxn::park`](crate::storage::WriteTxn::park)) for the next one, which continues
//! it, and so on; the last of the batch (no one waiting behind it) commits for all. The
//! members wait for that commit before they answer, so nothing is acknowledged or seen
//! before it is committed, and each answers with the batch's commit time.
//!
//! A member whose work fails after joining a batch cannot take back only its own writes:
//! it drops the whole transaction and the batch ends [`Outcome::Aborted`]. The members
//! then run their work again, as a write blocked by a transaction's lock does. A member
//! that waits too long (the writer it left the batch to went another way) commits the
//! batch itself.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use bson::Timestamp;

/// How long a member waits for the batch's commit before it commits the batch itself.
pub const MEMBER_WAIT: Duration = Duration::from_millis(2);

/// The most commands in one batch: a bound on how long the first of them waits.
pub const MAX_MEMBERS: usize = 64;

/// How a batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed at this time (the last member's).
    Committed(Timestamp),
    /// Dropped: its members run their work again.
    Aborted,
}

#[derive(Default)]
struct State {
    /// The batch being filled.
    generation: u64,
    /// Commands whose writes are in it.
    members: usize,
    /// The latest of their times: the batch's commit time.
    last: Option<Timestamp>,
    /// Whether one of them answers only once its write is on disk.
    durable: bool,
    /// How recent batches ended, for members that wake late.
    ended: BTreeMap<u64, Outcome>,
}

#[derive(Default)]
pub struct Batches {
    state: Mutex<State>,
    ended: Condvar,
}

/// Outcomes kept for members that wake late; a member never waits longer than a few
/// batches' time, and each batch ends with every member woken.
const KEPT: usize = 1024;

impl Batches {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The batch a writer holding the commit lock writes into, and whether earlier
    /// commands' writes are already in it.
    pub fn current(&self) -> (u64, bool) {
        let state = self.state();
        (state.generation, state.members > 0)
    }

    /// Counts a command whose writes (the last at `ts`) are now in the batch; returns
    /// how many are. `durable`: it answers only once its write is on disk.
    pub fn join(&self, ts: Timestamp, durable: bool) -> usize {
        let mut state = self.state();
        state.members += 1;
        state.last = state.last.max(Some(ts));
        state.durable |= durable;
        state.members
    }

    /// The time the open batch commits at (its latest member's), and whether its
    /// commit must be durable.
    pub fn to_commit(&self) -> (Option<Timestamp>, bool) {
        let state = self.state();
        (state.last, state.durable)
    }

    /// Ends batch `generation` (the current one) and wakes its members.
    pub fn end(&self, generation: u64, outcome: Outcome) {
        let mut state = self.state();
        debug_assert_eq!(state.generation, generation, "only the open batch ends");
        state.ended.insert(generation, outcome);
        while state.ended.len() > KEPT {
            state.ended.pop_first();
        }
        state.generation += 1;
        state.members = 0;
        state.last = None;
        state.durable = false;
        self.ended.notify_all();
    }

    /// Waits for batch `generation` to end, at most `at_most`; `None` if it is still
    /// open then.
    pub fn wait(&self, generation: u64, at_most: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + at_most;
        let mut state = self.state();
        loop {
            if let Some(outcome) = state.ended.get(&generation) {
                return Some(*outcome);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .ended
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// How batch `generation` ended, if it has.
    pub fn outcome(&self, generation: u64) -> Option<Outcome> {
        self.state().ended.get(&generation).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_see_how_their_batch_ended() {
        let batches = Batches::default();
        assert_eq!(batches.current(), (0, false));
        let ts = Timestamp {
            time: 1,
            increment: 2,
        };
        let earlier = Timestamp {
            time: 1,
            increment: 1,
        };
        assert_eq!(batches.join(ts, false), 1);
        assert_eq!(batches.current(), (0, true));
        assert_eq!(batches.to_commit(), (Some(ts), false));
        assert_eq!(batches.join(earlier, true), 2);
        assert_eq!(batches.to_commit(), (Some(ts), true));
        assert_eq!(batches.wait(0, Duration::from_millis(5)), None);
        std::thread::scope(|s| {
            s.spawn(|| batches.end(0, Outcome::Committed(ts)));
            assert_eq!(
                batches.wait(0, Duration::from_secs(5)),
                Some(Outcome::Committed(ts))
            );
        });
        assert_eq!(batches.current(), (1, false));
        assert_eq!(batches.to_commit(), (None, false));
        batches.join(ts, false);
        batches.end(1, Outcome::Aborted);
        assert_eq!(batches.outcome(1), Some(Outcome::Aborted));
        assert_eq!(batches.outcome(0), Some(Outcome::Committed(ts)));
    }
}
