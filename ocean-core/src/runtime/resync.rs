//! Running resyncs one at a time: fetch the mapping, report the state to Port, run the sync
//! engine, record metrics. A newer request aborts the running resync before it starts.

use crate::mapping::{PortAppConfig, PortAppConfigProvider};
use crate::port::client::PortClient;
use crate::port::types::ResyncState;
use crate::server::Metrics;
use crate::sync::{ResyncReport, ResyncStatus, SyncEngine};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

/// What started a resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The ONCE listener, or the first resync at start.
    Start,
    /// A resync request in Port (POLLING).
    Request,
    /// `OCEAN__SCHEDULED_RESYNC_INTERVAL`.
    Scheduled,
    /// Asked for by code.
    Manual,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Start => "start",
            Trigger::Request => "resync request",
            Trigger::Scheduled => "schedule",
            Trigger::Manual => "manual",
        })
    }
}

/// How one resync ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ResyncOutcome {
    /// The status reported to Port.
    pub status: ResyncStatus,
    /// The engine's report, when the engine ran.
    pub report: Option<ResyncReport>,
    /// Why the resync could not run, when it failed before the engine.
    pub error: Option<String>,
}

/// Starts resyncs, one at a time. Cheap to clone.
#[derive(Clone)]
pub struct ResyncCoordinator {
    inner: Arc<Inner>,
}

struct Inner {
    port: PortClient,
    configs: Arc<dyn PortAppConfigProvider>,
    engine: SyncEngine,
    identifier: String,
    interval: Option<Duration>,
    process_start: DateTime<Utc>,
    metrics: Metrics,
    running: Mutex<Option<Running>>,
    last_state_update: StdMutex<Option<String>>,
    closed: CancellationToken,
}

struct Running {
    cancel: CancellationToken,
    done: watch::Receiver<Option<ResyncOutcome>>,
}

impl fmt::Debug for ResyncCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResyncCoordinator")
            .field("identifier", &self.inner.identifier)
            .finish_non_exhaustive()
    }
}

/// A started resync; await [`ResyncHandle::outcome`] for its end.
#[derive(Debug)]
pub struct ResyncHandle {
    done: watch::Receiver<Option<ResyncOutcome>>,
}

impl ResyncHandle {
    /// Waits for the resync to end.
    pub async fn outcome(mut self) -> ResyncOutcome {
        wait_done(&mut self.done).await
    }
}

async fn wait_done(done: &mut watch::Receiver<Option<ResyncOutcome>>) -> ResyncOutcome {
    match done.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(aborted_outcome),
        // The task ended without a word: it was cancelled with the runtime.
        Err(_) => aborted_outcome(),
    }
}

fn aborted_outcome() -> ResyncOutcome {
    ResyncOutcome {
        status: ResyncStatus::Aborted,
        report: None,
        error: Some("the resync was stopped".into()),
    }
}

fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The next multiple of `interval` after `start`, counted from `now`.
fn next_resync(start: DateTime<Utc>, now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let Ok(step) = chrono::Duration::from_std(interval) else {
        return now;
    };
    if step <= chrono::Duration::zero() {
        return now;
    }
    let elapsed = now - start;
    let steps = elapsed.num_milliseconds() / step.num_milliseconds().max(1) + 1;
    start + step * i32::try_from(steps).unwrap_or(i32::MAX)
}

impl ResyncCoordinator {
    /// A coordinator reporting the state of integration `identifier` through `port`.
    /// `interval` is the scheduled resync interval, reported to Port as `nextResync`.
    pub fn new(
        port: PortClient,
        configs: Arc<dyn PortAppConfigProvider>,
        engine: SyncEngine,
        identifier: impl Into<String>,
        interval: Option<Duration>,
        metrics: Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                port,
                configs,
                engine,
                identifier: identifier.into(),
                interval,
                process_start: Utc::now(),
                metrics,
                running: Mutex::new(None),
                last_state_update: StdMutex::new(None),
                closed: CancellationToken::new(),
            }),
        }
    }

    /// `updatedAt` of the last resync state Port acknowledged (the POLLING baseline).
    pub fn last_state_update(&self) -> Option<String> {
        self.inner
            .last_state_update
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// True while a resync runs.
    pub async fn is_running(&self) -> bool {
        let running = self.inner.running.lock().await;
        running.as_ref().is_some_and(|r| r.done.borrow().is_none())
    }

    /// Starts a resync, aborting (and waiting for) the one running. `None` once the
    /// coordinator is shut down.
    pub async fn start(&self, trigger: Trigger) -> Option<ResyncHandle> {
        let mut running = self.inner.running.lock().await;
        if self.inner.closed.is_cancelled() {
            return None;
        }
        if let Some(mut previous) = running.take()
            && previous.done.borrow().is_none()
        {
            tracing::info!("Aborting the running resync: a newer resync was triggered");
            previous.cancel.cancel();
            wait_done(&mut previous.done).await;
        }
        tracing::info!(trigger = %trigger, "Resync was triggered");
        let cancel = self.inner.closed.child_token();
        let (tx, rx) = watch::channel(None);
        let inner = Arc::clone(&self.inner);
        let token = cancel.clone();
        tokio::spawn(async move {
            let outcome = inner.run(&token).await;
            let _ = tx.send(Some(outcome));
        });
        *running = Some(Running {
            cancel,
            done: rx.clone(),
        });
        Some(ResyncHandle { done: rx })
    }

    /// Aborts the running resync and refuses new ones; waits at most `grace` for it to
    /// report `aborted` to Port, then reports it here.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.closed.cancel();
        let mut running = self.inner.running.lock().await;
        let Some(mut current) = running.take() else {
            return;
        };
        if current.done.borrow().is_some() {
            return;
        }
        current.cancel.cancel();
        if tokio::time::timeout(grace, wait_done(&mut current.done))
            .await
            .is_err()
        {
            tracing::warn!("the resync did not stop in time; reporting it aborted");
            self.inner.report_end(ResyncStatus::Aborted).await;
        }
    }
}

