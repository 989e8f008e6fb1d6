//! The Port client against a scripted Port (wiremock): auth, retries, bulk calls, webhooks.

use futures::TryStreamExt;
use ocean::config::Secret;
use ocean::port::client::{
    BulkLimits, DeleteOptions, EventInfo, PortClient, PortClientConfig, PortError, RetryPolicy,
    UpsertOptions, UpsertStatus,
};
use ocean::port::{Datasource, Entity, Query, QueryNode, Webhook};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "very-secret-value";
const FEATURE_UA: &str = "port-ocean/jira/1.2.3/my-jira/exporter";
const BASE_UA: &str = "port-ocean/jira/1.2.3/my-jira";

fn config(server: &MockServer) -> PortClientConfig {
    let mut config = PortClientConfig::new(
        server.uri(),
        Secret::new("client-id"),
        Secret::new(SECRET),
        Datasource::exporter("jira", "1.2.3", "my-jira"),
    );
    config.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        jitter_ratio: 0.1,
        max_backoff: Duration::from_millis(5),
    };
    config
}

fn client(server: &MockServer) -> PortClient {
    PortClient::new(config(server)).unwrap()
}

fn token_answer(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"accessToken": token, "expiresIn": 3600, "tokenType": "Bearer"}))
}

async fn mount_auth(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(token_answer("tok-1"))
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

fn blueprint_answer(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "blueprint": {"identifier": id}}))
}

fn entity(id: &str, blueprint: &str) -> Entity {
    Entity::new(id, blueprint)
}

/// Answers a bulk upsert by storing every entity under its own identifier.
struct StoreAll;

impl Respond for StoreAll {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let entities: Vec<Value> = body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, e)| json!({"index": i, "identifier": e["identifier"], "created": true}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"entities": entities, "errors": []}))
    }
}

fn bulk_sizes(requests: &[Request]) -> Vec<usize> {
    requests
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["entities"].as_array().unwrap().len()
        })
        .collect()
}

// ---- auth ----

#[tokio::test]
async fn fetches_token_lazily_once_and_reuses_it_across_concurrent_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .and(body_partial_json(
            json!({"clientId": "client-id", "clientSecret": SECRET}),
        ))
        .respond_with(token_answer("tok-1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(blueprint_answer("svc"))
        .expect(6)
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(server.received_requests().await.unwrap().is_empty());
    let calls = (0..5).map(|_| client.get_blueprint("svc"));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().identifier, "svc");
    }
    client.clone().get_blueprint("svc").await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn refreshes_token_once_on_401_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(token_answer("old"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(token_answer("new"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .and(header("authorization", "Bearer old"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .and(header("authorization", "Bearer new"))
        .respond_with(blueprint_answer("svc"))
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.get_blueprint("svc").await.unwrap().identifier, "svc");
    assert_eq!(requests_to(&server, "/v1/auth/access_token").await.len(), 2);
    // The refreshed token is cached: no third fetch.
    client.get_blueprint("svc").await.unwrap();
    assert_eq!(requests_to(&server, "/v1/auth/access_token").await.len(), 2);
}

#[tokio::test]
async fn second_401_after_refresh_is_unauthorized() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"ok": false, "error": "unauthorized", "message": "expired"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server).get_blueprint("svc").await.unwrap_err();
    assert!(
        matches!(&err, PortError::Unauthorized { message, .. } if message == "expired"),
        "{err:?}"
    );
    assert_eq!(requests_to(&server, "/v1/auth/access_token").await.len(), 2);
    server.verify().await;
}

#[tokio::test]
async fn wrong_credentials_give_a_clear_error_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"ok": false, "error": "unauthorized", "message": "invalid credentials"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client.list_blueprints().await.unwrap_err();
    assert!(
        matches!(err, PortError::Authentication { status: 401, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?} {client:?} {:?}", client.config());
    assert!(shown.contains("invalid credentials"));
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(requests_to(&server, "/v1/blueprints").await.is_empty());
}

#[tokio::test]
async fn sends_base_user_agent_on_auth_and_feature_user_agent_elsewhere() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/entities/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "entities": []})))
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.datasource().user_agent(), FEATURE_UA);
    client
        .search_entities(&Query::and(vec![]), &[])
        .await
        .unwrap();
    let auth = requests_to(&server, "/v1/auth/access_token").await;
    assert_eq!(auth[0].headers["user-agent"], BASE_UA);
    let search = requests_to(&server, "/v1/entities/search").await;
    assert_eq!(search[0].headers["user-agent"], FEATURE_UA);
}

