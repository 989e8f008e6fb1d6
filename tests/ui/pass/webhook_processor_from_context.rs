use ocean::live_events::{
    Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor, WebhookProcessorRegistration,
};
use ocean::mapping::ResourceConfig;
use ocean::{Context, FromContext, Result};

struct Settings {
    secret: String,
}

// A processor that reads its configuration when the runtime builds it.
#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
struct IssueProcessor {
    secret: String,
}

impl FromContext for IssueProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        Ok(Self {
            secret: ctx.config::<Settings>()?.secret.clone(),
        })
    }
}

impl WebhookProcessor for IssueProcessor {
    async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
        true
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(event.header("x-secret") == Some(self.secret.as_str()))
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

fn main() {
    let registration = ocean::__private::inventory::iter::<WebhookProcessorRegistration>()
        .next()
        .unwrap();
    let ctx = Context::new(
        Settings {
            secret: "s3cret".to_owned(),
        },
        reqwest::Client::new(),
    );
    assert!((registration.factory)(&ctx).is_ok());
    let without = Context::new((), reqwest::Client::new());
    assert!((registration.factory)(&without).is_err());
}