impl Inner {
    fn interval_fields(&self) -> (Value, Value) {
        match self.interval {
            Some(interval) => (
                json!(iso(next_resync(self.process_start, Utc::now(), interval))),
                json!(interval.as_secs() / 60),
            ),
            None => (Value::Null, Value::Null),
        }
    }

    async fn patch_state(&self, state: ResyncState) {
        match self.port.patch_resync_state(&self.identifier, &state).await {
            Ok(integration) => {
                if let Some(updated) = integration.resync_state.and_then(|s| s.updated_at) {
                    *self
                        .last_state_update
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(updated);
                }
            }
            Err(error) => tracing::warn!(%error, "the resync state could not be reported to Port"),
        }
    }

    async fn report_start(&self, started: DateTime<Utc>) {
        let (next, interval) = self.interval_fields();
        self.patch_state(ResyncState {
            status: Some("running".into()),
            last_resync_start: Some(iso(started)),
            last_resync_end: Some(Value::Null),
            next_resync: Some(next),
            interval_in_minutes: Some(interval),
            updated_at: None,
        })
        .await;
    }

    async fn report_end(&self, status: ResyncStatus) {
        let (next, interval) = self.interval_fields();
        self.patch_state(ResyncState {
            status: Some(status.as_str().into()),
            last_resync_start: None,
            last_resync_end: Some(json!(iso(Utc::now()))),
            next_resync: Some(next),
            interval_in_minutes: Some(interval),
            updated_at: None,
        })
        .await;
    }

    /// The mapping as it is now in Port (a resync never starts from a cached one); the shared
    /// provider's cache is refreshed on the way, so live events see it too.
    async fn fetch_config(&self) -> Result<Arc<PortAppConfig>, String> {
        self.configs.fresh().await.map_err(|e| e.to_string())
    }

    async fn run(&self, cancel: &CancellationToken) -> ResyncOutcome {
        let started = Utc::now();
        self.report_start(started).await;
        let config = tokio::select! {
            config = self.fetch_config() => config,
            () = cancel.cancelled() => {
                self.finish(ResyncStatus::Aborted, None, Some("aborted before it began".into())).await;
                return aborted_outcome();
            }
        };
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                tracing::error!(%error, "Resync failed");
                return self.finish(ResyncStatus::Failed, None, Some(error)).await;
            }
        };
        let report = self.engine.resync(&config, cancel).await;
        for kind in &report.kinds {
            tracing::info!(
                kind = %kind.kind,
                fetched = kind.fetched,
                mapped = kind.mapped,
                filtered = kind.filtered,
                upserted = kind.upserted,
                unchanged = kind.unchanged,
                failed = kind.failed,
                deleted = kind.deleted,
                errors = kind.errors.len(),
                "Resync summary of kind {}",
                kind.kind
            );
            for error in &kind.errors {
                tracing::error!(kind = %kind.kind, %error, "kind failed");
            }
        }
        let status = report.status;
        self.metrics.record_resync(&report);
        let seconds = (report.finished_at - report.started_at).num_milliseconds() as f64 / 1000.0;
        if status == ResyncStatus::Completed {
            tracing::info!(status = status.as_str(), seconds, "Resync completed");
        } else {
            tracing::error!(
                status = status.as_str(),
                seconds,
                "Resync {}",
                status.as_str()
            );
        }
        self.finish(status, Some(report), None).await
    }

    async fn finish(
        &self,
        status: ResyncStatus,
        report: Option<ResyncReport>,
        error: Option<String>,
    ) -> ResyncOutcome {
        if report.is_none() {
            self.metrics.record_status(status, Utc::now().timestamp());
        }
        self.report_end(status).await;
        ResyncOutcome {
            status,
            report,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_resync_is_the_next_multiple_of_the_interval_after_start() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let now = start + chrono::Duration::minutes(25);
        let next = next_resync(start, now, Duration::from_secs(600));
        assert_eq!(iso(next), "2026-01-01T00:30:00.000Z");
        let at_start = next_resync(start, start, Duration::from_secs(600));
        assert_eq!(iso(at_start), "2026-01-01T00:10:00.000Z");
    }
}
