//! Live events end to end over real HTTP: intake on an actix-web server, workers, retries,
//! dead letters and replay, writing to a local Port.

use actix_web::{App, HttpResponse, HttpServer, web};
use bytes::Bytes;
use ocean::config::Secret;
use ocean::live_events::{
    LiveApplier, LiveEvents, LiveEventsError, LiveEventsOptions, Payload, ProcessorRetryPolicy,
    RawRoutesRegistration, WebhookEvent, WebhookEventRawResults, WebhookProcessor,
    WebhookProcessorRegistration, collect_registrations, processor_factory,
};
use ocean::mapping::{
    FixedPortAppConfig, PortAppConfig, PortAppConfigFromPort, PortAppConfigProvider, ResourceConfig,
};
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::datasource::Datasource;
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::port::types::{Blueprint, Entity, Integration};
use ocean::signature::PortSignature;
use ocean::{Context, Error, Result};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

mod polling;
use polling::eventually;

const SECRET: &str = "webhook-s3cret";
const ADMIN: &str = "admin-t0ken";

const MAPPING: &str = r#"
resources:
  - kind: repository
    selector: {query: '.state != "archived"'}
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"service"'
          title: .name
          properties: {state: .state}
  - kind: team
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, blueprint: '"team"'}
"#;

// ---------------------------------------------------------------------------------------------
// Test processors. Their behaviour is driven by the payload; what they see is recorded in
// global logs keyed by the payload's `test` field, so tests running in parallel do not mix.

#[derive(Debug, Clone)]
struct Record {
    what: &'static str,
    id: String,
    at: Instant,
}

static LOG: LazyLock<Mutex<HashMap<String, Vec<Record>>>> = LazyLock::new(Default::default);
static BROKEN: LazyLock<Mutex<HashMap<String, bool>>> = LazyLock::new(Default::default);
static GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();
static GATE_OPEN: AtomicBool = AtomicBool::new(false);

fn test_of(payload: &Value) -> String {
    payload["test"].as_str().unwrap_or_default().to_owned()
}

fn record(payload: &Value, what: &'static str) {
    LOG.lock()
        .unwrap()
        .entry(test_of(payload))
        .or_default()
        .push(Record {
            what,
            id: payload["id"].as_str().unwrap_or_default().to_owned(),
            at: Instant::now(),
        });
}

fn records(test: &str, what: &str) -> Vec<Record> {
    LOG.lock()
        .unwrap()
        .get(test)
        .map(|r| r.iter().filter(|r| r.what == what).cloned().collect())
        .unwrap_or_default()
}

fn attempts_so_far(payload: &Value) -> usize {
    LOG.lock()
        .unwrap()
        .get(&test_of(payload))
        .map_or(0, |r| r.iter().filter(|r| r.what == "attempt").count())
}

fn item_of(payload: &Value) -> Value {
    json!({"id": payload["id"], "name": payload["name"], "state": payload["state"]})
}

/// Signed repository events on `/webhook`: `action` upsert (default) or delete; `fail`
/// `permanent` fails while the test is marked broken; `fail_times` fails retryably that often.
#[derive(Default)]
struct RepoProcessor;

impl WebhookProcessor for RepoProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload()["type"] == "repo"
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        let verifier = PortSignature::new(SECRET);
        Ok(verifier
            .verify(event, event.raw_body(), SystemTime::now())
            .is_ok())
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["id"].is_string())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        record(payload, "attempt");
        if payload["gate"] == true {
            loop {
                let opened = GATE.notified();
                tokio::pin!(opened);
                opened.as_mut().enable();
                if GATE_OPEN.load(Ordering::SeqCst) {
                    break;
                }
                opened.await;
            }
        }
        if let Some(ms) = payload["sleep_ms"].as_u64()
            && (attempts_so_far(payload) == 1 || payload["sleep_always"] == true)
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(n) = payload["fail_times"].as_u64()
            && attempts_so_far(payload) <= n as usize
        {
            return Err(Error::retryable(Error::msg("the third party is flaky")));
        }
        if BROKEN.lock().unwrap().get(&test_of(payload)) == Some(&true) {
            return Err(Error::msg("the third party rejected the call"));
        }
        record(payload, "handled");
        Ok(if payload["action"] == "delete" {
            WebhookEventRawResults::deleted(vec![item_of(payload)])
        } else {
            WebhookEventRawResults::updated(vec![item_of(payload)])
        })
    }
    async fn on_error(&self, event: &WebhookEvent, _error: &Error, _attempt: u32) {
        record(event.payload(), "on_error");
    }
    async fn cancel(&self, event: &WebhookEvent) {
        record(event.payload(), "cancel");
    }
    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        event.payload()["group"].as_str().map(str::to_owned)
    }
    fn not_accepted(&self, event: &WebhookEvent) {
        record(event.payload(), "not_accepted");
    }
}

/// A second processor on `/webhook` for the `team` kind: wants repo events with `team` set.
#[derive(Default)]
struct TeamProcessor;

