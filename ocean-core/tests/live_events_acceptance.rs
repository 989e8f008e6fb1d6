//! Python Ocean's live-events acceptance cases (reference §4.1-4.8), ported as black-box tests
//! through `ocean::live_events`. Cases already covered elsewhere, and cases that do not apply,
//! are listed in `docs/live-events-acceptance.md`. Where we deliberately differ from Ocean
//! (rejecting at the door, retry state per resource, timeouts per attempt, dead letters), the
//! test checks our behaviour and says so.

use actix_web::{App, HttpServer};
use bytes::Bytes;
use chrono::Utc;
use ocean::config::Secret;
use ocean::live_events::{
    IntakeOutcome, LiveEvents, LiveEventsOptions, Payload, ProcessorRetryPolicy, WebhookEvent,
    WebhookEventRawResults, WebhookProcessor, WebhookProcessorRegistration, processor_factory,
};
use ocean::mapping::{FixedPortAppConfig, PortAppConfig, ResourceConfig};
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::datasource::Datasource;
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::port::types::Blueprint;
use ocean::{Context, Error, Result};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

mod polling;
use polling::eventually;

/// One repository resource, as in Ocean's manager tests (`kind=repository`, selector `true`,
/// mapped to `service` entities).
const ONE_RESOURCE: &str = r#"
resources:
  - kind: repository
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, blueprint: '"service"', title: .name}
"#;

/// Two resources of the same kind with different selectors: each gets its own `handle_event`.
const TWO_RESOURCES: &str = r#"
resources:
  - kind: repository
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, blueprint: '"service"'}
  - kind: repository
    selector: {query: '.id != ""'}
    port:
      entity:
        mappings: {identifier: '.id + "-copy"', blueprint: '"service"'}
"#;

const PATH: &str = "/acc";

// ---------------------------------------------------------------------------------------------
// Recording processors. Tests run in parallel in one process, so what a processor sees is
// recorded under the payload's `test` field.

#[derive(Debug, Clone)]
struct Record {
    what: &'static str,
    /// The selector of the resource `handle_event` ran for, when there is one.
    selector: Option<String>,
    /// When it happened, on tokio's clock (which tests with paused time control).
    at: tokio::time::Instant,
}

static LOG: LazyLock<Mutex<HashMap<String, Vec<Record>>>> = LazyLock::new(Default::default);
static SEEN: LazyLock<Mutex<HashMap<String, Vec<WebhookEvent>>>> = LazyLock::new(Default::default);

fn test_of(payload: &Value) -> String {
    payload["test"].as_str().unwrap_or_default().to_owned()
}

fn record(payload: &Value, what: &'static str, selector: Option<&str>) {
    LOG.lock()
        .unwrap()
        .entry(test_of(payload))
        .or_default()
        .push(Record {
            what,
            selector: selector.map(str::to_owned),
            at: tokio::time::Instant::now(),
        });
}

fn log_of(test: &str) -> Vec<Record> {
    LOG.lock().unwrap().get(test).cloned().unwrap_or_default()
}

fn whats(test: &str) -> Vec<&'static str> {
    log_of(test).iter().map(|r| r.what).collect()
}

fn count(test: &str, what: &str) -> usize {
    log_of(test).iter().filter(|r| r.what == what).count()
}

fn attempts_for(payload: &Value, selector: &str) -> usize {
    log_of(&test_of(payload))
        .iter()
        .filter(|r| r.what == "handle" && r.selector.as_deref() == Some(selector))
        .count()
}

/// Wants `{"type": "repo"}` events; records every hook. Payload knobs: `fail_times` (fail
/// retryably that many times in all), `fail_first_per_resource` (fail retryably on the first
/// attempt of each resource), `sleep_ms` (sleep in every attempt), `no_results` (succeed with
/// nothing to write, so Port is never called).
#[derive(Default)]
struct Recorder;

