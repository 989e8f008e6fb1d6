//! The Port REST client: authentication, retries, entities, blueprints, integrations, webhooks.
//!
//! One [`PortClient`] per integration process: it is cheap to clone, caches its access token,
//! retries what is safe to send twice (and rate-limited requests of any method), and bounds how
//! many requests are in flight at once.

mod auth;
mod blueprints;
mod chunking;
mod entities;
mod error;
mod integration;
pub mod masking;
mod retry;
mod webhooks;

pub use chunking::BulkLimits;
pub use entities::{
    BulkDeleteOutcome, BulkUpsertOutcome, DeleteFailure, DeleteOptions, EntityUpsert, EventInfo,
    UpsertFailure, UpsertOptions, UpsertStatus,
};
pub use error::PortError;
pub use integration::{ResyncRequest, SKIP_RESYNC_HEADER};
pub use retry::RetryPolicy;

use crate::config::Secret;
use crate::port::datasource::Datasource;
use bytes::Bytes;
use error::ErrorDetail;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

/// The default Port API address.
pub const DEFAULT_BASE_URL: &str = "https://api.getport.io";

/// Everything a [`PortClient`] needs.
#[derive(Debug, Clone)]
pub struct PortClientConfig {
    /// Port's API address without `/v1`, e.g. `https://api.getport.io`.
    pub base_url: String,
    /// The Port client id.
    pub client_id: Secret,
    /// The Port client secret.
    pub client_secret: Secret,
    /// Who writes: sent as the user agent and recorded by Port as the entity datasource.
    pub datasource: Datasource,
    /// Timeout of one HTTP round trip.
    pub timeout: Duration,
    /// How requests are retried (see [`RetryPolicy`] for which).
    pub retry: RetryPolicy,
    /// Most requests in flight at once, across every caller of this client.
    pub max_concurrency: usize,
    /// Chunk sizes of bulk calls and datasource paging.
    pub bulk: BulkLimits,
}

impl PortClientConfig {
    /// A configuration with Port's defaults: 60 s timeout, Port's retry policy, 50 requests in
    /// flight, bulk chunks of 20 entities / 1 MiB.
    pub fn new(
        base_url: impl Into<String>,
        client_id: Secret,
        client_secret: Secret,
        datasource: Datasource,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            client_id,
            client_secret,
            datasource,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            max_concurrency: 50,
            bulk: BulkLimits::default(),
        }
    }
}

/// A client of the Port REST API. Clones share the token cache, the connection pool and the
/// concurrency limit.
#[derive(Clone)]
pub struct PortClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    config: PortClientConfig,
    user_agent: HeaderValue,
    base_user_agent: HeaderValue,
    /// The cached `Authorization` value; the lock makes token fetches single-flight.
    token: Mutex<Option<auth::CachedToken>>,
    /// Bounds requests in flight; a permit is held for one HTTP round trip only, so nested
    /// calls (token fetches, 413 splits) can never wait on their own callers.
    permits: Semaphore,
}

impl fmt::Debug for PortClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("datasource", &self.inner.config.datasource)
            .finish_non_exhaustive()
    }
}