impl WebhookProcessor for TeamProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload()["type"] == "repo" && event.payload()["team"].is_string()
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
        if payload["team_fails"] == true {
            return Err(Error::msg("team API returned 400"));
        }
        Ok(WebhookEventRawResults::updated(vec![
            json!({"id": payload["team"]}),
        ]))
    }
}

/// Wants every repo event but its kind is not in the mapping.
#[derive(Default)]
struct UnmappedProcessor;

impl WebhookProcessor for UnmappedProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload()["type"] == "unmapped"
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
        record(payload, "attempt");
        Ok(WebhookEventRawResults::default())
    }
}

/// Records its hooks on `/hooks`; `after_fails` makes `after_processing` fail.
#[derive(Default)]
struct HookProcessor;

impl WebhookProcessor for HookProcessor {
    async fn should_process_event(&self, _event: &WebhookEvent) -> bool {
        true
    }
    async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
        Ok(true)
    }
    async fn validate_payload(&self, _payload: &Payload) -> Result<bool> {
        Ok(true)
    }
    async fn before_processing(&self, event: &WebhookEvent, ctx: &Context) -> Result<()> {
        assert_eq!(ctx.resource().map(|r| r.kind.as_str()), Some("repository"));
        record(event.payload(), "before");
        Ok(())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        resource: &ResourceConfig,
        ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        assert_eq!(
            ctx.resource(),
            Some(resource),
            "the context carries the resource"
        );
        record(payload, "attempt");
        Ok(WebhookEventRawResults::updated(vec![item_of(payload)]))
    }
    async fn after_processing(
        &self,
        event: &WebhookEvent,
        results: &WebhookEventRawResults,
        _ctx: &Context,
    ) -> Result<()> {
        assert_eq!(results.updated_raw_results.len(), 1);
        record(event.payload(), "after");
        if event.payload()["after_fails"] == true {
            return Err(Error::msg("post-processing bookkeeping failed"));
        }
        Ok(())
    }
}

fn hook_registration() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: "/hooks",
        name: "HookProcessor",
        kinds: &["repository"],
        retry: fast_retries(),
        file: file!(),
        line: line!(),
        factory: processor_factory::<HookProcessor>,
    }
}

fn fast_retries() -> ProcessorRetryPolicy {
    ProcessorRetryPolicy {
        max_retries: 3,
        initial_retry_delay: Duration::from_millis(30),
        max_retry_delay: Duration::from_secs(1),
        exponential_base: 2.0,
        // Exact delays: the retry test compares the observed waits with them.
        jitter_ratio: 0.0,
    }
}

fn repo_registration() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: "/webhook",
        name: "RepoProcessor",
        kinds: &["repository"],
        retry: fast_retries(),
        file: file!(),
        line: line!(),
        factory: processor_factory::<RepoProcessor>,
    }
}

fn team_registration() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: "/webhook",
        name: "TeamProcessor",
        kinds: &["team"],
        retry: fast_retries(),
        file: file!(),
        line: line!(),
        factory: processor_factory::<TeamProcessor>,
    }
}

fn unmapped_registration() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: "/webhook",
        name: "UnmappedProcessor",
        kinds: &["not_in_mapping"],
        retry: fast_retries(),
        file: file!(),
        line: line!(),
        factory: processor_factory::<UnmappedProcessor>,
    }
}

// ---------------------------------------------------------------------------------------------
// Harness: a local Port with the blueprints, the live-events manager, and an HTTP server.

fn client(port: &LocalPortHandle, identifier: &str) -> PortClient {
    PortClient::new(PortClientConfig::new(
        port.url(),
        Secret::from("id"),
        Secret::from("secret"),
        Datasource::exporter("test", "1.0.0", identifier),
    ))
    .unwrap()
}

async fn local_port() -> (LocalPortHandle, PortClient) {
    let handle = LocalPort::builder()
        .client_id("id")
        .client_secret("secret")
        .start()
        .await
        .unwrap();
    let port = client(&handle, "my-integration");
    for (id, props) in [
        ("service", json!({"state": {"type": "string"}})),
        ("team", json!({})),
    ] {
        let blueprint: Blueprint = serde_json::from_value(
            json!({"identifier": id, "title": id, "schema": {"properties": props}}),
        )
        .unwrap();
        port.create_blueprint(&blueprint).await.unwrap();
    }
    (handle, port)
}

struct Harness {
    port: LocalPortHandle,
    live: LiveEvents,
    base: String,
    http: reqwest::Client,
    server: actix_web::dev::ServerHandle,
}

