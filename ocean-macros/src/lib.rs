//! Procedural macros of Ocean for Rust. Use them through the `ocean` crate, which re-exports them.
//!
//! Every macro goes through the same steps: parse the arguments, check them and the annotated
//! function into a model, expand the model. Errors are spanned on what the author wrote; on any
//! error the original item is emitted unchanged next to the `compile_error!`, so the rest of the
//! crate still type-checks. Set `OCEAN_MACROS_DEBUG=1` while building to print the expansions.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod attr;
mod on_resync;
mod on_start;
mod output;
mod run;
mod signature;
mod webhook_processor;

use proc_macro::TokenStream;

/// Registers a resync handler: the function that lists the third party's items of a kind.
///
/// Two shapes are accepted:
///
/// ```ignore
/// use ocean::{Context, RawItem, Result, Stream};
///
/// // One batch.
/// #[ocean::on_resync(kind = "department")]
/// async fn departments(ctx: Context) -> Result<Vec<RawItem>> {
///     Ok(vec![serde_json::json!({"id": "hr"})])
/// }
///
/// // Many batches, typically one per page.
/// #[ocean::on_resync(kind = "person")]
/// fn persons(ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
///     ocean::try_stream! {
///         for page in 0..3 {
///             yield vec![serde_json::json!({"page": page})];
///         }
///     }
/// }
/// ```
///
/// Without `kind` the handler is a catch-all, called for every kind of the mapping. Several
/// handlers may serve one kind; their batches are merged.
#[proc_macro_attribute]
pub fn on_resync(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_resync::on_resync(attr.into(), item.into()).into()
}

/// Registers a start hook, run once when the integration starts.
///
/// ```ignore
/// #[ocean::on_start]
/// async fn check_token(ctx: ocean::Context) -> ocean::Result<()> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn on_start(attr: TokenStream, item: TokenStream) -> TokenStream {
    on_start::on_start(attr.into(), item.into()).into()
}

/// Registers a webhook processor: a struct implementing `ocean::live_events::WebhookProcessor`
/// and `Default`, served on `path` (under `/integration`) for events of `kinds`.
///
/// ```ignore
/// use ocean::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
/// use ocean::mapping::ResourceConfig;
/// use ocean::{Context, Result};
///
/// #[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], max_retries = 5)]
/// #[derive(Default)]
/// struct IssueProcessor;
///
/// impl WebhookProcessor for IssueProcessor {
///     async fn should_process_event(&self, event: &WebhookEvent) -> bool {
///         event.payload().get("issue").is_some()
///     }
///     async fn authenticate(&self, _event: &WebhookEvent) -> Result<bool> {
///         Ok(true)
///     }
///     async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
///         Ok(payload["issue"].get("id").is_some())
///     }
///     async fn handle_event(
///         &self,
///         payload: &Payload,
///         _resource: &ResourceConfig,
///         _ctx: &Context,
///     ) -> Result<WebhookEventRawResults> {
///         Ok(WebhookEventRawResults::updated(vec![payload["issue"].clone()]))
///     }
/// }
/// ```
///
/// Retry knobs, all optional: `max_retries` (default 3), `initial_retry_delay_seconds` (1.0),
/// `max_retry_delay_seconds` (30.0) and `exponential_base_seconds` (2.0, the growth factor).
/// The processor is built once, with `Default::default()`, and serves every event of its path.
#[proc_macro_attribute]
pub fn webhook_processor(attr: TokenStream, item: TokenStream) -> TokenStream {
    webhook_processor::webhook_processor(attr.into(), item.into()).into()
}

/// Defines the integration's `main`: collects what `#[on_resync]` and `#[on_start]` registered
/// and runs the integration, exiting with its status.
///
/// ```ignore
/// ocean::run!();                                   // no integration settings
/// ocean::run!(config = JiraConfig);                // typed settings (`serde::Deserialize`)
/// ocean::run!(config = JiraConfig, crates = [jira_handlers]);
/// ```
///
/// Handlers in the binary crate itself are always found. Handlers in library crates are found
/// only if the library is linked: list those crates in `crates = [...]`.
#[proc_macro]
pub fn run(input: TokenStream) -> TokenStream {
    run::run(input.into()).into()
}
