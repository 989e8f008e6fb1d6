//! Shutdown: intake closes, workers get the grace period, what still runs is abandoned and
//! dead-lettered with what never started.

use super::dead_letter::DeadLetterFailure;
use super::state::LiveEvents;
use futures::future::join_all;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The grace period ran out before the workers finished.
    pub timed_out: bool,
    /// In-flight events abandoned (their processors were cancelled; they were dead-lettered).
    pub abandoned: usize,
    /// Queued events never started (dead-lettered).
    pub unstarted: usize,
}

impl LiveEvents {
    /// Stops intake (it answers 503), lets workers finish within the grace period, then
    /// abandons what is still running (its processors' `cancel` is called) and dead-letters
    /// what was abandoned or never started.
    pub async fn shutdown(&self) -> ShutdownReport {
        tracing::warn!("shutting down live events");
        self.inner.accepting.store(false, Ordering::Release);
        for state in self.inner.paths.values() {
            state.queue.close();
        }
        let handles: Vec<JoinHandle<usize>> =
            std::mem::take(&mut *self.inner.workers.lock().unwrap_or_else(|p| p.into_inner()));
        let aborts: Vec<_> = handles.iter().map(JoinHandle::abort_handle).collect();
        let grace = self.inner.options.shutdown_grace;
        let mut all = join_all(handles);
        let mut report = ShutdownReport::default();
        let finished = match tokio::time::timeout(grace, &mut all).await {
            Ok(finished) => finished,
            Err(_) => {
                report.timed_out = true;
                tracing::warn!("shutdown grace period over: abandoning in-flight live events");
                self.inner.hard_stop.cancel();
                // Abandoning runs the processors' `cancel`; author code gets one more grace
                // period (at least a second) before the workers are aborted outright.
                match tokio::time::timeout(grace.max(Duration::from_secs(1)), &mut all).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        tracing::error!("live-event workers did not stop: aborting them");
                        for abort in &aborts {
                            abort.abort();
                        }
                        all.await
                    }
                }
            }
        };
        report.abandoned = finished.into_iter().map(|r| r.unwrap_or(0)).sum();
        for state in self.inner.paths.values() {
            for queued in state.queue.drain_queued() {
                report.unstarted += 1;
                let failure = DeadLetterFailure {
                    processor: None,
                    kind: None,
                    error: "not processed before shutdown".into(),
                    attempts: 0,
                };
                self.inner.dead_letter(&queued, vec![failure]).await;
            }
        }
        report
    }
}