/// Serves `live`'s intake and admin routes on a free loopback port.
fn serve(live: &LiveEvents) -> (String, actix_web::dev::ServerHandle) {
    let app_live = live.clone();
    let server = HttpServer::new(move || {
        let a = app_live.clone();
        let b = app_live.clone();
        App::new()
            .configure(move |cfg| a.configure(cfg))
            .configure(move |cfg| b.configure_admin(cfg))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://{addr}"), handle)
}

fn options() -> LiveEventsOptions {
    LiveEventsOptions {
        workers_per_path: 2,
        queue_capacity: 100,
        body_limit: 4096,
        admin_token: Some(Secret::from(ADMIN)),
        ..LiveEventsOptions::default()
    }
}

async fn harness_with(
    registrations: Vec<WebhookProcessorRegistration>,
    options: LiveEventsOptions,
    start_workers: bool,
) -> Harness {
    let (port, client) = local_port().await;
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(MAPPING).unwrap(),
    ));
    let context = Context::new((), reqwest::Client::new()).with_port(client.clone());
    let mut builder = LiveEvents::builder(context, client, configs)
        .options(options)
        .raw_routes(RawRoutesRegistration {
            name: "legacy_routes",
            file: file!(),
            line: line!(),
            configure: legacy_routes,
        });
    for r in registrations {
        builder = builder.register(r);
    }
    let live = builder.build().await.unwrap();
    if start_workers {
        live.start();
    }
    let (base, server) = serve(&live);
    Harness {
        port,
        live,
        base,
        http: reqwest::Client::new(),
        server,
    }
}

async fn harness() -> Harness {
    harness_with(
        vec![
            repo_registration(),
            team_registration(),
            unmapped_registration(),
        ],
        options(),
        true,
    )
    .await
}

impl Harness {
    async fn post_raw(&self, path: &str, body: Vec<u8>, signed: bool) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/integration{path}", self.base))
            .header("content-type", "application/json");
        if signed {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            for (name, value) in PortSignature::new(SECRET).sign(&body, now).unwrap().iter() {
                req = req.header(name, value);
            }
        }
        req.body(body).send().await.unwrap()
    }

    async fn post(&self, body: Value) -> (u16, Value) {
        let resp = self
            .post_raw("/webhook", serde_json::to_vec(&body).unwrap(), true)
            .await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    fn entity(&self, blueprint: &str, id: &str) -> Option<ocean::port::local::LocalEntity> {
        self.port.state().entity(blueprint, id)
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn stop(self) {
        self.live.shutdown().await;
        self.server.stop(false).await;
        self.port.stop().await.unwrap();
    }
}

fn repo(test: &str, id: &str) -> Value {
    json!({"type": "repo", "test": test, "id": id, "name": format!("Repo {id}"), "state": "open"})
}

// ---------------------------------------------------------------------------------------------
// Legacy raw routes.

async fn legacy_upsert(applier: web::Data<LiveApplier>, body: web::Json<Value>) -> HttpResponse {
    match applier
        .register_raw("repository", vec![body.into_inner()])
        .await
    {
        Ok(entities) => HttpResponse::Ok().json(json!({"upserted": entities.len()})),
        Err(e) => HttpResponse::BadGateway().json(json!({"message": e.to_string()})),
    }
}

async fn legacy_delete(applier: web::Data<LiveApplier>, body: web::Json<Value>) -> HttpResponse {
    match applier
        .unregister_raw("repository", vec![body.into_inner()])
        .await
    {
        Ok(entities) => HttpResponse::Ok().json(json!({"deleted": entities.len()})),
        Err(e) => HttpResponse::BadGateway().json(json!({"message": e.to_string()})),
    }
}

fn legacy_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/legacy", web::post().to(legacy_upsert))
        .route("/legacy", web::delete().to(legacy_delete));
}

