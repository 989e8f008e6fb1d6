//! Counters of live events, for the runtime to expose (metrics, health).

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live-event counters; cheap to bump from any task.
#[derive(Debug, Default)]
pub struct LiveEventsStats {
    pub(crate) accepted: AtomicU64,
    pub(crate) ignored: AtomicU64,
    pub(crate) rejected_too_large: AtomicU64,
    pub(crate) rejected_bad_json: AtomicU64,
    pub(crate) rejected_unauthorized: AtomicU64,
    pub(crate) rejected_invalid: AtomicU64,
    pub(crate) rejected_busy: AtomicU64,
    pub(crate) processed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Events queued (answered 202).
    pub accepted: u64,
    /// Events no processor wanted (answered 200 ignored).
    pub ignored: u64,
    /// Rejected with 413.
    pub rejected_too_large: u64,
    /// Rejected with 400.
    pub rejected_bad_json: u64,
    /// Rejected with 401.
    pub rejected_unauthorized: u64,
    /// Rejected with 422.
    pub rejected_invalid: u64,
    /// Rejected with 503 (queue full or shutting down).
    pub rejected_busy: u64,
    /// Events fully processed and applied.
    pub processed: u64,
    /// `handle_event` attempts retried.
    pub retried: u64,
    /// Events sent to the dead letters.
    pub dead_lettered: u64,
    /// Events queued or in flight now, all paths.
    pub queue_depth: u64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl LiveEventsStats {
    /// The counters now, with `queue_depth` filled in by the caller.
    pub fn snapshot(&self, queue_depth: usize) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            accepted: get(&self.accepted),
            ignored: get(&self.ignored),
            rejected_too_large: get(&self.rejected_too_large),
            rejected_bad_json: get(&self.rejected_bad_json),
            rejected_unauthorized: get(&self.rejected_unauthorized),
            rejected_invalid: get(&self.rejected_invalid),
            rejected_busy: get(&self.rejected_busy),
            processed: get(&self.processed),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
            queue_depth: u64::try_from(queue_depth).unwrap_or(u64::MAX),
        }
    }
}
