//! Hostile input over the wire, by property: webhook headers and body bytes through the
//! signature verifiers and the intake door (`LiveEvents::receive`), and arbitrary bodies, query
//! strings and headers to the local Port's routes over real HTTP. The answer is always a clear
//! outcome (an error, a 4xx), within a bounded time, and never a panic or a 5xx.
//!
//! Case counts are small so the suite stays within seconds; set `PROPTEST_CASES` to run more.

use bytes::Bytes;
use ocean::config::Secret;
use ocean::live_events::{
    IntakeOutcome, LiveEvents, LiveEventsOptions, Payload, ProcessorRetryPolicy, WebhookEvent,
    WebhookEventRawResults, WebhookProcessor, WebhookProcessorRegistration, processor_factory,
};
use ocean::mapping::{FixedPortAppConfig, PortAppConfig, ResourceConfig};
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::datasource::Datasource;
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::signature::{
    GitHubSignature, GitLabToken, PortSignature, StandardWebhooks, WebhookVerifier,
};
use ocean::{Context, Result};
use proptest::prelude::*;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

const CASE_TIMEOUT: Duration = Duration::from_secs(20);

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    RUNTIME.block_on(async {
        tokio::time::timeout(CASE_TIMEOUT, f)
            .await
            .expect("no answer within the case timeout")
    })
}

/// Header names the verifiers read, and others.
const HEADER_NAMES: &[&str] = &[
    "x-port-signature",
    "x-port-timestamp",
    "x-hub-signature-256",
    "x-gitlab-token",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "X-Hub-Signature-256",
    "",
];

/// Header values: signature-looking prefixes followed by noise, huge timestamps, and
/// non-ASCII text.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "(v1,|sha256=|v1a,|t=)[A-Za-z0-9+/=, ]{0,90}",
        "[0-9]{0,40}",
        Just("99999999999999999999999999".to_owned()),
        Just("-1".to_owned()),
        Just("v1,".repeat(10_000)),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(HEADER_NAMES).prop_map(str::to_owned),
            header_value(),
        ),
        0..8,
    )
}

/// Body bytes: arbitrary (invalid UTF-8 included), JSON-looking, deeply nested, huge numbers.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "\\{\"type\":\"repo\",\"id\":\"[a-z]{0,8}\"(,\"n\":[0-9e+-]{0,320})?\\}"
            .prop_map(String::into_bytes),
        (1usize..200_000).prop_map(|n| "[".repeat(n).into_bytes()),
        Just(b"{\"type\":\"repo\",\"id\":\"a\",\"id\":\"b\"}".to_vec()),
        Just(b"{\"type\":\"repo\",\"id\":\"x\",\"n\":1e400}".to_vec()),
        Just(b"{\"type\":\"repo\",\"id\":\"\xff\xfe\"}".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn signature_verifiers_refuse_arbitrary_headers_and_bodies(
        headers in headers(),
        body in body(),
        seconds in any::<u64>(),
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds % (1 << 40));
        let verifiers: [Box<dyn WebhookVerifier>; 4] = [
            Box::new(PortSignature::new("s3cret")),
            Box::new(GitHubSignature::new("s3cret")),
            Box::new(GitLabToken::new("s3cret")),
            Box::new(StandardWebhooks::new("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")),
        ];
        for verifier in &verifiers {
            prop_assert!(verifier.verify_at(&headers, &body, now).is_err());
        }
    }

    #[test]
    fn the_door_answers_arbitrary_headers_and_bodies(headers in headers(), body in body()) {
        let live = door();
        let outcome = block_on(live.receive("/hook", headers, Bytes::from(body.clone())));
        match outcome {
            IntakeOutcome::Accepted(_) => {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
            }
            IntakeOutcome::BadJson(_)
            | IntakeOutcome::TooLarge { .. }
            | IntakeOutcome::Ignored
            | IntakeOutcome::Unauthorized { .. }
            | IntakeOutcome::Invalid { .. }
            | IntakeOutcome::Busy => {}
            other => prop_assert!(false, "unexpected outcome {other:?}"),
        }
    }

    #[test]
    fn the_local_port_answers_arbitrary_requests_without_a_5xx(
        route in prop::sample::select(ROUTES),
        body in body(),
        query in "[a-zA-Z0-9=&%\\[\\]._-]{0,60}",
        content_type in prop::sample::select(&["application/json", "text/plain", "", "application/json; charset=latin1"][..]),
    ) {
        let (method, path) = route;
        let status = block_on(async {
            let (port, token) = local_port().await;
            let mut req = HTTP
                .request(method.parse().unwrap(), format!("{}{path}?{query}", port.url()))
                .bearer_auth(token)
                .body(body);
            if !content_type.is_empty() {
                req = req.header("content-type", content_type);
            }
            req.send().await.map(|r| r.status().as_u16())
        });
        let status = status.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
        prop_assert!(status < 500, "{method} {path}?{query}: {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook door

/// Wants `{"type": "repo"}`; authenticates with Port's scheme; accepts only string ids.
#[derive(Default)]
struct Signed;

impl WebhookProcessor for Signed {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event.payload()["type"] == "repo"
    }
    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        let verified =
            PortSignature::new("s3cret").verify(event, event.raw_body(), SystemTime::now());
        // Unsigned events are let through too, so that validation is reached.
        Ok(verified.is_ok() || event.headers().get("x-port-signature").is_none())
    }
    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["id"].is_string())
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

