//! Fixtures of the Jira tests: recorded Jira payloads, a fake Jira (wiremock), and the
//! integration itself started with `ocean::testing` against the local Port.

#![allow(dead_code)]

use jira::signature::sign;
use ocean::config::Secret;
use ocean::live_events::{ProcessorRetryPolicy, StatsSnapshot};
use ocean::port::local::LocalEntity;
use ocean::runtime::defaults::DefaultResources;
use ocean::sync::{KindReport, ResyncReport};
use ocean::testing::TestIntegration;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use wiremock::MockServer;

/// The secret the fake Jira signs webhooks with.
pub const SECRET: &str = "jira-webhook-s3cret";
/// The installation identifier in the local Port.
pub const INTEGRATION: &str = "my-jira";

/// A recorded Jira payload from `tests/fixtures`.
pub fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The integration's default resources, `.port/resources`.
pub async fn default_resources() -> DefaultResources {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".port/resources");
    DefaultResources::load(&dir).await.unwrap()
}

/// The default mapping with the issue selector's extra keys replaced by `selector`.
pub async fn mapping_with_issue_selector(selector: Value) -> Value {
    let mut raw = default_resources().await.port_app_config.unwrap();
    for resource in raw["resources"].as_array_mut().unwrap() {
        if resource["kind"] == "issue" {
            resource["selector"] = selector.clone();
        }
    }
    raw
}

/// Retries fast enough for tests (the framework's own delays, not wall-clock assertions).
fn fast_retries() -> ProcessorRetryPolicy {
    ProcessorRetryPolicy {
        max_retries: 3,
        initial_retry_delay: Duration::from_millis(20),
        max_retry_delay: Duration::from_millis(100),
        exponential_base: 2.0,
        jitter_ratio: 0.0,
    }
}

/// The fake Jira and the integration, as the `jira` binary runs it (its own registrations,
/// blueprints and default mapping) with a webhook secret and fast processor retries.
pub struct Harness {
    pub jira: MockServer,
    pub it: TestIntegration,
}

impl Harness {
    /// Everything with the default mapping; Jira requests are retried 3 times.
    pub async fn start() -> Self {
        Self::start_with(None, 3).await
    }

    /// With `mapping` instead of the default one, and `request_retries` Jira retries.
    pub async fn start_with(mapping: Option<Value>, request_retries: u32) -> Self {
        let jira = MockServer::start().await;
        let it = TestIntegration::builder(ocean::integration_info!())
            .setting("OCEAN__INTEGRATION__IDENTIFIER", INTEGRATION)
            .setting("OCEAN__INTEGRATION__CONFIG__JIRA_HOST", jira.uri())
            .setting(
                "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_EMAIL",
                "bot@acme.example",
            )
            .setting(
                "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN",
                "api-t0ken",
            )
            .setting("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", SECRET)
            .setting(
                "OCEAN__INTEGRATION__CONFIG__REQUEST_RETRIES",
                request_retries.to_string(),
            )
            .config_from_settings::<jira::JiraConfig>()
            .processor_retries(fast_retries())
            .start()
            .await
            .unwrap();
        if let Some(mapping) = mapping {
            it.set_mapping(&mapping).await.unwrap();
        }
        Self { jira, it }
    }

    /// One full resync.
    pub async fn resync(&self) -> ResyncReport {
        self.it.resync().await.unwrap()
    }

    /// Posts `body` to `/integration/webhook` as Jira would, signed with `signature` (`None`:
    /// the correct one).
    pub async fn post_webhook(&self, body: &Value, signature: Option<&str>) -> u16 {
        let bytes = serde_json::to_vec(body).unwrap();
        let signature = match signature {
            Some(given) => given.to_owned(),
            None => sign(&Secret::from(SECRET), &bytes).unwrap(),
        };
        self.it
            .webhook("/webhook")
            .body(bytes)
            .header("content-type", "application/json")
            .header("x-hub-signature", signature)
            .header("user-agent", "Atlassian Webhook HTTP Client")
            .send()
            .await
            .unwrap()
            .status
    }

    pub fn entity(&self, blueprint: &str, id: &str) -> Option<LocalEntity> {
        self.it.entity(blueprint, id)
    }

    pub fn ids(&self, blueprint: &str) -> Vec<String> {
        self.it
            .entities(blueprint)
            .into_iter()
            .map(|e| e.identifier)
            .collect()
    }

    /// The live-event counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.it.running().live_events().unwrap().stats()
    }

    /// Waits until every accepted event was handled (or dead-lettered).
    pub async fn settled(&self) {
        self.it.wait_for_live_events().await.unwrap();
    }

    pub async fn stop(self) {
        self.it.stop().await;
    }
}

pub fn kind<'a>(report: &'a ResyncReport, kind: &str) -> &'a KindReport {
    report.kinds.iter().find(|k| k.kind == kind).unwrap()
}
