//! The Port client and the local Port against Port's published OpenAPI document
//! (`ocean::port::openapi`): every request the client makes is one the document accepts (path,
//! method, query parameters and their enums, body schema), the client decodes the answers the
//! document describes, and the local Port answers in the document's shapes.

use ocean::config::{ConfigSources, OceanSettings, Secret};
use ocean::port::client::{
    DeleteOptions, EventInfo, PortClient, PortClientConfig, SKIP_RESYNC_HEADER, UpsertOptions,
    masking,
};
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::port::openapi::{Lookup, contract};
use ocean::port::types::{Blueprint, Entity, Integration, Query, QueryNode, ResyncState, Webhook};
use ocean::port::{Datasource, openapi};
use ocean::runtime::IntegrationInfo;
use ocean::runtime::defaults::{DefaultResources, ensure_integration};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

fn blueprint_answer(id: &str) -> Value {
    json!({
        "identifier": id, "title": "Service", "schema": {"properties": {}, "required": []},
        "relations": {}, "mirrorProperties": {}, "calculationProperties": {},
        "aggregationProperties": {},
        "createdBy": "me", "updatedBy": "me",
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"
    })
}

fn entity_answer(id: &str) -> Value {
    json!({
        "identifier": id, "blueprint": "service", "title": id, "team": [],
        "properties": {"lang": "rust"}, "relations": {},
        "createdBy": "me", "updatedBy": "me",
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"
    })
}

fn integration_answer() -> Value {
    json!({"installationId": "my-int", "installationAppType": "fake", "version": "1.0.0",
        "config": {"resources": []}})
}

fn webhook_answer(id: &str) -> Value {
    json!({"identifier": id, "title": "Hook", "enabled": true, "mappings": [],
        "url": "https://ingest.getport.io/abc", "webhookKey": "abc",
        "createdAt": "2026-01-01T00:00:00.000Z"})
}

/// Answers like Port, with bodies in the document's shapes (checked by the test too).
struct LikePort;

impl Respond for LikePort {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let method = request.method.as_str();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
        match (method, &segments[..]) {
            ("POST", ["v1", "auth", "access_token"]) => ok(json!({
                "ok": true, "accessToken": "tok", "expiresIn": 3600, "tokenType": "Bearer"
            })),
            ("GET", ["v1", "blueprints"]) => {
                ok(json!({"ok": true, "blueprints": [blueprint_answer("service")]}))
            }
            ("POST", ["v1", "blueprints"]) => ResponseTemplate::new(201)
                .set_body_json(json!({"ok": true, "blueprint": blueprint_answer("service")})),
            ("GET" | "PATCH", ["v1", "blueprints", id]) => {
                ok(json!({"ok": true, "blueprint": blueprint_answer(id)}))
            }
            ("POST", ["v1", "blueprints", _, "entities"]) => ResponseTemplate::new(201)
                .set_body_json(json!({"ok": true, "entity": entity_answer("a")})),
            ("POST", ["v1", "blueprints", _, "entities", "bulk"]) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let stored: Vec<Value> = body["entities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(index, e)| {
                        json!({"index": index, "identifier": e["identifier"], "created": true})
                    })
                    .collect();
                ok(json!({"ok": true, "entities": stored, "errors": []}))
            }
            ("POST", ["v1", "blueprints", _, "bulk", "entities", "delete"]) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                ok(json!({"ok": true, "deletedEntities": body["entities"]}))
            }
            ("POST", ["v1", "entities", "search"]) => {
                ok(json!({"ok": true, "entities": [entity_answer("a")]}))
            }
            ("POST", ["v1", "blueprints", "entities", "datasource-entities"]) => {
                ok(json!({"ok": true, "entities": [entity_answer("a")], "next": null}))
            }
            ("POST", ["v1", "integration"]) => ResponseTemplate::new(201)
                .set_body_json(json!({"ok": true, "integration": integration_answer()})),
            ("GET", ["v1", "integration", _, "resync-request"]) => {
                ok(json!({"ok": true, "request": {"id": "r1"}}))
            }
            ("GET" | "PATCH", ["v1", "integration", ..]) => {
                ok(json!({"ok": true, "integration": integration_answer()}))
            }
            ("GET", ["v1", "webhooks"]) => ok(json!({
                "ok": true, "integrations": [webhook_answer("a"), webhook_answer("b")]
            })),
            ("POST", ["v1", "webhooks"]) => ResponseTemplate::new(201)
                .set_body_json(json!({"ok": true, "integration": webhook_answer("hook")})),
            ("GET" | "PATCH", ["v1", "webhooks", id]) => {
                ok(json!({"ok": true, "integration": webhook_answer(id)}))
            }
            _ => ok(json!({"ok": true})),
        }
    }
}

