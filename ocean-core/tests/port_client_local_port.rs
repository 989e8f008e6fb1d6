//! The Port client driving the local Port over real HTTP: both sides are the real code, so a
//! request shape, an answer shape or a status that one side gets wrong fails here.

use chrono::Utc;
use futures::TryStreamExt;
use ocean::config::Secret;
use ocean::port::client::{
    BulkLimits, DeleteOptions, PortClient, PortClientConfig, PortError, RetryPolicy, UpsertOptions,
    UpsertStatus,
};
use ocean::port::datasource::Datasource;
use ocean::port::local::{FaultConfig, LocalPort, LocalPortBuilder, LocalPortHandle, StateFile};
use ocean::port::types::{Blueprint, Entity, Integration, Query, QueryNode, ResyncState, Webhook};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

const CLIENT_ID: &str = "client-id-7f1c";
const CLIENT_SECRET: &str = "client-secret-d94e0b2a";
/// The longest wait the test clients accept, whatever Port asks for.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

async fn start(builder: LocalPortBuilder) -> LocalPortHandle {
    builder
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .start()
        .await
        .expect("the local Port starts")
}

/// A client configuration with millisecond retries (no jitter) and Port's other defaults.
fn config_for(port: &LocalPortHandle, installation: &str, secret: &str) -> PortClientConfig {
    let mut config = PortClientConfig::new(
        port.url(),
        Secret::new(CLIENT_ID),
        Secret::new(secret),
        Datasource::exporter("jira", "1.2.3", installation),
    );
    config.timeout = Duration::from_secs(30);
    config.retry = RetryPolicy {
        max_retries: 5,
        base_delay: Duration::from_millis(1),
        jitter_ratio: 0.0,
        max_backoff: MAX_BACKOFF,
    };
    config
}

fn client(port: &LocalPortHandle) -> PortClient {
    PortClient::new(config_for(port, "my-jira", CLIENT_SECRET)).expect("valid client config")
}

fn blueprint(value: Value) -> Blueprint {
    serde_json::from_value(value).expect("a blueprint literal")
}

/// `service`: an enum, a number, an owner string; a `group` relation.
fn service_blueprint() -> Blueprint {
    blueprint(json!({
        "identifier": "service",
        "title": "Service",
        "schema": {
            "properties": {
                "lang": {"type": "string", "enum": ["rust", "go", "python"]},
                "stars": {"type": "number"},
                "owner": {"type": "string"},
                "description": {"type": "string"}
            },
            "required": ["lang"]
        },
        "relations": {}
    }))
}

async fn with_service_blueprint(client: &PortClient) {
    client
        .create_blueprint(&service_blueprint())
        .await
        .expect("the service blueprint is created");
}

fn service(id: &str, lang: &str, stars: u64) -> Entity {
    let mut entity = Entity::new(id, "service");
    entity.title = Some(Value::String(format!("Service {id}")));
    let mut properties = Map::new();
    properties.insert("lang".into(), json!(lang));
    properties.insert("stars".into(), json!(stars));
    properties.insert("owner".into(), json!("platform"));
    entity.properties = Some(properties);
    entity
}

fn ids(entities: &[Entity]) -> BTreeSet<String> {
    entities.iter().map(Entity::normalized_identifier).collect()
}

/// One event the client logged: its message, its `status` and `retry_in_ms` fields, and every
/// field rendered as text (to look for leaked secrets).
#[derive(Debug, Clone, Default)]
struct Logged {
    message: String,
    status: Option<u64>,
    retry_in_ms: Option<u64>,
    text: String,
}

impl Visit for Logged {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "status" => self.status = Some(value),
            "retry_in_ms" => self.retry_in_ms = Some(value),
            _ => {}
        }
        let _ = write!(self.text, " {}={value}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        }
        let _ = write!(self.text, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let rendered = format!("{value:?}");
        if field.name() == "message" {
            self.message = rendered.clone();
        }
        let _ = write!(self.text, " {}={rendered}", field.name());
    }
}

/// Collects the events logged on this thread while the guard lives.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Logged>>>);

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut logged = Logged::default();
        event.record(&mut logged);
        if let Ok(mut events) = self.0.lock() {
            events.push(logged);
        }
    }
}

impl Capture {
    /// Installs the capture for the current thread (tests run on a current-thread runtime, so
    /// the client's futures log here).
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = Registry::default().with(capture.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    fn events(&self) -> Vec<Logged> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The failed requests logged, as (status, retry wait in ms).
    fn failures(&self) -> Vec<(u64, Option<u64>)> {
        self.events()
            .into_iter()
            .filter(|e| e.message == "Port request failed")
            .filter_map(|e| Some((e.status?, e.retry_in_ms)))
            .collect()
    }
}

#[tokio::test]
async fn authenticates_with_client_credentials_and_reads_the_organizations_blueprints() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let listed = client
        .list_blueprints()
        .await
        .expect("blueprints are listed");
    assert_eq!(
        listed
            .iter()
            .map(|b| b.identifier.as_str())
            .collect::<Vec<_>>(),
        vec!["service"]
    );
    assert_eq!(
        port.state().blueprint("service").map(|b| b.identifier),
        Some("service".to_owned())
    );
}

