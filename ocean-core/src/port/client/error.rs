//! Errors of the Port client. Messages name the endpoint and what Port said, never a credential.

use crate::port::types::PortErrorBody;
use serde_json::Value;

/// Longest slice of a response body kept in an error, so a huge HTML error page stays readable.
const MAX_BODY_CHARS: usize = 2000;

/// What can go wrong talking to Port.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The client configuration cannot work (for example a base URL that is not a URL).
    #[error("invalid Port client configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// Port did not accept the client id and secret.
    #[error(
        "Port rejected the client credentials (HTTP {status}): {message}; check the client id and client secret"
    )]
    Authentication {
        /// The status Port answered on the token endpoint.
        status: u16,
        /// Port's message.
        message: String,
    },
    /// The resource does not exist (404).
    #[error("{what} was not found in Port")]
    NotFound {
        /// The resource, e.g. "blueprint `service`".
        what: String,
    },
    /// Port rejected the request body or parameters (400 or 422).
    #[error("Port rejected the request to {endpoint} as invalid (HTTP {status}): {message}")]
    Validation {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// 400 or 422.
        status: u16,
        /// Port's message.
        message: String,
        /// Port's full error body when it was JSON.
        body: Option<Value>,
    },
    /// The request conflicts with the current state, e.g. the identifier already exists (409).
    #[error("Port reported a conflict on {endpoint}: {message}")]
    Conflict {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// Port's message.
        message: String,
    },
    /// Port answered 401 even with a freshly fetched token.
    #[error(
        "Port answered 401 Unauthorized on {endpoint} even after refreshing the token: {message}"
    )]
    Unauthorized {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// Port's message.
        message: String,
    },
    /// Any other unexpected status.
    #[error("Port answered HTTP {status} on {endpoint}: {body}")]
    Api {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The response body (truncated).
        body: String,
    },
    /// Every retry of a retryable failure failed too.
    #[error("gave up on {endpoint} after {attempts} attempts; last failure: {last_failure}")]
    RetriesExhausted {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// How many times the request was sent.
        attempts: u32,
        /// The status of the last response, when there was one.
        last_status: Option<u16>,
        /// The last status with Port's message, or the last transport error.
        last_failure: String,
    },
    /// The request did not complete (connection refused, timeout, TLS, ...).
    #[error("request to {endpoint} failed: {source}")]
    Transport {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Port answered 2xx but the body was not what the endpoint returns.
    #[error("unexpected answer from {endpoint}: expected {expected}, {message}")]
    Decode {
        /// `METHOD /path` of the request.
        endpoint: String,
        /// The shape that was expected.
        expected: &'static str,
        /// What went wrong reading it.
        message: String,
    },
}

impl PortError {
    /// The HTTP status behind this error, when there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            PortError::Authentication { status, .. }
            | PortError::Api { status, .. }
            | PortError::Validation { status, .. } => Some(*status),
            PortError::NotFound { .. } => Some(404),
            PortError::Conflict { .. } => Some(409),
            PortError::Unauthorized { .. } => Some(401),
            PortError::RetriesExhausted { last_status, .. } => *last_status,
            _ => None,
        }
    }

    /// Maps a non-2xx answer to the typed error for its status.
    pub(crate) fn from_status(status: u16, body: &[u8], endpoint: &str, what: String) -> Self {
        let detail = ErrorDetail::parse(body);
        match status {
            404 => PortError::NotFound { what },
            400 | 422 => PortError::Validation {
                endpoint: endpoint.to_owned(),
                status,
                message: detail.message,
                body: detail.json,
            },
            409 => PortError::Conflict {
                endpoint: endpoint.to_owned(),
                message: detail.message,
            },
            401 => PortError::Unauthorized {
                endpoint: endpoint.to_owned(),
                message: detail.message,
            },
            _ => PortError::Api {
                endpoint: endpoint.to_owned(),
                status,
                body: truncate(&String::from_utf8_lossy(body)),
            },
        }
    }
}

/// Port's error code and message read from an error body, with a fallback for non-JSON bodies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorDetail {
    /// Port's error code (`not_found`, `conflict`, ...), empty when absent.
    pub code: String,
    /// Port's message, or the body text when it is not Port's JSON error shape.
    pub message: String,
    /// The body as JSON, when it parses.
    pub json: Option<Value>,
}

impl ErrorDetail {
    /// Reads `{ok:false, error, message}`; any other body becomes the message as text.
    pub fn parse(body: &[u8]) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let parsed = json
            .as_ref()
            .and_then(|v| serde_json::from_value::<PortErrorBody>(v.clone()).ok());
        match parsed {
            Some(b) if !b.message.is_empty() || !b.error.is_empty() => Self {
                message: if b.message.is_empty() {
                    b.error.clone()
                } else {
                    b.message
                },
                code: b.error,
                json,
            },
            _ => Self {
                code: String::new(),
                message: truncate(String::from_utf8_lossy(body).trim()),
                json,
            },
        }
    }
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_BODY_CHARS) {
        Some((cut, _)) => format!("{}… (truncated)", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_to_typed_errors_with_port_messages() {
        let body = br#"{"ok":false,"error":"conflict","message":"identifier taken"}"#;
        match PortError::from_status(409, body, "POST /v1/webhooks", "webhook".into()) {
            PortError::Conflict { message, endpoint } => {
                assert_eq!(message, "identifier taken");
                assert_eq!(endpoint, "POST /v1/webhooks");
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let err = PortError::from_status(
            422,
            br#"{"ok":false,"error":"invalid_request","message":"bad url"}"#,
            "e",
            "w".into(),
        );
        assert!(
            matches!(&err, PortError::Validation { message, body: Some(_), .. } if message == "bad url")
        );
        assert!(matches!(
            PortError::from_status(404, b"", "e", "webhook `x`".into()),
            PortError::NotFound { what } if what == "webhook `x`"
        ));
        assert!(matches!(
            PortError::from_status(500, b"boom", "e", "w".into()),
            PortError::Api { status: 500, body, .. } if body == "boom"
        ));
    }

    #[test]
    fn plain_text_and_oversized_bodies_are_kept_readable() {
        let detail = ErrorDetail::parse(b"  upstream exploded \n");
        assert_eq!(detail.message, "upstream exploded");
        assert!(detail.json.is_none());
        let long = "x".repeat(MAX_BODY_CHARS + 50);
        assert!(truncate(&long).ends_with("(truncated)"));
        assert!(truncate(&long).len() < long.len());
    }
}
