//! The start hook and the processors' constructors: settings read from `OCEAN__*` variables,
//! the webhook registered in Jira once (only when the public URL is known), and the webhook
//! secret read by the processors when the runtime builds them from the context.

use bytes::Bytes;
use jira::registration::{WEBHOOK_NAME, setup_live_events};
use jira::signature::sign;
use jira::{
    IssueWebhookProcessor, JiraClient, JiraConfig, ProjectWebhookProcessor, ensure_webhook,
};
use ocean::config::{ConfigSources, OceanSettings};
use ocean::live_events::{WebhookEvent, WebhookProcessor};
use ocean::{Context, FromContext};
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{basic_auth, body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "hook-s3cret";

fn context(jira: &MockServer, extra: &[(&str, &str)]) -> Context {
    let mut vars = vec![
        (
            "OCEAN__INTEGRATION__IDENTIFIER".to_owned(),
            "my-jira".to_owned(),
        ),
        (
            "OCEAN__INTEGRATION__CONFIG__JIRA_HOST".to_owned(),
            jira.uri(),
        ),
        (
            "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_EMAIL".to_owned(),
            "bot@acme.example".to_owned(),
        ),
        (
            "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN".to_owned(),
            "api-t0ken".to_owned(),
        ),
    ];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let sources = ConfigSources::new().with_env(vars);
    let settings = OceanSettings::load(&sources, Some("jira")).unwrap();
    let config: JiraConfig = settings.integration_config().unwrap();
    Context::new(config, reqwest::Client::new()).with_settings(Arc::new(settings))
}

fn event(payload: Value, signature: Option<String>) -> WebhookEvent {
    let body = Bytes::from(payload.to_string());
    let headers = signature.map(|s| ("X-Hub-Signature".to_owned(), s));
    WebhookEvent::new("t", "/webhook", payload, headers, body, chrono::Utc::now())
}

#[tokio::test]
async fn the_start_hook_registers_the_webhook_once_and_processors_read_the_secret() {
    let jira = MockServer::start().await;
    let payload = json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "PAY-1"}});
    let signed = sign(&SECRET.into(), payload.to_string().as_bytes()).unwrap();

    // Without a public URL nothing is registered, and without a secret webhooks are unsigned.
    let issue = IssueWebhookProcessor::from_context(&context(&jira, &[])).unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("no registration without OCEAN__BASE_URL")
        .mount(&jira)
        .await;
    setup_live_events(context(&jira, &[])).await.unwrap();
    assert!(
        issue
            .authenticate(&event(payload.clone(), None))
            .await
            .unwrap()
    );
    jira.verify().await;
    jira.reset().await;

    // With a public URL and a secret: registered once, with the secret, for every event.
    let url = "https://ocean.example.com/jira/integration/webhook";
    Mock::given(method("GET"))
        .and(path("/rest/webhooks/1.0/webhook"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"name": "Other", "url": "https://elsewhere.example.com/hook", "events": ["jira:issue_created"], "self": "https://acme.atlassian.net/rest/webhooks/1.0/webhook/1", "enabled": true}
        ])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&jira)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/webhooks/1.0/webhook"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"name": "Other", "url": "https://elsewhere.example.com/hook", "events": ["jira:issue_created"], "self": "https://acme.atlassian.net/rest/webhooks/1.0/webhook/1", "enabled": true},
            {"name": WEBHOOK_NAME, "url": url, "events": ["jira:issue_created"], "self": "https://acme.atlassian.net/rest/webhooks/1.0/webhook/2", "enabled": true}
        ])))
        .mount(&jira)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/webhooks/1.0/webhook"))
        .and(basic_auth("bot@acme.example", "api-t0ken"))
        .and(body_partial_json(json!({
            "name": WEBHOOK_NAME,
            "url": url,
            "secret": SECRET,
            "events": [
                "jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                "project_created", "project_updated", "project_deleted", "project_soft_deleted",
                "project_restored_deleted", "project_archived", "project_restored_archived"
            ],
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "name": WEBHOOK_NAME, "url": url, "self": "https://acme.atlassian.net/rest/webhooks/1.0/webhook/2", "enabled": true
        })))
        .expect(1)
        .mount(&jira)
        .await;
    let settings = [
        ("OCEAN__BASE_URL", "https://ocean.example.com"),
        ("OCEAN__PATH_PREFIX", "jira"),
        ("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", SECRET),
    ];
    setup_live_events(context(&jira, &settings)).await.unwrap();
    setup_live_events(context(&jira, &settings)).await.unwrap();
    jira.verify().await;

    let issue = IssueWebhookProcessor::from_context(&context(&jira, &settings)).unwrap();
    let project = ProjectWebhookProcessor::from_context(&context(&jira, &settings)).unwrap();
    assert!(
        issue
            .authenticate(&event(payload.clone(), Some(signed.clone())))
            .await
            .unwrap()
    );
    assert!(
        !issue
            .authenticate(&event(payload.clone(), None))
            .await
            .unwrap()
    );
    let tampered = json!({"webhookEvent": "jira:issue_deleted", "issue": {"key": "PAY-1"}});
    assert!(
        !project
            .authenticate(&event(tampered, Some(signed)))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_registration_jira_refuses_fails_with_jiras_reason() {
    let jira = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/webhooks/1.0/webhook"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "errorMessages": ["Only Jira administrators can register webhooks."]
        })))
        .mount(&jira)
        .await;
    let ctx = context(&jira, &[]);
    let client = JiraClient::from_context(&ctx).unwrap();
    let error = ensure_webhook(
        &client,
        "https://ocean.example.com/integration/webhook",
        None,
    )
    .await
    .unwrap_err();
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("403"), "{message}");
    assert!(message.contains("Only Jira administrators"), "{message}");
    assert!(!message.contains("api-t0ken"), "{message}");
}

#[test]
fn a_missing_setting_is_named_by_its_variable() {
    let sources = ConfigSources::new().with_env([
        (
            "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
            "https://acme.atlassian.net",
        ),
        (
            "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_EMAIL",
            "bot@acme.example",
        ),
    ]);
    let settings = OceanSettings::load(&sources, Some("jira")).unwrap();
    let error = settings
        .integration_config::<JiraConfig>()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN"),
        "{error}"
    );
}