fn client_of(url: &str) -> PortClient {
    PortClient::new(PortClientConfig::new(
        url,
        Secret::new("id"),
        Secret::new("secret"),
        Datasource::exporter("fake", "1.0.0", "my-int"),
    ))
    .expect("client")
}

fn entity(id: &str) -> Entity {
    let mut e = Entity::new(id, "service");
    e.properties = Some(serde_json::from_value(json!({"lang": "rust"})).unwrap());
    e
}

fn blueprint() -> Blueprint {
    serde_json::from_value(json!({"identifier": "service", "title": "Service",
        "schema": {"properties": {"lang": {"type": "string"}}}}))
    .unwrap()
}

fn webhook() -> Webhook {
    Webhook {
        identifier: Some("hook".into()),
        title: Some("Hook".into()),
        enabled: Some(true),
        mappings: Some(vec![json!({"blueprint": "service", "filter": "true",
            "entity": {"identifier": ".body.id"}})]),
        security: Some(
            serde_json::from_value(json!({"secret": "s", "signatureHeaderName": "X-Sig"})).unwrap(),
        ),
        ..Webhook::default()
    }
}

/// Makes every call of the client's surface once.
async fn call_everything(client: &PortClient) {
    client.list_blueprints().await.expect("list blueprints");
    client
        .get_blueprint("service")
        .await
        .expect("get blueprint");
    client.create_blueprint(&blueprint()).await.expect("create");
    client
        .patch_blueprint("service", &json!({"title": "Services"}))
        .await
        .expect("patch blueprint");
    let resync = UpsertOptions {
        event: Some(EventInfo::resync("r-1")),
        ..UpsertOptions::default()
    };
    let live = UpsertOptions {
        merge: false,
        create_missing_related_entities: false,
        event: Some(EventInfo::live_event()),
    };
    client
        .upsert_entity(&entity("a"), &resync)
        .await
        .expect("single");
    client
        .upsert_entity(&entity("a"), &live)
        .await
        .expect("single");
    let outcome = client
        .upsert_entities_bulk(vec![entity("a"), entity("b")], &resync)
        .await;
    assert!(outcome.all_stored(), "{outcome:?}");
    for options in [
        DeleteOptions::default(),
        DeleteOptions {
            delete_dependents: true,
            event: Some(EventInfo::resync("r-1")),
        },
        DeleteOptions {
            delete_dependents: false,
            event: Some(EventInfo::live_event()),
        },
    ] {
        let deleted = client
            .delete_entities_bulk("service", &["a".into(), "b".into()], &options)
            .await;
        assert!(deleted.failures.is_empty(), "{deleted:?}");
        client
            .delete_entity("service", "a b/c", &options)
            .await
            .expect("single delete");
    }
    let query = Query::and(vec![QueryNode::rule("$blueprint", "=", json!("service"))]);
    client
        .search_entities(&query, &["identifier", "blueprint"])
        .await
        .expect("search");
    client
        .search_owned_entities(&query, &[])
        .await
        .expect("owned search");
    client
        .all_datasource_entities(Some(chrono::Utc::now()))
        .await
        .expect("datasource entities");
    client
        .get_integration("my-int")
        .await
        .expect("get integration");
    client
        .create_integration(&Integration {
            installation_id: "my-int".into(),
            installation_app_type: Some("fake".into()),
            ..Integration::default()
        })
        .await
        .expect("create integration");
    client
        .patch_integration("my-int", &json!({"version": "1.0.1"}))
        .await
        .expect("patch integration");
    let mapping = json!({"resources": [{"kind": "thing", "selector": {"query": "true"},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": "\"service\""}}}}]});
    client
        .patch_integration_config("my-int", &mapping)
        .await
        .expect("config");
    client
        .patch_integration_config_without_resync("my-int", &mapping)
        .await
        .expect("config without resync");
    client
        .patch_resync_state(
            "my-int",
            &ResyncState {
                status: Some("running".into()),
                ..ResyncState::default()
            },
        )
        .await
        .expect("resync state");
    client.get_resync_request("my-int").await.expect("request");
    client
        .post_raw_examples("my-int", "thing", &[json!({"id": 1})])
        .await
        .expect("examples");
    client.get_webhooks(None, None).await.expect("webhooks");
    client.get_webhooks(Some(1), Some(1)).await.expect("page");
    client.get_webhook("hook").await.expect("webhook");
    client
        .create_webhook(&webhook())
        .await
        .expect("create webhook");
    client
        .update_webhook(
            "hook",
            &Webhook {
                enabled: Some(false),
                ..Webhook::default()
            },
        )
        .await
        .expect("update webhook");
    assert!(client.delete_webhook("hook").await.expect("delete webhook"));
    client.delete_blueprint("service").await.expect("delete bp");
}

