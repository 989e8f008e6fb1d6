//! `ocean::testing`: an integration started in-process against the embedded local Port, with
//! the settings the test gives; resyncs on demand, signed webhooks over HTTP, the catalog read
//! back.

use ocean::config::Secret;
use ocean::live_events::{
    Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor, WebhookProcessorRegistration,
    processor_factory,
};
use ocean::mapping::ResourceConfig;
use ocean::registry::{Registry, ResyncHandler, ResyncStream, one_batch};
use ocean::runtime::IntegrationInfo;
use ocean::signature::StandardWebhooks;
use ocean::testing::{TestError, TestIntegration};
use ocean::{Context, Error, FromContext, RawItem, Result};
use serde_json::json;
use std::time::SystemTime;

const INFO: IntegrationInfo = IntegrationInfo {
    name: "harness-test",
    version: "0.1.0",
    manifest_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/harness"),
};

/// A Standard Webhooks secret (`whsec_` + base64 of the key).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(serde::Deserialize)]
struct Settings {
    tickets: Vec<serde_json::Value>,
    webhook_secret: Secret,
}

fn tickets(ctx: Context) -> ResyncStream {
    one_batch(async move {
        let settings = ctx.config::<Settings>()?;
        Ok::<Vec<RawItem>, Error>(settings.tickets.clone())
    })
}

/// `{"ticket": {...}}`, signed with the configured secret.
struct TicketProcessor {
    verifier: StandardWebhooks,
}

impl FromContext for TicketProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        let settings = ctx.config::<Settings>()?;
        Ok(Self {
            verifier: StandardWebhooks::new(settings.webhook_secret.clone()),
        })
    }
}

impl WebhookProcessor for TicketProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload().get("ticket").is_some()
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(self
            .verifier
            .verify(event, event.raw_body(), SystemTime::now())
            .is_ok())
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["ticket"]["id"].is_string())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        Ok(WebhookEventRawResults::updated(vec![
            payload["ticket"].clone(),
        ]))
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register_resync(ResyncHandler {
            kind: Some("ticket"),
            name: "tickets",
            file: file!(),
            line: line!(),
            handler: tickets,
        })
        .expect("the handler registers")
        .register_webhook_processors([WebhookProcessorRegistration {
            path: "/webhook",
            name: "TicketProcessor",
            kinds: &["ticket"],
            retry: Default::default(),
            file: file!(),
            line: line!(),
            factory: processor_factory::<TicketProcessor>,
        }])
        .expect("the processor registers");
    registry
}

async fn start() -> TestIntegration {
    start_waiting(ocean::testing::DEFAULT_WAIT).await
}

async fn start_waiting(wait: std::time::Duration) -> TestIntegration {
    TestIntegration::builder(INFO)
        .wait_timeout(wait)
        .registry(registry())
        .setting(
            "OCEAN__INTEGRATION__CONFIG__TICKETS",
            r#"[{"id": "T-1", "title": "Broken login", "status": "open"},
                {"id": "T-2", "title": "Slow search", "status": "closed"}]"#,
        )
        .setting("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", SECRET)
        .config_from_settings::<Settings>()
        .start()
        .await
        .expect("the integration starts")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::test]
async fn a_resync_writes_the_handlers_items_to_the_local_port_and_reports_them() {
    let it = start().await;
    assert!(
        it.entities("ticket").is_empty(),
        "nothing before the resync"
    );
    let report = it.resync().await.expect("the resync runs");
    assert_eq!(report.kinds.len(), 1);
    assert_eq!(report.kinds[0].upserted, 2);
    let ids: Vec<String> = it
        .entities("ticket")
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    assert_eq!(ids, ["T-1", "T-2"]);
    assert_eq!(
        it.entity("ticket", "T-1").and_then(|e| e.title).as_deref(),
        Some("Broken login")
    );
    it.stop().await;
}

#[tokio::test]
async fn a_signed_webhook_is_accepted_and_its_entity_appears_and_a_bad_signature_is_refused() {
    let it = start().await;
    let payload = json!({"ticket": {"id": "T-9", "title": "New", "status": "open"}});
    let verifier = StandardWebhooks::new(SECRET);
    let accepted = it
        .webhook("/webhook")
        .json(&payload)
        .signed(|body| verifier.sign("msg_1", now(), body))
        .expect("signs")
        .send()
        .await
        .expect("answers");
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert!(accepted.event_id().is_some());
    let ticket = it.wait_for_entity("ticket", "T-9").await.expect("applied");
    assert_eq!(ticket.title.as_deref(), Some("New"));

    let other = StandardWebhooks::new("whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==");
    let refused = it
        .webhook("/webhook")
        .json(&json!({"ticket": {"id": "T-10", "title": "Forged", "status": "open"}}))
        .signed(|body| other.sign("msg_2", now(), body))
        .expect("signs")
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status, 401);
    it.wait_for_live_events().await.expect("settled");
    assert!(it.entity("ticket", "T-10").is_none());
    it.stop().await;
}

#[tokio::test]
async fn a_mapping_set_by_the_test_is_used_by_the_next_resync() {
    let it = start().await;
    it.set_mapping(&json!({"resources": [{
        "kind": "ticket",
        "selector": {"query": ".status == \"open\""},
        "port": {"entity": {"mappings": {
            "identifier": ".id", "title": "\"#\" + .id", "blueprint": "\"ticket\"",
        }}},
    }]}))
    .await
    .expect("the mapping is set");
    let report = it.resync().await.expect("the resync runs");
    assert_eq!((report.kinds[0].upserted, report.kinds[0].filtered), (1, 1));
    assert_eq!(
        it.entity("ticket", "T-1").and_then(|e| e.title).as_deref(),
        Some("#T-1")
    );
    it.stop().await;
}

#[tokio::test]
async fn a_missing_setting_fails_start_naming_the_variable() {
    let error = TestIntegration::builder(INFO)
        .registry(registry())
        .config_from_settings::<Settings>()
        .start()
        .await
        .expect_err("the settings are missing");
    let message = error.to_string();
    assert!(matches!(error, TestError::Config(_)), "{message}");
    assert!(
        message.contains("OCEAN__INTEGRATION__CONFIG__TICKETS"),
        "{message}"
    );
}

#[tokio::test]
async fn waiting_for_an_entity_that_never_comes_times_out_naming_it() {
    let it = start_waiting(std::time::Duration::from_millis(200)).await;
    // Nothing writes T-404: the wait must end with an error that says what it waited for.
    let error = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        it.wait_for_entity("ticket", "T-404"),
    )
    .await
    .expect("the wait is bounded")
    .expect_err("nothing writes it");
    assert!(error.to_string().contains("`T-404`"), "{error}");
    it.stop().await;
}

#[tokio::test]
async fn an_impossible_third_party_http_setting_stops_startup_naming_the_section() {
    let error = TestIntegration::builder(INFO)
        .registry(registry())
        .setting("OCEAN__INTEGRATION__CONFIG__TICKETS", "[]")
        .setting("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", SECRET)
        .setting("OCEAN__THIRD_PARTY_HTTP__LIVE_EVENTS_RESERVE", "1.5")
        .config_from_settings::<Settings>()
        .start()
        .await
        .expect_err("a reserve above the whole budget cannot work");
    let message = error.to_string();
    assert!(message.contains("OCEAN__THIRD_PARTY_HTTP__"), "{message}");
    assert!(message.contains("live_events_reserve"), "{message}");
}
