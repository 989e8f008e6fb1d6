//! The contract of a webhook processor, written by integration authors with native `async fn`s.

use super::event::{Payload, WebhookEvent, WebhookEventRawResults};
use crate::backoff::Backoff;
use crate::mapping::ResourceConfig;
use crate::{Context, Error, Result};
use std::future::Future;
use std::time::Duration;

/// How a processor retries a failing `handle_event` (the seed's knobs, settable in
/// `#[webhook_processor(...)]`).
///
/// The delay before retry `n` (1-based) is `initial_retry_delay * exponential_base^(n-1)`,
/// spread by ±`jitter_ratio` so that events failing together do not retry together, and
/// capped at `max_retry_delay`: with the defaults about 1 s, 2 s, 4 s. It is the framework's one
/// [`Backoff`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessorRetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` calls). Default 3.
    pub max_retries: u32,
    /// Delay before the first retry. Default 1 s.
    pub initial_retry_delay: Duration,
    /// Upper bound of any delay. Default 30 s.
    pub max_retry_delay: Duration,
    /// Growth factor between retries. Default 2.
    pub exponential_base: f64,
    /// Random spread of each delay, as a fraction: default 0.1 (±10%); 0 gives exact delays.
    pub jitter_ratio: f64,
}

impl ProcessorRetryPolicy {
    /// The default jitter of processor retries: ±10%.
    pub const DEFAULT_JITTER_RATIO: f64 = 0.1;
}

impl Default for ProcessorRetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(30),
            exponential_base: 2.0,
            jitter_ratio: Self::DEFAULT_JITTER_RATIO,
        }
    }
}

impl ProcessorRetryPolicy {
    /// The delay before retry `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        self.backoff().delay(retry)
    }

    /// The backoff this policy waits with.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.initial_retry_delay, self.max_retry_delay)
            .with_factor(self.exponential_base)
            .with_jitter(self.jitter_ratio)
    }
}