impl PortClient {
    /// Builds a client. Nothing is sent until the first call (the token is fetched lazily).
    pub fn new(config: PortClientConfig) -> Result<Self, PortError> {
        let base_url = Url::parse(&config.base_url).map_err(|e| PortError::InvalidConfig {
            message: format!(
                "base_url must be an absolute http(s) URL, got `{}`: {e}",
                config.base_url
            ),
        })?;
        if base_url.cannot_be_a_base() || !matches!(base_url.scheme(), "http" | "https") {
            return Err(PortError::InvalidConfig {
                message: format!("base_url must be an http(s) URL, got `{}`", config.base_url),
            });
        }
        if !(1..=Semaphore::MAX_PERMITS).contains(&config.max_concurrency) {
            return Err(PortError::InvalidConfig {
                message: format!(
                    "max_concurrency must be between 1 and {}, got {}",
                    Semaphore::MAX_PERMITS,
                    config.max_concurrency
                ),
            });
        }
        let header = |value: String| {
            HeaderValue::from_str(&value).map_err(|_| PortError::InvalidConfig {
                message: format!("the user agent `{value}` is not a valid header value"),
            })
        };
        let user_agent = header(config.datasource.user_agent())?;
        let base_user_agent = header(config.datasource.base_user_agent())?;
        let builder =
            crate::config::tls::client_builder().map_err(|e| PortError::InvalidConfig {
                message: e.to_string(),
            })?;
        let http = builder
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.max_concurrency)
            .build()
            .map_err(|e| PortError::InvalidConfig {
                message: format!("the HTTP client could not be built: {e}"),
            })?;
        let permits = Semaphore::new(config.max_concurrency);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                config,
                user_agent,
                base_user_agent,
                token: Mutex::new(None),
                permits,
            }),
        })
    }

    /// The datasource this client writes as.
    pub fn datasource(&self) -> &Datasource {
        &self.inner.config.datasource
    }

    /// The configuration the client was built from.
    pub fn config(&self) -> &PortClientConfig {
        &self.inner.config
    }

    /// A request to `{base_url}/{segments...}`; each segment is percent-encoded.
    fn request(&self, method: Method, segments: &[&str]) -> Request {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        Request {
            retry: matches!(method, Method::GET | Method::PUT | Method::DELETE),
            method,
            url,
            body: None,
            headers: Vec::new(),
            authenticated: true,
            base_user_agent: false,
        }
    }

    /// Sends a request, refreshing the token once on a 401 and retrying what is retryable.
    /// Returns the first answer that is not retried (which may be an error status).
    async fn execute(&self, req: &Request) -> Result<Answer, PortError> {
        let endpoint = req.endpoint();
        let policy = &self.inner.config.retry;
        let mut authorization = if req.authenticated {
            Some(self.authorization().await?)
        } else {
            None
        };
        let mut refreshed = false;
        let mut sends = 0u32;
        let mut retries = 0u32;
        loop {
            sends += 1;
            let (last_status, last_failure, next_wait) =
                match self.send_once(req, authorization.as_ref(), &endpoint).await {
                    Ok(answer) if answer.status == 401 && authorization.is_some() => {
                        let detail = answer.detail();
                        log_failed(req, answer.status, &detail, None);
                        if refreshed {
                            return Err(PortError::Unauthorized {
                                endpoint,
                                message: detail.message,
                            });
                        }
                        refreshed = true;
                        if let Some(stale) = authorization.take() {
                            authorization = Some(self.refresh_authorization(&stale).await?);
                        }
                        continue;
                    }
                    // A rate-limited request was not processed, so a 429 is retried whatever
                    // the method; other retryable statuses only when sending twice is safe.
                    Ok(answer)
                        if answer.status == 429
                            || (req.retry && retry::is_retryable_status(answer.status)) =>
                    {
                        let detail = answer.detail();
                        let failure = format!("HTTP {}: {}", answer.status, detail.message);
                        let wait = (retries < policy.max_retries)
                            .then(|| policy.delay(retries + 1, Some(&answer.headers)));
                        log_failed(req, answer.status, &detail, wait);
                        (Some(answer.status), failure, wait)
                    }
                    Ok(answer) => {
                        if !answer.is_success() {
                            log_failed(req, answer.status, &answer.detail(), None);
                        }
                        return Ok(answer);
                    }
                    // A connection that was never made cannot have reached Port, so even a
                    // non-idempotent request may be sent again.
                    Err(source) if req.retry || source.is_connect() => {
                        let wait =
                            (retries < policy.max_retries).then(|| policy.delay(retries + 1, None));
                        tracing::warn!(
                            method = %req.method,
                            path = %req.url.path(),
                            error = %source,
                            retry_in_ms = wait.map(|w| w.as_millis() as u64),
                            "Port request failed"
                        );
                        (None, source.to_string(), wait)
                    }
                    Err(source) => {
                        tracing::warn!(
                            method = %req.method,
                            path = %req.url.path(),
                            error = %source,
                            "Port request failed"
                        );
                        return Err(PortError::Transport { endpoint, source });
                    }
                };
            let Some(wait) = next_wait else {
                return Err(PortError::RetriesExhausted {
                    endpoint,
                    attempts: sends,
                    last_status,
                    last_failure,
                });
            };
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP round trip, holding a concurrency permit for its duration only.
    async fn send_once(
        &self,
        req: &Request,
        authorization: Option<&Secret>,
        endpoint: &str,
    ) -> Result<Answer, reqwest::Error> {
        // The semaphore is never closed, so acquiring cannot fail; a failure would only mean
        // running without the limit.
        let _permit = self.inner.permits.acquire().await.ok();
        let user_agent = if req.base_user_agent {
            &self.inner.base_user_agent
        } else {
            &self.inner.user_agent
        };
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), req.url.clone())
            .header(USER_AGENT, user_agent.clone());
        if let Some(auth) = authorization {
            builder = builder.header(AUTHORIZATION, auth.expose());
        }
        for (name, value) in &req.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
            endpoint: endpoint.to_owned(),
        })
    }

    /// Sends `req` and decodes the field `field` of a 2xx JSON answer; anything else becomes the
    /// typed error, with `what` naming the resource for a 404.
    async fn call_for<T: DeserializeOwned>(
        &self,
        req: &Request,
        field: &'static str,
        what: impl FnOnce() -> String,
    ) -> Result<T, PortError> {
        let answer = self.execute(req).await?;
        if !answer.is_success() {
            return Err(answer.error(what()));
        }
        answer.field(field)
    }
}