impl WebhookProcessor for Recorder {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        record(event.payload(), "should", None);
        SEEN.lock()
            .unwrap()
            .entry(test_of(event.payload()))
            .or_default()
            .push(event.clone());
        event.payload()["type"] == "repo"
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        record(event.payload(), "authenticate", None);
        Ok(true)
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        record(payload, "validate", None);
        Ok(payload["id"].is_string())
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        let selector = resource.selector.query.as_str();
        record(payload, "handle", Some(selector));
        if let Some(ms) = payload["sleep_ms"].as_u64() {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(n) = payload["fail_times"].as_u64()
            && count(&test_of(payload), "handle") <= n as usize
        {
            return Err(Error::retryable(Error::msg("the third party is flaky")));
        }
        if payload["fail_first_per_resource"] == true && attempts_for(payload, selector) == 1 {
            return Err(Error::retryable(Error::msg(
                "first call per resource fails",
            )));
        }
        if payload["no_results"] == true {
            return Ok(WebhookEventRawResults::default());
        }
        Ok(WebhookEventRawResults::updated(vec![
            json!({"id": payload["id"], "name": payload["name"]}),
        ]))
    }
    async fn after_processing(
        &self,
        event: &WebhookEvent,
        _results: &WebhookEventRawResults,
        _ctx: &Context,
    ) -> Result<()> {
        record(event.payload(), "after", None);
        Ok(())
    }
    async fn on_error(&self, event: &WebhookEvent, _error: &Error, _attempt: u32) {
        record(event.payload(), "on_error", None);
    }
    async fn cancel(&self, event: &WebhookEvent) {
        record(event.payload(), "cancel", None);
    }
}

/// Never wants an event (Ocean's `FiltersOut` processor).
#[derive(Default)]
struct Declines;

impl WebhookProcessor for Declines {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        record(event.payload(), "declines_should", None);
        false
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        record(event.payload(), "declines_authenticate", None);
        Ok(true)
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        record(payload, "declines_validate", None);
        Ok(true)
    }
    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        record(payload, "declines_handle", None);
        Ok(WebhookEventRawResults::updated(vec![
            json!({"id": "never", "name": "never"}),
        ]))
    }
}

fn fast_retries(max_retries: u32) -> ProcessorRetryPolicy {
    ProcessorRetryPolicy {
        max_retries,
        initial_retry_delay: Duration::from_millis(5),
        max_retry_delay: Duration::from_millis(20),
        exponential_base: 2.0,
        jitter_ratio: 0.0,
    }
}

fn recorder(max_retries: u32) -> WebhookProcessorRegistration {
    recorder_retrying(fast_retries(max_retries))
}

fn recorder_retrying(retry: ProcessorRetryPolicy) -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: PATH,
        name: "Recorder",
        kinds: &["repository"],
        retry,
        file: file!(),
        line: line!(),
        factory: processor_factory::<Recorder>,
    }
}

fn declines() -> WebhookProcessorRegistration {
    WebhookProcessorRegistration {
        path: PATH,
        name: "Declines",
        kinds: &["repository"],
        retry: fast_retries(3),
        file: file!(),
        line: line!(),
        factory: processor_factory::<Declines>,
    }
}

// ---------------------------------------------------------------------------------------------
// Harness: a local Port with the `service` blueprint and a manager over it; or, for tests on
// paused time, a manager whose processors write nothing, with no Port at all.

struct Harness {
    port: Option<LocalPortHandle>,
    live: LiveEvents,
}

fn options() -> LiveEventsOptions {
    LiveEventsOptions {
        workers_per_path: 1,
        queue_capacity: 100,
        shutdown_grace: Duration::from_secs(20),
        ..LiveEventsOptions::default()
    }
}

fn port_client(url: &str) -> PortClient {
    PortClient::new(PortClientConfig::new(
        url,
        Secret::from("id"),
        Secret::from("secret"),
        Datasource::exporter("test", "1.0.0", "acceptance"),
    ))
    .unwrap()
}

async fn harness(
    mapping: &str,
    registrations: Vec<WebhookProcessorRegistration>,
    options: LiveEventsOptions,
    start: bool,
) -> Harness {
    let port = LocalPort::builder()
        .client_id("id")
        .client_secret("secret")
        .start()
        .await
        .unwrap();
    let client = port_client(port.url());
    let blueprint: Blueprint = serde_json::from_value(
        json!({"identifier": "service", "title": "Service", "schema": {"properties": {}}}),
    )
    .unwrap();
    client.create_blueprint(&blueprint).await.unwrap();
    let live = manager(client, mapping, registrations, options, start).await;
    Harness {
        port: Some(port),
        live,
    }
}