// ---- retries ----

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(blueprint_answer("svc"))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.get_blueprint("svc").await.unwrap().identifier, "svc");
    assert_eq!(requests_to(&server, "/v1/blueprints/svc").await.len(), 2);
}

#[tokio::test]
async fn ratelimit_reset_header_replaces_the_backoff() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(ResponseTemplate::new(503).insert_header("x-ratelimit-reset", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(blueprint_answer("svc"))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut config = config(&server);
    // The computed backoff would be an hour: only the header's zero wait lets this finish.
    config.retry.base_delay = Duration::from_secs(3600);
    config.retry.max_backoff = Duration::from_secs(3600);
    let client = PortClient::new(config).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), client.get_blueprint("svc"))
        .await
        .expect("the x-ratelimit-reset header was not honoured");
    assert_eq!(result.unwrap().identifier, "svc");
}

#[tokio::test]
async fn gives_up_after_max_retries_with_retries_exhausted() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"ok": false, "error": "unavailable", "message": "busy"})),
        )
        .expect(4)
        .mount(&server)
        .await;
    let err = client(&server).get_blueprint("svc").await.unwrap_err();
    match &err {
        PortError::RetriesExhausted {
            endpoint,
            attempts,
            last_status,
            last_failure,
        } => {
            assert_eq!(endpoint, "GET /v1/blueprints/svc");
            assert_eq!(*attempts, 4);
            assert_eq!(*last_status, Some(503));
            assert!(last_failure.contains("busy"));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(err.to_string().contains("GET /v1/blueprints/svc"));
    server.verify().await;
}

#[tokio::test]
async fn status_500_is_not_retried() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).get_blueprint("svc").await.unwrap_err();
    assert!(matches!(err, PortError::Api { status: 500, ref body, .. } if body == "boom"));
    server.verify().await;
}

#[tokio::test]
async fn patch_is_not_retried_on_503() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .patch_integration("my-jira", &json!({"version": "1.2.3"}))
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Api { status: 503, .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn a_post_answered_429_is_retried_once_after_the_retry_after_wait() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints"))
        .respond_with(blueprint_answer("svc"))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.retry.max_backoff = Duration::from_secs(10);
    let client = PortClient::new(config).unwrap();
    let blueprint =
        serde_json::from_value(json!({"identifier": "svc", "title": "Service"})).unwrap();
    let started = std::time::Instant::now();
    let created = client.create_blueprint(&blueprint).await.unwrap();
    assert_eq!(created.identifier, "svc");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "the retry waited the second Port asked for, not the millisecond backoff: {:?}",
        started.elapsed()
    );
    assert_eq!(requests_to(&server, "/v1/blueprints").await.len(), 2);
}