/// One request to Port, ready to be sent as many times as the retry policy allows.
///
/// Deliberately not `Debug`: the token request's body holds the client secret.
#[derive(Clone)]
struct Request {
    method: Method,
    url: Url,
    body: Option<Bytes>,
    /// Extra headers of this request.
    headers: Vec<(&'static str, &'static str)>,
    /// Safe to send again after a failure that may have reached Port. A 429 and a connection
    /// that was never made are retried whatever this says: Port did not process the request.
    retry: bool,
    authenticated: bool,
    /// Send the user agent without the feature (only the token endpoint does).
    base_user_agent: bool,
}

impl Request {
    fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }

    fn query(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, PortError> {
        let bytes = serde_json::to_vec(body).map_err(|e| PortError::InvalidConfig {
            message: format!("the request body could not be serialized: {e}"),
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn raw_body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks a request as retryable although its method is not idempotent (Port's upserts,
    /// bulk deletes, searches and the token endpoint are safe to repeat).
    fn retryable(mut self) -> Self {
        self.retry = true;
        self
    }
}

/// A response read in full. Not `Debug`: the token answer holds the access token.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    endpoint: String,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn detail(&self) -> ErrorDetail {
        ErrorDetail::parse(&self.body)
    }

    fn error(&self, what: String) -> PortError {
        PortError::from_status(self.status, &self.body, &self.endpoint, what)
    }

    fn decode_error(&self, expected: &'static str, message: impl fmt::Display) -> PortError {
        PortError::Decode {
            endpoint: self.endpoint.clone(),
            expected,
            message: message.to_string(),
        }
    }

    fn json<T: DeserializeOwned>(&self, expected: &'static str) -> Result<T, PortError> {
        serde_json::from_slice(&self.body).map_err(|e| self.decode_error(expected, e))
    }

    /// Decodes one top-level field, e.g. `integration` of `{"ok": true, "integration": {...}}`.
    fn field<T: DeserializeOwned>(&self, field: &'static str) -> Result<T, PortError> {
        let mut value: serde_json::Value = self.json("a JSON object")?;
        let inner = value
            .get_mut(field)
            .map(serde_json::Value::take)
            .ok_or_else(|| {
                self.decode_error(
                    "a JSON object",
                    format_args!("the field `{field}` is missing"),
                )
            })?;
        serde_json::from_value(inner)
            .map_err(|e| self.decode_error("a JSON object", format_args!("field `{field}`: {e}")))
    }
}

fn log_failed(req: &Request, status: u16, detail: &ErrorDetail, retry_in: Option<Duration>) {
    let retry_in_ms = retry_in.map(|w| w.as_millis() as u64);
    if status == 404 {
        tracing::debug!(
            status,
            method = %req.method,
            path = %req.url.path(),
            error = %detail.code,
            port_message = %detail.message,
            "Port request failed"
        );
    } else {
        tracing::warn!(
            status,
            method = %req.method,
            path = %req.url.path(),
            error = %detail.code,
            port_message = %detail.message,
            retry_in_ms,
            "Port request failed"
        );
    }
}