/// A manager whose Port client points at a closed port: with paused time a real HTTP server
/// would see its timeouts fire as the clock jumps, so these tests keep Port out of the way.
/// Their processors must write nothing (`no_results`); a write would fail, dead-letter the
/// event, and the test would see it.
async fn harness_without_port(
    registrations: Vec<WebhookProcessorRegistration>,
    options: LiveEventsOptions,
) -> Harness {
    let client = port_client("http://127.0.0.1:1");
    let live = manager(client, ONE_RESOURCE, registrations, options, true).await;
    Harness { port: None, live }
}

async fn manager(
    client: PortClient,
    mapping: &str,
    registrations: Vec<WebhookProcessorRegistration>,
    options: LiveEventsOptions,
    start: bool,
) -> LiveEvents {
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(mapping).unwrap(),
    ));
    let context = Context::new((), reqwest::Client::new()).with_port(client.clone());
    let mut builder = LiveEvents::builder(context, client, configs).options(options);
    for r in registrations {
        builder = builder.register(r);
    }
    let live = builder.build().await.unwrap();
    if start {
        live.start();
    }
    live
}

impl Harness {
    fn port(&self) -> &LocalPortHandle {
        self.port
            .as_ref()
            .expect("this test's harness has no local Port")
    }

    async fn receive(&self, body: &Value) -> IntakeOutcome {
        self.live
            .receive(
                PATH,
                [("content-type".to_owned(), "application/json".to_owned())],
                Bytes::from(serde_json::to_vec(body).unwrap()),
            )
            .await
    }

    fn has_entity(&self, id: &str) -> bool {
        self.port().state().entity("service", id).is_some()
    }

    /// Waits until the manager has finished (processed or dead-lettered) `n` events.
    async fn settled(&self, n: u64) {
        eventually("events settled", || {
            let stats = self.live.stats();
            stats.processed + stats.dead_lettered >= n && stats.queue_depth == 0
        })
        .await;
    }

    async fn stop(self) {
        self.live.shutdown().await;
        if let Some(port) = self.port {
            port.stop().await.unwrap();
        }
    }
}

fn repo(test: &str, id: &str) -> Value {
    json!({"type": "repo", "test": test, "id": id, "name": format!("Repo {id}")})
}