#[tokio::test]
async fn a_post_answered_500_or_503_is_not_retried() {
    for status in [500, 503] {
        let server = MockServer::start().await;
        mount_auth(&server).await;
        Mock::given(method("POST"))
            .and(path("/v1/blueprints"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let blueprint =
            serde_json::from_value(json!({"identifier": "svc", "title": "Service"})).unwrap();
        let err = client(&server)
            .create_blueprint(&blueprint)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PortError::Api { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let server = MockServer::start().await;
    let mut config = config(&server);
    config.base_url = format!("http://{address}");
    let err = PortClient::new(config)
        .unwrap()
        .list_blueprints()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PortError::RetriesExhausted {
                attempts: 4,
                last_status: None,
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- bulk upsert ----

#[tokio::test]
async fn bulk_upsert_of_45_entities_sends_3_chunks_of_at_most_20() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .and(query_param("upsert", "true"))
        .and(query_param("merge", "true"))
        .and(query_param("create_missing_related_entities", "false"))
        .and(query_param("validation_only", "false"))
        .and(query_param("ocean_info_event_type", "RESYNC"))
        .and(query_param("ocean_info_resync_id", "r-1"))
        .and(header("user-agent", FEATURE_UA))
        .respond_with(StoreAll)
        .expect(3)
        .mount(&server)
        .await;
    let entities: Vec<Entity> = (0..45).map(|i| entity(&format!("e{i}"), "svc")).collect();
    let options = UpsertOptions {
        merge: true,
        create_missing_related_entities: false,
        event: Some(EventInfo {
            event_type: "RESYNC".into(),
            resync_id: Some("r-1".into()),
        }),
    };
    let outcome = client(&server)
        .upsert_entities_bulk(entities.clone(), &options)
        .await;
    assert!(outcome.all_stored());
    let ids: Vec<&str> = outcome
        .stored()
        .map(|e| e.identifier_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..45).map(|i| format!("e{i}")).collect();
    assert_eq!(ids, expected);
    let mut sizes = bulk_sizes(&requests_to(&server, "/v1/blueprints/svc/entities/bulk").await);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 20, 20]);
    server.verify().await;
}

#[tokio::test]
async fn byte_cap_forces_more_chunks_and_every_body_fits() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(StoreAll)
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.bulk = BulkLimits {
        max_bytes: 600,
        ..BulkLimits::default()
    };
    let entities: Vec<Entity> = (0..10)
        .map(|i| {
            let mut e = entity(&format!("e{i}"), "svc");
            e.title = Some(Value::String("x".repeat(150)));
            e
        })
        .collect();
    let outcome = PortClient::new(config)
        .unwrap()
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;
    assert!(outcome.all_stored());
    let requests = requests_to(&server, "/v1/blueprints/svc/entities/bulk").await;
    assert!(requests.len() >= 3, "only {} requests", requests.len());
    assert!(requests.iter().all(|r| r.body.len() <= 600));
    assert_eq!(bulk_sizes(&requests).iter().sum::<usize>(), 10);
}

#[tokio::test]
async fn maps_per_entity_results_by_index() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({
            "entities": [
                {"index": 0, "identifier": "resolved-a", "created": false},
                {"index": 3, "identifier": "d", "created": true}
            ],
            "errors": [
                {"index": 1, "identifier": "b", "statusCode": 422, "error": "schema_mismatch", "message": "bad prop"},
                {"index": 2, "identifier": "unknown", "statusCode": 404, "error": "not_found", "message": "no match"}
            ]
        })))
        .mount(&server)
        .await;
    let mut search_id = entity("x", "svc");
    search_id.identifier = json!({"combinator": "and", "rules": []});
    let entities = vec![
        search_id,
        entity("b", "svc"),
        entity("c", "svc"),
        entity("d", "svc"),
    ];
    let outcome = client(&server)
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;
    let r = &outcome.results;
    assert_eq!(r[0].entity.identifier, json!("resolved-a"));
    assert_eq!(
        r[0].status,
        UpsertStatus::Stored {
            created: Some(false)
        }
    );
    match &r[1].status {
        UpsertStatus::Failed(f) => {
            assert_eq!(f.status, Some(422));
            assert_eq!(f.error, "schema_mismatch");
            assert_eq!(f.message, "bad prop");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(r[1].entity.identifier, json!("b"));
    assert!(matches!(&r[2].status, UpsertStatus::Unresolved(f) if f.error == "not_found"));
    assert_eq!(
        r[3].status,
        UpsertStatus::Stored {
            created: Some(true)
        }
    );
    assert_eq!(outcome.failed().count(), 1);
}

/// Answers 413 to bulk requests with more than two entities.
struct TooLargeAboveTwo;

impl Respond for TooLargeAboveTwo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        if body["entities"].as_array().unwrap().len() > 2 {
            ResponseTemplate::new(413)
        } else {
            StoreAll.respond(request)
        }
    }
}

