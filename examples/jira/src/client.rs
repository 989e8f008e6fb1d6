//! A small Jira Cloud REST client: projects, issues and webhooks, with basic auth
//! (`email:token`), sent through Ocean's third-party client, which retries transient failures
//! (429 always; 5xx and transport errors of GETs) and keeps within each host's limits.
//!
//! Issues are listed with `GET /rest/api/3/search/jql` and its `nextPageToken` pagination,
//! the endpoint Jira Cloud serves today (the older `startAt`-paginated `/rest/api/3/search` is
//! being removed by Atlassian). Projects are listed with `GET /rest/api/3/project/search`
//! (`startAt`/`maxResults`/`isLast`), expanded with `insight` for the issue counts the mapping
//! reads.

use crate::config::JiraConfig;
use futures::Stream;
use ocean::config::Secret;
use ocean::http::ThirdPartyClient;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

/// Projects asked for per page.
pub const PROJECT_PAGE_SIZE: u32 = 50;
/// Issues asked for per page.
pub const ISSUE_PAGE_SIZE: u32 = 100;
/// The issue fields fetched when the selector names none.
pub const DEFAULT_ISSUE_FIELDS: &str = "*all";

/// Why a Jira call failed.
#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    /// The request did not get an answer (connection, timeout, broken body).
    #[error("Jira request {method} {path} failed: {message}")]
    Transport {
        /// The HTTP method.
        method: Method,
        /// The path asked for (no host, no query).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Jira answered with an error status.
    #[error("Jira answered {status} to {method} {path}: {detail}")]
    Status {
        /// The HTTP method.
        method: Method,
        /// The path asked for.
        path: String,
        /// The status code.
        status: u16,
        /// Jira's error messages, or the start of the body.
        detail: String,
    },
    /// Jira answered 2xx with a body of the wrong shape.
    #[error(
        "Jira's answer to {method} {path} is not what was expected: expected {expected}, got {got}"
    )]
    Unexpected {
        /// The HTTP method.
        method: Method,
        /// The path asked for.
        path: String,
        /// What the client needs.
        expected: &'static str,
        /// What came, shortened.
        got: String,
    },
    /// A path could not be joined to the Jira host.
    #[error("cannot build a Jira URL from the host {host} and the path {path}: {message}")]
    Url {
        /// The configured host.
        host: String,
        /// The path.
        path: String,
        /// The parse error.
        message: String,
    },
}

impl JiraError {
    /// Whether another attempt later may succeed: transport failures, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            JiraError::Transport { .. } => true,
            JiraError::Status { status, .. } => is_retryable_status(*status),
            JiraError::Unexpected { .. } | JiraError::Url { .. } => false,
        }
    }

    /// The error as an [`ocean::Error`], marked retryable when [`Self::is_retryable`].
    pub fn into_ocean(self) -> ocean::Error {
        if self.is_retryable() {
            ocean::Error::retryable(self)
        } else {
            ocean::Error::from(self)
        }
    }
}

fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Which issues to list: a JQL query and the fields to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueQuery {
    /// The JQL.
    pub jql: String,
    /// Comma-separated field names (`*all`, `*navigable`, `summary,status`, ...).
    pub fields: String,
}

impl IssueQuery {
    /// `jql` with every field.
    pub fn new(jql: impl Into<String>) -> Self {
        Self {
            jql: jql.into(),
            fields: DEFAULT_ISSUE_FIELDS.to_owned(),
        }
    }
}

/// A Jira REST client. Cheap to clone (the connection pool, the per-host limits and the rate
/// budget are shared).
#[derive(Clone)]
pub struct JiraClient {
    http: ThirdPartyClient,
    host: Url,
    email: String,
    token: Secret,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient")
            .field("host", &self.host.as_str())
            .field("email", &self.email)
            .field("max_retries", &self.http.max_retries())
            .finish_non_exhaustive()
    }
}

impl JiraClient {
    /// A client for the site and credentials of `config`, sending through `http` with
    /// `config.request_retries` retries per request.
    pub fn new(http: &ThirdPartyClient, config: &JiraConfig) -> Self {
        Self {
            http: http.with_max_retries(config.request_retries),
            host: config.jira_host.clone(),
            email: config.atlassian_user_email.clone(),
            token: config.atlassian_user_token.clone(),
        }
    }

    /// The client of a handler or processor: the integration's [`JiraConfig`] over the
    /// context's HTTP connection pool, with Ocean's default retry and per-host limits.
    pub fn from_context(ctx: &ocean::Context) -> ocean::Result<Self> {
        Ok(Self::new(ctx.http(), ctx.config::<JiraConfig>()?))
    }

