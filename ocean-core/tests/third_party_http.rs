//! The third-party HTTP client against scripted servers: what it retries, how long it waits,
//! how many requests it keeps in flight per host, and how resync and live events share a
//! host's rate budget.

use ocean::backoff::Backoff;
use ocean::http::{HttpClientOptions, Lane, RateLimit, ThirdPartyClient};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Millisecond waits without jitter, three retries.
fn fast() -> HttpClientOptions {
    HttpClientOptions {
        max_retries: 3,
        backoff: Backoff::new(Duration::from_millis(1), Duration::from_secs(30)).with_jitter(0.0),
        ..HttpClientOptions::default()
    }
}

fn client(options: HttpClientOptions) -> ThirdPartyClient {
    ThirdPartyClient::new(options).expect("valid options")
}

async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

/// `status` once for `method path`, then 200.
async fn once_then_ok(server: &MockServer, verb: &str, p: &str, first: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_get_answered_503_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    once_then_ok(&server, "GET", "/items", ResponseTemplate::new(503)).await;
    let response = client(fast())
        .get(format!("{}/items", server.uri()))
        .bearer_auth("t0ken")
        .header("accept", "application/json")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(hits(&server, "/items").await, 2);
    let sent = server.received_requests().await.unwrap();
    assert!(
        sent.iter()
            .all(|r| r.headers["authorization"] == "Bearer t0ken")
    );
}

#[tokio::test]
async fn a_post_answered_500_or_503_is_not_retried() {
    for status in [500, 503] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/items"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let response = client(fast())
            .post(format!("{}/items", server.uri()))
            .json(&serde_json::json!({"name": "one"}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), status);
        server.verify().await;
    }
}

#[tokio::test]
async fn a_post_answered_429_is_retried_after_the_retry_after_wait() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        "POST",
        "/items",
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
    )
    .await;
    let started = Instant::now();
    let response = client(fast())
        .post(format!("{}/items", server.uri()))
        .basic_auth("bot", Some("pa55"))
        .body("name=one")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited the second the server asked for, not the 1 ms backoff: {:?}",
        started.elapsed()
    );
    assert_eq!(hits(&server, "/items").await, 2);
}

#[tokio::test]
async fn x_ratelimit_reset_replaces_the_backoff() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        "GET",
        "/items",
        ResponseTemplate::new(429).insert_header("x-ratelimit-reset", "0"),
    )
    .await;
    let mut options = fast();
    // The computed wait would be an hour: only the header's zero lets this finish.
    options.backoff = Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600));
    let response = tokio::time::timeout(
        Duration::from_secs(60),
        client(options)
            .get(format!("{}/items", server.uri()))
            .send(),
    )
    .await
    .expect("the x-ratelimit-reset header was honoured")
    .expect("an answer");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_returns_the_429_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let response = client(fast())
        .get(format!("{}/items", server.uri()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 429);
    server.verify().await;
}

#[tokio::test]
async fn after_the_last_retry_the_last_answer_is_returned() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let response = client(fast())
        .with_max_retries(2)
        .get(format!("{}/items", server.uri()))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 502);
    assert!(response.error_for_status().is_err());
    server.verify().await;
}

#[tokio::test]
async fn refused_connections_are_retried_and_neither_logs_nor_errors_show_the_query() {
    let captured = ocean::testing::CapturedLogs::new();
    let _guard = tracing::subscriber::set_default(captured.subscriber(tracing::Level::DEBUG));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = client(fast())
        .post(format!("http://{address}/hook?api_key=s3cr3t"))
        .bearer_auth("b3arer")
        .send()
        .await
        .expect_err("nothing listens");
    assert!(error.is_connect(), "{error:?}");
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
    let logs = captured.text();
    assert_eq!(
        logs.matches("retrying a third-party request").count(),
        3,
        "{logs}"
    );
    assert!(logs.contains("/hook"), "{logs}");
    assert!(
        !logs.contains("s3cr3t") && !logs.contains("b3arer"),
        "{logs}"
    );
}

/// A server that holds every request `hold` and records the most it held at once.
async fn counting_server(hold: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&most);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (in_flight, most) = (Arc::clone(&in_flight), Arc::clone(&most));
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{address}"), seen)
}

async fn send_all(client: &ThirdPartyClient, base: &str, n: usize) {
    let sends = (0..n).map(|i| client.get(format!("{base}/slow/{i}")).send());
    for answer in futures::future::join_all(sends).await {
        assert_eq!(answer.expect("an answer").status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_to_one_host_never_exceed_the_limit() {
    let (base, most) = counting_server(Duration::from_millis(100)).await;
    let limited = client(HttpClientOptions {
        max_in_flight_per_host: 3,
        ..fast()
    });
    send_all(&limited, &base, 12).await;
    let seen = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&seen), "{seen} requests in flight at once");

    // The counter itself sees concurrency when the client allows it.
    let (base, most) = counting_server(Duration::from_millis(300)).await;
    let wide = client(HttpClientOptions {
        max_in_flight_per_host: 12,
        ..fast()
    });
    send_all(&wide, &base, 12).await;
    assert!(most.load(Ordering::SeqCst) > 3);
}

#[tokio::test]
async fn resync_cannot_take_the_live_events_reserve() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let host = server.address().to_string();
    // 4 requests per 2 s, half reserved: resync bursts 2, then 1 per second.
    let options = HttpClientOptions {
        live_events_reserve: 0.5,
        ..fast()
    }
    .rate_limit(host, RateLimit::new(4, Duration::from_secs(2)));
    let resync = client(options);
    let live = resync.for_lane(Lane::LiveEvents);
    assert_eq!(live.lane(), Lane::LiveEvents);
    let started = Instant::now();
    let resyncing = {
        let (resync, base) = (resync.clone(), server.uri());
        tokio::spawn(async move {
            let sends = (0..3).map(|i| resync.get(format!("{base}/resync/{i}")).send());
            futures::future::join_all(sends).await
        })
    };
    while hits_under(&server, "/resync/").await < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in 0..2 {
        let answer = live.get(format!("{}/live/{i}", server.uri())).send().await;
        assert_eq!(answer.expect("an answer").status(), 200);
    }
    for answer in resyncing.await.unwrap() {
        assert_eq!(answer.expect("an answer").status(), 200);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the third resync request waited for its share to refill: {:?}",
        started.elapsed()
    );
    let order: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    let last_live = order.iter().rposition(|p| p.starts_with("/live/")).unwrap();
    let third_resync = order
        .iter()
        .enumerate()
        .filter(|(_, p)| p.starts_with("/resync/"))
        .nth(2)
        .map(|(i, _)| i)
        .unwrap();
    assert!(
        last_live < third_resync,
        "live events went ahead of the waiting resync: {order:?}"
    );
}

async fn hits_under(server: &MockServer, prefix: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .count()
}

#[tokio::test]
async fn inner_reaches_the_raw_reqwest_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/raw"))
        .and(header("x-raw", "1"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(fast());
    let response = client
        .inner()
        .get(format!("{}/raw", server.uri()))
        .header("x-raw", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "the raw client does not retry");
    server.verify().await;
}
