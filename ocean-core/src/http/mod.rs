//! The HTTP client integrations call their third party with: reqwest's API, plus retries with
//! the framework's [`Backoff`](crate::backoff::Backoff), a bound on requests in flight per
//! host, and one rate budget per host that resyncs and live events share, with a share
//! reserved for live events.
//!
//! ```no_run
//! use ocean::http::{HttpClientOptions, Lane, RateLimit, ThirdPartyClient};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let options = HttpClientOptions::default().rate_limit("api.example.com", RateLimit::per_second(10));
//! let resync = ThirdPartyClient::new(options)?;
//! // Same connection pool, limits and budget; may use the live events' reserved share.
//! let live = resync.for_lane(Lane::LiveEvents);
//! let issues: serde_json::Value = resync
//!     .get("https://api.example.com/issues")
//!     .query(&[("page", "1")])
//!     .bearer_auth("token")
//!     .send()
//!     .await?
//!     .error_for_status()?
//!     .json()
//!     .await?;
//! # let _ = (live, issues);
//! # Ok(())
//! # }
//! ```

mod budget;
mod hosts;
mod options;
mod request;

pub use budget::Lane;
pub use options::{HttpClientError, HttpClientOptions, RateLimit};
pub use request::RequestBuilder;

use crate::backoff::server_asked_delay;
use hosts::Hosts;
use reqwest::{IntoUrl, Method, Response, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An HTTP client for the third party an integration talks to. Cheap to clone; clones share
/// the connection pool, the per-host limits and the rate budgets.
///
/// - Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) are retried on 500, 502,
///   503, 504 and transport errors; every request is retried on 429 (the server did not process
///   it) and on a connection that was never made. The wait is the server's `Retry-After` /
///   `x-ratelimit-reset` when it gives one, else the backoff. After the last retry the last
///   answer is returned as it came (check it with `error_for_status`).
/// - At most `max_in_flight_per_host` requests are in flight to one `host:port` (until the
///   response headers are in).
/// - Each host with a [`RateLimit`] has one budget; the [`Lane`] of the client decides how
///   much of it a request may use.
///
/// A request whose body is a stream cannot be sent twice, so it is sent once.
#[derive(Clone)]
pub struct ThirdPartyClient {
    shared: Arc<Shared>,
    lane: Lane,
    max_retries: u32,
}

struct Shared {
    http: reqwest::Client,
    options: HttpClientOptions,
    hosts: Hosts,
}

impl fmt::Debug for ThirdPartyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThirdPartyClient")
            .field("lane", &self.lane)
            .field("max_retries", &self.max_retries)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl ThirdPartyClient {
    /// A client with a `reqwest::Client` of its own (timeout `options.timeout`), on the
    /// [`Lane::Resync`] lane.
    pub fn new(options: HttpClientOptions) -> Result<Self, HttpClientError> {
        options.validate()?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .map_err(HttpClientError::Build)?;
        Self::from_reqwest(http, options)
    }

    /// A client sending through `http` (its pool, timeout and TLS settings), on the
    /// [`Lane::Resync`] lane. `options.timeout` is not applied: `http` has its own.
    pub fn from_reqwest(
        http: reqwest::Client,
        options: HttpClientOptions,
    ) -> Result<Self, HttpClientError> {
        options.validate()?;
        Ok(Self::over(http, options))
    }

    /// A client over `http` with options already checked.
    fn over(http: reqwest::Client, options: HttpClientOptions) -> Self {
        Self {
            max_retries: options.max_retries,
            lane: Lane::default(),
            shared: Arc::new(Shared {
                http,
                hosts: Hosts::new(options.clone()),
                options,
            }),
        }
    }

    /// The same client (same pool, limits and budgets) sending on `lane`.
    pub fn for_lane(&self, lane: Lane) -> Self {
        Self {
            lane,
            ..self.clone()
        }
    }

    /// The same client retrying at most `max_retries` times.
    pub fn with_max_retries(&self, max_retries: u32) -> Self {
        Self {
            max_retries,
            ..self.clone()
        }
    }

    /// The lane this client sends on.
    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// Retries after the first send.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The options the client was built with.
    pub fn options(&self) -> &HttpClientOptions {
        &self.shared.options
    }

    /// The underlying `reqwest::Client`, for what this client does not offer. Requests sent
    /// through it are neither retried nor limited.
    pub fn inner(&self) -> &reqwest::Client {
        &self.shared.http
    }

    /// A request of `method` to `url`.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder::new(self.clone(), self.shared.http.request(method, url))
    }

    /// A GET request to `url`.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request to `url`.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request to `url`.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request to `url`.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request to `url`.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A HEAD request to `url`.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends `request` within the host's limits, retrying as the client does (see
    /// [`ThirdPartyClient`]). Errors carry the URL without its query string.
    pub async fn execute(&self, request: reqwest::Request) -> Result<Response, reqwest::Error> {
        let method = request.method().clone();
        let url = request.url().clone();
        let idempotent = is_idempotent(&method);
        let host = url.host_str().unwrap_or_default().to_owned();
        let mut request = request;
        let mut retry = 0u32;
        loop {
            // A streaming body cannot be cloned: such a request is sent once.
            let spare = if retry < self.max_retries {
                request.try_clone()
            } else {
                None
            };
            let outcome = self
                .shared
                .hosts
                .send(&url, self.lane, self.shared.http.execute(request))
                .await;
            let (status, asked) = match &outcome {
                Ok(response) if should_retry_status(response.status(), idempotent) => (
                    Some(response.status().as_u16()),
                    server_asked_delay(response.headers()),
                ),
                Err(error) if should_retry_error(error, idempotent) => (None, None),
                _ => return without_query(outcome),
            };
            let Some(spare) = spare else {
                return without_query(outcome);
            };
            let backoff = &self.shared.options.backoff;
            let wait = match asked {
                Some(asked) if asked > backoff.max => {
                    tracing::warn!(
                        method = %method,
                        host = %host,
                        path = url.path(),
                        status,
                        asked_wait_ms = millis(asked),
                        max_wait_ms = millis(backoff.max),
                        lane = self.lane.as_str(),
                        "the third party asks for a longer wait than the client retries after; giving up"
                    );
                    return without_query(outcome);
                }
                Some(asked) => asked,
                None => backoff.delay(retry + 1),
            };
            retry += 1;
            let error = outcome.err().map(|e| e.without_url().to_string());
            tracing::warn!(
                method = %method,
                host = %host,
                path = url.path(),
                status,
                error = error.as_deref(),
                retry,
                wait_ms = millis(wait),
                lane = self.lane.as_str(),
                "retrying a third-party request"
            );
            tokio::time::sleep(wait).await;
            request = spare;
        }
    }
}

