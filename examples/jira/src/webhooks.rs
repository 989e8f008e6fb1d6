//! Live events on `/webhook`: Jira's issue and project webhooks. Each processor re-fetches the
//! item from Jira (the payload may be stale by the time the event is processed), and reports it
//! deleted when Jira deleted it or no longer lets the resource select it.

use crate::client::{JiraClient, JiraError};
use crate::config::JiraConfig;
use crate::resync::IssueSelector;
use crate::signature::WebhookAuth;
use futures::StreamExt;
use ocean::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
use ocean::mapping::ResourceConfig;
use ocean::{Context, Error, FromContext, Result, webhook_processor};
use serde_json::Value;

/// The issue events Jira sends.
pub const ISSUE_EVENTS: [&str; 3] = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
];

/// The project events Jira sends.
pub const PROJECT_EVENTS: [&str; 7] = [
    "project_created",
    "project_updated",
    "project_deleted",
    "project_soft_deleted",
    "project_restored_deleted",
    "project_archived",
    "project_restored_archived",
];

/// Project events after which the project is gone. (`project_restored_deleted` brings one back,
/// so "contains `deleted`" would be the wrong test.)
const PROJECT_GONE: [&str; 2] = ["project_deleted", "project_soft_deleted"];

fn webhook_event(payload: &Payload) -> &str {
    payload
        .get("webhookEvent")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The `key` of `payload[object]`, when it is a non-empty string.
fn object_key<'a>(payload: &'a Payload, object: &str) -> Option<&'a str> {
    payload
        .get(object)?
        .get("key")?
        .as_str()
        .filter(|k| !k.trim().is_empty())
}

fn require_key<'a>(payload: &'a Payload, object: &str) -> Result<&'a str> {
    object_key(payload, object).ok_or_else(|| {
        Error::msg(format!(
            "expected `{object}.key` to be a non-empty string in the Jira webhook, got {}",
            payload
                .get(object)
                .and_then(|o| o.get("key"))
                .map_or_else(|| "nothing".to_owned(), Value::to_string)
        ))
    })
}

/// `jira:issue_*` events for the `issue` kind.
#[webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Debug)]
pub struct IssueWebhookProcessor {
    auth: WebhookAuth,
    client: JiraClient,
}

impl IssueWebhookProcessor {
    /// A processor authenticating with `auth` and fetching from Jira with `client`.
    pub fn new(auth: WebhookAuth, client: JiraClient) -> Self {
        Self { auth, client }
    }
}

/// Built when the integration starts: the webhook secret and the Jira client come from the
/// integration's [`JiraConfig`].
impl FromContext for IssueWebhookProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        let config = ctx.config::<JiraConfig>()?;
        Ok(Self::new(
            WebhookAuth::new(config.webhook_secret.clone()),
            JiraClient::from_context(ctx)?,
        ))
    }
}

impl WebhookProcessor for IssueWebhookProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        webhook_event(event.payload()).starts_with("jira:issue_")
    }

    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(self.auth.authenticate(event))
    }

    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(object_key(payload, "issue").is_some())
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        let key = require_key(payload, "issue")?;
        let issue = payload["issue"].clone();
        if webhook_event(payload) == "jira:issue_deleted" {
            tracing::info!(issue = key, "Jira issue deleted");
            return Ok(WebhookEventRawResults::deleted(vec![issue]));
        }
        let query = IssueSelector::of(Some(resource))?.query_for_key(key);
        let pages = self.client.issues(query.clone());
        futures::pin_mut!(pages);
        let mut fresh = Vec::new();
        while let Some(page) = pages.next().await {
            fresh.extend(page.map_err(JiraError::into_ocean)?);
        }
        if fresh.is_empty() {
            tracing::info!(issue = key, jql = %query.jql, "the issue no longer matches the resource's JQL; deleting it");
            return Ok(WebhookEventRawResults::deleted(vec![issue]));
        }
        Ok(WebhookEventRawResults::updated(fresh))
    }

    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        object_key(event.payload(), "issue").map(str::to_owned)
    }
}

/// `project_*` events for the `project` kind.
#[webhook_processor(path = "/webhook", kinds = ["project"])]
#[derive(Debug)]
pub struct ProjectWebhookProcessor {
    auth: WebhookAuth,
    client: JiraClient,
}

impl ProjectWebhookProcessor {
    /// A processor authenticating with `auth` and fetching from Jira with `client`.
    pub fn new(auth: WebhookAuth, client: JiraClient) -> Self {
        Self { auth, client }
    }
}

