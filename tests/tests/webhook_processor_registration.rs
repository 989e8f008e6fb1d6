//! `#[webhook_processor]` registrations are linked into the binary and collected with the
//! path, kinds and retry policy written in the attribute, and their factory builds a working
//! processor from the context (`Default`, or the processor's own `FromContext`).

use ocean::live_events::{
    DynWebhookProcessor, Payload, ProcessorRetryPolicy, WebhookEvent, WebhookEventRawResults,
    WebhookProcessor, WebhookProcessorRegistration,
};
use ocean::mapping::ResourceConfig;
use ocean::{Context, Result};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ISSUE_LINE: u32 = line!() + 1;
#[ocean::webhook_processor(
    path = "/webhook",
    kinds = ["issue", "project"],
    max_retries = 5,
    initial_retry_delay_seconds = 0.5,
    max_retry_delay_seconds = 30,
    exponential_base_seconds = 2,
)]
struct IssueProcessor {
    /// Set by `Default`, so the tests can see that the factory went through it.
    source: String,
}

impl Default for IssueProcessor {
    fn default() -> Self {
        Self {
            source: "jira".to_owned(),
        }
    }
}

impl WebhookProcessor for IssueProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.header("x-source") == Some(self.source.as_str())
    }

    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(event.header("x-token") == Some("secret"))
    }

    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["issue"].get("key").is_some())
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        resource: &ResourceConfig,
        ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        let prefix = ctx.config::<String>()?;
        let mut issue = payload["issue"].clone();
        issue["seenBy"] = json!(format!("{prefix}:{}:{}", self.source, resource.kind));
        Ok(WebhookEventRawResults::updated(vec![issue]))
    }
}

#[derive(Default)]
#[ocean::webhook_processor(path = "/webhook/audit", kinds = ["audit"])]
struct AuditProcessor(u32);

impl WebhookProcessor for AuditProcessor {
    async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
        self.0 == 0
    }

    async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
        Ok(true)
    }

    async fn validate_payload(&self, _payload: &Payload) -> Result<bool> {
        Ok(true)
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        Ok(WebhookEventRawResults::deleted(vec![payload.clone()]))
    }
}

/// The settings the configured processor reads (what `ocean::run!(config = ...)` would load).
struct DeploySettings {
    token: Option<String>,
}

/// A processor that needs its configuration: built from the context, not from `Default`.
#[ocean::webhook_processor(path = "/webhook/deploys", kinds = ["deploy"])]
struct DeployProcessor {
    token: String,
}

impl ocean::FromContext for DeployProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        let settings = ctx.config::<DeploySettings>()?;
        let token = settings
            .token
            .clone()
            .ok_or_else(|| ocean::Error::msg("OCEAN__INTEGRATION__CONFIG__TOKEN is not set"))?;
        Ok(Self { token })
    }
}

impl WebhookProcessor for DeployProcessor {
    async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
        true
    }

    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(event.header("x-token") == Some(self.token.as_str()))
    }

    async fn validate_payload(&self, _payload: &Payload) -> Result<bool> {
        Ok(true)
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        Ok(WebhookEventRawResults::updated(vec![payload.clone()]))
    }
}

/// Every registration of this binary, sorted by path: `inventory` gives no order.
fn registrations() -> Vec<&'static WebhookProcessorRegistration> {
    let mut found: Vec<_> =
        ocean::__private::inventory::iter::<WebhookProcessorRegistration>().collect();
    found.sort_by_key(|r| r.path);
    found
}

fn registration(path: &str) -> &'static WebhookProcessorRegistration {
    match registrations().into_iter().find(|r| r.path == path) {
        Some(found) => found,
        None => panic!("no processor registered on {path}"),
    }
}

fn event(headers: &[(&str, &str)], payload: Payload) -> WebhookEvent {
    let body = bytes::Bytes::from(payload.to_string());
    WebhookEvent::new(
        "trace-1",
        "/webhook",
        payload,
        headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        body,
        chrono::Utc::now(),
    )
}

fn issue_resource() -> ResourceConfig {
    let value = json!({
        "kind": "issue",
        "selector": {"query": "true"},
        "port": {"entity": {"mappings": {
            "identifier": ".key",
            "title": ".fields.summary",
            "blueprint": "\"jiraIssue\"",
        }}},
    });
    match ResourceConfig::from_value(&value, "resources[0]") {
        Ok(resource) => resource,
        Err(e) => panic!("the test resource does not parse: {e}"),
    }
}

#[test]
fn every_processor_of_the_binary_is_collected() {
    let paths: Vec<_> = registrations().iter().map(|r| (r.path, r.name)).collect();
    assert_eq!(
        paths,
        [
            ("/webhook", "IssueProcessor"),
            ("/webhook/audit", "AuditProcessor"),
            ("/webhook/deploys", "DeployProcessor"),
        ]
    );
}

