//! Live events inside the runtime: `launch` mounts the intake and admin routes of registered
//! processors, runs their workers, exposes their counters and drains them at shutdown.

use bytes::Bytes;
use ocean::live_events::{
    IntakeOutcome, Payload, ProcessorRetryPolicy, WebhookEvent, WebhookEventRawResults,
    WebhookProcessor, WebhookProcessorRegistration, processor_factory,
};
use ocean::mapping::ResourceConfig;
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::registry::{Registry, ResyncHandler, ResyncStream, one_batch};
use ocean::runtime::{IntegrationInfo, RunningIntegration};
use ocean::testing::{TestIntegration, TestIntegrationBuilder};
use ocean::{Context, Error, RawItem, Result};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;
use tempfile::TempDir;

mod polling;
use polling::eventually;

const IDENTIFIER: &str = "live-runtime-test";
const TOKEN_HEADER: &str = "x-test-token";
const TOKEN: &str = "let-me-in";
const ADMIN: &str = "admin-t0ken";

const INFO: IntegrationInfo = IntegrationInfo {
    name: "live-runtime-test",
    version: "0.1.0",
    manifest_dir: env!("CARGO_MANIFEST_DIR"),
};

const MAPPING: &str = r#"
resources:
  - kind: thing
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"thing"'
          properties:
            size: .size
"#;

const BLUEPRINTS: &str = r#"[
  {"identifier": "thing", "title": "Thing",
   "schema": {"properties": {"size": {"type": "number"}}}}
]"#;

// Tests run in parallel in one process: what a processor must do differently is keyed by the
// payload's `test` field.
static BROKEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
static GATE_STARTED: AtomicBool = AtomicBool::new(false);
static GATE_OPEN: AtomicBool = AtomicBool::new(false);
/// The lane of the HTTP client processors were handed, as last seen.
static PROCESSOR_LANE: Mutex<Option<ocean::http::Lane>> = Mutex::new(None);
static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();

async fn wait_for_gate() {
    GATE_STARTED.store(true, Ordering::SeqCst);
    loop {
        let opened = GATE.notified();
        tokio::pin!(opened);
        opened.as_mut().enable();
        if GATE_OPEN.load(Ordering::SeqCst) {
            return;
        }
        opened.await;
    }
}

fn open_gate() {
    GATE_OPEN.store(true, Ordering::SeqCst);
    GATE.notify_waiters();
}

/// `{"type": "thing", "test": ..., "thing": {...}}`, authenticated by a fixed header;
/// `action: delete` deletes, `gate: true` waits for the test to open the gate, and a test
/// marked broken fails permanently.
#[derive(Default)]
struct ThingProcessor;

impl WebhookProcessor for ThingProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload()["type"] == "thing"
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        Ok(event.header(TOKEN_HEADER) == Some(TOKEN))
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["thing"]["id"].is_string())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        *PROCESSOR_LANE.lock().unwrap() = Some(ctx.http().lane());
        if payload["gate"] == true {
            wait_for_gate().await;
        }
        let test = payload["test"].as_str().unwrap_or_default();
        if BROKEN.lock().unwrap().contains(test) {
            return Err(Error::msg("the third party rejected the call"));
        }
        let thing = payload["thing"].clone();
        Ok(if payload["action"] == "delete" {
            WebhookEventRawResults::deleted(vec![thing])
        } else {
            WebhookEventRawResults::updated(vec![thing])
        })
    }
    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        event.payload()["thing"]["id"].as_str().map(str::to_owned)
    }
}

fn thing_registration() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: "/webhook",
        name: "ThingProcessor",
        kinds: &["thing"],
        retry: ProcessorRetryPolicy {
            max_retries: 0,
            ..ProcessorRetryPolicy::default()
        },
        file: file!(),
        line: line!(),
        factory: processor_factory::<ThingProcessor>,
    }
}