/// A webhook processor: decides whether an event is for it, authenticates and validates it at
/// the door, then (in a worker) fetches fresh data and returns raw items to upsert or delete.
///
/// Register one with `#[webhook_processor(path = "/webhook", kinds = ["issue"])]` on a struct
/// that implements this trait and [`FromContext`](crate::FromContext) (derive `Default` for a
/// processor that needs nothing; implement `FromContext` to read its secret or build its API
/// client from the configuration). The runtime builds one instance when the integration
/// starts, and it serves every event of its path; retry state is kept by the framework, per
/// event.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a webhook processor",
    label = "`{Self}` is registered as a webhook processor but does not implement `WebhookProcessor`",
    note = "add `impl ocean::live_events::WebhookProcessor for {Self}` with at least `should_process_event`, `authenticate`, `validate_payload` and `handle_event`"
)]
pub trait WebhookProcessor: Send + Sync + 'static {
    /// Whether this processor handles `event` (look at its payload or headers).
    fn should_process_event(&self, event: &WebhookEvent) -> impl Future<Output = bool> + Send;

    /// The kinds `event` affects. Default: the kinds given in the attribute (`declared`).
    fn get_matching_kinds(
        &self,
        event: &WebhookEvent,
        declared: &'static [&'static str],
    ) -> impl Future<Output = Vec<String>> + Send {
        let _ = event;
        async move { declared.iter().map(|k| (*k).to_owned()).collect() }
    }

    /// Whether the sender is genuine (check a signature over `event.raw_body()`). `Ok(false)`
    /// or an error answers 401 and nothing is queued.
    fn authenticate(&self, event: &WebhookEvent) -> impl Future<Output = Result<bool>> + Send;

    /// Whether the payload has what `handle_event` needs. `Ok(false)` answers 422.
    fn validate_payload(&self, payload: &Payload) -> impl Future<Output = Result<bool>> + Send;

    /// Fetches the fresh data for one resource of a matching kind and returns the raw items to
    /// upsert and to delete. Errors marked retryable ([`Error::retryable`]) are retried.
    fn handle_event(
        &self,
        payload: &Payload,
        resource: &ResourceConfig,
        ctx: &Context,
    ) -> impl Future<Output = Result<WebhookEventRawResults>> + Send;

    /// Runs in the worker before the first `handle_event` call.
    fn before_processing(
        &self,
        event: &WebhookEvent,
        ctx: &Context,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (event, ctx);
        async { Ok(()) }
    }

    /// Runs after a successful `handle_event`; an error here fails the event.
    fn after_processing(
        &self,
        event: &WebhookEvent,
        results: &WebhookEventRawResults,
        ctx: &Context,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (event, results, ctx);
        async { Ok(()) }
    }

    /// Called after every failed `handle_event` attempt (1-based), retried or not.
    fn on_error(
        &self,
        event: &WebhookEvent,
        error: &Error,
        attempt: u32,
    ) -> impl Future<Output = ()> + Send {
        let trace_id = event.trace_id().to_owned();
        let message = error.to_string();
        async move {
            tracing::warn!(trace_id, attempt, error = %message, "webhook processing attempt failed");
        }
    }

    /// Called when the worker must abandon the event (shutdown past the grace period, timeout).
    fn cancel(&self, event: &WebhookEvent) -> impl Future<Output = ()> + Send {
        let _ = event;
        async {}
    }

    /// Whether a failed attempt should be retried. Default: only retryable errors.
    fn should_retry(&self, error: &Error) -> bool {
        error.is_retryable()
    }

    /// The delay before retry `retry` (1-based). Default: the processor's policy.
    fn calculate_retry_delay(&self, retry: u32, policy: &ProcessorRetryPolicy) -> Duration {
        policy.delay(retry)
    }

    /// The ordering key: events with the same group are processed one at a time, in arrival
    /// order; different groups run in parallel. Default: none (no ordering constraint).
    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        let _ = event;
        None
    }

    /// Called when this processor authenticated the event but it was not queued after all
    /// (another processor refused it, a payload check failed, or the queue was full or
    /// closing), so the sender will deliver it again. A processor whose `authenticate`
    /// remembers deliveries (a replay guard) forgets this one here, so the retry is not taken
    /// for a replay. Default: nothing.
    fn not_accepted(&self, event: &WebhookEvent) {
        let _ = event;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live_events::DynWebhookProcessor;
    use std::sync::Arc;

    #[derive(Default)]
    struct Echo;

    impl WebhookProcessor for Echo {
        async fn should_process_event(&self, event: &WebhookEvent) -> bool {
            event.payload().get("person").is_some()
        }
        async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
            Ok(true)
        }
        async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
            Ok(payload["person"].get("id").is_some())
        }
        async fn handle_event(
            &self,
            payload: &Payload,
            _resource: &ResourceConfig,
            _ctx: &Context,
        ) -> Result<WebhookEventRawResults> {
            Ok(WebhookEventRawResults::updated(vec![
                payload["person"].clone(),
            ]))
        }
    }

    #[tokio::test]
    async fn an_author_impl_with_async_fns_works_through_the_erased_trait() {
        let processor: Arc<dyn DynWebhookProcessor> = Arc::new(Echo);
        let event = WebhookEvent::new(
            "t1",
            "/webhook",
            serde_json::json!({"person": {"id": "p1"}}),
            [("X-Test".to_owned(), "1".to_owned())],
            bytes::Bytes::from_static(b"{}"),
            chrono::Utc::now(),
        );
        assert!(processor.should_process_event(&event).await);
        assert_eq!(
            processor.get_matching_kinds(&event, &["person"]).await,
            ["person"]
        );
        assert!(processor.validate_payload(event.payload()).await.unwrap());
        assert_eq!(event.header("x-test"), Some("1"));
        assert!(!processor.should_retry(&Error::msg("permanent")));
        assert!(processor.should_retry(&Error::retryable(Error::msg("flaky"))));
        assert_eq!(processor.group_id(&event), None);
    }

    #[test]
    fn retry_delays_grow_from_the_initial_delay_and_are_capped() {
        let p = ProcessorRetryPolicy {
            jitter_ratio: 0.0,
            ..ProcessorRetryPolicy::default()
        };
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(2), Duration::from_secs(2));
        assert_eq!(p.delay(3), Duration::from_secs(4));
        assert_eq!(p.delay(10), Duration::from_secs(30));
        let fast = ProcessorRetryPolicy {
            initial_retry_delay: Duration::from_millis(10),
            exponential_base: 3.0,
            ..p
        };
        assert_eq!(fast.delay(3), Duration::from_millis(90));
    }

    #[test]
    fn default_retry_delays_are_jittered_by_ten_percent() {
        let p = ProcessorRetryPolicy::default();
        for _ in 0..50 {
            let d = p.delay(2);
            assert!(
                d >= Duration::from_millis(1800) && d <= Duration::from_millis(2200),
                "{d:?}"
            );
        }
        assert_eq!(p.delay(10), Duration::from_secs(30));
    }

    // Reference §4.3 case 18: the default `before_processing`, `after_processing` and `cancel`
    // can be called and do nothing; an override that also runs the defaults works.
    #[tokio::test]
    async fn default_hooks_succeed_and_overrides_can_chain_to_them() {
        #[derive(Default)]
        struct Chained {
            calls: std::sync::Mutex<Vec<&'static str>>,
        }
        impl WebhookProcessor for Chained {
            async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
                true
            }
            async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
                Ok(true)
            }
            async fn validate_payload(&self, _payload: &Payload) -> Result<bool> {
                Ok(true)
            }
            async fn handle_event(
                &self,
                _payload: &Payload,
                _resource: &ResourceConfig,
                _ctx: &Context,
            ) -> Result<WebhookEventRawResults> {
                Ok(WebhookEventRawResults::default())
            }
            async fn before_processing(&self, event: &WebhookEvent, ctx: &Context) -> Result<()> {
                WebhookProcessor::before_processing(&Echo, event, ctx).await?;
                self.calls.lock().unwrap().push("before");
                Ok(())
            }
            async fn after_processing(
                &self,
                event: &WebhookEvent,
                results: &WebhookEventRawResults,
                ctx: &Context,
            ) -> Result<()> {
                WebhookProcessor::after_processing(&Echo, event, results, ctx).await?;
                self.calls.lock().unwrap().push("after");
                Ok(())
            }
            async fn cancel(&self, event: &WebhookEvent) {
                WebhookProcessor::cancel(&Echo, event).await;
                self.calls.lock().unwrap().push("cancel");
            }
        }

        let event = WebhookEvent::new(
            "t1",
            "/webhook",
            serde_json::json!({}),
            [],
            bytes::Bytes::new(),
            chrono::Utc::now(),
        );
        let ctx = Context::new((), reqwest::Client::new());
        let results = WebhookEventRawResults::default();
        WebhookProcessor::before_processing(&Echo, &event, &ctx)
            .await
            .unwrap();
        WebhookProcessor::after_processing(&Echo, &event, &results, &ctx)
            .await
            .unwrap();
        WebhookProcessor::cancel(&Echo, &event).await;

        let chained = Chained::default();
        WebhookProcessor::before_processing(&chained, &event, &ctx)
            .await
            .unwrap();
        WebhookProcessor::after_processing(&chained, &event, &results, &ctx)
            .await
            .unwrap();
        WebhookProcessor::cancel(&chained, &event).await;
        assert_eq!(
            *chained.calls.lock().unwrap(),
            ["before", "after", "cancel"]
        );
    }

    // Reference §4.3 case 16, in our numbering: Ocean's `retry_count` 0, 1 and 10 are our
    // retries 1, 2 and 11 (1-based), giving 1 s, 2 s and the 30 s cap through the default
    // `calculate_retry_delay`.
    #[test]
    fn the_default_retry_delay_follows_the_policy() {
        // Without jitter, so the delays are Ocean's exactly.
        let policy = ProcessorRetryPolicy {
            jitter_ratio: 0.0,
            ..ProcessorRetryPolicy::default()
        };
        assert_eq!(
            WebhookProcessor::calculate_retry_delay(&Echo, 1, &policy),
            Duration::from_secs(1)
        );
        assert_eq!(
            WebhookProcessor::calculate_retry_delay(&Echo, 2, &policy),
            Duration::from_secs(2)
        );
        assert_eq!(
            WebhookProcessor::calculate_retry_delay(&Echo, 11, &policy),
            Duration::from_secs(30)
        );
    }
}