fn accepted(outcome: &IntakeOutcome) -> String {
    match outcome {
        IntakeOutcome::Accepted(id) => id.clone(),
        other => panic!("expected the event to be accepted, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// §4.1 / §4.2: the event as received.

// Reference §4.1 case 1 and §4.2 case 9. Ocean keeps the Starlette request; we keep the raw
// body bytes (what signature checks need) and the lower-cased headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_gives_each_event_a_fresh_trace_id_arrival_time_headers_and_raw_body() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), false).await;
    let body = serde_json::to_vec(&repo("received", "r-received")).unwrap();
    let before = Utc::now();
    let first = h
        .live
        .receive(
            PATH,
            [("X-Hub-Signature-256".to_owned(), "sha256=abc".to_owned())],
            Bytes::from(body.clone()),
        )
        .await;
    let after = Utc::now();
    let second = h.receive(&repo("received", "r-received")).await;
    let (first, second) = (accepted(&first), accepted(&second));
    assert!(!first.is_empty());
    assert_ne!(first, second, "every event gets its own trace id");

    let seen = SEEN.lock().unwrap().get("received").cloned().unwrap();
    let event = &seen[0];
    assert_eq!(event.trace_id(), first);
    assert_eq!(event.path(), PATH);
    assert_eq!(event.raw_body(), body.as_slice());
    assert_eq!(event.payload(), &repo("received", "r-received"));
    assert_eq!(event.header("x-hub-signature-256"), Some("sha256=abc"));
    assert_eq!(
        event.headers().keys().collect::<Vec<_>>(),
        ["x-hub-signature-256"],
        "header names are stored lower-case"
    );
    assert!(
        before <= event.received_at() && event.received_at() <= after,
        "received_at is the arrival time (UTC)"
    );
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §4.3: the processor contract.

// Reference §4.3 case 15 and §7 (shared `retry_count`). Ocean keeps `retry_count` on the one
// processor instance that serves every resource concurrently, so with `max_retries = 1` the
// second resource's first failure finds the budget spent and is dropped. We keep retry state
// per event and resource: both resources get their retry and both entities are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_state_is_kept_per_resource_not_on_the_shared_processor() {
    let h = harness(TWO_RESOURCES, vec![recorder(1)], options(), true).await;
    let mut event = repo("per-resource", "r-per-resource");
    event["fail_first_per_resource"] = json!(true);
    accepted(&h.receive(&event).await);
    h.settled(1).await;
    assert!(
        h.live.dead_letters().is_empty(),
        "no resource ran out of retries"
    );
    assert!(h.has_entity("r-per-resource"));
    assert!(h.has_entity("r-per-resource-copy"));
    assert_eq!(attempts_for(&event, "true"), 2);
    assert_eq!(attempts_for(&event, ".id != \"\""), 2);
    assert_eq!(count("per-resource", "on_error"), 2);
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §4.4: the manager.

// Reference §4.4 case 19: one processor, one resource of its kind -> exactly one `handle_event`
// for that resource, with the payload as received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_matching_processor_runs_once_on_the_one_resource_of_its_kind() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), true).await;
    accepted(&h.receive(&repo("one-match", "r-one")).await);
    h.settled(1).await;
    let handles: Vec<Record> = log_of("one-match")
        .into_iter()
        .filter(|r| r.what == "handle")
        .collect();
    assert_eq!(handles.len(), 1);
    assert_eq!(handles[0].selector.as_deref(), Some("true"));
    assert!(h.has_entity("r-one"));
    h.stop().await;
}

// Reference §4.4 cases 20 and 40. Ocean queues the event, answers 200 and raises
// `WebhookEventNotSupportedError` in the worker; we decide at the door: the event is ignored
// (HTTP 200 `{"status":"ignored"}`), nothing is queued and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_no_processor_wants_is_ignored_and_nothing_is_queued() {
    let h = harness(ONE_RESOURCE, vec![declines()], options(), true).await;
    let outcome = h.receive(&repo("unwanted", "r-unwanted")).await;
    assert_eq!(outcome, IntakeOutcome::Ignored);
    let stats = h.live.stats();
    assert_eq!(
        (stats.ignored, stats.accepted, stats.queue_depth),
        (1, 0, 0)
    );
    assert_eq!(whats("unwanted"), ["declines_should"]);
    assert!(!h.has_entity("r-unwanted"));
    h.stop().await;
}

// Reference §4.4 case 22 (and the FiltersOut processor of case 41): of two processors on one
// path only the one that wants the event is authenticated, validated and run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_processors_that_want_the_event_run() {
    let h = harness(ONE_RESOURCE, vec![recorder(3), declines()], options(), true).await;
    accepted(&h.receive(&repo("one-of-two", "r-one-of-two")).await);
    h.settled(1).await;
    let log = whats("one-of-two");
    assert_eq!(count("one-of-two", "handle"), 1);
    assert_eq!(count("one-of-two", "declines_should"), 1);
    for hook in [
        "declines_authenticate",
        "declines_validate",
        "declines_handle",
    ] {
        assert!(!log.contains(&hook), "{hook} ran: {log:?}");
    }
    assert!(h.has_entity("r-one-of-two"));
    assert!(!h.has_entity("never"));
    h.stop().await;
}

// Reference §4.4 case 23. A path exists only through its processors, so the nearest case is
// a path nobody registered: it is unknown (HTTP 404) and nothing is queued.
#[tokio::test]
async fn a_path_with_no_processors_is_unknown() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), false).await;
    let outcome = h
        .live
        .receive("/nowhere", [], Bytes::from_static(b"{}"))
        .await;
    assert_eq!(outcome, IntakeOutcome::UnknownPath);
    assert_eq!(h.live.stats().queue_depth, 0);
    h.stop().await;
}

