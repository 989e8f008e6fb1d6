//! What triggers resyncs: polling Port for resync requests, and the fixed schedule.

use super::resync::{ResyncCoordinator, Trigger};
use crate::port::client::PortClient;
use chrono::{DateTime, FixedOffset};
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

/// What the POLLING listener decides on one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollDecision {
    /// Start a resync now.
    pub resync: bool,
    /// The watermark to remember (the newest request timestamp seen).
    pub watermark: Option<String>,
}

/// Decides whether a resync request is new. `watermark` is the last processed request's
/// `updatedAt`, `baseline` the last acknowledged resync state's `updatedAt`. On the first tick
/// (`first`), `resync_on_start` alone decides, and the current request becomes the watermark,
/// so an old request is not taken as new.
pub fn decide(
    first: bool,
    resync_on_start: bool,
    request_updated_at: Option<&str>,
    watermark: Option<&str>,
    baseline: Option<&str>,
) -> PollDecision {
    let request = request_updated_at.and_then(|t| parse_time(t).map(|p| (t, p)));
    if first {
        return PollDecision {
            resync: resync_on_start,
            watermark: request.map(|(t, _)| t.to_owned()),
        };
    }
    let Some((text, time)) = request else {
        return PollDecision {
            resync: false,
            watermark: watermark.map(str::to_owned),
        };
    };
    let newer = match watermark.or(baseline).and_then(parse_time) {
        Some(seen) => time > seen,
        None => true,
    };
    PollDecision {
        resync: newer,
        watermark: if newer {
            Some(text.to_owned())
        } else {
            watermark.map(str::to_owned)
        },
    }
}

/// The POLLING listener: every `interval`, reads the integration's resync request and starts a
/// resync when it is new. Runs until `stop` fires.
pub async fn poll(
    port: PortClient,
    identifier: String,
    coordinator: ResyncCoordinator,
    interval: Duration,
    resync_on_start: bool,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut watermark: Option<String> = None;
    let mut first = true;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let request = match port.get_resync_request(&identifier).await {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(%error, "could not read the resync request; trying again next tick");
                continue;
            }
        };
        let baseline = coordinator.last_state_update();
        let decision = decide(
            first,
            resync_on_start,
            request.as_ref().and_then(|r| r.updated_at.as_deref()),
            watermark.as_deref(),
            baseline.as_deref(),
        );
        first = false;
        watermark = decision.watermark;
        if decision.resync && coordinator.start(Trigger::Request).await.is_none() {
            return;
        }
    }
}

/// Scheduled resyncs every `interval`, the first one interval after start.
pub async fn schedule(coordinator: ResyncCoordinator, interval: Duration, stop: CancellationToken) {
    tracing::info!(
        minutes = interval.as_secs() / 60,
        "scheduled resync every {} minutes",
        interval.as_secs() / 60
    );
    let start = tokio::time::Instant::now() + interval;
    let mut ticker = tokio::time::interval_at(start, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if coordinator.start(Trigger::Scheduled).await.is_none() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2026-01-01T00:00:01.000000Z";
    const T2: &str = "2026-01-01T00:00:02.000000Z";

    #[test]
    fn first_tick_resyncs_when_resync_on_start_and_remembers_the_request() {
        let d = decide(true, true, Some(T1), None, None);
        assert_eq!(
            d,
            PollDecision {
                resync: true,
                watermark: Some(T1.into())
            }
        );
    }

    #[test]
    fn first_tick_without_resync_on_start_only_takes_the_watermark() {
        let d = decide(true, false, Some(T1), None, None);
        assert!(!d.resync);
        assert_eq!(d.watermark.as_deref(), Some(T1));
    }

    #[test]
    fn a_newer_request_resyncs_an_equal_one_does_not() {
        assert!(decide(false, true, Some(T2), Some(T1), None).resync);
        assert!(!decide(false, true, Some(T1), Some(T1), None).resync);
    }

    #[test]
    fn without_a_watermark_the_state_update_is_the_baseline() {
        assert!(!decide(false, true, Some(T1), None, Some(T2)).resync);
        assert!(decide(false, true, Some(T2), None, Some(T1)).resync);
        assert!(decide(false, false, Some(T1), None, None).resync);
    }

    #[test]
    fn no_request_or_an_unparsable_one_does_nothing() {
        assert!(!decide(false, true, None, Some(T1), None).resync);
        assert!(!decide(false, true, Some("yesterday"), None, None).resync);
    }
}