static DOOR: LazyLock<LiveEvents> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let client = PortClient::new(PortClientConfig::new(
            "http://127.0.0.1:1",
            Secret::from("id"),
            Secret::from("secret"),
            Datasource::exporter("test", "1.0.0", "hostile"),
        ))
        .unwrap();
        let config = PortAppConfig::parse(
            "resources:\n  - kind: repository\n    selector: {query: 'true'}\n    port: {entity: {mappings: {identifier: .id, blueprint: '\"service\"'}}}\n",
        )
        .unwrap();
        let context = Context::new((), reqwest::Client::new()).with_port(client.clone());
        LiveEvents::builder(context, client, Arc::new(FixedPortAppConfig::new(config)))
            .options(LiveEventsOptions {
                body_limit: 64 * 1024,
                queue_capacity: 1_000_000,
                ..LiveEventsOptions::default()
            })
            .register(WebhookProcessorRegistration {
                path: "/hook",
                name: "Signed",
                kinds: &["repository"],
                retry: ProcessorRetryPolicy::default(),
                file: file!(),
                line: line!(),
                factory: processor_factory::<Signed>,
            })
            .build()
            .await
            .unwrap()
    })
});

fn door() -> LiveEvents {
    DOOR.clone()
}

#[test]
fn the_door_refuses_a_body_of_tens_of_megabytes_at_once() {
    let body = Bytes::from(vec![b'['; 30 * 1024 * 1024]);
    let outcome = block_on(door().receive("/hook", Vec::new(), body));
    assert_eq!(outcome, IntakeOutcome::TooLarge { limit: 64 * 1024 });
}

#[test]
fn the_door_refuses_json_nested_deeper_than_the_parser_allows() {
    let body = Bytes::from("[".repeat(30_000) + &"]".repeat(30_000));
    let outcome = block_on(door().receive("/hook", Vec::new(), body));
    assert!(matches!(outcome, IntakeOutcome::BadJson(_)), "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// Local Port

static HTTP: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/auth/access_token"),
    ("GET", "/v1/blueprints"),
    ("POST", "/v1/blueprints"),
    ("GET", "/v1/blueprints/service"),
    ("PATCH", "/v1/blueprints/service"),
    ("DELETE", "/v1/blueprints/nope"),
    ("DELETE", "/v1/blueprints/service/all-entities"),
    ("GET", "/v1/migrations/x"),
    ("POST", "/v1/blueprints/service/entities"),
    ("GET", "/v1/blueprints/service/entities"),
    ("GET", "/v1/blueprints/service/entities/e%FF%00"),
    ("DELETE", "/v1/blueprints/service/entities/e"),
    ("POST", "/v1/integration"),
    ("GET", "/v1/integration/i"),
    ("PATCH", "/v1/integration/i"),
    ("PATCH", "/v1/integration/i/config"),
    ("DELETE", "/v1/integration/i"),
    ("GET", "/v1/organization"),
    ("POST", "/v1/entities/search"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks/w"),
    ("PATCH", "/v1/webhooks/w"),
    ("DELETE", "/v1/webhooks/w"),
];

static LOCAL_PORT: tokio::sync::OnceCell<(LocalPortHandle, String)> =
    tokio::sync::OnceCell::const_new();

/// One local Port for every case (with a `service` blueprint), and a token for it.
async fn local_port() -> (&'static LocalPortHandle, &'static str) {
    let (port, token) = LOCAL_PORT
        .get_or_init(|| async {
            let port = LocalPort::builder()
                .client_id("id")
                .client_secret("secret")
                .start()
                .await
                .unwrap();
            let answer: serde_json::Value = HTTP
                .post(format!("{}/v1/auth/access_token", port.url()))
                .json(&serde_json::json!({"clientId": "id", "clientSecret": "secret"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let token = answer["accessToken"].as_str().unwrap().to_owned();
            HTTP.post(format!("{}/v1/blueprints", port.url()))
                .bearer_auth(&token)
                .json(&serde_json::json!({"identifier": "service", "title": "Service", "schema": {"properties": {}}}))
                .send()
                .await
                .unwrap();
            (port, token)
        })
        .await;
    (port, token.as_str())
}

#[test]
fn the_local_port_answers_deep_huge_and_duplicate_json_with_a_4xx_or_2xx() {
    let bodies: Vec<Vec<u8>> = vec![
        "[".repeat(100_000).into_bytes(),
        format!(
            "{{\"identifier\":\"e\",\"properties\":{{\"n\":1e400}},\"n\":{}}}",
            "9".repeat(300)
        )
        .into_bytes(),
        br#"{"identifier":"a","identifier":"b"}"#.to_vec(),
        format!("{{\"identifier\":\"{}\"}}", "x".repeat(20 * 1024 * 1024)).into_bytes(),
        b"{\"identifier\":\"\xff\"}".to_vec(),
    ];
    for body in bodies {
        for (method, path) in ROUTES.iter().filter(|(m, _)| *m != "GET") {
            let status = block_on(async {
                let (port, token) = local_port().await;
                HTTP.request(method.parse().unwrap(), format!("{}{path}", port.url()))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
            .unwrap();
            assert!(
                status < 500,
                "{method} {path} with {} bytes: {status}",
                body.len()
            );
        }
    }
}
