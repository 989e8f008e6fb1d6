use ocean::live_events::{
    Payload, ProcessorRetryPolicy, WebhookEvent, WebhookEventRawResults, WebhookProcessor,
    WebhookProcessorRegistration,
};
use ocean::mapping::ResourceConfig;
use ocean::{Context, Result};
use std::time::Duration;

#[ocean::webhook_processor(
    path = "/webhook",
    kinds = ["issue", "project"],
    max_retries = 5,
    initial_retry_delay_seconds = 0.5,
    max_retry_delay_seconds = 30,
    exponential_base_seconds = 2,
)]
#[derive(Default)]
struct IssueProcessor;

impl WebhookProcessor for IssueProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload().get("issue").is_some()
    }
    async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
        Ok(true)
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload.get("issue").is_some())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        Ok(WebhookEventRawResults::updated(vec![payload["issue"].clone()]))
    }
}

fn main() {
    let found: Vec<&WebhookProcessorRegistration> =
        ocean::__private::inventory::iter::<WebhookProcessorRegistration>().collect();
    assert_eq!(found.len(), 1);
    let registration = found[0];
    assert_eq!(registration.path, "/webhook");
    assert_eq!(registration.name, "IssueProcessor");
    assert_eq!(registration.kinds, ["issue", "project"]);
    assert_eq!(
        registration.retry,
        ProcessorRetryPolicy {
            max_retries: 5,
            initial_retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(30),
            exponential_base: 2.0,
            jitter_ratio: ProcessorRetryPolicy::DEFAULT_JITTER_RATIO,
        }
    );
}
