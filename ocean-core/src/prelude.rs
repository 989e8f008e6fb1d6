//! Everything an integration author needs, in one import: `use ocean::prelude::*;`.

pub use crate::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
pub use crate::mapping::ResourceConfig;
pub use crate::{Context, Error, FromContext, RawItem, Result, Stream, bail, stream, try_stream};
pub use crate::{on_resync, on_start, run, webhook_processor};
pub use futures::StreamExt as _;
pub use serde::Deserialize;
pub use serde_json::json;