// ---------------------------------------------------------------------------------------------
// The door.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_event_is_accepted_and_its_entity_appears_in_port() {
    let h = harness().await;
    let (status, body) = h.post(repo("signed", "r-signed")).await;
    assert_eq!(status, 202, "{body}");
    assert!(body["eventId"].as_str().is_some_and(|id| !id.is_empty()));
    eventually("entity upserted", || {
        h.entity("service", "r-signed").is_some()
    })
    .await;
    let entity = h.entity("service", "r-signed").unwrap();
    assert_eq!(entity.title.as_deref(), Some("Repo r-signed"));
    assert_eq!(entity.properties["state"], "open");
    assert_eq!(
        entity.datasource.as_deref(),
        Some("port-ocean/test/1.0.0/my-integration/exporter")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_wrongly_signed_events_get_401_and_nothing_is_processed() {
    let h = harness().await;
    let body = serde_json::to_vec(&repo("unsigned", "r-unsigned")).unwrap();
    let resp = h.post_raw("/webhook", body.clone(), false).await;
    assert_eq!(resp.status().as_u16(), 401);
    let message: Value = resp.json().await.unwrap();
    assert_eq!(message["message"], "webhook authentication failed");

    let mut req = h
        .http
        .post(format!("{}/integration/webhook", h.base))
        .body(body.clone());
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (name, value) in PortSignature::new("another-secret")
        .sign(&body, now)
        .unwrap()
        .iter()
    {
        req = req.header(name, value);
    }
    assert_eq!(req.send().await.unwrap().status().as_u16(), 401);

    let stats = h.live.stats();
    assert_eq!(stats.accepted, 0);
    assert_eq!(stats.rejected_unauthorized, 2);
    assert!(records("unsigned", "attempt").is_empty());
    assert!(h.entity("service", "r-unsigned").is_none());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_unwanted_and_invalid_requests_are_answered_at_the_door() {
    let h = harness().await;

    let resp = h.post_raw("/webhook", b"{not json".to_vec(), true).await;
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("must be JSON"),
        "{body}"
    );

    let big = serde_json::to_vec(&json!({"type": "repo", "pad": "x".repeat(5000)})).unwrap();
    let resp = h.post_raw("/webhook", big, true).await;
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("4096 bytes"),
        "{body}"
    );

    let (status, body) = h.post(json!({"type": "something-else"})).await;
    assert_eq!((status, body), (200, json!({"status": "ignored"})));

    let (status, body) = h.post(json!({"type": "repo", "test": "invalid"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["message"].as_str().unwrap().contains("RepoProcessor"));

    let stats = h.live.stats();
    assert_eq!(
        (
            stats.rejected_bad_json,
            stats.rejected_too_large,
            stats.ignored,
            stats.rejected_invalid,
            stats.accepted
        ),
        (1, 1, 1, 1, 0)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let h = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            queue_capacity: 1,
            retry_after_seconds: 7,
            ..options()
        },
        false,
    )
    .await;
    let (status, _) = h.post(repo("full", "r-full-1")).await;
    assert_eq!(status, 202);
    let resp = h
        .post_raw(
            "/webhook",
            serde_json::to_vec(&repo("full", "r-full-2")).unwrap(),
            true,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(h.live.stats().queue_depth, 1);
    let refused = records("full", "not_accepted");
    assert_eq!(
        refused.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r-full-2"],
        "the processor that authenticated the refused event is told, so its retry is no replay"
    );
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Processing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_applies_together_keeps_order_per_entity_and_fails_event_by_event() {
    let h = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            workers_per_path: 1,
            ..options()
        },
        false,
    )
    .await;
    // Queued before any worker runs, so the one worker takes them as one batch.
    for id in ["r-b1", "r-b2", "r-b3"] {
        assert_eq!(h.post(repo("batch", id)).await.0, 202);
    }
    let mut first = repo("batch", "r-same");
    first["name"] = json!("first");
    let mut second = repo("batch", "r-same");
    second["name"] = json!("second");
    assert_eq!(h.post(first).await.0, 202);
    assert_eq!(h.post(second).await.0, 202);
    let mut bad = repo("batch", "r-bad");
    bad["state"] = json!(5); // `state` is a string property: Port rejects this entity only
    assert_eq!(h.post(bad).await.0, 202);
    assert_eq!(h.live.stats().queue_depth, 6);
    h.live.start();
    eventually("every event settled", || {
        let stats = h.live.stats();
        stats.processed + stats.dead_lettered == 6
    })
    .await;
    let stats = h.live.stats();
    assert_eq!((stats.processed, stats.dead_lettered), (5, 1));
    for id in ["r-b1", "r-b2", "r-b3"] {
        assert!(h.entity("service", id).is_some(), "{id} upserted");
    }
    assert_eq!(
        h.entity("service", "r-same").unwrap().title.as_deref(),
        Some("second"),
        "two events of one entity in a batch are applied in arrival order"
    );
    assert!(h.entity("service", "r-bad").is_none());
    let letters = h.live.dead_letters().list();
    let letter = letters
        .iter()
        .find(|l| l.event.payload["id"] == "r-bad")
        .expect("the rejected event is dead-lettered");
    assert!(
        letter.failures[0].error.contains("r-bad"),
        "{:?}",
        letter.failures
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_event_removes_only_entities_this_integration_owns() {
    let h = harness().await;
    let (status, _) = h.post(repo("delete", "r-mine")).await;
    assert_eq!(status, 202);
    eventually("entity upserted", || {
        h.entity("service", "r-mine").is_some()
    })
    .await;

    // An entity with the same blueprint written by another integration.
    let other = client(&h.port, "another-integration");
    let mut foreign = Entity::new("r-foreign", "service");
    foreign.title = Some(json!("not ours"));
    assert!(
        other
            .upsert_entities_bulk(vec![foreign], &Default::default())
            .await
            .all_stored()
    );

    let mut gone = repo("delete", "r-mine");
    gone["action"] = json!("delete");
    let mut foreign_gone = repo("delete", "r-foreign");
    foreign_gone["action"] = json!("delete");
    assert_eq!(h.post(foreign_gone).await.0, 202);
    assert_eq!(h.post(gone).await.0, 202);
    eventually("our entity deleted", || {
        h.entity("service", "r-mine").is_none()
    })
    .await;
    eventually("both events processed", || h.live.stats().processed >= 3).await;
    assert!(
        h.entity("service", "r-foreign").is_some(),
        "an entity owned by another datasource is never deleted"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updated_item_the_selector_now_rejects_is_deleted() {
    let h = harness().await;
    assert_eq!(h.post(repo("archived", "r-arch")).await.0, 202);
    eventually("entity upserted", || {
        h.entity("service", "r-arch").is_some()
    })
    .await;
    let mut archived = repo("archived", "r-arch");
    archived["state"] = json!("archived");
    assert_eq!(h.post(archived).await.0, 202);
    eventually("entity deleted", || h.entity("service", "r-arch").is_none()).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_on_one_path_both_apply() {
    let h = harness().await;
    let mut event = repo("two", "r-two");
    event["team"] = json!("platform");
    assert_eq!(h.post(event).await.0, 202);
    eventually("both entities", || {
        h.entity("service", "r-two").is_some() && h.entity("team", "platform").is_some()
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_processor_failing_does_not_lose_the_others_results() {
    let h = harness().await;
    let mut event = repo("partial", "r-partial");
    event["team"] = json!("broken-team");
    event["team_fails"] = json!(true);
    assert_eq!(h.post(event).await.0, 202);
    eventually("dead letter", || !h.live.dead_letters().is_empty()).await;
    assert!(h.entity("service", "r-partial").is_some());
    assert!(h.entity("team", "broken-team").is_none());
    let letter = &h.live.dead_letters().list()[0];
    assert_eq!(letter.failures.len(), 1);
    assert_eq!(
        letter.failures[0].processor.as_deref(),
        Some("TeamProcessor")
    );
    assert_eq!(letter.failures[0].kind.as_deref(), Some("team"));
    assert_eq!(letter.replay_processors(), ["TeamProcessor"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_missing_from_the_mapping_are_skipped_without_error() {
    let h = harness().await;
    assert_eq!(
        h.post(json!({"type": "unmapped", "test": "unmapped"}))
            .await
            .0,
        202
    );
    eventually("processed", || h.live.stats().processed == 1).await;
    assert!(
        records("unmapped", "attempt").is_empty(),
        "no resource, no handle_event"
    );
    assert!(h.live.dead_letters().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_succeeds_on_the_third_attempt_after_the_configured_delays() {
    let h = harness().await;
    let mut event = repo("retry", "r-retry");
    event["fail_times"] = json!(2);
    assert_eq!(h.post(event).await.0, 202);
    eventually("entity upserted", || {
        h.entity("service", "r-retry").is_some()
    })
    .await;
    let attempts = records("retry", "attempt");
    assert_eq!(attempts.len(), 3);
    assert_eq!(records("retry", "on_error").len(), 2);
    let policy = fast_retries();
    // On the real clock a wait can only be bounded from below; the exact delays are pinned
    // on paused time in `live_events_acceptance.rs`.
    assert!(attempts[1].at - attempts[0].at >= policy.delay(1));
    assert!(attempts[2].at - attempts[1].at >= policy.delay(2));
    assert_eq!(
        policy.delay(1),
        Duration::from_millis(30),
        "first retry waits the initial delay"
    );
    assert_eq!(h.live.stats().retried, 2);
    assert!(h.live.dead_letters().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_after_max_retries_and_the_event_is_dead_lettered() {
    let h = harness().await;
    let mut event = repo("exhausted", "r-exhausted");
    event["fail_times"] = json!(99);
    assert_eq!(h.post(event).await.0, 202);
    eventually("dead letter", || !h.live.dead_letters().is_empty()).await;
    assert_eq!(
        records("exhausted", "attempt").len(),
        4,
        "max_retries 3: four calls"
    );
    assert_eq!(
        records("exhausted", "on_error").len(),
        4,
        "on_error after every failure"
    );
    assert_eq!(h.live.dead_letters().list()[0].failures[0].attempts, 4);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_attempt_is_cancelled_and_retried() {
    let h = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            // Only the first attempt sleeps (a minute); the limit is generous enough that the
            // retry, which does not, never overruns it on a loaded machine.
            max_event_processing: Duration::from_secs(2),
            ..options()
        },
        true,
    )
    .await;
    let mut event = repo("timeout", "r-timeout");
    event["sleep_ms"] = json!(60_000);
    assert_eq!(h.post(event).await.0, 202);
    eventually("entity upserted", || {
        h.entity("service", "r-timeout").is_some()
    })
    .await;
    assert_eq!(records("timeout", "cancel").len(), 1);
    assert_eq!(records("timeout", "attempt").len(), 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_dead_lettered_and_replayed_through_the_admin_route() {
    let h = harness().await;
    BROKEN.lock().unwrap().insert("replay".into(), true);
    let body = repo("replay", "r-replay");
    let raw = serde_json::to_vec(&body).unwrap();
    assert_eq!(
        h.post_raw("/webhook", raw.clone(), true)
            .await
            .status()
            .as_u16(),
        202
    );
    eventually("dead letter", || !h.live.dead_letters().is_empty()).await;
    assert_eq!(
        records("replay", "attempt").len(),
        1,
        "a permanent error is not retried"
    );

    // The admin routes want the token.
    assert_eq!(
        h.admin(reqwest::Method::GET, "/admin/dead-letters", None)
            .await
            .0,
        401
    );
    assert_eq!(
        h.admin(reqwest::Method::GET, "/admin/dead-letters", Some("wrong"))
            .await
            .0,
        401
    );
    let (status, list) = h
        .admin(reqwest::Method::GET, "/admin/dead-letters", Some(ADMIN))
        .await;
    assert_eq!(status, 200);
    let letter = &list["deadLetters"][0];
    assert_eq!(letter["event"]["payload"], body);
    assert_eq!(letter["failures"][0]["processor"], "RepoProcessor");
    assert_eq!(
        letter["failures"][0]["error"],
        "the third party rejected the call"
    );
    let stored = h.live.dead_letters().list()[0].event.to_event();
    assert_eq!(stored.raw_body(), raw.as_slice(), "the raw body is kept");
    assert!(stored.header("x-port-signature").is_some());

    BROKEN.lock().unwrap().insert("replay".into(), false);
    let id = letter["id"].as_str().unwrap();
    let (status, answer) = h
        .admin(
            reqwest::Method::POST,
            &format!("/admin/dead-letters/{id}/replay"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["eventId"], letter["event"]["traceId"]);
    eventually("entity upserted", || {
        h.entity("service", "r-replay").is_some()
    })
    .await;
    assert!(h.live.dead_letters().is_empty());
    let (status, _) = h
        .admin(
            reqwest::Method::POST,
            &format!("/admin/dead-letters/{id}/replay"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(status, 404);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_can_be_deleted_and_admin_routes_fail_closed_without_a_token() {
    let h = harness().await;
    BROKEN.lock().unwrap().insert("delete-letter".into(), true);
    assert_eq!(h.post(repo("delete-letter", "r-dl")).await.0, 202);
    eventually("dead letter", || !h.live.dead_letters().is_empty()).await;
    let id = h.live.dead_letters().list()[0].id.clone();
    let (status, _) = h
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/dead-letters/{id}"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(status, 200);
    assert!(h.live.dead_letters().is_empty());
    h.stop().await;

    let closed = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            admin_token: None,
            ..options()
        },
        true,
    )
    .await;
    let (status, _) = closed
        .admin(reqwest::Method::GET, "/admin/dead-letters", Some(ADMIN))
        .await;
    assert_eq!(status, 404);
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_group_events_are_applied_in_order_under_eight_workers() {
    let h = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            workers_per_path: 8,
            ..options()
        },
        true,
    )
    .await;
    for seq in 0..24 {
        let group = ["g1", "g2", "g3"][seq % 3];
        let mut event = repo("ordered", &format!("{group}-{seq}"));
        event["group"] = json!(group);
        event["sleep_ms"] = json!(2);
        event["sleep_always"] = json!(true);
        assert_eq!(h.post(event).await.0, 202);
    }
    eventually("all processed", || h.live.stats().processed == 24).await;
    let attempts = records("ordered", "attempt");
    let handled = records("ordered", "handled");
    for group in ["g1", "g2", "g3"] {
        let seqs = |rs: &[Record]| -> Vec<usize> {
            rs.iter()
                .filter(|r| r.id.starts_with(group))
                .map(|r| r.id.rsplit('-').next().unwrap().parse().unwrap())
                .collect()
        };
        let started = seqs(&attempts);
        let mut sorted = started.clone();
        sorted.sort_unstable();
        assert_eq!(started, sorted, "group {group} started in arrival order");
        // Never two in flight: each start comes after the previous event finished.
        let starts: Vec<&Record> = attempts
            .iter()
            .filter(|r| r.id.starts_with(group))
            .collect();
        let ends: Vec<&Record> = handled.iter().filter(|r| r.id.starts_with(group)).collect();
        for i in 1..starts.len() {
            assert!(starts[i].at >= ends[i - 1].at, "group {group} overlapped");
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_work_and_cancels_what_it_abandons() {
    let h = harness_with(
        vec![repo_registration()],
        LiveEventsOptions {
            // The stuck event holds shutdown for the whole grace; the gated one must finish
            // within it once released, which a loaded machine may take seconds to do.
            shutdown_grace: Duration::from_secs(10),
            ..options()
        },
        true,
    )
    .await;
    let mut gated = repo("shutdown", "r-gated");
    gated["gate"] = json!(true);
    let mut stuck = repo("shutdown", "r-stuck");
    stuck["sleep_ms"] = json!(600_000);
    stuck["sleep_always"] = json!(true);
    assert_eq!(h.post(gated).await.0, 202);
    assert_eq!(h.post(stuck).await.0, 202);
    eventually("both in flight", || {
        records("shutdown", "attempt").len() == 2
    })
    .await;

    let live = h.live.clone();
    let shutdown = tokio::spawn(async move { live.shutdown().await });
    // Intake closes at once: new events are refused while in-flight work goes on.
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.post(repo("shutdown", "r-late")).await.0 != 503 {
        assert!(Instant::now() < deadline, "intake never closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    GATE_OPEN.store(true, Ordering::SeqCst);
    GATE.notify_waiters();
    let report = shutdown.await.unwrap();
    assert!(report.timed_out);
    assert_eq!(report.abandoned, 1);
    assert!(
        h.entity("service", "r-gated").is_some(),
        "in-flight work finished"
    );
    assert!(h.entity("service", "r-stuck").is_none());
    let cancelled = records("shutdown", "cancel");
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].id, "r-stuck");
    let abandoned: Vec<_> = h
        .live
        .dead_letters()
        .list()
        .into_iter()
        .filter(|l| {
            l.failures
                .iter()
                .any(|f| f.error == "abandoned at shutdown")
        })
        .collect();
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].event.payload["id"], "r-stuck");
    h.server.stop(false).await;
    h.port.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Legacy raw routes, registration and config providers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_routes_register_and_unregister_raw_items() {
    let h = harness().await;
    let url = format!("{}/integration/legacy", h.base);
    let item = json!({"id": "r-raw", "name": "Raw", "state": "open"});
    let resp = h.http.post(&url).json(&item).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"upserted": 1}));
    assert!(h.entity("service", "r-raw").is_some());

    let mut archived = item.clone();
    archived["state"] = json!("archived");
    // Registering an item the selector rejects deletes its (owned) entity.
    let resp = h.http.post(&url).json(&archived).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"upserted": 0}));
    assert!(h.entity("service", "r-raw").is_none());

    let resp = h.http.post(&url).json(&item).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = h.http.delete(&url).json(&item).send().await.unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"deleted": 1}));
    assert!(h.entity("service", "r-raw").is_none());
    h.stop().await;
}

#[test]
fn registrations_are_sorted_by_path_then_name() {
    let mut other_path = team_registration();
    other_path.path = "/a-first";
    let map =
        collect_registrations([team_registration(), repo_registration(), other_path]).unwrap();
    let paths: Vec<_> = map.keys().map(String::as_str).collect();
    assert_eq!(paths, ["/a-first", "/webhook"]);
    let names: Vec<_> = map["/webhook"].iter().map(|r| r.name).collect();
    assert_eq!(names, ["RepoProcessor", "TeamProcessor"]);
}

#[test]
fn the_same_processor_twice_on_a_path_names_both_places() {
    let mut again = repo_registration();
    again.line = 9999;
    let error = collect_registrations([repo_registration(), again]).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, LiveEventsError::DuplicateProcessor { .. }));
    assert!(message.contains("RepoProcessor"), "{message}");
    assert!(message.contains(&format!("{}:9999", file!())), "{message}");
    assert!(
        message.contains(&format!("{}:{}", file!(), repo_registration().line)),
        "{message}"
    );
}

#[test]
fn a_path_without_a_leading_slash_is_rejected() {
    let mut bad = repo_registration();
    bad.path = "webhook";
    assert!(matches!(
        collect_registrations([bad]),
        Err(LiveEventsError::InvalidPath(p)) if p == "webhook"
    ));
}

ocean::__private::inventory::submit! {
    WebhookProcessorRegistration {
        path: "/inventory",
        name: "InventoryProcessor",
        kinds: &["repository"],
        retry: ProcessorRetryPolicy {
            max_retries: 0,
            initial_retry_delay: Duration::from_millis(1),
            max_retry_delay: Duration::from_millis(1),
            exponential_base: 2.0,
            jitter_ratio: 0.0,
        },
        file: file!(),
        line: line!(),
        factory: processor_factory::<RepoProcessor>,
    }
}

fn inventory_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/from-inventory", web::get().to(HttpResponse::NoContent));
}

ocean::raw_routes!(inventory_routes);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_inventory_collects_submitted_processors_and_raw_routes() {
    let (port, client) = local_port().await;
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(MAPPING).unwrap(),
    ));
    let context = Context::new((), reqwest::Client::new());
    let live = LiveEvents::from_inventory(context, client, configs, options())
        .await
        .unwrap();
    assert_eq!(live.paths(), ["/inventory"]);
    assert_eq!(
        live.processors("/inventory")[0].registration.name,
        "InventoryProcessor"
    );
    let (base, server) = serve(&live);
    let resp = reqwest::get(format!("{base}/integration/from-inventory"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    server.stop(false).await;
    port.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_provider_reads_the_integration_config_and_caches_it_for_its_ttl() {
    let (port, client) = local_port().await;
    let mapping: Value = serde_norway::from_str(MAPPING).unwrap();
    client
        .create_integration(&Integration {
            installation_id: "my-integration".into(),
            config: Some(mapping),
            ..Integration::default()
        })
        .await
        .unwrap();
    let cached =
        PortAppConfigFromPort::new(client.clone(), "my-integration", Duration::from_secs(3600));
    let fresh = PortAppConfigFromPort::new(client.clone(), "my-integration", Duration::ZERO);
    assert_eq!(cached.current().await.unwrap().resources.len(), 2);
    assert_eq!(fresh.current().await.unwrap().resources.len(), 2);

    client
        .patch_integration_config("my-integration", &json!({"resources": []}))
        .await
        .unwrap();
    assert_eq!(
        cached.current().await.unwrap().resources.len(),
        2,
        "within the TTL"
    );
    assert_eq!(
        fresh.current().await.unwrap().resources.len(),
        0,
        "TTL zero refetches"
    );
    assert_eq!(
        cached.fresh().await.unwrap().resources.len(),
        0,
        "a fresh read (a resync's) bypasses the cache"
    );
    assert_eq!(
        cached.current().await.unwrap().resources.len(),
        0,
        "and refreshes it for live events"
    );

    let missing = PortAppConfigFromPort::new(client, "nobody", Duration::ZERO);
    let error = missing.current().await.unwrap_err().to_string();
    assert!(error.contains("`nobody` does not exist"), "{error}");
    port.stop().await.unwrap();
}

#[tokio::test]
async fn events_received_directly_carry_the_raw_body_and_lower_case_headers() {
    let (port, client) = local_port().await;
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(MAPPING).unwrap(),
    ));
    let live = LiveEvents::builder(Context::new((), reqwest::Client::new()), client, configs)
        .register(team_registration())
        .build()
        .await
        .unwrap();
    let body = Bytes::from_static(br#"{"type":"repo","team":"t1"}"#);
    let outcome = live
        .receive("/webhook", [("X-Custom".to_owned(), "v".to_owned())], body)
        .await;
    assert!(matches!(
        outcome,
        ocean::live_events::IntakeOutcome::Accepted(_)
    ));
    assert_eq!(live.stats().queue_depth, 1);
    let report = live.shutdown().await;
    assert_eq!(
        report.unstarted, 1,
        "never-started events are dead-lettered at shutdown"
    );
    let letter = &live.dead_letters().list()[0];
    assert_eq!(
        letter.event.to_event().raw_body(),
        br#"{"type":"repo","team":"t1"}"#
    );
    assert_eq!(letter.event.headers["x-custom"], "v");
    port.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_and_after_processing_wrap_handle_event_and_a_failing_after_drops_the_results() {
    let h = harness_with(vec![hook_registration()], options(), true).await;
    let ok = serde_json::to_vec(&repo("hooks", "r-hooks")).unwrap();
    assert_eq!(h.post_raw("/hooks", ok, false).await.status().as_u16(), 202);
    eventually("entity upserted", || {
        h.entity("service", "r-hooks").is_some()
    })
    .await;
    let order: Vec<&str> = LOG.lock().unwrap()["hooks"]
        .iter()
        .map(|r| r.what)
        .collect();
    assert_eq!(order, ["before", "attempt", "after"]);

    let mut failing = repo("hooks-after", "r-after");
    failing["after_fails"] = json!(true);
    let failing = serde_json::to_vec(&failing).unwrap();
    assert_eq!(
        h.post_raw("/hooks", failing, false).await.status().as_u16(),
        202
    );
    eventually("dead letter", || !h.live.dead_letters().is_empty()).await;
    assert!(h.entity("service", "r-after").is_none());
    assert_eq!(
        h.live.dead_letters().list()[0].failures[0].error,
        "post-processing bookkeeping failed"
    );

    let resp = h
        .http
        .get(format!("{}/integration/hooks", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405, "webhook paths take POST only");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_persisted_to_a_file_survive_a_restart_and_can_be_replayed() {
    let (port, client) = local_port().await;
    let dir = tempfile::tempdir().unwrap();
    let options = LiveEventsOptions {
        dead_letter_file: Some(dir.path().join("dead-letters.jsonl")),
        ..options()
    };
    let build = || {
        let configs = Arc::new(FixedPortAppConfig::new(
            PortAppConfig::parse(MAPPING).unwrap(),
        ));
        LiveEvents::builder(
            Context::new((), reqwest::Client::new()),
            client.clone(),
            configs,
        )
        .register(team_registration())
        .options(options.clone())
        .build()
    };
    let first = build().await.unwrap();
    let body = Bytes::from_static(br#"{"type":"repo","team":"persisted"}"#);
    assert!(matches!(
        first.receive("/webhook", [], body).await,
        ocean::live_events::IntakeOutcome::Accepted(_)
    ));
    assert_eq!(first.shutdown().await.unstarted, 1);

    let second = build().await.unwrap();
    let letters = second.dead_letters().list();
    assert_eq!(letters.len(), 1, "loaded from the file");
    second.start();
    second.replay(&letters[0].id).await.unwrap();
    eventually("replayed entity", || {
        port.state().entity("team", "persisted").is_some()
    })
    .await;
    assert!(second.dead_letters().is_empty());
    second.shutdown().await;
    let third = build().await.unwrap();
    assert!(third.dead_letters().is_empty(), "the replay was journaled");
    port.stop().await.unwrap();
}

#[tokio::test]
async fn a_custom_queue_backend_is_used_for_every_path() {
    let (port, client) = local_port().await;
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(MAPPING).unwrap(),
    ));
    let made = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&made);
    let live = LiveEvents::builder(Context::new((), reqwest::Client::new()), client, configs)
        .register(team_registration())
        .register(hook_registration())
        .queues(move |path, _capacity| {
            seen.lock().unwrap().push(path.to_owned());
            Arc::new(ocean::live_events::MemoryQueue::new(1))
        })
        .build()
        .await
        .unwrap();
    assert_eq!(*made.lock().unwrap(), ["/hooks", "/webhook"]);
    let body = || Bytes::from_static(br#"{"type":"repo","team":"t"}"#);
    assert!(matches!(
        live.receive("/webhook", [], body()).await,
        ocean::live_events::IntakeOutcome::Accepted(_)
    ));
    assert_eq!(
        live.receive("/webhook", [], body()).await,
        ocean::live_events::IntakeOutcome::Busy
    );
    assert_eq!(live.stats().rejected_busy, 1);
    port.stop().await.unwrap();
}