#[tokio::test]
async fn splits_chunks_port_finds_too_large_down_to_single_upserts() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(TooLargeAboveTwo)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities"))
        .and(query_param("upsert", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "entity": {"identifier": "e4-stored", "blueprint": "svc"}}),
        ))
        .mount(&server)
        .await;
    let entities: Vec<Entity> = (0..5).map(|i| entity(&format!("e{i}"), "svc")).collect();
    let outcome = client(&server)
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;
    assert!(outcome.all_stored(), "{outcome:?}");
    // 5 -> 413, split 2 + 3; 3 -> 413, split 1 (single upsert) + 2.
    let mut sizes = bulk_sizes(&requests_to(&server, "/v1/blueprints/svc/entities/bulk").await);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![2, 2, 3, 5]);
    let singles = requests_to(&server, "/v1/blueprints/svc/entities").await;
    assert_eq!(singles.len(), 1);
    let single: Value = serde_json::from_slice(&singles[0].body).unwrap();
    assert_eq!(single["identifier"], "e2");
    assert_eq!(outcome.results[2].entity.identifier, json!("e4-stored"));
    assert_eq!(outcome.results[4].entity.identifier, json!("e4"));
}

#[tokio::test]
async fn failed_chunk_reports_all_its_entities_and_keeps_input_order() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(StoreAll)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/bad/entities/bulk"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"ok": false, "error": "internal_error", "message": "database down"}),
        ))
        .mount(&server)
        .await;
    let entities = vec![
        entity("a", "bad"),
        entity("b", "svc"),
        entity("c", "bad"),
        entity("d", "svc"),
    ];
    let outcome = client(&server)
        .upsert_entities_bulk(entities, &UpsertOptions::default())
        .await;
    let order: Vec<&str> = outcome
        .results
        .iter()
        .map(|r| r.entity.identifier_str().unwrap())
        .collect();
    assert_eq!(order, vec!["a", "b", "c", "d"]);
    for i in [0, 2] {
        match &outcome.results[i].status {
            UpsertStatus::Failed(f) => {
                assert_eq!(f.status, Some(500));
                assert_eq!(f.error, "internal_error");
                assert_eq!(f.message, "database down");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    assert_eq!(outcome.stored().count(), 2);
}

#[tokio::test]
async fn single_upsert_returns_stored_entity_and_maps_404() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities"))
        .and(body_partial_json(json!({"identifier": "a"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"ok": true, "entity": {"identifier": "a", "blueprint": "svc", "title": "A"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities"))
        .and(body_partial_json(json!({"identifier": "orphan"})))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"ok": false, "error": "not_found", "message": "related entity missing"}),
        ))
        .mount(&server)
        .await;
    let client = client(&server);
    let stored = client
        .upsert_entity(&entity("a", "svc"), &UpsertOptions::default())
        .await
        .unwrap();
    assert_eq!(stored.title, Some(json!("A")));
    let err = client
        .upsert_entity(&entity("orphan", "svc"), &UpsertOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::NotFound { .. }), "{err:?}");
}

// ---- deletes, search, datasource ----

/// Answers a bulk delete by deleting everything except `id-150`'s chunk, which fails.
struct DeleteAllButOneChunk;

impl Respond for DeleteAllButOneChunk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let ids = body["entities"].as_array().unwrap();
        if ids.contains(&json!("id-150")) {
            return ResponseTemplate::new(500).set_body_string("fail");
        }
        ResponseTemplate::new(200).set_body_json(json!({"ok": true, "deletedEntities": ids}))
    }
}

