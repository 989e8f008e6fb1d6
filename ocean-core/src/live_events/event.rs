//! A webhook event as received, and what a processor returns for it.

use crate::RawItem;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parsed JSON body of a webhook.
pub type Payload = Value;

/// One incoming webhook: the parsed payload, the headers, the raw body bytes (for signature
/// checks) and when it arrived. Cheap to clone.
#[derive(Clone)]
pub struct WebhookEvent {
    inner: Arc<EventInner>,
}

struct EventInner {
    trace_id: String,
    path: String,
    payload: Payload,
    headers: BTreeMap<String, String>,
    raw_body: Bytes,
    received_at: DateTime<Utc>,
}

impl WebhookEvent {
    /// An event received on `path` (the registered path, e.g. `/webhook`). Header names are
    /// stored lower-case.
    pub fn new(
        trace_id: impl Into<String>,
        path: impl Into<String>,
        payload: Payload,
        headers: impl IntoIterator<Item = (String, String)>,
        raw_body: Bytes,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            inner: Arc::new(EventInner {
                trace_id: trace_id.into(),
                path: path.into(),
                payload,
                headers: headers
                    .into_iter()
                    .map(|(mut k, v)| {
                        k.make_ascii_lowercase();
                        (k, v)
                    })
                    .collect(),
                raw_body,
                received_at,
            }),
        }
    }

    /// A unique id of this event (returned to the sender as `eventId`).
    pub fn trace_id(&self) -> &str {
        &self.inner.trace_id
    }

    /// The registered path it arrived on.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The parsed JSON body.
    pub fn payload(&self) -> &Payload {
        &self.inner.payload
    }

    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// All headers, names lower-case.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.inner.headers
    }

    /// The body exactly as received: verify signatures over these bytes.
    pub fn raw_body(&self) -> &[u8] {
        &self.inner.raw_body
    }

    /// When the event was received.
    pub fn received_at(&self) -> DateTime<Utc> {
        self.inner.received_at
    }
}

/// Header names, never values (they may carry tokens), and no body (it may carry data the
/// sender considers private).
impl std::fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEvent")
            .field("trace_id", &self.inner.trace_id)
            .field("path", &self.inner.path)
            .field("headers", &self.inner.headers.keys().collect::<Vec<_>>())
            .field("raw_body_len", &self.inner.raw_body.len())
            .field("received_at", &self.inner.received_at)
            .finish_non_exhaustive()
    }
}

/// Whether a header carries a credential (its value is never stored or printed).
pub(crate) fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["token", "secret", "password", "api-key", "apikey"]
        .iter()
        .any(|word| name.contains(word))
}

impl crate::signature::HeaderSource for WebhookEvent {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.header(name).map(str::as_bytes)
    }
}

/// What a processor found for one resource: raw items to upsert (fresh third-party data) and
/// raw items whose entities should be deleted. Both are mapped with the resource's mapping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookEventRawResults {
    /// Raw items to map and upsert. Items the selector rejects become deletions.
    pub updated_raw_results: Vec<RawItem>,
    /// Raw items to map and delete (only entities this integration owns are deleted).
    pub deleted_raw_results: Vec<RawItem>,
}

impl WebhookEventRawResults {
    /// Results with items to upsert.
    pub fn updated(items: Vec<RawItem>) -> Self {
        Self {
            updated_raw_results: items,
            deleted_raw_results: Vec::new(),
        }
    }

    /// Results with items to delete.
    pub fn deleted(items: Vec<RawItem>) -> Self {
        Self {
            updated_raw_results: Vec::new(),
            deleted_raw_results: items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_header_names_but_no_values_or_body() {
        let event = WebhookEvent::new(
            "t1",
            "/webhook",
            serde_json::json!({"card": "4111"}),
            [("Authorization".to_owned(), "Bearer hunter2".to_owned())],
            Bytes::from_static(b"{\"card\": \"4111\"}"),
            Utc::now(),
        );
        let debug = format!("{event:?}");
        assert!(debug.contains("authorization"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("4111"),
            "{debug}"
        );
    }

    #[test]
    fn credential_headers_are_recognised() {
        for name in [
            "Authorization",
            "X-Gitlab-Token",
            "x-api-key",
            "X-Webhook-Secret",
            "cookie",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in [
            "x-hub-signature-256",
            "x-port-signature",
            "content-type",
            "x-github-event",
        ] {
            assert!(!is_credential_header(name), "{name}");
        }
    }

    fn sample() -> WebhookEvent {
        WebhookEvent::new(
            "trace-1",
            "/webhook",
            serde_json::json!({"action": "opened", "n": 1}),
            [("X-Hub-Signature-256".to_owned(), "sha256=abc".to_owned())],
            Bytes::from_static(b"{\"action\": \"opened\", \"n\": 1}"),
            DateTime::parse_from_rfc3339("2024-05-01T12:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    // Reference §4.1 case 2 (`from_dict` copies the given fields).
    #[test]
    fn new_keeps_every_field_it_is_given() {
        let event = sample();
        assert_eq!(event.trace_id(), "trace-1");
        assert_eq!(event.path(), "/webhook");
        assert_eq!(
            event.payload(),
            &serde_json::json!({"action": "opened", "n": 1})
        );
        assert_eq!(event.header("X-HUB-SIGNATURE-256"), Some("sha256=abc"));
        assert_eq!(
            event.received_at().to_rfc3339(),
            "2024-05-01T12:30:00+00:00"
        );
    }

    // Reference §4.1 case 3 and §4.2 case 12. The event is immutable, so a clone may share
    // it: it has the same trace id, payload, headers, raw body and arrival time.
    #[test]
    fn a_clone_has_the_same_fields_and_arrival_time() {
        let event = sample();
        let clone = event.clone();
        assert_eq!(clone.trace_id(), event.trace_id());
        assert_eq!(clone.payload(), event.payload());
        assert_eq!(clone.headers(), event.headers());
        assert_eq!(clone.raw_body(), event.raw_body());
        assert_eq!(clone.received_at(), event.received_at());
    }

    // Reference §4.1 cases 6, 7 and 8 (`WebhookRequestAdapter`): the raw body is exactly the
    // bytes received, every time it is read, next to the headers a signature check needs.
    #[test]
    fn the_raw_body_is_the_exact_bytes_on_every_read() {
        let raw: &[u8] = b"{\"action\": \"opened\", \"n\": 1}";
        let event = sample();
        assert_eq!(event.raw_body(), raw);
        assert_eq!(event.raw_body(), event.raw_body());
        assert_eq!(
            event
                .headers()
                .get("x-hub-signature-256")
                .map(String::as_str),
            Some("sha256=abc")
        );
    }
}
