//! Live events: webhook processors, from the HTTP request to Port.

mod erased;
mod event;
mod processor;

pub use erased::{DynWebhookProcessor, WebhookProcessorRegistration};
pub use event::{Payload, WebhookEvent, WebhookEventRawResults};
pub use processor::{ProcessorRetryPolicy, WebhookProcessor};