#[test]
fn registration_carries_the_attribute_and_its_place() {
    let issue = registration("/webhook");
    assert_eq!(issue.kinds, ["issue", "project"]);
    assert_eq!(
        issue.retry,
        ProcessorRetryPolicy {
            max_retries: 5,
            initial_retry_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(30),
            exponential_base: 2.0,
            jitter_ratio: ProcessorRetryPolicy::DEFAULT_JITTER_RATIO,
        }
    );
    assert_eq!(issue.file, file!());
    assert_eq!(issue.line, ISSUE_LINE);
}

#[test]
fn knobs_left_out_take_the_runtime_defaults() {
    let audit = registration("/webhook/audit");
    assert_eq!(audit.kinds, ["audit"]);
    assert_eq!(audit.retry, ProcessorRetryPolicy::default());
}

#[tokio::test]
async fn factory_builds_the_processor_from_default_and_its_methods_run() -> Result<()> {
    let issue = registration("/webhook");
    let ctx = Context::new("acme".to_owned(), reqwest::Client::new());
    let processor: Arc<dyn DynWebhookProcessor> = (issue.factory)(&ctx)?;
    let payload = json!({"issue": {"key": "PRJ-1", "fields": {"summary": "Broken"}}});
    let from_jira = event(&[("X-Source", "jira"), ("X-Token", "secret")], payload);
    let from_elsewhere = event(&[("X-Source", "github")], json!({}));

    assert!(processor.should_process_event(&from_jira).await);
    assert!(!processor.should_process_event(&from_elsewhere).await);
    assert!(processor.authenticate(&from_jira).await?);
    assert!(!processor.authenticate(&from_elsewhere).await?);
    assert!(processor.validate_payload(from_jira.payload()).await?);
    assert!(!processor.validate_payload(from_elsewhere.payload()).await?);
    assert_eq!(
        processor.get_matching_kinds(&from_jira, issue.kinds).await,
        ["issue", "project"]
    );

    let results = processor
        .handle_event(from_jira.payload(), &issue_resource(), &ctx)
        .await?;
    assert_eq!(
        results.updated_raw_results,
        [json!({"key": "PRJ-1", "fields": {"summary": "Broken"}, "seenBy": "acme:jira:issue"})]
    );
    assert!(results.deleted_raw_results.is_empty());

    // 0.5 s doubled once, spread by the default ±10% jitter.
    let second = processor.calculate_retry_delay(2, &issue.retry);
    assert!(
        second >= Duration::from_millis(900) && second <= Duration::from_millis(1100),
        "{second:?}"
    );
    assert_eq!(
        processor.calculate_retry_delay(10, &issue.retry),
        Duration::from_secs(30)
    );
    Ok(())
}

#[tokio::test]
async fn each_factory_call_builds_a_fresh_processor_of_its_own_type() -> Result<()> {
    let audit = registration("/webhook/audit");
    let ctx = Context::new((), reqwest::Client::new());
    let first = (audit.factory)(&ctx)?;
    let second = (audit.factory)(&ctx)?;
    assert!(!Arc::ptr_eq(&first, &second));
    let payload = json!({"id": "a1"});
    let event = event(&[], payload.clone());
    assert!(first.should_process_event(&event).await);
    let results = first
        .handle_event(event.payload(), &issue_resource(), &ctx)
        .await?;
    assert_eq!(results.deleted_raw_results, [payload]);
    assert!(results.updated_raw_results.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_processor_with_its_own_constructor_reads_its_configuration() -> Result<()> {
    let deploys = registration("/webhook/deploys");
    let settings = DeploySettings {
        token: Some("t0ken".to_owned()),
    };
    let ctx = Context::new(settings, reqwest::Client::new());
    let processor = (deploys.factory)(&ctx)?;
    assert!(
        processor
            .authenticate(&event(&[("X-Token", "t0ken")], json!({})))
            .await?
    );
    assert!(
        !processor
            .authenticate(&event(&[("X-Token", "other")], json!({})))
            .await?
    );
    Ok(())
}

#[test]
fn a_constructor_error_is_returned_by_the_factory() {
    let deploys = registration("/webhook/deploys");
    let unset = Context::new(DeploySettings { token: None }, reqwest::Client::new());
    let message = (deploys.factory)(&unset).err().map(|e| e.to_string());
    assert_eq!(
        message.as_deref(),
        Some("OCEAN__INTEGRATION__CONFIG__TOKEN is not set")
    );
    let wrong_type = Context::new((), reqwest::Client::new());
    let message = (deploys.factory)(&wrong_type)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("DeploySettings"), "{message}");
}