#[tokio::test]
async fn bulk_delete_chunks_at_100_and_allows_partial_success() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/bulk/entities/delete"))
        .and(query_param("delete_dependents", "true"))
        .and(query_param("ocean_info_event_type", "RESYNC"))
        .respond_with(DeleteAllButOneChunk)
        .expect(3)
        .mount(&server)
        .await;
    let ids: Vec<String> = (0..250).map(|i| format!("id-{i}")).collect();
    let options = DeleteOptions {
        delete_dependents: true,
        event: Some(EventInfo {
            event_type: "RESYNC".into(),
            resync_id: None,
        }),
    };
    let outcome = client(&server)
        .delete_entities_bulk("svc", &ids, &options)
        .await;
    let mut sizes =
        bulk_sizes(&requests_to(&server, "/v1/blueprints/svc/bulk/entities/delete").await);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100, 100]);
    let expected: Vec<String> = ids[..100].iter().chain(&ids[200..]).cloned().collect();
    assert_eq!(outcome.deleted, expected);
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].identifiers, ids[100..200].to_vec());
    assert!(outcome.failures[0].reason.contains("500"));
    server.verify().await;
}

#[tokio::test]
async fn bulk_delete_of_nothing_sends_nothing() {
    let server = MockServer::start().await;
    let outcome = client(&server)
        .delete_entities_bulk("svc", &[], &DeleteOptions::default())
        .await;
    assert!(outcome.deleted.is_empty() && outcome.failures.is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_entity_treats_404_as_already_deleted() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/v1/blueprints/svc/entities/a%20b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/blueprints/svc/entities/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = client(&server);
    let options = DeleteOptions::default();
    assert!(client.delete_entity("svc", "a b", &options).await.unwrap());
    assert!(!client.delete_entity("svc", "gone", &options).await.unwrap());
}

#[tokio::test]
async fn search_sends_include_params_and_owned_search_adds_datasource_rules() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/entities/search"))
        .and(query_param("exclude_calculated_properties", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "entities": [{"identifier": "a", "blueprint": "svc"}]}),
        ))
        .mount(&server)
        .await;
    let client = client(&server);
    let query = Query::or(vec![QueryNode::rule("$blueprint", "=", json!("svc"))]);
    let found = client
        .search_entities(&query, &["identifier", "blueprint"])
        .await
        .unwrap();
    assert_eq!(found[0].identifier_str(), Some("a"));
    client
        .search_owned_entities(&query, &["identifier"])
        .await
        .unwrap();
    let requests = requests_to(&server, "/v1/entities/search").await;
    let includes: Vec<String> = requests[0]
        .url
        .query_pairs()
        .filter(|(k, _)| k == "include")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(includes, vec!["identifier", "blueprint"]);
    let owned: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(
        owned,
        json!({"combinator": "and", "rules": [
            {"combinator": "or", "rules": [{"property": "$blueprint", "operator": "=", "value": "svc"}]},
            {"property": "$datasource", "operator": "contains", "value": "port-ocean/jira/"},
            {"property": "$datasource", "operator": "contains", "value": "/my-jira/exporter"}
        ]})
    );
}

