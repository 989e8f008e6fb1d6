//! The webhook intake's body limit and framing over raw HTTP/1.1 bytes: chunked bodies,
//! `Content-Length` headers that do not match the body (smaller, larger, above the limit), both
//! framings at once, and bodies cut short. Whatever the framing, nothing larger than the limit is
//! buffered or queued, and a body that could not be read is answered 500 so the sender retries.

use bytes::Bytes;
use ocean::config::Secret;
use ocean::live_events::{
    LiveEvents, LiveEventsOptions, Payload, ProcessorRetryPolicy, WebhookEvent,
    WebhookEventRawResults, WebhookProcessor, WebhookProcessorRegistration, processor_factory,
};
use ocean::mapping::{FixedPortAppConfig, PortAppConfig, ResourceConfig};
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::datasource::Datasource;
use ocean::{Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: usize = 4096;

const MAPPING: &str = r#"
resources:
  - kind: repository
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, blueprint: '"service"'}
"#;

/// The raw bodies the processor was offered, by the payload's `test` field.
static BODIES: LazyLock<Mutex<HashMap<String, Vec<Bytes>>>> = LazyLock::new(Default::default);

fn bodies(test: &str) -> Vec<Bytes> {
    BODIES
        .lock()
        .unwrap()
        .get(test)
        .cloned()
        .unwrap_or_default()
}

/// Wants every JSON object with `"type": "repo"`; records the raw body it was offered.
#[derive(Default)]
struct Recorder;

