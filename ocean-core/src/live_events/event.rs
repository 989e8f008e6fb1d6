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
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    inner: Arc<EventInner>,
}

#[derive(Debug)]
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
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
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