// Reference §4.4 case 25: registering a processor creates its path, with one processor and an
// in-memory queue that holds what intake accepts.
#[tokio::test]
async fn registering_a_processor_creates_its_path_with_an_in_memory_queue() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), false).await;
    assert_eq!(h.live.paths(), [PATH]);
    let processors = h.live.processors(PATH);
    assert_eq!(processors.len(), 1);
    assert_eq!(processors[0].registration.name, "Recorder");
    assert_eq!(h.live.stats().queue_depth, 0);
    accepted(&h.receive(&repo("registered", "r-registered")).await);
    assert_eq!(
        h.live.stats().queue_depth,
        1,
        "queued, waiting for a worker"
    );
    h.stop().await;
}

// Reference §4.4 case 34. Ocean answers 500 to a client that disconnects while sending the body
// so the provider retries. Our intake never acknowledges a body it could not read: the answer
// is 500 (neither silence nor a hang: the read times out after 10 s) and nothing is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_is_answered_500_and_not_queued() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), false).await;
    let app_live = h.live.clone();
    let server = HttpServer::new(move || {
        let live = app_live.clone();
        App::new().configure(move |cfg| live.configure(cfg))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);

    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(
                b"POST /integration/acc HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":",
            )
            .unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        // A reset connection is an answer too (not an acknowledgement).
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 500"),
        "a cut-short body must be answered 500 (so the provider retries): {answer:?}"
    );
    let stats = h.live.stats();
    assert_eq!((stats.accepted, stats.queue_depth), (0, 0));
    handle.stop(false).await;
    h.stop().await;
}

// Reference §4.4 case 35: a successful event is authenticated, validated and handled (then
// `after_processing`), and `on_error` is never called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_event_is_authenticated_validated_and_handled_without_on_error() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), true).await;
    accepted(&h.receive(&repo("success", "r-success")).await);
    h.settled(1).await;
    assert_eq!(
        whats("success"),
        ["should", "authenticate", "validate", "handle", "after"]
    );
    assert!(h.has_entity("r-success"));
    h.stop().await;
}

// Reference §4.4 case 37: with `max_retries = 1` a handler failing every time is called twice
// (the first attempt and one retry), `on_error` follows each failure, and nothing is written.
// Ocean re-raises and drops the event; we dead-letter it with the number of calls made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_max_retries_one_a_failing_handler_is_called_twice_then_dead_lettered() {
    let h = harness(ONE_RESOURCE, vec![recorder(1)], options(), true).await;
    let mut event = repo("max-one", "r-max-one");
    event["fail_times"] = json!(99);
    accepted(&h.receive(&event).await);
    h.settled(1).await;
    assert_eq!(count("max-one", "handle"), 2);
    assert_eq!(count("max-one", "on_error"), 2);
    assert_eq!(count("max-one", "after"), 0);
    let letters = h.live.dead_letters().list();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].failures[0].attempts, 2);
    assert_eq!(
        letters[0].failures[0].processor.as_deref(),
        Some("Recorder")
    );
    assert!(!h.has_entity("r-max-one"));
    h.stop().await;
}

// Reference §4.4 case 39. Ocean's timeout covers the whole run and fails it; ours bounds each
// `handle_event` attempt, cancels the attempt (`cancel`) and retries it as a retryable failure.
// A handler that always overruns is therefore cancelled on every attempt, dead-lettered, and
// nothing is upserted or deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_always_overruns_the_time_limit_is_dead_lettered_without_writes() {
    let h = harness(
        ONE_RESOURCE,
        vec![recorder(1)],
        LiveEventsOptions {
            max_event_processing: Duration::from_millis(30),
            ..options()
        },
        true,
    )
    .await;
    let mut event = repo("overrun", "r-overrun");
    event["sleep_ms"] = json!(60_000);
    accepted(&h.receive(&event).await);
    h.settled(1).await;
    assert_eq!(count("overrun", "handle"), 2);
    assert_eq!(count("overrun", "cancel"), 2);
    assert_eq!(count("overrun", "after"), 0);
    let letters = h.live.dead_letters().list();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].failures[0].error.contains("timed out"),
        "{:?}",
        letters[0].failures
    );
    assert_eq!(h.port().state().entity_count(), 0);
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §4.5: the queue, seen through the manager.