impl WebhookProcessor for Recorder {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        let test = event.payload()["test"].as_str().unwrap_or_default();
        BODIES
            .lock()
            .unwrap()
            .entry(test.to_owned())
            .or_default()
            .push(Bytes::copy_from_slice(event.raw_body()));
        event.payload()["type"] == "repo"
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

struct Server {
    live: LiveEvents,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

/// Intake on `/integration/hook` with a 4096-byte limit. Workers are not started, so accepted
/// events stay queued and `queue_depth` counts them; Port is never called.
async fn server() -> Server {
    let client = PortClient::new(PortClientConfig::new(
        "http://127.0.0.1:1",
        Secret::from("id"),
        Secret::from("secret"),
        Datasource::exporter("test", "1.0.0", "framing"),
    ))
    .unwrap();
    let configs = Arc::new(FixedPortAppConfig::new(
        PortAppConfig::parse(MAPPING).unwrap(),
    ));
    let context = Context::new((), reqwest::Client::new()).with_port(client.clone());
    let live = LiveEvents::builder(context, client, configs)
        .options(LiveEventsOptions {
            body_limit: LIMIT,
            ..LiveEventsOptions::default()
        })
        .register(WebhookProcessorRegistration {
            path: "/hook",
            name: "Recorder",
            kinds: &["repository"],
            retry: ProcessorRetryPolicy::default(),
            file: file!(),
            line: line!(),
            factory: processor_factory::<Recorder>,
        })
        .build()
        .await
        .unwrap();
    let app_live = live.clone();
    let server = actix_web::HttpServer::new(move || {
        let live = app_live.clone();
        actix_web::App::new().configure(move |cfg| live.configure(cfg))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Server { live, addr, handle }
}

impl Server {
    async fn stop(self) {
        self.handle.stop(false).await;
        self.live.shutdown().await;
    }
}

/// A request head for `/integration/hook` with the given extra header lines.
fn head(headers: &[&str]) -> Vec<u8> {
    let mut out = b"POST /integration/hook HTTP/1.1\r\nHost: localhost\r\n\
                    Content-Type: application/json\r\n"
        .to_vec();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// One chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// A JSON event padded to `size` bytes exactly.
fn event(test: &str, size: usize) -> Vec<u8> {
    let bare = format!(r#"{{"type":"repo","id":"r","test":"{test}","pad":""}}"#);
    assert!(size >= bare.len());
    let pad = "x".repeat(size - bare.len());
    let body = format!(r#"{{"type":"repo","id":"r","test":"{test}","pad":"{pad}"}}"#).into_bytes();
    assert_eq!(body.len(), size);
    body
}

/// Reads what the server sends until it closes the connection or `wait` passes (an answer
/// that is still incomplete then is returned as it is).
async fn read_answers(stream: &mut TcpStream, wait: Duration) -> String {
    let mut answer = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads until the head of the first response has arrived; its status code and how long it
/// took, or `None` when nothing came within `wait`.
async fn first_status(stream: &mut TcpStream, wait: Duration) -> Option<(u16, Duration)> {
    let start = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(start + wait, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    let status = statuses(&String::from_utf8_lossy(&answer))
        .first()
        .copied()?;
    Some((status, start.elapsed()))
}

/// The status codes of the responses in `answers`, in order.
fn statuses(answers: &str) -> Vec<u16> {
    answers
        .match_indices("HTTP/1.1 ")
        .filter_map(|(i, m)| answers.get(i + m.len()..i + m.len() + 3))
        .filter_map(|code| code.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_within_the_limit_is_accepted() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("chunked-ok", 3000);
    let mut request = head(&["Transfer-Encoding: chunked", "Connection: close"]);
    for piece in body.chunks(1000) {
        request.extend(chunk(piece));
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(statuses(&answers), [202], "{answers}");
    assert_eq!(bodies("chunked-ok"), [Bytes::from(body)]);
    assert_eq!(s.live.stats().queue_depth, 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_answered_413() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("chunked-big", LIMIT + 1);
    let mut request = head(&["Transfer-Encoding: chunked", "Connection: close"]);
    for piece in body.chunks(1500) {
        request.extend(chunk(piece));
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(statuses(&answers).first(), Some(&413), "{answers}");
    assert!(answers.contains("4096 bytes"), "{answers}");
    let stats = s.live.stats();
    assert_eq!((stats.rejected_too_large, stats.accepted), (1, 0));
    assert!(bodies("chunked-big").is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_is_answered_413_without_waiting_for_its_end() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream
        .write_all(&head(&["Transfer-Encoding: chunked"]))
        .await
        .unwrap();
    // Never the last chunk: the answer must come once the limit is passed.
    let piece = chunk(&[b' '; 1000]);
    for _ in 0..(LIMIT / 1000 + 2) {
        stream.write_all(&piece).await.unwrap();
    }
    let (status, took) = first_status(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer before the body ends");
    assert_eq!(status, 413);
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert_eq!(s.live.stats().rejected_too_large, 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_above_the_limit_is_answered_413_before_the_body_arrives() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // Declares more than the limit but sends a small, valid event and keeps the connection open.
    let mut request = head(&[&format!("Content-Length: {}", LIMIT * 10)]);
    request.extend(event("declared-huge", 100));
    stream.write_all(&request).await.unwrap();
    let (status, took) = first_status(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer while the connection is open");
    assert_eq!(status, 413);
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert_eq!(s.live.stats().accepted, 0);
    assert!(bodies("declared-huge").is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_smaller_than_the_body_frames_the_body_and_the_rest_is_refused() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    // The declared length covers a whole small event; the bytes after it (more than the limit)
    // are read as a next request on the connection, which is not HTTP.
    let declared = br#"{"type":"repo","id":"r","test":"short-cl"}"#;
    let mut request = head(&[&format!("Content-Length: {}", declared.len())]);
    request.extend_from_slice(declared);
    request.extend(event("short-cl-tail", LIMIT * 2));
    stream.write_all(&request).await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(5)).await;
    let codes = statuses(&answers);
    assert_eq!(codes.first(), Some(&202), "{answers}");
    assert!(
        codes[1..].iter().all(|c| *c == 400),
        "the trailing bytes are no request: {answers}"
    );
    assert_eq!(bodies("short-cl"), [Bytes::from_static(declared)]);
    assert!(bodies("short-cl-tail").is_empty());
    assert_eq!(s.live.stats().accepted, 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_cutting_json_short_is_answered_400() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("cut-json", 3000);
    let mut request = head(&["Content-Length: 20", "Connection: close"]);
    request.extend_from_slice(&body);
    stream.write_all(&request).await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(statuses(&answers).first(), Some(&400), "{answers}");
    let stats = s.live.stats();
    assert_eq!((stats.rejected_bad_json, stats.accepted), (1, 0));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_larger_than_the_body_then_closed_is_answered_500() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("long-cl", 200);
    let mut request = head(&["Content-Length: 1000"]);
    request.extend_from_slice(&body);
    stream.write_all(&request).await.unwrap();
    stream.shutdown().await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(statuses(&answers), [500], "{answers}");
    let stats = s.live.stats();
    assert_eq!((stats.accepted, stats.queue_depth), (0, 0));
    assert!(bodies("long-cl").is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_cut_short_is_answered_500() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("chunked-cut", 1000);
    let mut request = head(&["Transfer-Encoding: chunked"]);
    request.extend(chunk(&body[..500]));
    stream.write_all(&request).await.unwrap();
    stream.shutdown().await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(statuses(&answers), [500], "{answers}");
    assert_eq!(s.live.stats().accepted, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_content_length_and_chunked_never_queue_an_oversized_body() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let body = event("both-framings", LIMIT * 2);
    let mut request = head(&[
        "Content-Length: 10",
        "Transfer-Encoding: chunked",
        "Connection: close",
    ]);
    for piece in body.chunks(2000) {
        request.extend(chunk(piece));
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let answers = read_answers(&mut stream, Duration::from_secs(5)).await;
    let codes = statuses(&answers);
    assert_eq!(
        codes.first(),
        Some(&400),
        "an ambiguous framing is a bad request: {answers}"
    );
    assert_eq!(s.live.stats().accepted, 0);
    assert!(bodies("both-framings").is_empty());
    s.stop().await;
}
