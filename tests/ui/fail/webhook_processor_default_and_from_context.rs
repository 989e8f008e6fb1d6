use ocean::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
use ocean::mapping::ResourceConfig;
use ocean::{Context, FromContext, Result};

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Default)]
struct IssueProcessor;

impl FromContext for IssueProcessor {
    fn from_context(_ctx: &Context) -> Result<Self> {
        Ok(Self)
    }
}

impl WebhookProcessor for IssueProcessor {
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
}

fn main() {}