impl From<reqwest::Client> for ThirdPartyClient {
    /// A client over `http` with the default options, on the [`Lane::Resync`] lane.
    fn from(http: reqwest::Client) -> Self {
        Self::over(http, HttpClientOptions::default())
    }
}

/// Methods that change nothing more when sent twice.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// 429 for any request (not processed); 500, 502, 503, 504 when sending twice is safe.
fn should_retry_status(status: StatusCode, idempotent: bool) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (idempotent
            && matches!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ))
}

/// A connection never made (the server saw nothing) for any request; timeouts and broken
/// connections when sending twice is safe.
fn should_retry_error(error: &reqwest::Error, idempotent: bool) -> bool {
    error.is_connect() || (idempotent && (error.is_timeout() || error.is_request()))
}

/// Drops the query string (it may hold tokens) from the URL an error carries.
fn without_query(outcome: Result<Response, reqwest::Error>) -> Result<Response, reqwest::Error> {
    outcome.map_err(|mut error| {
        if let Some(url) = error.url_mut() {
            url.set_query(None);
        }
        error
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reqwest_client_converts_with_valid_default_options() {
        assert!(HttpClientOptions::default().validate().is_ok());
        let client = ThirdPartyClient::from(reqwest::Client::new());
        assert_eq!(client.lane(), Lane::Resync);
        assert_eq!(client.max_retries(), 3);
        let live = client.for_lane(Lane::LiveEvents).with_max_retries(0);
        assert_eq!((live.lane(), live.max_retries()), (Lane::LiveEvents, 0));
        assert!(
            Arc::ptr_eq(&client.shared, &live.shared),
            "one shared state"
        );
    }

    #[test]
    fn only_safe_methods_are_retried_on_server_errors_and_every_method_on_429() {
        for method in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert!(is_idempotent(&method), "{method}");
        }
        for method in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert!(!is_idempotent(&method), "{method}");
        }
        for status in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(should_retry_status(status, true));
            assert!(!should_retry_status(status, false));
        }
        assert!(should_retry_status(StatusCode::TOO_MANY_REQUESTS, false));
        for status in [200, 400, 401, 404, 409, 422, 501, 505] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!should_retry_status(status, true), "{status}");
        }
    }
}