#[tokio::test]
async fn every_request_the_client_makes_is_one_port_documents_or_ocean_makes() {
    let contract = contract().expect("facts");
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(LikePort)
        .mount(&server)
        .await;
    call_everything(&client_of(&server.uri())).await;

    let requests = server.received_requests().await.expect("recorded");
    let mut documented = BTreeSet::new();
    let mut undocumented = BTreeSet::new();
    for request in &requests {
        let body: Option<Value> = (!request.body.is_empty())
            .then(|| serde_json::from_slice(&request.body).expect("JSON body"));
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let method = request.method.as_str();
        let path = request.url.path();
        let checked = contract.check_request(
            method,
            path,
            query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            body.as_ref(),
        );
        match checked {
            Ok(Some(op)) => {
                documented.insert(format!("{} {}", op.method(), op.path()));
            }
            Ok(None) => {
                undocumented.insert(format!("{method} {path}"));
            }
            Err(violation) => {
                panic!("{method} {path}?{query:?} breaks Port's document: {violation}")
            }
        }
    }
    // The surface covers every documented operation the client uses.
    let used: BTreeSet<String> = [
        "POST /v1/auth/access_token",
        "GET /v1/blueprints",
        "POST /v1/blueprints",
        "GET /v1/blueprints/{identifier}",
        "PATCH /v1/blueprints/{identifier}",
        "DELETE /v1/blueprints/{identifier}",
        "POST /v1/blueprints/{blueprint_identifier}/entities",
        "POST /v1/blueprints/{blueprint_identifier}/entities/bulk",
        "DELETE /v1/blueprints/{blueprint_identifier}/entities/{entity_identifier}",
        "POST /v1/blueprints/{blueprint_identifier}/bulk/entities/delete",
        "POST /v1/entities/search",
        "GET /v1/integration/{identifier}",
        "PATCH /v1/integration/{identifier}",
        "PATCH /v1/integration/{identifier}/config",
        "GET /v1/webhooks",
        "POST /v1/webhooks",
        "GET /v1/webhooks/{identifier}",
        "PATCH /v1/webhooks/{identifier}",
        "DELETE /v1/webhooks/{identifier}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, used);
    let outside: BTreeSet<&str> = undocumented.iter().map(String::as_str).collect();
    assert_eq!(
        outside,
        BTreeSet::from([
            "GET /v1/integration/my-int/resync-request",
            "PATCH /v1/integration/my-int/resync-state",
            "POST /v1/blueprints/entities/datasource-entities",
            "POST /v1/integration",
            "POST /v1/integration/my-int/kinds/thing/examples",
        ]),
        "only the operations Ocean's client makes outside the document"
    );
}

#[test]
fn the_scripted_answers_the_client_decodes_have_the_documents_shapes() {
    let contract = contract().expect("facts");
    let check = |method: &str, path: &str, status: u16, body: Value| {
        let Lookup::Documented(op) = contract.find(method, path) else {
            panic!("{method} {path} is documented");
        };
        assert!(op.documents_response(status), "{method} {path} {status}");
        op.check_response(status, &body)
            .unwrap_or_else(|v| panic!("{method} {path}: {v}"));
    };
    check(
        "POST",
        "/v1/auth/access_token",
        200,
        json!({"ok": true, "accessToken": "tok", "expiresIn": 3600, "tokenType": "Bearer"}),
    );
    check(
        "GET",
        "/v1/blueprints",
        200,
        json!({"ok": true, "blueprints": [blueprint_answer("service")]}),
    );
    check(
        "POST",
        "/v1/blueprints",
        201,
        json!({"ok": true, "blueprint": blueprint_answer("service")}),
    );
    check(
        "POST",
        "/v1/blueprints/service/entities",
        201,
        json!({"ok": true, "entity": entity_answer("a")}),
    );
    check(
        "POST",
        "/v1/blueprints/service/entities/bulk",
        200,
        json!({"ok": true, "entities": [{"index": 0, "identifier": "a", "created": true}], "errors": []}),
    );
    check(
        "POST",
        "/v1/blueprints/service/entities/bulk",
        207,
        json!({"ok": true, "entities": [], "errors": [{"index": 0, "identifier": "unknown",
            "statusCode": 404, "error": "not_found", "message": "no match"}]}),
    );
    check(
        "POST",
        "/v1/blueprints/service/bulk/entities/delete",
        200,
        json!({"ok": true, "deletedEntities": ["a"]}),
    );
    check(
        "POST",
        "/v1/entities/search",
        200,
        json!({"ok": true, "entities": [entity_answer("a")]}),
    );
    // The document gives no answer schema for the integration and webhooks routes; the client
    // reads them under `integration`, as Port's own Terraform provider does.
    let Lookup::Documented(webhook) = contract.find("GET", "/v1/webhooks/hook") else {
        panic!("documented");
    };
    assert!(!webhook.documents_response(200));
}

async fn token(http: &reqwest::Client, port: &LocalPortHandle) -> String {
    let answer: Value = http
        .post(format!("{}/v1/auth/access_token", port.url()))
        .json(&json!({"clientId": "id", "clientSecret": "secret"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token body");
    answer["accessToken"].as_str().expect("a token").to_owned()
}

async fn local_port() -> LocalPortHandle {
    LocalPort::builder()
        .client_id("id")
        .client_secret("secret")
        .start()
        .await
        .expect("local Port")
}

/// Sends a request to the local Port and checks its answer against the document.
async fn answered_in_shape(
    http: &reqwest::Client,
    port: &LocalPortHandle,
    token: &str,
    method: reqwest::Method,
    path_and_query: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method.clone(), format!("{}{path_and_query}", port.url()))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("answer");
    let status = resp.status().as_u16();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    let path = path_and_query.split('?').next().unwrap_or_default();
    let contract = openapi::contract().expect("facts");
    if let Lookup::Documented(op) = contract.find(method.as_str(), path) {
        op.check_response(status, &answer).unwrap_or_else(|v| {
            panic!("the local Port answered {method} {path_and_query} out of shape: {v}\n{answer}")
        });
    }
    (status, answer)
}

#[tokio::test]
async fn the_local_port_answers_in_the_documents_shapes() {
    let port = local_port().await;
    let http = reqwest::Client::new();
    let token = token(&http, &port).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let bp = json!({"identifier": "service", "title": "Service",
        "schema": {"properties": {"lang": {"type": "string"}}}});
    let calls: Vec<(reqwest::Method, &str, Option<Value>, u16)> = vec![
        (post.clone(), "/v1/blueprints", Some(bp), 201),
        (get.clone(), "/v1/blueprints", None, 200),
        (get.clone(), "/v1/blueprints/service", None, 200),
        (
            reqwest::Method::PATCH,
            "/v1/blueprints/service",
            Some(json!({"title": "Services"})),
            200,
        ),
        (
            post.clone(),
            "/v1/blueprints/service/entities?upsert=true&merge=true",
            Some(json!({"identifier": "a", "title": "A", "properties": {"lang": "rust"}})),
            201,
        ),
        (
            post.clone(),
            "/v1/blueprints/service/entities/bulk?upsert=true&ocean_info_event_type=resync&ocean_info_resync_id=r1",
            Some(
                json!({"entities": [{"identifier": "b", "title": "B"}, {"identifier": "c", "properties": {"lang": 1}}]}),
            ),
            207,
        ),
        (get.clone(), "/v1/blueprints/service/entities/a", None, 200),
        (
            post.clone(),
            "/v1/entities/search",
            Some(json!({"combinator": "and", "rules": [
                {"property": "$blueprint", "operator": "=", "value": "service"}]})),
            200,
        ),
        (
            post.clone(),
            "/v1/blueprints/service/bulk/entities/delete?delete_dependents=false",
            Some(json!({"entities": ["b", "ghost"]})),
            200,
        ),
        (
            reqwest::Method::DELETE,
            "/v1/blueprints/service/entities/a?delete_dependents=false",
            None,
            200,
        ),
        (reqwest::Method::DELETE, "/v1/blueprints/service", None, 200),
    ];
    for (method, path, body, expected) in calls {
        let (status, answer) =
            answered_in_shape(&http, &port, &token, method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn the_local_port_refuses_what_ports_document_refuses() {
    let port = local_port().await;
    let http = reqwest::Client::new();
    let token = token(&http, &port).await;
    let bp = json!({"identifier": "service", "title": "Service", "schema": {"properties": {}}});
    answered_in_shape(
        &http,
        &port,
        &token,
        reqwest::Method::POST,
        "/v1/blueprints",
        Some(bp),
    )
    .await;
    let refused: Vec<(reqwest::Method, &str, Option<Value>, &str)> = vec![
        (
            reqwest::Method::POST,
            "/v1/blueprints/service/entities/bulk?upsert=true&ocean_info_event_type=live_event",
            Some(json!({"entities": [{"identifier": "a"}]})),
            "ocean_info_event_type",
        ),
        (
            reqwest::Method::POST,
            "/v1/blueprints/service/entities/bulk?upsert=true&dry_run=true",
            Some(json!({"entities": [{"identifier": "a"}]})),
            "dry_run",
        ),
        (
            reqwest::Method::POST,
            "/v1/blueprints/service/entities/bulk?upsert=maybe",
            Some(json!({"entities": [{"identifier": "a"}]})),
            "upsert",
        ),
        (
            reqwest::Method::POST,
            "/v1/blueprints/service/entities/bulk?upsert=true",
            Some(json!({"entities": [{"identifier": "a"}], "atomic": true})),
            "atomic",
        ),
        (
            reqwest::Method::POST,
            "/v1/blueprints/service/bulk/entities/delete?delete_dependents=false",
            Some(json!({"entities": []})),
            "entities",
        ),
        (
            reqwest::Method::PATCH,
            "/v1/integration/ghost/config",
            Some(json!({"config": {"resources": []}, "extra": 1})),
            "extra",
        ),
        (
            reqwest::Method::POST,
            "/v1/webhooks",
            Some(json!({"title": "T", "enabled": true, "events": ["entity.created"]})),
            "events",
        ),
        (
            reqwest::Method::POST,
            "/v1/entities/search",
            Some(json!({"combinator": "xor", "rules": []})),
            "combinator",
        ),
    ];
    for (method, path, body, named) in refused {
        let (status, answer) =
            answered_in_shape(&http, &port, &token, method.clone(), path, body).await;
        assert_eq!(status, 422, "{method} {path}: {answer}");
        assert_eq!(answer["ok"], false);
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or_default()
                .contains(named),
            "{method} {path}: the message names `{named}`: {answer}"
        );
    }
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn the_config_patch_sends_x_skip_resync_only_when_asked() {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(LikePort)
        .mount(&server)
        .await;
    let client = client_of(&server.uri());
    client
        .patch_integration_config("my-int", &json!({"resources": []}))
        .await
        .expect("config");
    client
        .patch_integration_config_without_resync("my-int", &json!({"resources": []}))
        .await
        .expect("config");
    let headers: Vec<Option<String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/config"))
        .map(|r| {
            r.headers
                .get(SKIP_RESYNC_HEADER)
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(headers, [None, Some("true".to_owned())]);
}

const INFO: IntegrationInfo = IntegrationInfo {
    name: "contract-test",
    version: "2.0.0",
    manifest_dir: env!("CARGO_MANIFEST_DIR"),
};

fn settings(initialize: bool) -> OceanSettings {
    let sources = ConfigSources::new()
        .with_env_var("OCEAN__INTEGRATION__IDENTIFIER", "my-int")
        .with_env_var(
            "OCEAN__INITIALIZE_PORT_RESOURCES",
            if initialize { "true" } else { "false" },
        );
    OceanSettings::load(&sources, Some("fake")).expect("settings")
}

#[tokio::test]
async fn creating_the_integration_sends_the_fields_ocean_sends() {
    let mapping = json!({"resources": [{"kind": "thing", "selector": {"query": "true"},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": "\"service\""}}}}]});
    let defaults = DefaultResources {
        port_app_config: Some(mapping.clone()),
        blueprints: Vec::new(),
    };
    for initialize in [true, false] {
        let port = local_port().await;
        let client = client_of(port.url());
        ensure_integration(&client, &settings(initialize), &INFO, &defaults)
            .await
            .expect("created");
        let stored = port.state().integration("my-int").expect("stored");
        assert_eq!(stored["actionsProcessingEnabled"], false);
        assert_eq!(stored["incrementalSyncEnabled"], false);
        assert_eq!(stored["createPortResourcesOrigin"], "Default");
        assert_eq!(stored["installationAppType"], "fake");
        assert_eq!(stored["version"], "2.0.0");
        // As Ocean does, whatever initializePortResources says: Ocean's DefaultOriginSetup
        // hands its default mapping to create_integration before reading the setting.
        assert_eq!(stored["config"], mapping, "initialize: {initialize}");
        port.stop().await.expect("stops");
    }
}

#[tokio::test]
async fn an_existing_empty_mapping_is_filled_only_when_initializing() {
    let mapping = json!({"resources": []});
    let defaults = DefaultResources {
        port_app_config: Some(mapping.clone()),
        blueprints: Vec::new(),
    };
    for initialize in [true, false] {
        let port = local_port().await;
        let client = client_of(port.url());
        client
            .create_integration(&Integration {
                installation_id: "my-int".into(),
                installation_app_type: Some("fake".into()),
                version: Some("2.0.0".into()),
                config: Some(json!({})),
                ..Integration::default()
            })
            .await
            .expect("created by hand");
        ensure_integration(&client, &settings(initialize), &INFO, &defaults)
            .await
            .expect("ensured");
        let stored = port.state().integration("my-int").expect("stored");
        let expected = if initialize {
            mapping.clone()
        } else {
            json!({})
        };
        assert_eq!(stored["config"], expected, "initialize: {initialize}");
        port.stop().await.expect("stops");
    }
}

#[tokio::test]
async fn raw_examples_are_masked_as_ocean_masks_them() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/ocean_masking/cases.json")).expect("fixture");
    let cases = fixture["cases"].as_array().expect("cases");
    for case in cases {
        assert_eq!(
            masking::mask_value(&case["input"]),
            case["masked"],
            "input {}",
            case["input"]
        );
    }
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(LikePort)
        .mount(&server)
        .await;
    let items: Vec<Value> = cases.iter().map(|c| c["input"].clone()).collect();
    client_of(&server.uri())
        .post_raw_examples("my-int", "thing", &items)
        .await
        .expect("sent");
    let sent = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/examples"))
        .expect("examples sent");
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let expected: Vec<Value> = cases.iter().map(|c| c["masked"].clone()).collect();
    assert_eq!(body["examples"], Value::Array(expected));
}
