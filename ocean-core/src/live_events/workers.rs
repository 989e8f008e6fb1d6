//! The workers: N per path take batches from the queue (one event per group at a time) and
//! hand them to processing; what shutdown abandons is dead-lettered.

use super::state::{Inner, LiveEvents};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tracing::Instrument;

impl LiveEvents {
    /// Starts `workers_per_path` workers for every path, inside the current tokio runtime.
    /// Later calls do nothing.
    pub fn start(&self) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut workers = self.inner.workers.lock().unwrap_or_else(|p| p.into_inner());
        for path in self.inner.paths.keys() {
            for worker in 0..self.inner.options.workers_per_path {
                let inner = Arc::clone(&self.inner);
                let path = path.clone();
                workers.push(tokio::spawn(async move {
                    run_worker(inner, path, worker).await
                }));
            }
        }
    }
}

async fn run_worker(inner: Arc<Inner>, path: String, worker: usize) -> usize {
    let Some(state) = inner.paths.get(&path) else {
        return 0;
    };
    let queue = Arc::clone(&state.queue);
    let max_batch = inner.options.batch_size.max(1);
    let mut abandoned = 0;
    loop {
        let batch = tokio::select! {
            biased;
            () = inner.hard_stop.cancelled() => break,
            batch = queue.pop_batch(max_batch) => batch,
        };
        if batch.is_empty() {
            break;
        }
        let span =
            tracing::debug_span!("live_events_batch", path = %path, worker, events = batch.len());
        let finished = tokio::select! {
            biased;
            () = inner.hard_stop.cancelled() => false,
            () = inner.process_batch(state, &batch).instrument(span.clone()) => true,
        };
        if !finished {
            for delivery in &batch {
                abandoned += 1;
                inner
                    .abandon(state, &delivery.queued)
                    .instrument(span.clone())
                    .await;
            }
        }
        for delivery in &batch {
            queue.ack(&delivery.id).await;
        }
    }
    abandoned
}