fn things(_ctx: Context) -> ResyncStream {
    one_batch(async {
        Ok::<Vec<RawItem>, Error>(vec![json!({"id": "r1", "name": "R", "size": 1})])
    })
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register_webhook_processors([thing_registration()])
        .expect("the processor registers")
        .register_resync(ResyncHandler {
            kind: Some("thing"),
            name: "things",
            file: file!(),
            line: line!(),
            handler: things,
        })
        .expect("the handler registers");
    registry
}

fn resources() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("port-app-config.yml"), MAPPING).expect("write mapping");
    std::fs::write(dir.path().join("blueprints.json"), BLUEPRINTS).expect("write blueprints");
    dir
}

fn harness(resources: &TempDir, extra: &[(&str, &str)]) -> TestIntegrationBuilder {
    let mut builder = TestIntegration::builder(INFO)
        .registry(registry())
        .setting("OCEAN__INTEGRATION__IDENTIFIER", IDENTIFIER)
        .setting(
            "OCEAN__RESOURCES_PATH",
            resources.path().display().to_string(),
        )
        .setting("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "10");
    for (name, value) in extra {
        builder = builder.setting(*name, *value);
    }
    builder
}

async fn start(resources: &TempDir, extra: &[(&str, &str)]) -> RunningIntegration {
    harness(resources, extra)
        .start()
        .await
        .expect("the integration starts")
        .into_running()
}

fn base(running: &RunningIntegration) -> String {
    format!("http://{}", running.server_addr().expect("the server runs"))
}

fn event(test: &str, id: &str) -> Value {
    json!({"type": "thing", "test": test, "thing": {"id": id, "name": format!("Thing {id}"), "size": 3}})
}

async fn post(url: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(token) = token {
        request = request.header(TOKEN_HEADER, token);
    }
    let answer = request.send().await.expect("intake answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn admin(method: reqwest::Method, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("admin answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

fn embedded(running: &RunningIntegration) -> &LocalPortHandle {
    running.local_port().expect("an embedded local Port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_serves_the_processor_path_inside_the_prefix_and_applies_events() {
    let dir = resources();
    let running = start(&dir, &[("OCEAN__PATH_PREFIX", "ocean")]).await;
    let url = format!("{}/ocean/integration/webhook", base(&running));

    let (status, body) = post(&url, &event("apply", "t1"), Some(TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    assert!(body["eventId"].is_string(), "{body}");
    let port = embedded(&running);
    eventually("the entity is in Port", || {
        port.state().entity("thing", "t1").is_some()
    })
    .await;
    let entity = port.state().entity("thing", "t1").expect("stored");
    assert_eq!(
        *PROCESSOR_LANE.lock().unwrap(),
        Some(ocean::http::Lane::LiveEvents),
        "processors call the third party on the live-events lane"
    );
    assert_eq!(entity.title.as_deref(), Some("Thing t1"));

    let mut delete = event("apply", "t1");
    delete["action"] = json!("delete");
    let (status, _) = post(&url, &delete, Some(TOKEN)).await;
    assert_eq!(status, 202);
    eventually("the entity is deleted", || {
        port.state().entity("thing", "t1").is_none()
    })
    .await;

    let (status, _) = post(&url, &event("apply", "t2"), Some("wrong")).await;
    assert_eq!(
        status, 401,
        "a failed authentication is rejected at the door"
    );
    let (status, _) = post(
        &format!("{}/integration/webhook", base(&running)),
        &event("apply", "t3"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404, "routes live inside the path prefix");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_the_token_and_replay_a_dead_letter() {
    BROKEN.lock().unwrap().insert("admin".into());
    let dir = resources();
    let running = start(&dir, &[("OCEAN__LIVE_EVENTS__ADMIN_TOKEN", ADMIN)]).await;
    let base = base(&running);
    let (status, _) = post(
        &format!("{base}/integration/webhook"),
        &event("admin", "a1"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 202);
    let live = running.live_events().expect("live events run").clone();
    eventually("the failed event is dead-lettered", || {
        live.dead_letters().list().len() == 1
    })
    .await;

    let list = format!("{base}/admin/dead-letters");
    let (status, _) = admin(reqwest::Method::GET, &list, None).await;
    assert_eq!(status, 401, "no token");
    let (status, _) = admin(reqwest::Method::GET, &list, Some("not-the-token")).await;
    assert_eq!(status, 401, "wrong token");
    let (status, body) = admin(reqwest::Method::GET, &list, Some(ADMIN)).await;
    assert_eq!(status, 200, "{body}");
    let letters = body["deadLetters"].as_array().expect("a list");
    assert_eq!(letters.len(), 1, "{body}");
    let id = letters[0]["id"].as_str().expect("an id").to_owned();

    BROKEN.lock().unwrap().remove("admin");
    let replay = format!("{base}/admin/dead-letters/{id}/replay");
    let (status, _) = admin(reqwest::Method::POST, &replay, None).await;
    assert_eq!(status, 401);
    let (status, body) = admin(reqwest::Method::POST, &replay, Some(ADMIN)).await;
    assert_eq!(status, 202, "{body}");
    let port = embedded(&running);
    eventually("the replayed event is applied", || {
        port.state().entity("thing", "a1").is_some()
    })
    .await;
    assert!(live.dead_letters().list().is_empty());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_the_admin_routes_do_not_exist() {
    let dir = resources();
    let running = start(&dir, &[]).await;
    let (status, _) = admin(
        reqwest::Method::GET,
        &format!("{}/admin/dead-letters", base(&running)),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 404);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_live_event_counters() {
    let dir = resources();
    let running = start(&dir, &[]).await;
    let base = base(&running);
    let url = format!("{base}/integration/webhook");
    assert_eq!(
        post(&url, &event("metrics", "m1"), Some(TOKEN)).await.0,
        202
    );
    assert_eq!(post(&url, &event("metrics", "m2"), None).await.0, 401);
    assert_eq!(
        post(&url, &json!({"type": "thing"}), Some(TOKEN)).await.0,
        422
    );
    let live = running.live_events().expect("live events run").clone();
    eventually("the event is processed", || live.stats().processed == 1).await;

    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("text");
    for line in [
        "live_events_accepted_total 1",
        r#"live_events_rejected_total{reason="unauthorized"} 1"#,
        r#"live_events_rejected_total{reason="invalid"} 1"#,
        "live_events_processed_total 1",
        "live_events_dead_lettered_total 0",
        "live_events_queue_depth 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_an_event_in_flight() {
    let port = LocalPort::builder()
        .client_id("drain-id")
        .client_secret("drain-secret")
        .start()
        .await
        .expect("local Port starts");
    let dir = resources();
    let running = harness(&dir, &[])
        .local_port(&port)
        .start()
        .await
        .expect("the integration starts")
        .into_running();
    let mut gated = event("drain", "d1");
    gated["gate"] = json!(true);
    let (status, _) = post(
        &format!("{}/integration/webhook", base(&running)),
        &gated,
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 202);
    eventually("the event is in flight", || {
        GATE_STARTED.load(Ordering::SeqCst)
    })
    .await;

    let live = running.live_events().expect("live events run").clone();
    let shutdown = tokio::spawn(running.shutdown());
    // Shutdown has reached the live events once their door answers "shutting down".
    let mut closed = false;
    for _ in 0..400 {
        let outcome = live
            .receive("/webhook", Vec::new(), Bytes::from_static(b"not json"))
            .await;
        if outcome == IntakeOutcome::ShuttingDown {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(closed, "shutdown closes the live-events door");
    open_gate();
    shutdown.await.expect("shutdown finishes");

    assert!(
        port.state().entity("thing", "d1").is_some(),
        "the in-flight event was applied before shutdown finished"
    );
    assert_eq!(live.stats().processed, 1);
    assert!(live.dead_letters().list().is_empty());
    port.stop().await.expect("local Port stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_does_not_process_webhooks_mounts_no_live_event_routes() {
    let dir = resources();
    let running = start(&dir, &[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")]).await;
    assert!(running.live_events().is_none());
    let (status, _) = post(
        &format!("{}/integration/webhook", base(&running)),
        &event("once", "o1"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 404, "no routes without workers");
    let exit = running.run_until(std::future::pending()).await;
    assert_eq!(exit.code(), 0, "{exit:?}");
}

#[test]
fn about_lists_the_webhook_processors() {
    let about = registry().about();
    let processors = about["webhookProcessors"].as_array().expect("a list");
    assert_eq!(processors.len(), 1, "{about}");
    let p = &processors[0];
    assert_eq!(p["path"], "/webhook");
    assert_eq!(p["name"], "ThingProcessor");
    assert_eq!(p["kinds"], json!(["thing"]));
    assert_eq!(p["retry"]["maxRetries"], 0);
    assert!(
        p["location"]
            .as_str()
            .is_some_and(|l| l.contains("runtime_live_events.rs:")),
        "{p}"
    );
    assert_eq!(about["kinds"], json!(["thing"]));
}

/// A processor whose constructor reads a setting the integration does not have.
struct NeedsASecret;

impl ocean::FromContext for NeedsASecret {
    fn from_context(_ctx: &Context) -> Result<Self> {
        Err(Error::msg(
            "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET is not set",
        ))
    }
}

impl WebhookProcessor for NeedsASecret {
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

#[tokio::test]
async fn a_processor_constructor_error_stops_startup_naming_the_processor_and_the_cause() {
    let resources = resources();
    let mut registry = Registry::new();
    registry
        .register_webhook_processors([
            thing_registration(),
            WebhookProcessorRegistration {
                path: "/webhook",
                name: "NeedsASecret",
                kinds: &["thing"],
                retry: ProcessorRetryPolicy::default(),
                file: "src/hooks.rs",
                line: 12,
                factory: processor_factory::<NeedsASecret>,
            },
        ])
        .expect("the processors register");
    let error = harness(&resources, &[])
        .registry(registry)
        .start()
        .await
        .expect_err("the constructor fails")
        .to_string();
    assert!(
        error.contains(
            "webhook processor `NeedsASecret` (registered at src/hooks.rs:12) could not be built: OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET is not set"
        ),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_edited_in_port_reaches_live_events_within_the_ttl() {
    let dir = resources();
    let running = start(&dir, &[("OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "1")]).await;
    let url = format!("{}/integration/webhook", base(&running));
    let port = embedded(&running);
    let (status, body) = post(&url, &event("ttl", "before"), Some(TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    eventually("the first event is applied", || {
        port.state().entity("thing", "before").is_some()
    })
    .await;
    let title = |id: &str| {
        port.state()
            .entity("thing", id)
            .and_then(|e| e.title.clone())
    };
    assert_eq!(title("before").as_deref(), Some("Thing before"));

    // The mapping is edited in Port: titles get a prefix.
    let mut edited: Value = serde_norway::from_str(MAPPING).expect("the mapping is YAML");
    edited["resources"][0]["port"]["entity"]["mappings"]["title"] = json!("\"edited \" + .name");
    running
        .port()
        .patch_integration_config(IDENTIFIER, &edited)
        .await
        .expect("the mapping is edited");
    let edited_at = std::time::Instant::now();

    // Events keep arriving; once the cached mapping is older than the TTL, they are mapped
    // with the edited one.
    let mut sent = 0;
    let mut latest = String::new();
    while title(&latest).as_deref() != Some(format!("edited Thing {latest}").as_str()) {
        assert!(
            edited_at.elapsed() < Duration::from_secs(20),
            "the edited mapping never reached live events"
        );
        sent += 1;
        latest = format!("after-{sent}");
        let (status, body) = post(&url, &event("ttl", &latest), Some(TOKEN)).await;
        assert_eq!(status, 202, "{body}");
        let id = latest.clone();
        eventually("the event is applied", || title(&id).is_some()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.shutdown().await;
}