#[tokio::test]
async fn refreshes_the_token_once_after_port_revokes_it() {
    let (capture, _guard) = Capture::install();
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    assert!(capture.failures().is_empty(), "{:?}", capture.failures());

    port.revoke_tokens();
    let fetched = client
        .get_blueprint("service")
        .await
        .expect("the call succeeds with a fresh token");
    assert_eq!(fetched.identifier, "service");
    let statuses: Vec<u64> = capture.failures().iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses,
        vec![401],
        "one 401, then the refreshed token works"
    );
    // Port's own message travels in its own field, so it never replaces the event's message
    // (JSON log consumers keep the last `message` key).
    let logged_401 = capture
        .events()
        .into_iter()
        .find(|e| e.status == Some(401))
        .expect("the 401 is logged");
    assert_eq!(logged_401.message, "Port request failed");
    assert!(
        logged_401
            .text
            .contains("port_message=the access token is invalid or expired"),
        "{}",
        logged_401.text
    );

    // The refreshed token is cached: the next call needs no new refresh.
    client.list_blueprints().await.expect("listed");
    assert_eq!(capture.failures().len(), 1);
}

#[tokio::test]
async fn a_token_port_rejects_even_when_fresh_gives_unauthorized_naming_the_endpoint() {
    // Tokens that live zero seconds are expired on arrival: the refresh cannot help.
    let port = start(LocalPort::builder().token_ttl(Duration::ZERO)).await;
    let client = client(&port);
    let err = client
        .list_blueprints()
        .await
        .expect_err("every token is expired");
    match &err {
        PortError::Unauthorized { endpoint, message } => {
            assert_eq!(endpoint, "GET /v1/blueprints");
            assert!(message.contains("invalid or expired"), "{message}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn retries_429_honouring_retry_after_until_success() {
    let (capture, _guard) = Capture::install();
    let faults = FaultConfig {
        seed: 7,
        rate_limit_rate: 0.5,
        retry_after_secs: 2,
        ..FaultConfig::default()
    };
    // The blueprint comes from a state file, so every request below is a GET.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state_path = dir.path().join("state.json");
    let state = StateFile {
        version: StateFile::VERSION,
        blueprints: vec![service_blueprint()],
        ..StateFile::default()
    };
    std::fs::write(
        &state_path,
        serde_json::to_vec(&state).expect("the state serializes"),
    )
    .expect("the state file is written");
    let port = start(
        LocalPort::builder()
            .faults(faults)
            .state_file(Some(state_path)),
    )
    .await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    // Half the requests are limited: enough retries that none of the 20 calls runs out.
    config.retry.max_retries = 30;
    let client = PortClient::new(config).expect("valid config");
    for _ in 0..20 {
        let fetched = client
            .get_blueprint("service")
            .await
            .expect("succeeds after retries");
        assert_eq!(fetched.identifier, "service");
    }
    let failures = capture.failures();
    assert!(
        failures.iter().any(|(s, _)| *s == 429),
        "the local Port limited some requests: {failures:?}"
    );
    for (status, retry_in_ms) in &failures {
        assert_eq!(*status, 429, "only injected 429s: {failures:?}");
        // Port asked for 2 s; the policy caps every wait at MAX_BACKOFF. Backoff alone would
        // have waited 1, 2, 4 ... ms.
        assert_eq!(*retry_in_ms, Some(MAX_BACKOFF.as_millis() as u64));
    }
}

#[tokio::test]
async fn posts_answered_429_are_retried_until_they_succeed() {
    let (capture, _guard) = Capture::install();
    let faults = FaultConfig {
        seed: 11,
        rate_limit_rate: 0.5,
        retry_after_secs: 1,
        ..FaultConfig::default()
    };
    let port = start(LocalPort::builder().faults(faults)).await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    config.retry.max_retries = 30;
    let client = PortClient::new(config).expect("valid config");
    // A rate-limited request was not processed, so even a create is safe to send again.
    for i in 0..10 {
        let mut blueprint = service_blueprint();
        blueprint.identifier = format!("service{i}");
        let created = client
            .create_blueprint(&blueprint)
            .await
            .expect("created after retries");
        assert_eq!(created.identifier, format!("service{i}"));
    }
    assert_eq!(
        client.list_blueprints().await.expect("listed").len(),
        10,
        "every blueprint was created exactly once"
    );
    let failures = capture.failures();
    assert!(
        failures.iter().any(|(s, _)| *s == 429),
        "the local Port limited some requests: {failures:?}"
    );
    for (status, retry_in_ms) in &failures {
        assert_eq!(*status, 429, "only injected 429s: {failures:?}");
        assert_eq!(*retry_in_ms, Some(MAX_BACKOFF.as_millis() as u64));
    }
}

#[tokio::test]
async fn gives_up_after_the_retry_cap_naming_the_endpoint_and_the_last_status() {
    let faults = FaultConfig {
        rate_limit_rate: 1.0,
        ..FaultConfig::default()
    };
    let port = start(LocalPort::builder().faults(faults)).await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    config.retry.max_retries = 3;
    let client = PortClient::new(config).expect("valid config");
    let err = client
        .get_blueprint("service")
        .await
        .expect_err("every request is limited");
    match &err {
        PortError::RetriesExhausted {
            endpoint,
            attempts,
            last_status,
            last_failure,
        } => {
            assert_eq!(endpoint, "GET /v1/blueprints/service");
            assert_eq!(*attempts, 4);
            assert_eq!(*last_status, Some(429));
            assert!(last_failure.contains("too many requests"), "{last_failure}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("GET /v1/blueprints/service"), "{text}");
    assert!(text.contains("429"), "{text}");
    assert!(text.contains("4 attempts"), "{text}");
}

#[tokio::test]
async fn wrong_credentials_give_an_authentication_error_that_never_shows_the_secret() {
    let (capture, _guard) = Capture::install();
    let port = start(LocalPort::builder()).await;
    let wrong = "wrong-secret-5a5a5a";
    let client = PortClient::new(config_for(&port, "my-jira", wrong)).expect("valid config");
    let err = client
        .list_blueprints()
        .await
        .expect_err("the credentials are wrong");
    assert!(
        matches!(&err, PortError::Authentication { status: 401, message } if message.contains("invalid client id or client secret")),
        "{err:?}"
    );
    let shown = format!("{err} {err:?} {client:?}");
    assert!(
        shown.contains("check the client id and client secret"),
        "{shown}"
    );
    for secret in [wrong, CLIENT_SECRET] {
        assert!(!shown.contains(secret), "the secret leaked: {shown}");
        for event in capture.events() {
            assert!(!event.text.contains(secret), "logged: {}", event.text);
        }
    }
    assert_eq!(port.state().blueprints().len(), 0);
}

#[tokio::test]
async fn bulk_upsert_stores_19_of_20_and_reports_ports_message_for_the_bad_one() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let mut entities: Vec<Entity> = (0..20)
        .map(|i| service(&format!("svc-{i:02}"), "rust", i))
        .collect();
    let mut bad = service("svc-07", "rust", 7);
    if let Some(props) = bad.properties.as_mut() {
        props.insert("lang".into(), json!("cobol"));
    }
    entities[7] = bad;

    let outcome = client
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;

    assert_eq!(outcome.results.len(), 20);
    assert_eq!(outcome.stored().count(), 19);
    let failed: Vec<_> = outcome.failed().collect();
    assert_eq!(failed.len(), 1);
    let (entity, failure) = failed[0];
    assert_eq!(entity.normalized_identifier(), "svc-07");
    assert_eq!(failure.status, Some(422));
    assert!(
        failure.message.contains("\"lang\"") && failure.message.contains("cobol"),
        "Port's message names the property: {}",
        failure.message
    );
    for (i, result) in outcome.results.iter().enumerate() {
        if i != 7 {
            assert_eq!(
                result.status,
                UpsertStatus::Stored {
                    created: Some(true)
                }
            );
        }
    }

    let state = port.state();
    let stored = state.entities("service");
    assert_eq!(stored.len(), 19);
    assert!(state.entity("service", "svc-07").is_none());
    let expected_ds = client.datasource().user_agent();
    for entity in &stored {
        assert_eq!(entity.datasource.as_deref(), Some(expected_ds.as_str()));
        assert_eq!(entity.properties["owner"], "platform");
    }
    let svc3 = state.entity("service", "svc-03").expect("stored");
    assert_eq!(svc3.properties["stars"], json!(3));
    assert_eq!(svc3.title.as_deref(), Some("Service svc-03"));
}

/// An entity of about 1 KB.
fn big_service(i: usize) -> Entity {
    let mut entity = service(&format!("big-{i:02}"), "go", i as u64);
    if let Some(props) = entity.properties.as_mut() {
        props.insert("description".into(), json!("x".repeat(1000)));
    }
    entity
}

#[tokio::test]
async fn bodies_port_finds_too_large_are_split_until_everything_is_stored() {
    let (capture, _guard) = Capture::install();
    // 20 entities of ~1 KB do not fit in 4 KB: the client must halve three times.
    let port = start(LocalPort::builder().body_limit(4 * 1024)).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let entities: Vec<Entity> = (0..20).map(big_service).collect();

    let outcome = client
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;

    let failed: Vec<_> = outcome.failed().collect();
    assert!(outcome.all_stored(), "{failed:?}");
    assert_eq!(port.state().entities("service").len(), 20);
    let splits = capture
        .events()
        .iter()
        .filter(|e| e.message.contains("too large; splitting"))
        .count();
    assert!(
        splits >= 3,
        "the 413s were seen and split ({splits} splits)"
    );
}

#[tokio::test]
async fn an_entity_too_large_even_alone_fails_with_413_while_the_rest_are_stored() {
    let port = start(LocalPort::builder().body_limit(4 * 1024)).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let mut entities: Vec<Entity> = (0..4).map(big_service).collect();
    if let Some(props) = entities[2].properties.as_mut() {
        props.insert("description".into(), json!("y".repeat(8 * 1024)));
    }

    let outcome = client
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;

    let failed: Vec<_> = outcome.failed().collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0.normalized_identifier(), "big-02");
    assert_eq!(failed[0].1.status, Some(413));
    let stored: BTreeSet<String> = port
        .state()
        .entities("service")
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    assert_eq!(
        stored,
        ["big-00", "big-01", "big-03"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[tokio::test]
async fn searches_with_a_nested_query_tree_and_projects_included_fields() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let entities = vec![
        service("a", "rust", 500),
        service("b", "rust", 5),
        service("c", "go", 900),
        service("d", "rust", 50),
        service("e", "python", 1),
    ];
    assert!(
        client
            .upsert_entities_bulk(entities, &UpsertOptions::default())
            .await
            .all_stored()
    );

    // lang = rust AND (stars > 100 OR identifier = d)
    let query = Query::and(vec![
        QueryNode::rule("$blueprint", "=", json!("service")),
        QueryNode::rule("lang", "=", json!("rust")),
        QueryNode::Group(Query::or(vec![
            QueryNode::rule("stars", ">", json!(100)),
            QueryNode::rule("$identifier", "=", json!("d")),
        ])),
    ]);
    let found = client.search_entities(&query, &[]).await.expect("searched");
    assert_eq!(
        ids(&found),
        ["a", "d"].into_iter().map(String::from).collect()
    );
    let a = found
        .iter()
        .find(|e| e.normalized_identifier() == "a")
        .expect("a is found");
    assert_eq!(
        a.properties.as_ref().map(|p| p["stars"].clone()),
        Some(json!(500))
    );

    let projected = client
        .search_entities(&query, &["identifier", "properties.lang"])
        .await
        .expect("searched");
    for entity in &projected {
        let props = entity.properties.as_ref().expect("lang is included");
        assert_eq!(props.keys().collect::<Vec<_>>(), vec!["lang"]);
        assert!(entity.title.is_none());
    }

    // Ownership: another installation's entities are not this client's.
    let other = PortClient::new(config_for(&port, "other-jira", CLIENT_SECRET)).expect("config");
    assert!(
        other
            .upsert_entities_bulk(vec![service("z", "rust", 1000)], &UpsertOptions::default())
            .await
            .all_stored()
    );
    let rust = Query::and(vec![QueryNode::rule("lang", "=", json!("rust"))]);
    let everyone = client.search_entities(&rust, &[]).await.expect("searched");
    assert_eq!(ids(&everyone).len(), 4);
    let owned = client
        .search_owned_entities(&rust, &[])
        .await
        .expect("searched");
    assert_eq!(
        ids(&owned),
        ["a", "b", "d"].into_iter().map(String::from).collect()
    );
}

#[tokio::test]
async fn datasource_listing_pages_through_owned_entities_and_honours_before() {
    let port = start(LocalPort::builder()).await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    config.bulk = BulkLimits {
        datasource_page: 2,
        ..BulkLimits::default()
    };
    let client = PortClient::new(config).expect("valid config");
    with_service_blueprint(&client).await;
    let options = UpsertOptions::default();
    let first: Vec<Entity> = (0..7)
        .map(|i| service(&format!("old-{i}"), "go", i))
        .collect();
    assert!(
        client
            .upsert_entities_bulk(first, &options)
            .await
            .all_stored()
    );
    let cutoff = Utc::now();
    let later = vec![
        service("new-0", "go", 0),
        service("new-1", "go", 1),
        service("new-2", "go", 2),
        // Written again after the cutoff: no longer "before".
        service("old-3", "rust", 3),
    ];
    assert!(
        client
            .upsert_entities_bulk(later, &options)
            .await
            .all_stored()
    );
    let other = PortClient::new(config_for(&port, "other-jira", CLIENT_SECRET)).expect("config");
    assert!(
        other
            .upsert_entities_bulk(vec![service("foreign", "go", 1)], &options)
            .await
            .all_stored()
    );

    let pages: Vec<Vec<Entity>> = client
        .datasource_entities(None)
        .try_collect()
        .await
        .expect("every page is read");
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 2, 2, 2]
    );
    let all: Vec<Entity> = pages.into_iter().flatten().collect();
    assert_eq!(all.len(), 10, "no entity twice, none missing");
    let listed = ids(&all);
    assert_eq!(listed.len(), 10);
    assert!(!listed.contains("foreign"));

    let stale = client
        .all_datasource_entities(Some(cutoff))
        .await
        .expect("listed");
    assert_eq!(
        ids(&stale),
        ["old-0", "old-1", "old-2", "old-4", "old-5", "old-6"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[tokio::test]
async fn bulk_delete_removes_the_named_entities_in_chunks() {
    let port = start(LocalPort::builder()).await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    config.bulk = BulkLimits {
        delete_chunk: 3,
        ..BulkLimits::default()
    };
    let client = PortClient::new(config).expect("valid config");
    with_service_blueprint(&client).await;
    let entities: Vec<Entity> = (0..10)
        .map(|i| service(&format!("s{i}"), "go", i))
        .collect();
    assert!(
        client
            .upsert_entities_bulk(entities, &UpsertOptions::default())
            .await
            .all_stored()
    );

    let doomed: Vec<String> = (0..7).map(|i| format!("s{i}")).collect();
    let outcome = client
        .delete_entities_bulk(
            "service",
            &doomed,
            &DeleteOptions {
                delete_dependents: true,
                event: None,
            },
        )
        .await;

    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(
        outcome.deleted.iter().cloned().collect::<BTreeSet<_>>(),
        doomed.iter().cloned().collect()
    );
    let left: Vec<String> = port
        .state()
        .entities("service")
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    assert_eq!(left, vec!["s7", "s8", "s9"]);

    let missing_blueprint = client
        .delete_entities_bulk("nothing", &["x".to_owned()], &DeleteOptions::default())
        .await;
    assert_eq!(missing_blueprint.failures.len(), 1);
    assert!(
        missing_blueprint.failures[0]
            .reason
            .contains("blueprint `nothing`"),
        "{:?}",
        missing_blueprint.failures
    );

    assert!(
        client
            .delete_entity("service", "s8", &DeleteOptions::default())
            .await
            .expect("deleted")
    );
    assert!(
        !client
            .delete_entity("service", "s8", &DeleteOptions::default())
            .await
            .expect("already gone is not an error")
    );
}

fn webhook(id: &str, title: &str) -> Webhook {
    Webhook {
        identifier: Some(id.to_owned()),
        title: Some(title.to_owned()),
        enabled: Some(true),
        mappings: Some(vec![json!({
            "blueprint": "service",
            "filter": "true",
            "entity": {"identifier": ".body.name", "title": ".body.name"}
        })]),
        security: Some(
            [("secret".to_owned(), json!("hook-secret-31337"))]
                .into_iter()
                .collect(),
        ),
        ..Webhook::default()
    }
}

#[tokio::test]
async fn webhooks_service_create_get_list_update_delete_with_404_422_and_409() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);

    let created = client
        .create_webhook(&webhook("hook-a", "Hook A"))
        .await
        .expect("created");
    assert_eq!(created.identifier.as_deref(), Some("hook-a"));
    assert_eq!(created.enabled, Some(true));
    assert_eq!(
        created.security.as_ref().map(|s| s["secret"].clone()),
        Some(json!("[REDACTED]"))
    );
    assert!(created.extra["createdAt"].is_string());
    assert!(
        created.extra["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "Port answers where the webhook receives its payloads"
    );
    client
        .create_webhook(&webhook("hook-b", "Hook B"))
        .await
        .expect("created");

    let conflict = client
        .create_webhook(&webhook("hook-a", "Again"))
        .await
        .expect_err("the identifier is taken");
    assert!(
        matches!(&conflict, PortError::Conflict { endpoint, message }
            if endpoint == "POST /v1/webhooks" && message.contains("hook-a")),
        "{conflict:?}"
    );

    let too_long = client
        .create_webhook(&webhook("a-webhook-identifier-of-31-char", "Long"))
        .await
        .expect_err("identifiers have at most 30 characters");
    assert!(
        matches!(&too_long, PortError::Validation { status: 422, message, .. } if message.contains("identifier")),
        "{too_long:?}"
    );
    assert!(
        !format!("{too_long} {too_long:?}").contains("hook-secret-31337"),
        "the secret stays out of errors"
    );
    let mut outgoing = webhook("hook-c", "Outgoing");
    outgoing
        .extra
        .insert("events".into(), json!(["entity.created"]));
    let refused = client
        .create_webhook(&outgoing)
        .await
        .expect_err("Port's webhooks have no events");
    assert!(
        matches!(&refused, PortError::Validation { status: 422, message, .. } if message.contains("events")),
        "{refused:?}"
    );

    let fetched = client.get_webhook("hook-a").await.expect("fetched");
    assert_eq!(fetched.title.as_deref(), Some("Hook A"));

    let page = client.get_webhooks(Some(1), Some(1)).await.expect("listed");
    assert_eq!(page.webhooks.len(), 1);
    assert_eq!(page.webhooks[0].identifier.as_deref(), Some("hook-a"));
    assert_eq!(page.extra["total"], json!(2));
    let page2 = client.get_webhooks(Some(2), Some(1)).await.expect("listed");
    assert_eq!(page2.webhooks[0].identifier.as_deref(), Some("hook-b"));

    // What was read can be written back: Port's read-only fields are not sent.
    let mut change = fetched.clone();
    change.enabled = Some(false);
    change.security = None;
    let updated = client
        .update_webhook("hook-a", &change)
        .await
        .expect("updated");
    assert_eq!(updated.enabled, Some(false));
    assert_eq!(
        updated.security.as_ref().map(|s| s["secret"].clone()),
        Some(json!("[REDACTED]")),
        "a patch keeps the rest"
    );
    let bad_change = Webhook {
        description: Some("d".repeat(201)),
        ..Webhook::default()
    };
    assert!(matches!(
        client.update_webhook("hook-a", &bad_change).await,
        Err(PortError::Validation { status: 422, .. })
    ));
    assert!(matches!(
        client.update_webhook("ghost", &change).await,
        Err(PortError::NotFound { what }) if what == "webhook `ghost`"
    ));

    assert!(client.delete_webhook("hook-a").await.expect("deleted"));
    let gone = client.get_webhook("hook-a").await.expect_err("deleted");
    assert!(
        matches!(&gone, PortError::NotFound { what } if what == "webhook `hook-a`"),
        "{gone:?}"
    );
    assert_eq!(gone.to_string(), "webhook `hook-a` was not found in Port");
    assert!(matches!(
        client.delete_webhook("hook-a").await,
        Err(PortError::NotFound { .. })
    ));
    let left: Vec<Value> = port.state().webhooks();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["identifier"], "hook-b");
}

#[tokio::test]
async fn blueprint_create_get_patch_delete_round_trip() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    let created = client
        .create_blueprint(&service_blueprint())
        .await
        .expect("created");
    assert_eq!(created.identifier, "service");
    assert!(created.extra.contains_key("createdAt"));

    let conflict = client
        .create_blueprint(&service_blueprint())
        .await
        .expect_err("exists");
    assert!(
        matches!(conflict, PortError::Conflict { .. }),
        "{conflict:?}"
    );

    let bad = blueprint(json!({
        "identifier": "team_of", "title": "Team_of",
        "schema": {"properties": {}},
        "relations": {"owner": {"target": "nowhere", "many": false, "required": false}}
    }));
    let err = client.create_blueprint(&bad).await.expect_err("bad target");
    assert!(
        matches!(&err, PortError::NotFound { what } if what == "blueprint `team_of`"),
        "{err:?}"
    );

    let fetched = client.get_blueprint("service").await.expect("fetched");
    assert_eq!(fetched.schema.required, vec!["lang".to_owned()]);
    assert!(fetched.schema.properties.contains_key("stars"));

    let patched = client
        .patch_blueprint("service", &json!({"title": "Microservice"}))
        .await
        .expect("patched");
    assert_eq!(patched.title.as_deref(), Some("Microservice"));
    assert!(
        patched.schema.properties.contains_key("lang"),
        "the rest stays"
    );
    assert_eq!(
        port.state().blueprint("service").and_then(|b| b.title),
        Some("Microservice".to_owned())
    );
    assert!(matches!(
        client
            .patch_blueprint("ghost", &json!({"title": "x"}))
            .await,
        Err(PortError::NotFound { .. })
    ));

    client.delete_blueprint("service").await.expect("deleted");
    assert!(port.state().blueprint("service").is_none());
    let gone = client.get_blueprint("service").await.expect_err("deleted");
    assert!(
        matches!(&gone, PortError::NotFound { what } if what == "blueprint `service`"),
        "{gone:?}"
    );
}

#[tokio::test]
async fn integration_create_get_patch_config_resync_state_and_request() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    assert_eq!(
        client.get_integration("my-jira").await.expect("asked"),
        None
    );

    let created = client
        .create_integration(&Integration {
            installation_id: "my-jira".into(),
            installation_app_type: Some("jira".into()),
            version: Some("1.2.3".into()),
            config: Some(json!({"resources": []})),
            ..Integration::default()
        })
        .await
        .expect("created");
    assert_eq!(created.installation_id, "my-jira");
    let again = client
        .create_integration(&Integration {
            installation_id: "my-jira".into(),
            ..Integration::default()
        })
        .await
        .expect_err("exists");
    assert!(matches!(again, PortError::Conflict { .. }), "{again:?}");

    let fetched = client
        .get_integration("my-jira")
        .await
        .expect("asked")
        .expect("exists");
    assert_eq!(fetched.installation_app_type.as_deref(), Some("jira"));

    let patched = client
        .patch_integration("my-jira", &json!({"version": "1.3.0"}))
        .await
        .expect("patched");
    assert_eq!(patched.version.as_deref(), Some("1.3.0"));

    let mapping = json!({
        "deleteDependentEntities": true,
        "resources": [{"kind": "issue", "selector": {"query": "true"},
            "port": {"entity": {"mappings": {"identifier": ".key", "blueprint": "\"issue\""}}}}]
    });
    let configured = client
        .patch_integration_config("my-jira", &mapping)
        .await
        .expect("configured");
    assert_eq!(configured.config, Some(mapping.clone()));
    assert_eq!(
        port.state()
            .integration("my-jira")
            .map(|i| i["config"].clone()),
        Some(mapping)
    );
    assert!(matches!(
        client.patch_integration_config("ghost", &json!({})).await,
        Err(PortError::NotFound { what }) if what == "integration `ghost`"
    ));

    let state = ResyncState {
        status: Some("running".into()),
        last_resync_start: Some("2026-11-23T05:00:00Z".into()),
        ..ResyncState::default()
    };
    let reported = client
        .patch_resync_state("my-jira", &state)
        .await
        .expect("reported");
    let stored = reported.resync_state.expect("the state is stored");
    assert_eq!(stored.status.as_deref(), Some("running"));
    assert!(stored.updated_at.is_some(), "Port stamps the update");
    let invalid = client
        .patch_resync_state(
            "my-jira",
            &ResyncState {
                status: Some("sleeping".into()),
                ..ResyncState::default()
            },
        )
        .await
        .expect_err("unknown status");
    assert!(
        matches!(&invalid, PortError::Validation { status: 422, message, .. } if message.contains("sleeping")),
        "{invalid:?}"
    );

    assert_eq!(
        client.get_resync_request("my-jira").await.expect("asked"),
        None
    );
    let requested = port
        .request_resync("my-jira")
        .expect("the integration exists");
    let request = client
        .get_resync_request("my-jira")
        .await
        .expect("asked")
        .expect("a request is pending");
    assert_eq!(request.id, requested);
    assert!(request.updated_at.is_some());

    client
        .post_raw_examples("my-jira", "issue", &[json!({"key": "PROJ-1"})])
        .await
        .expect("sent");
    assert_eq!(
        port.state().examples("my-jira", "issue"),
        vec![json!({"key": "PROJ-1"})]
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_token_refresh_after_a_revocation() {
    let (capture, _guard) = Capture::install();
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let fetches = |capture: &Capture| {
        capture
            .events()
            .iter()
            .filter(|e| e.message == "fetched a Port access token")
            .count()
    };
    assert_eq!(fetches(&capture), 1);

    port.revoke_tokens();
    let calls = (0..20).map(|_| client.get_blueprint("service"));
    for result in futures::future::join_all(calls).await {
        assert_eq!(
            result.expect("succeeds after the refresh").identifier,
            "service"
        );
    }
    assert_eq!(
        fetches(&capture),
        2,
        "the 401s of 20 callers lead to a single new token"
    );
}

#[tokio::test]
async fn bulk_upsert_under_injected_429_and_503_stores_every_entity_once() {
    let (capture, _guard) = Capture::install();
    let port = start(LocalPort::builder()).await;
    // The blueprint is created on a calm local Port; the faulty one loads it from its state file.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state_path = dir.path().join("state.json");
    let setup = client(&port);
    with_service_blueprint(&setup).await;
    std::fs::write(
        &state_path,
        serde_json::to_vec(&port.state().snapshot()).expect("the state serializes"),
    )
    .expect("the state file is written");
    port.stop().await.expect("stops");

    let faults = FaultConfig {
        seed: 7,
        rate_limit_rate: 0.2,
        server_error_rate: 0.2,
        retry_after_secs: 1,
        ..FaultConfig::default()
    };
    let port = start(
        LocalPort::builder()
            .faults(faults)
            .state_file(Some(state_path)),
    )
    .await;
    let mut config = config_for(&port, "my-jira", CLIENT_SECRET);
    config.retry.max_retries = 30;
    let client = PortClient::new(config).expect("valid config");
    let entities: Vec<Entity> = (0..200)
        .map(|i| service(&format!("f{i:03}"), "go", i))
        .collect();

    let outcome = client
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;

    let failed: Vec<_> = outcome.failed().collect();
    assert!(outcome.all_stored(), "{failed:?}");
    assert_eq!(port.state().entities("service").len(), 200);
    let statuses: BTreeSet<u64> = capture.failures().iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses,
        [429, 503].into_iter().collect(),
        "both faults were injected and retried"
    );
}

#[tokio::test]
async fn identifiers_with_slashes_and_colons_survive_the_path_round_trip() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_service_blueprint(&client).await;
    let options = UpsertOptions::default();
    for id in ["acme/payments", "team:core@eu=1", "a+b.c"] {
        let stored = client
            .upsert_entity(&service(id, "rust", 1), &options)
            .await
            .expect("stored");
        assert_eq!(stored.normalized_identifier(), id);
        assert_eq!(
            stored.properties.as_ref().map(|p| p["lang"].clone()),
            Some(json!("rust"))
        );
        assert!(port.state().entity("service", id).is_some(), "{id} stored");
        assert!(
            client
                .delete_entity("service", id, &DeleteOptions::default())
                .await
                .expect("deleted"),
            "{id} was found by its path"
        );
        assert!(port.state().entity("service", id).is_none(), "{id} deleted");
    }
}

#[tokio::test]
async fn single_upsert_errors_carry_ports_status_and_message() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    let missing = client
        .upsert_entity(&service("x", "rust", 1), &UpsertOptions::default())
        .await
        .expect_err("the blueprint does not exist");
    assert!(
        matches!(&missing, PortError::NotFound { what } if what.contains("entity `x` of blueprint `service`")),
        "{missing:?}"
    );
    with_service_blueprint(&client).await;
    let invalid = client
        .upsert_entity(&service("x", "fortran", 1), &UpsertOptions::default())
        .await
        .expect_err("not in the enum");
    assert!(
        matches!(&invalid, PortError::Validation { status: 422, message, .. }
            if message.contains("\"lang\"") && message.contains("fortran")),
        "{invalid:?}"
    );
}

/// `deployment` relates to one `service`.
async fn with_deployment_blueprint(client: &PortClient) {
    with_service_blueprint(client).await;
    client
        .create_blueprint(&blueprint(json!({
            "identifier": "deployment", "title": "Deployment",
            "schema": {"properties": {"env": {"type": "string"}}},
            "relations": {"service": {"target": "service", "many": false, "required": false}}
        })))
        .await
        .expect("the deployment blueprint is created");
}

fn deployment(id: &str, service: Value) -> Entity {
    let mut entity = Entity::new(id, "deployment");
    entity.properties = Some([("env".to_owned(), json!("prod"))].into_iter().collect());
    entity.relations = Some([("service".to_owned(), service)].into_iter().collect());
    entity
}

#[tokio::test]
async fn search_identifiers_resolve_to_stored_entities_or_report_unresolved() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_deployment_blueprint(&client).await;
    let options = UpsertOptions::default();
    assert!(
        client
            .upsert_entities_bulk(vec![service("api", "rust", 10)], &options)
            .await
            .all_stored()
    );

    let by_search = |lang: &str| {
        let mut entity = Entity::new("placeholder", "service");
        entity.identifier = json!({
            "combinator": "and",
            "rules": [{"property": "lang", "operator": "=", "value": lang}]
        });
        let mut properties = Map::new();
        properties.insert("lang".into(), json!(lang));
        properties.insert("owner".into(), json!("search-owner"));
        entity.properties = Some(properties);
        entity
    };
    let outcome = client
        .upsert_entities_bulk(vec![by_search("rust"), by_search("go")], &options)
        .await;

    assert_eq!(outcome.results[0].entity.identifier, json!("api"));
    assert!(matches!(
        outcome.results[0].status,
        UpsertStatus::Stored {
            created: Some(false)
        }
    ));
    assert!(
        matches!(&outcome.results[1].status, UpsertStatus::Unresolved(f) if f.status == Some(404)),
        "{:?}",
        outcome.results[1].status
    );
    let api = port.state().entity("service", "api").expect("still there");
    assert_eq!(api.properties["owner"], "search-owner");
    assert_eq!(port.state().entities("service").len(), 1);
}

#[tokio::test]
async fn missing_related_entities_are_created_or_reported_as_options_say() {
    let port = start(LocalPort::builder()).await;
    let client = client(&port);
    with_deployment_blueprint(&client).await;

    let strict = UpsertOptions {
        create_missing_related_entities: false,
        ..UpsertOptions::default()
    };
    let outcome = client
        .upsert_entities_bulk(vec![deployment("d1", json!("ghost"))], &strict)
        .await;
    let failed: Vec<_> = outcome.failed().collect();
    assert_eq!(failed.len(), 1, "{:?}", outcome.results);
    assert_eq!(failed[0].1.status, Some(404));
    assert!(
        failed[0].1.message.contains("ghost"),
        "{}",
        failed[0].1.message
    );
    assert!(port.state().entity("deployment", "d1").is_none());

    let outcome = client
        .upsert_entities_bulk(
            vec![deployment("d1", json!("ghost"))],
            &UpsertOptions::default(),
        )
        .await;
    assert!(outcome.all_stored(), "{:?}", outcome.results);
    let stored = port.state().entity("deployment", "d1").expect("stored");
    assert_eq!(stored.relations["service"], json!("ghost"));
    assert!(
        port.state().entity("service", "ghost").is_some(),
        "Port created the missing target"
    );
}
