//! The door: a webhook is parsed, offered to the path's processors, authenticated and
//! validated, and answered 202 only once its queue holds it.

use super::builder::RegisteredProcessor;
use super::error::LiveEventsError;
use super::event::WebhookEvent;
use super::queue::QueuedEvent;
use super::state::LiveEvents;
use super::stats::bump;
use bytes::Bytes;
use chrono::Utc;
use std::sync::atomic::Ordering;
use tracing::Instrument;

/// What intake decided about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Queued; the event id.
    Accepted(String),
    /// No processor wanted it.
    Ignored,
    /// The body is larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON.
    BadJson(String),
    /// A matched processor did not authenticate it.
    Unauthorized {
        /// The processor.
        processor: String,
    },
    /// A matched processor found the payload invalid.
    Invalid {
        /// The processor.
        processor: String,
        /// Why, when the check failed with an error.
        reason: Option<String>,
    },
    /// The queue is full.
    Busy,
    /// Shutting down: no new events.
    ShuttingDown,
    /// No processor is registered on the path.
    UnknownPath,
}

/// Lets a log line through at most once a second, so an overload (thousands of 503s a
/// second) is reported without flooding the log.
#[derive(Debug, Default)]
pub(super) struct Throttle {
    last_second: std::sync::atomic::AtomicU64,
}

impl Throttle {
    pub(super) fn ready(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Ordering::Relaxed);
        now > last
            && self
                .last_second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl LiveEvents {
    /// The door: parses the body, finds the processors that want the event, authenticates and
    /// validates it, and queues it. Nothing is queued unless every check passed.
    pub async fn receive(
        &self,
        path: &str,
        headers: impl IntoIterator<Item = (String, String)>,
        body: Bytes,
    ) -> IntakeOutcome {
        let stats = &self.inner.stats;
        let Some(state) = self.inner.paths.get(path) else {
            return IntakeOutcome::UnknownPath;
        };
        if !self.inner.accepting.load(Ordering::Acquire) {
            bump(&stats.rejected_busy);
            return IntakeOutcome::ShuttingDown;
        }
        if body.len() > self.inner.options.body_limit {
            bump(&stats.rejected_too_large);
            return IntakeOutcome::TooLarge {
                limit: self.inner.options.body_limit,
            };
        }
        let payload = match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(e) => {
                bump(&stats.rejected_bad_json);
                return IntakeOutcome::BadJson(e.to_string());
            }
        };
        let trace_id = uuid::Uuid::new_v4().to_string();
        let event = WebhookEvent::new(&trace_id, path, payload, headers, body, Utc::now());
        // Debug spans: at thousands of events a second, an INFO span per event costs more than the
        // door itself; the lines that matter name the event themselves.
        let span = tracing::debug_span!("webhook_intake", trace_id = %trace_id, path);
        let mut authenticated: Vec<&RegisteredProcessor> = Vec::new();
        let outcome = async {
            let mut matched = Vec::new();
            for p in &state.processors {
                if p.processor.should_process_event(&event).await {
                    matched.push(p);
                }
            }
            if matched.is_empty() {
                bump(&stats.ignored);
                tracing::debug!("no webhook processor wants this event; ignored");
                return IntakeOutcome::Ignored;
            }
            for p in &matched {
                let name = p.registration.name;
                match p.processor.authenticate(&event).await {
                    Ok(true) => authenticated.push(p),
                    Ok(false) => {
                        bump(&stats.rejected_unauthorized);
                        tracing::warn!(processor = name, trace_id = %trace_id, "webhook authentication failed");
                        return IntakeOutcome::Unauthorized {
                            processor: name.to_owned(),
                        };
                    }
                    Err(e) => {
                        bump(&stats.rejected_unauthorized);
                        tracing::warn!(processor = name, trace_id = %trace_id, error = %e, "webhook authentication failed");
                        return IntakeOutcome::Unauthorized {
                            processor: name.to_owned(),
                        };
                    }
                }
            }
            for p in &matched {
                let name = p.registration.name;
                let reason = match p.processor.validate_payload(event.payload()).await {
                    Ok(true) => continue,
                    Ok(false) => None,
                    Err(e) => Some(e.to_string()),
                };
                bump(&stats.rejected_invalid);
                tracing::warn!(processor = name, trace_id = %trace_id, reason = reason.as_deref(), "webhook payload invalid");
                return IntakeOutcome::Invalid {
                    processor: name.to_owned(),
                    reason,
                };
            }
            let group = matched[0].processor.group_id(&event);
            let queued = QueuedEvent {
                event: event.clone(),
                group,
                processors: matched
                    .iter()
                    .map(|p| p.registration.name.to_owned())
                    .collect(),
            };
            match state.queue.push(queued).await {
                Ok(()) => {
                    bump(&stats.accepted);
                    tracing::debug!(processors = matched.len(), "webhook event queued");
                    IntakeOutcome::Accepted(trace_id.clone())
                }
                Err(LiveEventsError::QueueClosed) => {
                    bump(&stats.rejected_busy);
                    IntakeOutcome::ShuttingDown
                }
                Err(e) => {
                    bump(&stats.rejected_busy);
                    if self.inner.busy_warning.ready() {
                        tracing::warn!(
                            error = %e,
                            refused_so_far = stats.rejected_busy.load(Ordering::Relaxed),
                            "webhook events refused with 503: the queue is full (logged at most once a second)"
                        );
                    }
                    IntakeOutcome::Busy
                }
            }
        }
        .instrument(span)
        .await;
        if !matches!(outcome, IntakeOutcome::Accepted(_)) {
            for p in authenticated {
                p.processor.not_accepted(&event);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_line_through_per_second() {
        let throttle = Throttle::default();
        assert!(throttle.ready());
        assert!(
            !throttle.ready(),
            "a second line in the same second is held back"
        );
        throttle.last_second.store(0, Ordering::Relaxed);
        assert!(throttle.ready(), "a new second lets one through again");
    }
}