// Reference §4.5 case 47 (`teardown` waits for a slow consumer to commit all 5 items). Our
// shutdown closes intake and lets the workers finish what is queued within the grace period:
// five events queued before the workers start are all processed, none is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_queued_events_to_be_processed() {
    let h = harness(ONE_RESOURCE, vec![recorder(3)], options(), false).await;
    for i in 0..5 {
        let mut event = repo("drain", &format!("r-drain-{i}"));
        event["sleep_ms"] = json!(5);
        accepted(&h.receive(&event).await);
    }
    assert_eq!(h.live.stats().queue_depth, 5);
    h.live.start();
    let report = h.live.shutdown().await;
    assert!(!report.timed_out, "{report:?}");
    assert_eq!((report.abandoned, report.unstarted), (0, 0));
    assert_eq!(h.live.stats().processed, 5);
    assert!(h.live.dead_letters().is_empty());
    for i in 0..5 {
        assert!(h.has_entity(&format!("r-drain-{i}")));
    }
    if let Some(port) = h.port {
        port.stop().await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Retry delays, on tokio's paused clock: the worker's sleeps end exactly when the policy says,
// and the clock only moves when every task waits, so the observed waits are the delays.

/// When each `handle_event` call of `test` started.
fn handle_starts(test: &str) -> Vec<tokio::time::Instant> {
    log_of(test)
        .iter()
        .filter(|r| r.what == "handle")
        .map(|r| r.at)
        .collect()
}

/// The waits between consecutive `handle_event` calls of `test`.
fn waits_between_attempts(test: &str) -> Vec<Duration> {
    handle_starts(test)
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .collect()
}

fn one_second_doubling(jitter_ratio: f64) -> ProcessorRetryPolicy {
    ProcessorRetryPolicy {
        max_retries: 3,
        initial_retry_delay: Duration::from_secs(1),
        max_retry_delay: Duration::from_secs(30),
        exponential_base: 2.0,
        jitter_ratio,
    }
}

/// Sends an event that fails retryably three times, then succeeds writing nothing, and waits
/// until it is processed; returns the waits between its four attempts.
async fn waits_of_three_retries(test: &str, policy: ProcessorRetryPolicy) -> Vec<Duration> {
    let h = harness_without_port(vec![recorder_retrying(policy)], options()).await;
    let mut event = repo(test, &format!("r-{test}"));
    event["fail_times"] = json!(3);
    event["no_results"] = json!(true);
    accepted(&h.receive(&event).await);
    h.settled(1).await;
    let stats = h.live.stats();
    assert_eq!(
        (stats.processed, stats.retried, stats.dead_lettered),
        (1, 3, 0),
        "{:?}",
        h.live.dead_letters().list()
    );
    assert_eq!(count(test, "on_error"), 3);
    h.stop().await;
    waits_between_attempts(test)
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_is_retried_after_exactly_one_two_and_four_seconds() {
    let waits = waits_of_three_retries("exact-delays", one_second_doubling(0.0)).await;
    assert_eq!(
        waits,
        [1, 2, 4].map(Duration::from_secs),
        "initial 1 s, base 2, no jitter"
    );
}

#[tokio::test(start_paused = true)]
async fn a_jittered_retry_waits_within_the_ratio_of_each_nominal_delay() {
    let ratio = 0.5;
    let waits = waits_of_three_retries("jittered-delays", one_second_doubling(ratio)).await;
    let nominal = [1, 2, 4].map(Duration::from_secs);
    assert_eq!(waits.len(), nominal.len(), "{waits:?}");
    for (wait, nominal) in waits.iter().zip(nominal) {
        // The timer fires on the first millisecond tick at or after the jittered deadline.
        let (low, high) = (
            nominal.mul_f64(1.0 - ratio),
            nominal.mul_f64(1.0 + ratio) + Duration::from_millis(1),
        );
        assert!(
            low <= *wait && *wait <= high,
            "{wait:?} is outside {low:?}..={high:?} (nominal {nominal:?}); all waits {waits:?}"
        );
    }
    // Each draw lands on the nominal millisecond with a chance of about 1 in 1000: all three
    // doing so means the worker ignored the jitter.
    assert_ne!(
        waits, nominal,
        "the worker waited the exact nominal delays despite a jitter of ±50%"
    );
}