    /// The Jira site.
    pub fn host(&self) -> &Url {
        &self.host
    }

    fn url(&self, path: &str) -> Result<Url, JiraError> {
        let joined = format!("{}{path}", self.host.as_str().trim_end_matches('/'));
        Url::parse(&joined).map_err(|e| JiraError::Url {
            host: self.host.to_string(),
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// One call (the client retries what is worth retrying). `Ok(None)` is a 404.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Option<Value>, JiraError> {
        let url = self.url(path)?;
        let path = url.path().to_owned();
        let transport = |e: reqwest::Error| JiraError::Transport {
            method: method.clone(),
            path: path.clone(),
            message: e.without_url().to_string(),
        };
        let mut request = self
            .http
            .request(method.clone(), url)
            .basic_auth(&self.email, Some(self.token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(JiraError::Status {
                method,
                path,
                status: status.as_u16(),
                detail: error_detail(&text),
            });
        }
        if text.trim().is_empty() {
            return Ok(Some(Value::Null));
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| JiraError::Unexpected {
                method,
                path,
                expected: "a JSON body",
                got: shorten(&text),
            })
    }

    /// Every project, one batch per page, each with `insight` (issue counts).
    pub fn projects(&self) -> impl Stream<Item = Result<Vec<Value>, JiraError>> + Send + 'static {
        let client = self.clone();
        async_stream_pages(move |start_at: u64| {
            let client = client.clone();
            async move { client.project_page(start_at).await }
        })
    }

    async fn project_page(&self, start_at: u64) -> Result<(Vec<Value>, Option<u64>), JiraError> {
        const PATH: &str = "/rest/api/3/project/search";
        let start = start_at.to_string();
        let size = PROJECT_PAGE_SIZE.to_string();
        let query = [
            ("startAt", start.as_str()),
            ("maxResults", size.as_str()),
            ("expand", "insight"),
        ];
        let page = self
            .call(Method::GET, PATH, &query, None)
            .await?
            .ok_or_else(|| not_found(PATH))?;
        let values = array_field(&page, "values", PATH)?;
        let seen = start_at + values.len() as u64;
        let last = match page.get("isLast").and_then(Value::as_bool) {
            Some(last) => last,
            None => match page.get("total").and_then(Value::as_u64) {
                Some(total) => seen >= total,
                None => values.is_empty(),
            },
        };
        let next = (!last && !values.is_empty()).then_some(seen);
        Ok((values, next))
    }

    /// One project by key or id (with `insight`); `None` when Jira does not know it.
    pub async fn project(&self, key: &str) -> Result<Option<Value>, JiraError> {
        let path = format!("/rest/api/3/project/{}", path_segment(key));
        self.call(Method::GET, &path, &[("expand", "insight")], None)
            .await
    }

    /// The issues `query` finds, one batch per page (`nextPageToken` pagination).
    pub fn issues(
        &self,
        query: IssueQuery,
    ) -> impl Stream<Item = Result<Vec<Value>, JiraError>> + Send + 'static {
        let client = self.clone();
        ocean::try_stream! {
            let mut token: Option<String> = None;
            loop {
                let (issues, next) = client.issue_page(&query, token.as_deref()).await?;
                if !issues.is_empty() {
                    yield issues;
                }
                match next {
                    Some(next) if token.as_deref() == Some(next.as_str()) => {
                        Err(JiraError::Unexpected {
                            method: Method::GET,
                            path: ISSUE_SEARCH.to_owned(),
                            expected: "a new nextPageToken on every page",
                            got: "the same token twice".to_owned(),
                        })?;
                    }
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
    }

    async fn issue_page(
        &self,
        query: &IssueQuery,
        token: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), JiraError> {
        let size = ISSUE_PAGE_SIZE.to_string();
        let mut params = vec![
            ("jql", query.jql.as_str()),
            ("fields", query.fields.as_str()),
            ("maxResults", size.as_str()),
        ];
        if let Some(token) = token {
            params.push(("nextPageToken", token));
        }
        let page = self
            .call(Method::GET, ISSUE_SEARCH, &params, None)
            .await?
            .ok_or_else(|| not_found(ISSUE_SEARCH))?;
        let issues = array_field(&page, "issues", ISSUE_SEARCH)?;
        let last = page.get("isLast").and_then(Value::as_bool).unwrap_or(false);
        let next = page
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty() && !last)
            .map(str::to_owned);
        Ok((issues, next))
    }

    /// One issue by key or id with `fields`; `None` when Jira does not know it (or hides it).
    pub async fn issue(&self, key: &str, fields: &str) -> Result<Option<Value>, JiraError> {
        let path = format!("/rest/api/3/issue/{}", path_segment(key));
        self.call(Method::GET, &path, &[("fields", fields)], None)
            .await
    }

    /// The webhooks registered on the site (`GET /rest/webhooks/1.0/webhook`).
    pub async fn webhooks(&self) -> Result<Vec<Value>, JiraError> {
        match self.call(Method::GET, WEBHOOKS, &[], None).await? {
            Some(Value::Array(hooks)) => Ok(hooks),
            Some(other) => Err(JiraError::Unexpected {
                method: Method::GET,
                path: WEBHOOKS.to_owned(),
                expected: "a JSON array of webhooks",
                got: shorten(&other.to_string()),
            }),
            None => Err(not_found(WEBHOOKS)),
        }
    }

    /// Registers a webhook (`POST /rest/webhooks/1.0/webhook`) and returns Jira's answer.
    pub async fn create_webhook(&self, webhook: &Value) -> Result<Value, JiraError> {
        self.call(Method::POST, WEBHOOKS, &[], Some(webhook))
            .await?
            .ok_or_else(|| not_found(WEBHOOKS))
    }
}

const ISSUE_SEARCH: &str = "/rest/api/3/search/jql";
const WEBHOOKS: &str = "/rest/webhooks/1.0/webhook";

/// Pages by `startAt`: `page(start)` gives the items and the next start, `None` at the end.
fn async_stream_pages<F, Fut>(
    page: F,
) -> impl Stream<Item = Result<Vec<Value>, JiraError>> + Send + 'static
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(Vec<Value>, Option<u64>), JiraError>> + Send,
{
    ocean::try_stream! {
        let mut start = Some(0u64);
        while let Some(at) = start {
            let (items, next) = page(at).await?;
            if !items.is_empty() {
                yield items;
            }
            // A server repeating a start would loop forever.
            start = next.filter(|n| *n > at);
        }
    }
}

fn not_found(path: &str) -> JiraError {
    JiraError::Status {
        method: Method::GET,
        path: path.to_owned(),
        status: 404,
        detail: "the endpoint does not exist on this Jira site".to_owned(),
    }
}

fn array_field(page: &Value, field: &'static str, path: &str) -> Result<Vec<Value>, JiraError> {
    match page.get(field) {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(JiraError::Unexpected {
            method: Method::GET,
            path: path.to_owned(),
            expected: match field {
                "values" => "an object with a `values` array",
                _ => "an object with an `issues` array",
            },
            got: shorten(&page.to_string()),
        }),
    }
}

/// Percent-encodes a key or id for use as one path segment.
fn path_segment(key: &str) -> String {
    url::form_urlencoded::byte_serialize(key.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    let mut short: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        short.push('…');
    }
    short
}

/// Jira's `{"errorMessages": [...], "errors": {...}}`, flattened; else the start of the body.
fn error_detail(body: &str) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
        return shorten(body.trim());
    };
    let mut parts: Vec<String> = map
        .get("errorMessages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if let Some(Value::Object(errors)) = map.get("errors") {
        parts.extend(errors.iter().map(|(field, message)| match message {
            Value::String(text) => format!("{field}: {text}"),
            other => format!("{field}: {other}"),
        }));
    }
    if parts.is_empty() {
        shorten(body.trim())
    } else {
        shorten(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transport_errors_429_and_5xx_are_retryable() {
        let status = |status| JiraError::Status {
            method: Method::GET,
            path: "/x".into(),
            status,
            detail: String::new(),
        };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(status(502).into_ocean().is_retryable());
        assert!(!status(403).into_ocean().is_retryable());
    }

    #[test]
    fn error_detail_flattens_jira_error_bodies() {
        let body = r#"{"errorMessages":["The value 'NOPE' does not exist for the field 'project'."],"errors":{"jql":"bad"}}"#;
        assert_eq!(
            error_detail(body),
            "The value 'NOPE' does not exist for the field 'project'.; jql: bad"
        );
        assert_eq!(
            error_detail("<html>Bad gateway</html>"),
            "<html>Bad gateway</html>"
        );
    }

    #[test]
    fn keys_are_escaped_as_one_path_segment() {
        assert_eq!(path_segment("PROJ-1"), "PROJ-1");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn debug_shows_neither_the_token() {
        let config = JiraConfig::new(
            Url::parse("https://example.atlassian.net").unwrap(),
            "bot@example.com",
            "very-secret-token",
        );
        let http = ThirdPartyClient::new(ocean::http::HttpClientOptions::default()).unwrap();
        let client = JiraClient::new(&http, &config);
        let debug = format!("{client:?}");
        assert!(!debug.contains("very-secret-token"), "{debug}");
        assert!(debug.contains("example.atlassian.net"), "{debug}");
    }
}
