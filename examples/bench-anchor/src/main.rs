//! The Rust twin of the benchmark kit's synthetic Python integration (`bench/ocean-anchor`):
//! the same deterministic "person" items, the same mapping, and the same `/webhook` processor,
//! so both implementations can be measured under one harness.
//!
//! Resync: kind `person`, `OCEAN__INTEGRATION__CONFIG__ITEM_COUNT` items (default 10,000) in
//! batches of `OCEAN__INTEGRATION__CONFIG__BATCH_SIZE` (default 1,000).
//! Live events: `POST /integration/webhook` with `{"person": {...}}`; the person is the fresh
//! data (no fetch).

mod items;

use ocean::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
use ocean::mapping::ResourceConfig;
use ocean::{Context, RawItem, Result, Stream, on_resync, run, try_stream, webhook_processor};
use serde::Deserialize;

/// The integration's settings.
#[derive(Debug, Deserialize)]
struct BenchConfig {
    /// How many person items the resync yields.
    #[serde(default = "default_item_count")]
    item_count: u64,
    /// Items per yielded batch (a third-party "page").
    #[serde(default = "default_batch_size")]
    batch_size: u64,
}

fn default_item_count() -> u64 {
    10_000
}

fn default_batch_size() -> u64 {
    1_000
}

#[on_resync(kind = "person")]
fn persons(ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    try_stream! {
        let config = ctx.config::<BenchConfig>()?;
        let (total, batch) = (config.item_count, config.batch_size.max(1));
        let mut start = 0;
        while start < total {
            let stop = total.min(start + batch);
            yield (start..stop).map(items::make_person).collect::<Vec<_>>();
            start = stop;
        }
    }
}

/// Accepts `{"person": {...}}` events and upserts the person as sent.
///
/// It authenticates nothing, like the Python twin it is measured against: a real integration
/// verifies a signature in `authenticate` (see `ocean::signature`).
#[webhook_processor(path = "/webhook", kinds = ["person"])]
#[derive(Debug, Default)]
struct PersonWebhookProcessor;

impl WebhookProcessor for PersonWebhookProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        event
            .payload()
            .get("person")
            .is_some_and(serde_json::Value::is_object)
    }

    async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
        Ok(true)
    }

    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(payload["person"].get("id").is_some())
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        Ok(WebhookEventRawResults::updated(vec![
            payload["person"].clone(),
        ]))
    }
}

run!(config = BenchConfig);
