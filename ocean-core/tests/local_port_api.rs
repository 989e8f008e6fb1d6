//! The local Port over real HTTP: auth, blueprints, entities, search, datasource listing,
//! integrations, webhooks, robustness, fault injection and the state file.

use ocean::port::local::{FaultConfig, LocalPort, LocalPortBuilder, LocalPortHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const UA: &str = "port-ocean/jira/1.2.3/my-jira/exporter";

struct Port {
    handle: LocalPortHandle,
    http: reqwest::Client,
    token: String,
}

impl Port {
    async fn start() -> Self {
        Self::start_with(LocalPort::builder()).await
    }

    async fn start_with(builder: LocalPortBuilder) -> Self {
        let handle = builder
            .client_id("id")
            .client_secret("secret")
            .start()
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token = access_token(&http, handle.url(), "secret").await;
        Self {
            handle,
            http,
            token,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.handle.url()))
            .bearer_auth(&self.token)
            .header("User-Agent", UA)
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn blueprint(&self, body: Value) {
        let (status, resp) = self.post("/v1/blueprints", body).await;
        assert_eq!(status, StatusCode::CREATED, "{resp}");
    }

    /// A `service` blueprint with typed properties and a `team` relation to `group`.
    async fn service_blueprints(&self) {
        self.blueprint(
            json!({"identifier": "group", "title": "Group", "schema": {"properties": {}}}),
        )
        .await;
        self.blueprint(json!({
            "identifier": "service", "title": "Service",
            "schema": {
                "properties": {
                    "lang": {"type": "string", "enum": ["rust", "go", "python"]},
                    "stars": {"type": "number"},
                    "url": {"type": "string", "format": "url"},
                    "owner": {"type": "string"}
                },
                "required": ["lang"]
            },
            "relations": {
                "group": {"target": "group", "required": false, "many": false},
                "peers": {"target": "service", "required": false, "many": true}
            }
        }))
        .await;
    }

    async fn bulk(&self, bp: &str, flags: &str, entities: Value) -> (StatusCode, Value) {
        self.post(
            &format!("/v1/blueprints/{bp}/entities/bulk?upsert=true&{flags}"),
            json!({"entities": entities}),
        )
        .await
    }
}

async fn access_token(http: &reqwest::Client, url: &str, secret: &str) -> String {
    let resp = http
        .post(format!("{url}/v1/auth/access_token"))
        .json(&json!({"clientId": "id", "clientSecret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tokenType"], "Bearer");
    body["accessToken"].as_str().unwrap().to_owned()
}

fn svc(id: &str, lang: &str) -> Value {
    json!({"identifier": id, "title": id, "properties": {"lang": lang}})
}

#[tokio::test]
async fn issues_tokens_for_right_credentials_and_rejects_wrong_ones_with_401() {
    let port = Port::start().await;
    let (status, body) = port.get("/v1/blueprints").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let resp = port
        .http
        .post(format!("{}/v1/auth/access_token", port.handle.url()))
        .json(&json!({"clientId": "id", "clientSecret": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"], "unauthorized");

    for auth in [None, Some("Bearer not-a-token")] {
        let mut req = port
            .http
            .get(format!("{}/v1/blueprints", port.handle.url()));
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    port.handle.stop().await.unwrap();
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let port = Port::start_with(LocalPort::builder().token_ttl(Duration::ZERO)).await;
    let (status, body) = port.get("/v1/blueprints").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthorized");

    let port = Port::start().await;
    port.handle.revoke_tokens();
    let (status, _) = port.get("/v1/blueprints").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn blueprint_crud_with_conflicts_and_schema_checks() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let (status, body) = port
        .post(
            "/v1/blueprints",
            json!({"identifier": "group", "title": "Group", "schema": {"properties": {}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = port
        .post(
            "/v1/blueprints",
            json!({"identifier": "bad id", "title": "Bad id", "schema": {"properties": {}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = port
        .post(
            "/v1/blueprints",
            json!({"identifier": "x", "title": "X", "schema": {"properties": {"a": {"type": "integer"}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("integer"));
    let (status, body) = port
        .post(
            "/v1/blueprints",
            json!({"identifier": "x", "title": "X", "schema": {"properties": {}},
                "relations": {"r": {"target": "nowhere", "required": false, "many": false}}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = port.get("/v1/blueprints/service").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blueprint"]["schema"]["required"], json!(["lang"]));
    assert!(body["blueprint"]["createdAt"].is_string());

    let (status, body) = port
        .send(
            Method::PATCH,
            "/v1/blueprints/group",
            Some(json!({"title": "Team", "schema": {"properties": {"size": {"type": "number"}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        port.handle
            .state()
            .blueprint("group")
            .unwrap()
            .title
            .as_deref(),
        Some("Team")
    );

    // `service` relates to `group`: it cannot go while the relation exists.
    let (status, _) = port
        .send(Method::DELETE, "/v1/blueprints/group", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = port
        .send(Method::DELETE, "/v1/blueprints/service", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = port.get("/v1/blueprints/service").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = port.get("/v1/blueprints").await;
    assert_eq!(body["blueprints"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn entities_are_validated_against_their_blueprint() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let single = "/v1/blueprints/service/entities?upsert=true";

    let (status, body) = port
        .post(
            single,
            json!({"identifier": "a", "properties": {"lang": "rust", "stars": "many"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "schema_mismatch");
    assert!(
        body["message"].as_str().unwrap().contains("\"stars\""),
        "{body}"
    );

    let (status, body) = port
        .post(
            single,
            json!({"identifier": "a", "properties": {"stars": 3}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("\"lang\""),
        "{body}"
    );

    for bad in [
        json!({"identifier": "a", "properties": {"lang": "cobol"}}),
        json!({"identifier": "a", "properties": {"lang": "go", "url": "no url"}}),
        json!({"identifier": "a", "properties": {"lang": "go", "colour": "red"}}),
        json!({"identifier": "a", "properties": {"lang": "go"}, "relations": {"nope": "x"}}),
        json!({"identifier": "a", "properties": {"lang": "go"}, "relations": {"peers": "b"}}),
        json!({"identifier": "a", "properties": {"lang": "go"}, "relations": {"group": ["g"]}}),
        json!({"identifier": "has space", "properties": {"lang": "go"}}),
        json!({"identifier": "a".repeat(1001), "properties": {"lang": "go"}}),
    ] {
        let (status, body) = port.post(single, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["ok"], false);
    }

    let (status, body) = port
        .post("/v1/blueprints/nope/entities?upsert=true", svc("a", "go"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = port.post(single, svc("a", "go")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["entity"]["properties"], json!({"lang": "go"}));
    let (status, _) = port
        .post(
            "/v1/blueprints/service/entities?upsert=false",
            svc("a", "go"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = port
        .post("/v1/blueprints/service/entities", svc("b", "go"))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Port requires the upsert parameter: {body}"
    );
    assert_eq!(port.handle.state().entity_count(), 1);
}

#[tokio::test]
async fn merge_updates_fields_and_replace_drops_the_rest() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let path = "/v1/blueprints/service/entities?upsert=true";
    port.post(
        path,
        json!({"identifier": "a", "title": "A",
        "properties": {"lang": "rust", "stars": 5, "owner": "ann"}}),
    )
    .await;

    let (status, body) = port
        .post(
            &format!("{path}&merge=true"),
            json!({"identifier": "a", "properties": {"stars": 6}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let e = port.handle.state().entity("service", "a").unwrap();
    assert_eq!(
        e.properties,
        *json!({"lang": "rust", "stars": 6, "owner": "ann"})
            .as_object()
            .unwrap()
    );
    assert_eq!(e.title.as_deref(), Some("A"));

    let (status, _) = port
        .post(
            &format!("{path}&merge=false"),
            json!({"identifier": "a", "properties": {"lang": "go"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = port.handle.state().entity("service", "a").unwrap();
    assert_eq!(
        after.properties,
        *json!({"lang": "go"}).as_object().unwrap()
    );
    assert_eq!(after.title, None);
    assert_eq!(after.created_at, e.created_at);
    assert!(after.updated_at > e.updated_at);

    // Replacing without a required property fails even though the stored entity has it.
    let (status, _) = port
        .post(
            &format!("{path}&merge=false"),
            json!({"identifier": "a", "properties": {"stars": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn missing_related_entities_fail_per_entity_or_become_placeholders() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let with_rel = json!([
        {"identifier": "a", "properties": {"lang": "go"}, "relations": {"group": "platform"}},
        svc("b", "go")
    ]);
    let (status, body) = port.bulk("service", "", with_rel.clone()).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
    assert_eq!(body["errors"][0]["index"], 0);
    assert_eq!(body["errors"][0]["statusCode"], 404);
    assert_eq!(body["errors"][0]["error"], "not_found");
    assert_eq!(body["entities"][0]["identifier"], "b");
    assert!(port.handle.state().entity("group", "platform").is_none());

    let (status, body) = port
        .post(
            "/v1/blueprints/service/entities?upsert=true",
            with_rel[0].clone(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"ok": false, "error": "not_found", "message": body["message"]})
    );

    let (status, body) = port
        .bulk("service", "create_missing_related_entities=true", with_rel)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let placeholder = port.handle.state().entity("group", "platform").unwrap();
    assert!(placeholder.properties.is_empty());
    assert_eq!(placeholder.datasource.as_deref(), Some(UA));
    let a = port.handle.state().entity("service", "a").unwrap();
    assert_eq!(a.relations["group"], "platform");
}

#[tokio::test]
async fn bulk_stores_the_good_entities_and_reports_the_bad_one() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let mut entities: Vec<Value> = (0..20).map(|i| svc(&format!("s{i:02}"), "rust")).collect();
    entities[7]["properties"]["stars"] = json!("seven");
    let (status, body) = port.bulk("service", "", Value::Array(entities)).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
    assert_eq!(body["entities"].as_array().unwrap().len(), 19);
    assert_eq!(
        body["entities"][0],
        json!({"index": 0, "identifier": "s00", "created": true})
    );
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["index"], 7);
    assert_eq!(errors[0]["identifier"], "s07");
    assert_eq!(errors[0]["statusCode"], 422);
    assert!(errors[0]["message"].as_str().unwrap().contains("\"stars\""));
    assert_eq!(port.handle.state().entities("service").len(), 19);

    let (status, body) = port.bulk("service", "", json!([svc("s00", "go")])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entities"][0]["created"], false);

    let too_many: Vec<Value> = (0..21).map(|i| svc(&format!("t{i}"), "go")).collect();
    let (status, body) = port.bulk("service", "", Value::Array(too_many)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(port.handle.state().entities("service").len(), 19);
}

#[tokio::test]
async fn stats_count_entities_per_blueprint_without_a_token() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let entities: Vec<Value> = (0..5).map(|i| svc(&format!("s{i}"), "go")).collect();
    let (status, _) = port.bulk("service", "", Value::Array(entities)).await;
    assert_eq!(status, StatusCode::OK);
    let stats: Value = reqwest::get(format!(
        "{}{}",
        port.handle.url(),
        ocean::port::local::STATS_PATH
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(stats["entities"], json!({"group": 0, "service": 5}));
    assert_eq!(stats["totalEntities"], 5);
}

#[tokio::test]
async fn search_identifiers_resolve_or_fail_as_unknown() {
    let port = Port::start().await;
    port.service_blueprints().await;
    port.bulk("service", "", json!([svc("a", "rust"), svc("b", "go")]))
        .await;
    let search = |lang: &str| {
        json!({"identifier": {"combinator": "and", "rules": [
            {"property": "lang", "operator": "=", "value": lang}]}, "properties": {"stars": 1}})
    };
    let (status, body) = port
        .bulk(
            "service",
            "merge=true",
            json!([search("go"), search("python")]),
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
    assert_eq!(body["entities"][0]["identifier"], "b");
    assert_eq!(body["errors"][0]["identifier"], "unknown");
    assert_eq!(
        port.handle
            .state()
            .entity("service", "b")
            .unwrap()
            .properties["stars"],
        1
    );
    assert_eq!(port.handle.state().entities("service").len(), 2);
}

#[tokio::test]
async fn records_the_datasource_and_pages_datasource_entities_before_a_time() {
    let port = Port::start().await;
    port.service_blueprints().await;
    let batch: Vec<Value> = (0..5).map(|i| svc(&format!("s{i}"), "go")).collect();
    port.bulk("service", "", Value::Array(batch)).await;
    let cut = port
        .handle
        .state()
        .entity("service", "s4")
        .unwrap()
        .updated_at;
    port.bulk("service", "", json!([svc("s0", "rust"), svc("late", "go")]))
        .await;
    // Written by someone else: no datasource.
    let resp = port
        .http
        .post(format!(
            "{}/v1/blueprints/service/entities?upsert=true",
            port.handle.url()
        ))
        .bearer_auth(&port.token)
        .header("User-Agent", "curl/8")
        .json(&svc("manual", "go"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        port.handle
            .state()
            .entity("service", "manual")
            .unwrap()
            .datasource,
        None
    );
    assert_eq!(
        port.handle
            .state()
            .entity("service", "s1")
            .unwrap()
            .datasource
            .as_deref(),
        Some(UA)
    );

    let page = |from: Option<String>, before: Option<String>| {
        let mut body = json!({"datasource_prefix": "port-ocean/jira/",
            "datasource_suffix": "/my-jira/exporter", "limit": 2});
        if let Some(from) = from {
            body["from"] = json!(from);
        }
        if let Some(before) = before {
            body["before"] = json!(before);
        }
        port.post("/v1/blueprints/entities/datasource-entities", body)
    };
    let mut seen = Vec::new();
    let mut from = None;
    loop {
        let (status, body) = page(from.clone(), Some(cut.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for e in body["entities"].as_array().unwrap() {
            seen.push(e["identifier"].as_str().unwrap().to_owned());
        }
        match body["next"].as_str() {
            Some(next) => from = Some(next.to_owned()),
            None => break,
        }
    }
    // s4 itself is not before its own write time; s0 was written again after it.
    assert_eq!(seen, ["s1", "s2", "s3"]);

    let (_, body) = page(None, None).await;
    assert_eq!(body["entities"].as_array().unwrap().len(), 2);
    let (_, other) = port
        .post("/v1/blueprints/entities/datasource-entities",
            json!({"datasource_prefix": "port-ocean/jira/", "datasource_suffix": "/other/exporter"}))
        .await;
    assert_eq!(other["entities"], json!([]));
    assert_eq!(other["next"], Value::Null);
}

#[tokio::test]
async fn search_supports_port_rules() {
    let port = Port::start().await;
    port.service_blueprints().await;
    port.bulk(
        "service",
        "",
        json!([
            {"identifier": "a", "properties": {"lang": "rust", "stars": 10, "owner": "ann"}},
            {"identifier": "b", "properties": {"lang": "go", "stars": 3, "owner": "bob"}},
            {"identifier": "c", "properties": {"lang": "python", "stars": 7, "owner": "annie"}}
        ]),
    )
    .await;
    let mid = port
        .handle
        .state()
        .entity("service", "b")
        .unwrap()
        .updated_at;
    let port = &port;
    let search = |query: Value| async move {
        let (status, body) = port
            .post("/v1/entities/search?include=identifier", query)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["identifier"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let bp = json!({"property": "$blueprint", "operator": "=", "value": "service"});
    assert_eq!(
        search(json!({"combinator": "and", "rules": [bp,
        {"property": "lang", "operator": "in", "value": ["rust", "go"]}]}))
        .await,
        ["a", "b"]
    );
    assert_eq!(
        search(json!({"combinator": "and", "rules": [bp,
        {"property": "owner", "operator": "contains", "value": "ann"}]}))
        .await,
        ["a", "c"]
    );
    assert_eq!(
        search(json!({"combinator": "and", "rules": [bp,
        {"combinator": "or", "rules": [
            {"property": "stars", "operator": ">", "value": 8},
            {"property": "$identifier", "operator": "=", "value": "b"}]}]}))
        .await,
        ["a", "b"]
    );
    assert_eq!(
        search(json!({"combinator": "and", "rules": [
        {"property": "$datasource", "operator": "contains", "value": "port-ocean/jira/"},
        {"property": "$datasource", "operator": "contains", "value": "/my-jira/exporter"},
        {"property": "$updatedAt", "operator": "<", "value": mid}]}))
        .await,
        ["a"]
    );

    let (status, body) = port
        .post(
            "/v1/entities/search",
            json!({"combinator": "and", "rules": [
            {"property": "lang", "operator": "sounds-like", "value": "go"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (_, body) = port
        .post("/v1/entities/search?include=identifier&include=properties.lang",
            json!({"combinator": "and", "rules": [{"property": "$identifier", "operator": "=", "value": "a"}]}))
        .await;
    assert_eq!(
        body["entities"],
        json!([{"identifier": "a", "properties": {"lang": "rust"}}])
    );
}

#[tokio::test]
async fn deletes_respect_required_relations_and_dependents() {
    let port = Port::start().await;
    port.blueprint(json!({"identifier": "team", "title": "Team", "schema": {"properties": {}}}))
        .await;
    port.blueprint(
        json!({"identifier": "member", "title": "Member", "schema": {"properties": {}},
        "relations": {"team": {"target": "team", "required": true, "many": false}}}),
    )
    .await;
    port.bulk(
        "team",
        "",
        json!([{"identifier": "t1"}, {"identifier": "t2"}]),
    )
    .await;
    port.bulk(
        "member",
        "",
        json!([{"identifier": "m1", "relations": {"team": "t1"}}]),
    )
    .await;

    // Port answers a bulk delete 200 or fails it whole: `t1` is required by `m1`, so nothing
    // goes, `t2` included.
    let path = "/v1/blueprints/team/bulk/entities/delete?delete_dependents=false";
    let (status, body) = port
        .post(path, json!({"entities": ["t1", "t2", "ghost"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["ok"], false);
    assert!(
        body.get("errors").is_none() && body.get("deletedEntities").is_none(),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("t1"), "{body}");
    assert!(port.handle.state().entity("team", "t1").is_some());
    assert!(port.handle.state().entity("team", "t2").is_some());

    // Identifiers already gone do not fail the request.
    let (status, body) = port.post(path, json!({"entities": ["t2", "ghost"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ok": true, "deletedEntities": ["t2"]}));

    let (status, body) = port
        .post(
            "/v1/blueprints/team/bulk/entities/delete?delete_dependents=true",
            json!({"entities": ["t1"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deletedEntities"], json!(["t1"]));
    assert!(port.handle.state().entity("member", "m1").is_none());

    let (status, body) = port
        .post(
            "/v1/blueprints/team/bulk/entities/delete",
            json!({"entities": ["t1"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Port requires delete_dependents: {body}"
    );

    let ids: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
    let (status, _) = port.post(path, json!({"entities": ids})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, _) = port
        .send(
            Method::DELETE,
            "/v1/blueprints/team/entities/t1?delete_dependents=false",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    port.bulk("team", "", json!([{"identifier": "a/b+c"}]))
        .await;
    let (status, body) = port.get("/v1/blueprints/team/entities/a%2Fb%2Bc").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = port
        .send(
            Method::DELETE,
            "/v1/blueprints/team/entities/a%2Fb%2Bc?delete_dependents=false",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(port.handle.state().entity_count(), 0);
}

#[tokio::test]
async fn malformed_json_is_400_oversize_is_413_unknown_route_is_404() {
    let port = Port::start_with(LocalPort::builder().body_limit(4096)).await;
    port.service_blueprints().await;
    let resp = port
        .request(
            Method::POST,
            "/v1/blueprints/service/entities/bulk?upsert=true",
        )
        .header("Content-Type", "application/json")
        .body("{\"entities\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    let big = json!({"entities": [{"identifier": "a", "properties": {"owner": "x".repeat(5000), "lang": "go"}}]});
    let (status, body) = port
        .post("/v1/blueprints/service/entities/bulk?upsert=true", big)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let (status, body) = port.get("/v1/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["ok"], false);
}

#[tokio::test]
async fn integrations_store_config_resync_state_and_requests() {
    let port = Port::start().await;
    let (status, _) = port.get("/v1/integration/my-jira").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let create = json!({"installationId": "my-jira", "installationAppType": "jira", "version": "1.2.3",
        "config": {"resources": []}});
    let (status, body) = port.post("/v1/integration", create.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = port.post("/v1/integration", create).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = port
        .send(
            Method::PATCH,
            "/v1/integration/my-jira/config",
            Some(json!({"config": {"deleteDependentEntities": true, "resources": []}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["integration"]["config"]["deleteDependentEntities"],
        true
    );

    let (status, body) = port
        .send(
            Method::PATCH,
            "/v1/integration/my-jira/resync-state",
            Some(
                json!({"status": "running", "lastResyncStart": "2024-01-01T00:00:00Z",
                "lastResyncEnd": null, "nextResync": null, "intervalInMinuets": 60}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["integration"]["resyncState"]["status"], "running");
    assert!(body["integration"]["resyncState"]["updatedAt"].is_string());
    let (status, _) = port
        .send(
            Method::PATCH,
            "/v1/integration/my-jira/resync-state",
            Some(json!({"status": "dancing"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, body) = port.get("/v1/integration/my-jira/resync-request").await;
    assert_eq!(body, json!({}));
    let id = port.handle.request_resync("my-jira").unwrap();
    let (_, body) = port.get("/v1/integration/my-jira/resync-request").await;
    assert_eq!(body["request"]["id"], id);
    assert!(port.handle.request_resync("nope").is_err());

    let (status, _) = port
        .post(
            "/v1/integration/my-jira/kinds/issue/examples",
            json!({"examples": [{"key": "J-1"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        port.handle.state().examples("my-jira", "issue"),
        vec![json!({"key": "J-1"})]
    );
    let (_, body) = port.get("/v1/integration/provision-enabled").await;
    assert_eq!(body["integrations"], json!([]));
    let (_, body) = port.get("/v1/organization").await;
    assert_eq!(body["organization"]["featureFlags"], json!([]));
}

#[tokio::test]
async fn webhooks_are_port_data_sources_checked_against_its_schema_and_never_return_the_secret() {
    let port = Port::start().await;
    let hook = json!({"identifier": "on-deploy", "title": "On deploy", "enabled": true,
        "icon": "Webhook", "integrationType": "custom",
        "mappings": [{"blueprint": "deployment", "filter": "true",
            "entity": {"identifier": ".body.id", "title": ".body.name"}}],
        "security": {"secret": "s3cr3t-value", "signatureHeaderName": "X-Sig"}});
    let (status, body) = port.post("/v1/webhooks", hook.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["integration"]["enabled"], true);
    assert_eq!(body["integration"]["security"]["secret"], "[REDACTED]");
    assert!(body["integration"]["url"].is_string(), "{body}");
    assert!(body["integration"]["createdAt"].is_string(), "{body}");
    let (status, _) = port.post("/v1/webhooks", hook.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Fields Port's schema refuses: too long, wrong type, outgoing-webhook fields, missing
    // required ones.
    for (field, value) in [
        ("identifier", json!("x".repeat(31))),
        ("title", json!("t".repeat(31))),
        ("description", json!("d".repeat(201))),
        ("enabled", json!("yes")),
        ("url", json!("https://example.com/hook")),
        ("events", json!(["entity.created"])),
        ("headers", json!({"X-Key": "k"})),
    ] {
        let mut bad = hook.clone();
        bad[field] = value;
        if field != "identifier" {
            bad["identifier"] = json!("other");
        }
        let (status, body) = port.post("/v1/webhooks", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{field}: {body}"
        );
    }
    for required in ["title", "enabled"] {
        let mut bad = hook.clone();
        bad.as_object_mut().unwrap().remove(required);
        bad["identifier"] = json!("other");
        let (status, body) = port.post("/v1/webhooks", bad).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{required}: {body}"
        );
    }
    // Without an identifier Port makes one up.
    let mut no_id = hook.clone();
    no_id.as_object_mut().unwrap().remove("identifier");
    let (status, body) = port.post("/v1/webhooks", no_id).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let made_up = body["integration"]["identifier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!made_up.is_empty() && made_up.len() <= 30, "{made_up}");

    let (status, body) = port
        .send(
            Method::PATCH,
            "/v1/webhooks/on-deploy",
            Some(json!({"title": "Deploys", "security": {"secret": "[REDACTED]"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["integration"]["title"], "Deploys");
    assert_eq!(
        body["integration"]["enabled"], true,
        "a patch keeps the rest"
    );
    let (status, _) = port
        .send(
            Method::PATCH,
            "/v1/webhooks/on-deploy",
            Some(json!({"events": ["entity.created"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = port
        .send(Method::PATCH, "/v1/webhooks/ghost", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, one) = port.get("/v1/webhooks/on-deploy").await;
    let (status, list) = port.get("/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["integrations"].as_array().unwrap().len(), 2);
    let (status, body) = port.get("/v1/webhooks?page=1&per_page=10").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Port's list takes no paging parameters: {body}"
    );
    for text in [
        one.to_string(),
        list.to_string(),
        format!("{:?}", port.handle.state().webhooks()),
        format!("{:?} {:?}", port.handle, port.handle.state()),
    ] {
        assert!(!text.contains("s3cr3t-value"), "secret leaked: {text}");
    }
    // The stored secret survived the redacted round trip.
    assert!(
        port.handle.state().snapshot().webhooks[0]
            .to_string()
            .contains("s3cr3t-value")
    );

    let (status, _) = port
        .send(Method::DELETE, "/v1/webhooks/on-deploy", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = port.get("/v1/webhooks/on-deploy").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn injected_rate_limits_carry_retry_after_and_are_reproducible() {
    let faults = FaultConfig {
        seed: 7,
        rate_limit_rate: 0.5,
        retry_after_secs: 2,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let port = Port::start_with(LocalPort::builder().faults(faults.clone())).await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let resp = port
                .request(Method::GET, "/v1/blueprints")
                .send()
                .await
                .unwrap();
            if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(resp.headers()["retry-after"], "2");
            }
            statuses.push(resp.status().as_u16());
        }
        assert!(
            statuses.contains(&429) && statuses.contains(&200),
            "{statuses:?}"
        );
        runs.push(statuses);
        port.handle.stop().await.unwrap();
    }
    assert_eq!(runs[0], runs[1]);

    let unavailable = FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    };
    let port = Port::start_with(LocalPort::builder().faults(unavailable)).await;
    let (status, _) = port.get("/v1/blueprints").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn state_file_round_trips_through_stop_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("port.json");
    let port = Port::start_with(LocalPort::builder().state_file(Some(file.clone()))).await;
    port.service_blueprints().await;
    port.bulk("service", "", json!([svc("a", "go"), svc("b", "rust")]))
        .await;
    port.post("/v1/integration", json!({"installationId": "my-jira"}))
        .await;
    port.post(
        "/v1/webhooks",
        json!({"identifier": "h", "url": "https://x.io", "security": {"secret": "k"}}),
    )
    .await;
    let before = port.handle.state().snapshot();
    port.handle.stop().await.unwrap();
    assert!(file.exists());

    let port = Port::start_with(LocalPort::builder().state_file(Some(file.clone()))).await;
    assert_eq!(port.handle.state().snapshot(), before);
    let (status, body) = port.get("/v1/blueprints/service/entities/a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entity"]["properties"]["lang"], "go");
    // New writes are later than anything loaded.
    port.bulk("service", "", json!([svc("a", "python")])).await;
    let a = port.handle.state().entity("service", "a").unwrap();
    let old = before
        .entities
        .iter()
        .find(|e| e.identifier == "a")
        .unwrap();
    assert!(a.updated_at > old.updated_at);
    port.handle.stop().await.unwrap();

    std::fs::write(&file, "{not json").unwrap();
    let err = LocalPort::builder()
        .state_file(Some(file))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
}