#[tokio::test]
async fn datasource_entities_follow_next_until_it_is_empty() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/entities/datasource-entities"))
        .and(body_partial_json(json!({"from": "cursor-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "entities": [{"identifier": "c", "blueprint": "svc"}], "next": null
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/entities/datasource-entities"))
        .and(body_partial_json(json!({
            "datasource_prefix": "port-ocean/jira/",
            "datasource_suffix": "/my-jira/exporter",
            "limit": 5000,
            "before": "2026-03-03T12:00:00+00:00"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "entities": [{"identifier": "a", "blueprint": "svc"}, {"identifier": "b", "blueprint": "svc"}],
            "next": "cursor-1"
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let before = chrono::DateTime::parse_from_rfc3339("2026-03-03T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let pages: Vec<Vec<Entity>> = client
        .datasource_entities(Some(before))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
    let requests = requests_to(&server, "/v1/blueprints/entities/datasource-entities").await;
    assert_eq!(requests.len(), 2);
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(first.get("from").is_none());
    let all = client.all_datasource_entities(Some(before)).await.unwrap();
    let ids: Vec<&str> = all.iter().filter_map(Entity::identifier_str).collect();
    assert_eq!(ids, vec!["a", "b", "c"]);
}

// ---- integration ----

#[tokio::test]
async fn missing_integration_is_none_and_resync_request_null_is_none() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira/resync-request"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "request": null})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.get_integration("my-jira").await.unwrap(), None);
    assert_eq!(client.get_resync_request("my-jira").await.unwrap(), None);
}

// ---- webhooks ----

fn webhook(id: &str) -> Webhook {
    Webhook {
        identifier: Some(id.into()),
        title: Some("Deploys".into()),
        enabled: Some(true),
        mappings: Some(vec![json!({
            "blueprint": "deployment",
            "filter": ".body.action == \"created\"",
            "entity": {"identifier": ".body.id | tostring"}
        })]),
        ..Webhook::default()
    }
}

#[tokio::test]
async fn webhook_methods_send_port_schema_and_read_answers_under_integration() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    let stored = |id: &str| {
        json!({
            "identifier": id, "title": "Deploys", "enabled": true, "mappings": [],
            "url": format!("https://ingest.getport.io/key-{id}"), "webhookKey": format!("key-{id}"),
            "createdAt": "2026-01-02T03:04:05.000Z", "futureField": {"kept": true}
        })
    };
    Mock::given(method("GET"))
        .and(path("/v1/webhooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "integrations": [stored("a"), stored("b"), stored("c")]
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/webhooks/hook"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "integration": stored("hook")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(body_partial_json(
            json!({"identifier": "hook", "title": "Deploys", "enabled": true}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"ok": true, "integration": stored("hook")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/webhooks/hook"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "integration": stored("hook")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/webhooks/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let page = client.get_webhooks(Some(2), Some(2)).await.unwrap();
    let ids: Vec<_> = page
        .webhooks
        .iter()
        .map(|w| w.identifier.clone().unwrap())
        .collect();
    assert_eq!(ids, ["c"]);
    assert_eq!(page.extra["total"], json!(3));
    assert_eq!(
        client
            .get_webhooks(None, None)
            .await
            .unwrap()
            .webhooks
            .len(),
        3
    );
    let read = client.get_webhook("hook").await.unwrap();
    assert_eq!(read.enabled, Some(true));
    assert_eq!(read.extra["futureField"], json!({"kept": true}));
    assert_eq!(
        client
            .create_webhook(&webhook("hook"))
            .await
            .unwrap()
            .identifier
            .as_deref(),
        Some("hook")
    );
    // A webhook read back is written again without Port's read-only fields, with the unknown
    // ones passed through.
    client.update_webhook("hook", &read).await.unwrap();
    assert!(client.delete_webhook("hook").await.unwrap());
    let requests = server.received_requests().await.unwrap();
    let patch = requests
        .iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&patch.body).unwrap();
    assert!(
        sent.get("url").is_none() && sent.get("webhookKey").is_none(),
        "{sent}"
    );
    assert!(sent.get("createdAt").is_none(), "{sent}");
    assert_eq!(sent["futureField"], json!({"kept": true}));
    let get = requests
        .iter()
        .find(|r| r.url.path() == "/v1/webhooks")
        .unwrap();
    assert_eq!(
        get.url.query(),
        None,
        "Port's list takes no paging parameters"
    );
    server.verify().await;
}

#[tokio::test]
async fn webhook_errors_map_to_not_found_validation_conflict_and_api() {
    let server = MockServer::start().await;
    mount_auth(&server).await;
    let port_error = |status: u16, code: &str, message: &str| {
        ResponseTemplate::new(status)
            .set_body_json(json!({"ok": false, "error": code, "message": message}))
    };
    Mock::given(method("GET"))
        .and(path("/v1/webhooks/missing"))
        .respond_with(port_error(404, "not_found", "no such webhook"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/webhooks/missing"))
        .respond_with(port_error(404, "not_found", "no such webhook"))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/webhooks/missing"))
        .respond_with(port_error(404, "not_found", "no such webhook"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(body_partial_json(json!({"identifier": "bad"})))
        .respond_with(port_error(422, "invalid_request", "title must be a string"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/webhooks"))
        .and(body_partial_json(json!({"identifier": "taken"})))
        .respond_with(port_error(409, "conflict", "identifier already exists"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/webhooks"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let not_found = |r: Result<_, PortError>| matches!(r, Err(PortError::NotFound { ref what }) if what == "webhook `missing`");
    assert!(not_found(client.get_webhook("missing").await.map(|_| ())));
    assert!(not_found(
        client.delete_webhook("missing").await.map(|_| ())
    ));
    assert!(not_found(
        client
            .update_webhook("missing", &webhook("missing"))
            .await
            .map(|_| ())
    ));
    let err = client.create_webhook(&webhook("bad")).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Validation { message, body: Some(b), .. }
            if message == "title must be a string" && b["error"] == "invalid_request"),
        "{err:?}"
    );
    let err = client.create_webhook(&webhook("taken")).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Conflict { message, .. } if message == "identifier already exists"),
        "{err:?}"
    );
    let err = client.get_webhooks(None, None).await.unwrap_err();
    assert!(matches!(err, PortError::Api { status: 500, ref body, .. } if body == "oops"));
    server.verify().await;
}

// ---- concurrency ----

/// Counts requests in flight and remembers the most seen at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[tokio::test]
async fn max_concurrency_bounds_requests_in_flight() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // A minimal HTTP server that holds each request for a moment, so overlapping requests
    // would be seen; wiremock cannot observe when its responses leave.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let in_flight = Arc::new(InFlight::default());
    let counter = in_flight.clone();
    let server_task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // Read one request: headers, then Content-Length bytes of body.
                    let (head_end, length) = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map(|v| v.trim().parse::<usize>().unwrap())
                                .unwrap_or(0);
                            break (end + 4, length);
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    while buffer.len() < head_end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                    let body: Value = serde_json::from_slice(&buffer[head_end..head_end + length])
                        .unwrap_or(Value::Null);
                    buffer.drain(..head_end + length);
                    let answer = if head.starts_with("POST /v1/auth/access_token") {
                        json!({"accessToken": "t", "expiresIn": 3600, "tokenType": "Bearer"})
                    } else {
                        let now = counter.now.fetch_add(1, Ordering::SeqCst) + 1;
                        counter.max.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        counter.now.fetch_sub(1, Ordering::SeqCst);
                        let n = body["entities"].as_array().map_or(0, Vec::len);
                        let stored: Vec<Value> = (0..n)
                            .map(|i| json!({"index": i, "identifier": format!("x{i}"), "created": true}))
                            .collect();
                        json!({"entities": stored, "errors": []})
                    };
                    let text = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
                        text.len(),
                        text
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let server = MockServer::start().await;
    let mut config = config(&server);
    config.base_url = format!("http://{address}");
    config.max_concurrency = 2;
    config.bulk.max_entities = 1;
    let client = PortClient::new(config).unwrap();
    let batch = |prefix: &str| -> Vec<Entity> {
        (0..8)
            .map(|i| entity(&format!("{prefix}{i}"), "svc"))
            .collect()
    };
    // Two callers at once: the limit is the client's, not one call's.
    let options = UpsertOptions::default();
    let other = client.clone();
    let (first, second) = tokio::join!(
        client.upsert_entities_bulk(batch("a"), &options),
        other.upsert_entities_bulk(batch("b"), &options)
    );
    server_task.abort();
    assert!(
        first.all_stored() && second.all_stored(),
        "{first:?} {second:?}"
    );
    let max = in_flight.max.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&max),
        "{max} requests were in flight at once"
    );
}
