//! The state every part of live events shares: the paths with their processors and queues,
//! the applier, the dead letters and the counters, behind the cheap-to-clone [`LiveEvents`].

use super::applier::LiveApplier;
use super::builder::RegisteredProcessor;
use super::dead_letter::DeadLetterStore;
use super::door::Throttle;
use super::queue::EventQueue;
use super::raw_routes::RawRoutesRegistration;
use super::settings::LiveEventsOptions;
use super::stats::{LiveEventsStats, StatsSnapshot};
use crate::Context;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One webhook path: its processors, in matching order, and its queue.
pub(super) struct PathState {
    pub(super) processors: Vec<RegisteredProcessor>,
    pub(super) queue: Arc<dyn EventQueue>,
}

/// What every clone of [`LiveEvents`] shares.
pub(super) struct Inner {
    pub(super) paths: BTreeMap<String, PathState>,
    pub(super) applier: LiveApplier,
    pub(super) context: Context,
    pub(super) options: LiveEventsOptions,
    pub(super) dead_letters: Arc<DeadLetterStore>,
    pub(super) stats: LiveEventsStats,
    pub(super) accepting: AtomicBool,
    pub(super) started: AtomicBool,
    pub(super) hard_stop: CancellationToken,
    pub(super) workers: Mutex<Vec<JoinHandle<usize>>>,
    pub(super) raw_routes: Vec<RawRoutesRegistration>,
    pub(super) busy_warning: Throttle,
}

/// Live events: the registered paths with their processors, queues and workers. Cheap to
/// clone; every clone is the same.
#[derive(Clone)]
pub struct LiveEvents {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for LiveEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveEvents")
            .field("paths", &self.paths())
            .finish_non_exhaustive()
    }
}

impl LiveEvents {
    /// The registered paths, sorted.
    pub fn paths(&self) -> Vec<&str> {
        self.inner.paths.keys().map(String::as_str).collect()
    }

    /// The processors of `path`, in matching order (sorted by name).
    pub fn processors(&self, path: &str) -> &[RegisteredProcessor] {
        self.inner
            .paths
            .get(path)
            .map_or(&[], |p| p.processors.as_slice())
    }

    /// The applier (for raw route handlers and the runtime).
    pub fn applier(&self) -> &LiveApplier {
        &self.inner.applier
    }

    /// The dead-letter store.
    pub fn dead_letters(&self) -> &Arc<DeadLetterStore> {
        &self.inner.dead_letters
    }

    /// The options.
    pub fn options(&self) -> &LiveEventsOptions {
        &self.inner.options
    }

    /// The counters, with the current queue depth.
    pub fn stats(&self) -> StatsSnapshot {
        let depth = self.inner.paths.values().map(|p| p.queue.depth()).sum();
        self.inner.stats.snapshot(depth)
    }
}