/// Built when the integration starts: the webhook secret and the Jira client come from the
/// integration's [`JiraConfig`].
impl FromContext for ProjectWebhookProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        let config = ctx.config::<JiraConfig>()?;
        Ok(Self::new(
            WebhookAuth::new(config.webhook_secret.clone()),
            JiraClient::from_context(ctx)?,
        ))
    }
}

impl WebhookProcessor for ProjectWebhookProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        webhook_event(event.payload()).starts_with("project_")
    }

    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(self.auth.authenticate(event))
    }

    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(object_key(payload, "project").is_some())
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        let key = require_key(payload, "project")?;
        let project = payload["project"].clone();
        if PROJECT_GONE.contains(&webhook_event(payload)) {
            tracing::info!(project = key, "Jira project deleted");
            return Ok(WebhookEventRawResults::deleted(vec![project]));
        }
        match self
            .client
            .project(key)
            .await
            .map_err(JiraError::into_ocean)?
        {
            Some(fresh) => Ok(WebhookEventRawResults::updated(vec![fresh])),
            None => {
                tracing::info!(
                    project = key,
                    "Jira no longer knows the project; deleting it"
                );
                Ok(WebhookEventRawResults::deleted(vec![project]))
            }
        }
    }

    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        object_key(event.payload(), "project").map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(payload: Value) -> WebhookEvent {
        let body = bytes::Bytes::from(payload.to_string());
        WebhookEvent::new("t", "/webhook", payload, [], body, chrono::Utc::now())
    }

    fn context(secret: Option<&str>) -> Context {
        let mut config = JiraConfig::new(
            url::Url::parse("https://example.atlassian.net").unwrap(),
            "ada@example.com",
            "token",
        );
        config.webhook_secret = secret.map(ocean::config::Secret::from);
        Context::new(config, reqwest::Client::new())
    }

    #[tokio::test]
    async fn each_processor_wants_only_its_events() {
        let issue = IssueWebhookProcessor::from_context(&context(None)).unwrap();
        let project = ProjectWebhookProcessor::from_context(&context(None)).unwrap();
        let issue_event =
            event(json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}}));
        let project_event =
            event(json!({"webhookEvent": "project_created", "project": {"key": "A"}}));
        let user_event = event(json!({"webhookEvent": "user_created", "user": {}}));
        assert!(issue.should_process_event(&issue_event).await);
        assert!(!issue.should_process_event(&project_event).await);
        assert!(project.should_process_event(&project_event).await);
        assert!(!project.should_process_event(&issue_event).await);
        assert!(!issue.should_process_event(&user_event).await);
        assert!(!project.should_process_event(&user_event).await);
        assert_eq!(issue.group_id(&issue_event).as_deref(), Some("A-1"));
        assert_eq!(project.group_id(&project_event).as_deref(), Some("A"));
    }

    #[tokio::test]
    async fn payloads_without_a_key_are_invalid() {
        let issue = IssueWebhookProcessor::from_context(&context(None)).unwrap();
        let project = ProjectWebhookProcessor::from_context(&context(None)).unwrap();
        for bad in [
            json!({}),
            json!({"issue": {}}),
            json!({"issue": {"key": ""}}),
            json!({"issue": {"key": 5}}),
        ] {
            assert!(!issue.validate_payload(&bad).await.unwrap(), "{bad}");
        }
        assert!(
            issue
                .validate_payload(&json!({"issue": {"key": "A-1"}}))
                .await
                .unwrap()
        );
        assert!(
            !project
                .validate_payload(&json!({"project": {"id": 1}}))
                .await
                .unwrap()
        );
        assert!(
            project
                .validate_payload(&json!({"project": {"key": "A"}}))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn processors_read_the_webhook_secret_from_the_configuration() {
        let body = json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}});
        let unsigned = event(body.clone());
        let signed = IssueWebhookProcessor::from_context(&context(Some("s3cret"))).unwrap();
        assert!(!signed.authenticate(&unsigned).await.unwrap());
        let raw = bytes::Bytes::from(body.to_string());
        let signature =
            crate::signature::sign(&ocean::config::Secret::from("s3cret"), &raw).unwrap();
        let good = WebhookEvent::new(
            "t",
            "/webhook",
            body,
            [("X-Hub-Signature".to_owned(), signature)],
            raw,
            chrono::Utc::now(),
        );
        assert!(signed.authenticate(&good).await.unwrap());
        let open = ProjectWebhookProcessor::from_context(&context(None)).unwrap();
        assert!(open.authenticate(&unsigned).await.unwrap());
    }

    #[test]
    fn a_context_without_the_jira_configuration_cannot_build_a_processor() {
        let ctx = Context::new((), reqwest::Client::new());
        let error = IssueWebhookProcessor::from_context(&ctx).unwrap_err();
        assert!(error.to_string().contains("JiraConfig"), "{error}");
    }
}
