//! A dyn-compatible view of [`WebhookProcessor`], so processors of different types can be kept
//! together (the trait's `impl Future` methods are not object safe).

use super::event::{Payload, WebhookEvent, WebhookEventRawResults};
use super::processor::{ProcessorRetryPolicy, WebhookProcessor};
use crate::mapping::ResourceConfig;
use crate::{Context, Error, Result};
use futures::future::BoxFuture;
use std::time::Duration;

/// [`WebhookProcessor`] with boxed futures. Implemented for every `WebhookProcessor`.
pub trait DynWebhookProcessor: Send + Sync + 'static {
    /// See [`WebhookProcessor::should_process_event`].
    fn should_process_event<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, bool>;
    /// See [`WebhookProcessor::get_matching_kinds`].
    fn get_matching_kinds<'a>(
        &'a self,
        event: &'a WebhookEvent,
        declared: &'static [&'static str],
    ) -> BoxFuture<'a, Vec<String>>;
    /// See [`WebhookProcessor::authenticate`].
    fn authenticate<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, Result<bool>>;
    /// See [`WebhookProcessor::validate_payload`].
    fn validate_payload<'a>(&'a self, payload: &'a Payload) -> BoxFuture<'a, Result<bool>>;
    /// See [`WebhookProcessor::handle_event`].
    fn handle_event<'a>(
        &'a self,
        payload: &'a Payload,
        resource: &'a ResourceConfig,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<WebhookEventRawResults>>;
    /// See [`WebhookProcessor::before_processing`].
    fn before_processing<'a>(
        &'a self,
        event: &'a WebhookEvent,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<()>>;
    /// See [`WebhookProcessor::after_processing`].
    fn after_processing<'a>(
        &'a self,
        event: &'a WebhookEvent,
        results: &'a WebhookEventRawResults,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<()>>;
    /// See [`WebhookProcessor::on_error`].
    fn on_error<'a>(
        &'a self,
        event: &'a WebhookEvent,
        error: &'a Error,
        attempt: u32,
    ) -> BoxFuture<'a, ()>;
    /// See [`WebhookProcessor::cancel`].
    fn cancel<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, ()>;
    /// See [`WebhookProcessor::should_retry`].
    fn should_retry(&self, error: &Error) -> bool;
    /// See [`WebhookProcessor::calculate_retry_delay`].
    fn calculate_retry_delay(&self, retry: u32, policy: &ProcessorRetryPolicy) -> Duration;
    /// See [`WebhookProcessor::group_id`].
    fn group_id(&self, event: &WebhookEvent) -> Option<String>;
    /// See [`WebhookProcessor::not_accepted`].
    fn not_accepted(&self, event: &WebhookEvent);
}

impl<T: WebhookProcessor> DynWebhookProcessor for T {
    fn should_process_event<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, bool> {
        Box::pin(WebhookProcessor::should_process_event(self, event))
    }
    fn get_matching_kinds<'a>(
        &'a self,
        event: &'a WebhookEvent,
        declared: &'static [&'static str],
    ) -> BoxFuture<'a, Vec<String>> {
        Box::pin(WebhookProcessor::get_matching_kinds(self, event, declared))
    }
    fn authenticate<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, Result<bool>> {
        Box::pin(WebhookProcessor::authenticate(self, event))
    }
    fn validate_payload<'a>(&'a self, payload: &'a Payload) -> BoxFuture<'a, Result<bool>> {
        Box::pin(WebhookProcessor::validate_payload(self, payload))
    }
    fn handle_event<'a>(
        &'a self,
        payload: &'a Payload,
        resource: &'a ResourceConfig,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<WebhookEventRawResults>> {
        Box::pin(WebhookProcessor::handle_event(self, payload, resource, ctx))
    }
    fn before_processing<'a>(
        &'a self,
        event: &'a WebhookEvent,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(WebhookProcessor::before_processing(self, event, ctx))
    }
    fn after_processing<'a>(
        &'a self,
        event: &'a WebhookEvent,
        results: &'a WebhookEventRawResults,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(WebhookProcessor::after_processing(
            self, event, results, ctx,
        ))
    }
    fn on_error<'a>(
        &'a self,
        event: &'a WebhookEvent,
        error: &'a Error,
        attempt: u32,
    ) -> BoxFuture<'a, ()> {
        Box::pin(WebhookProcessor::on_error(self, event, error, attempt))
    }
    fn cancel<'a>(&'a self, event: &'a WebhookEvent) -> BoxFuture<'a, ()> {
        Box::pin(WebhookProcessor::cancel(self, event))
    }
    fn should_retry(&self, error: &Error) -> bool {
        WebhookProcessor::should_retry(self, error)
    }
    fn calculate_retry_delay(&self, retry: u32, policy: &ProcessorRetryPolicy) -> Duration {
        WebhookProcessor::calculate_retry_delay(self, retry, policy)
    }
    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        WebhookProcessor::group_id(self, event)
    }
    fn not_accepted(&self, event: &WebhookEvent) {
        WebhookProcessor::not_accepted(self, event);
    }
}

/// A webhook processor registered by `#[webhook_processor]`: `const`-constructible so it can
/// be submitted to `inventory`.
#[derive(Debug, Clone, Copy)]
pub struct WebhookProcessorRegistration {
    /// The path under `/integration` (e.g. `/webhook`).
    pub path: &'static str,
    /// The processor's type name.
    pub name: &'static str,
    /// The kinds given in the attribute (the default matching kinds).
    pub kinds: &'static [&'static str],
    /// The retry policy given in the attribute (defaults otherwise).
    pub retry: ProcessorRetryPolicy,
    /// Source file of the registration.
    pub file: &'static str,
    /// Source line of the registration.
    pub line: u32,
    /// Builds the processor instance from the context, once the configuration is loaded
    /// ([`FromContext`](crate::FromContext): the processor's own constructor, or `Default`).
    pub factory: ProcessorFactory,
}

/// Builds a registered processor from the integration's context.
pub type ProcessorFactory = fn(&Context) -> Result<std::sync::Arc<dyn DynWebhookProcessor>>;

/// The factory `#[webhook_processor]` registers for `T`: `T::from_context`, type-erased.
pub fn processor_factory<T>(ctx: &Context) -> Result<std::sync::Arc<dyn DynWebhookProcessor>>
where
    T: WebhookProcessor + crate::FromContext,
{
    Ok(std::sync::Arc::new(T::from_context(ctx)?))
}

inventory::collect!(WebhookProcessorRegistration);
