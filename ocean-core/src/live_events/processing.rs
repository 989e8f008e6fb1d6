//! Processing a batch: every event's processors run concurrently on every resource of their
//! kinds, with timeout and retries (state per event and resource), then the results are mapped
//! and applied together and each event succeeds or is dead-lettered on its own.

use super::app_config::CompiledConfig;
use super::builder::RegisteredProcessor;
use super::dead_letter::{DeadLetter, DeadLetterFailure, StoredEvent};
use super::event::{WebhookEvent, WebhookEventRawResults};
use super::queue::{Delivery, QueuedEvent};
use super::state::{Inner, PathState};
use super::stats::bump;
use crate::Error;
use crate::mapping::ResourceConfig;
use chrono::Utc;
use futures::future::join_all;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tracing::Instrument;

/// How one (processor, resource) run ended.
type PairOutcome = Result<(usize, WebhookEventRawResults), DeadLetterFailure>;

/// What running an event's processors produced: results to apply, and what failed.
pub(super) struct Handled {
    results: Vec<(usize, WebhookEventRawResults)>,
    failures: Vec<DeadLetterFailure>,
}

impl Inner {
    pub(super) async fn dead_letter(&self, queued: &QueuedEvent, failures: Vec<DeadLetterFailure>) {
        bump(&self.stats.dead_lettered);
        let letter = DeadLetter {
            id: uuid::Uuid::new_v4().to_string(),
            event: StoredEvent::from_event(&queued.event, queued.group.clone()),
            processors: queued.processors.clone(),
            failures,
            dead_lettered_at: Utc::now(),
        };
        tracing::error!(
            dead_letter = %letter.id,
            trace_id = %queued.event.trace_id(),
            failures = letter.failures.len(),
            "live event dead-lettered"
        );
        if let Err(e) = self.dead_letters.add(letter).await {
            tracing::error!(error = %e, "could not store a dead letter");
        }
    }

    pub(super) async fn abandon(&self, state: &PathState, queued: &QueuedEvent) {
        let processors = matched(state, queued);
        join_all(processors.iter().map(|p| p.processor.cancel(&queued.event))).await;
        let failures = processors
            .iter()
            .map(|p| DeadLetterFailure {
                processor: Some(p.registration.name.to_owned()),
                kind: None,
                error: "abandoned at shutdown".into(),
                attempts: 0,
            })
            .collect();
        self.dead_letter(queued, failures).await;
    }

    /// Processes a batch of events: every event's processors run concurrently (each event
    /// with its own retries), then all results are mapped and written to Port together, and
    /// each event is marked processed or dead-lettered on its own outcome.
    pub(super) async fn process_batch(&self, state: &PathState, batch: &[Delivery]) {
        let compiled = match self.applier.current().await {
            Ok(compiled) => compiled,
            Err(e) => {
                for delivery in batch {
                    let failure = DeadLetterFailure {
                        processor: None,
                        kind: None,
                        error: e.to_string(),
                        attempts: 0,
                    };
                    self.dead_letter(&delivery.queued, vec![failure]).await;
                }
                return;
            }
        };
        let handled: Vec<Handled> = join_all(batch.iter().map(|delivery| {
            let queued = &delivery.queued;
            let span = tracing::debug_span!("live_event", trace_id = %queued.event.trace_id());
            self.handle(state, queued, &compiled).instrument(span)
        }))
        .await;
        let (results, mut failures): (Vec<_>, Vec<_>) =
            handled.into_iter().map(|h| (h.results, h.failures)).unzip();
        let has_results: Vec<bool> = results.iter().map(|r| !r.is_empty()).collect();
        if has_results.iter().any(|&r| r) {
            match self.applier.apply_results_batch(compiled, results).await {
                Ok(reports) => {
                    for (report, failures) in reports.into_iter().zip(failures.iter_mut()) {
                        if !report.is_ok() {
                            failures.push(DeadLetterFailure {
                                processor: None,
                                kind: None,
                                error: report.failures.join("; "),
                                attempts: 1,
                            });
                        }
                    }
                }
                Err(e) => {
                    for (failures, _) in failures.iter_mut().zip(&has_results).filter(|(_, r)| **r)
                    {
                        failures.push(DeadLetterFailure {
                            processor: None,
                            kind: None,
                            error: e.to_string(),
                            attempts: 1,
                        });
                    }
                }
            }
        }
        let mut processed = 0;
        for (delivery, failures) in batch.iter().zip(failures) {
            if failures.is_empty() {
                processed += 1;
                tracing::debug!(trace_id = %delivery.queued.event.trace_id(), "live event processed");
            } else {
                self.dead_letter(&delivery.queued, failures).await;
            }
        }
        self.stats.processed.fetch_add(processed, Ordering::Relaxed);
        tracing::debug!(events = batch.len(), processed, "live-event batch done");
    }

    /// Runs the processors that accepted one event.
    async fn handle(
        &self,
        state: &PathState,
        queued: &QueuedEvent,
        compiled: &Arc<CompiledConfig>,
    ) -> Handled {
        let processors = matched(state, queued);
        let mut failures: Vec<DeadLetterFailure> = queued
            .processors
            .iter()
            .filter(|name| {
                !processors
                    .iter()
                    .any(|p| p.registration.name == name.as_str())
            })
            .map(|name| DeadLetterFailure {
                processor: Some(name.clone()),
                kind: None,
                error: format!("no processor `{name}` is registered on this path"),
                attempts: 0,
            })
            .collect();
        let outcomes = join_all(
            processors
                .iter()
                .map(|p| self.run_processor(p, &queued.event, compiled)),
        )
        .await;
        let mut results = Vec::new();
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                Ok(result) => results.push(result),
                Err(failure) => failures.push(failure),
            }
        }
        Handled { results, failures }
    }

    /// Runs one processor on every resource of its matching kinds, concurrently.
    async fn run_processor(
        &self,
        p: &RegisteredProcessor,
        event: &WebhookEvent,
        compiled: &Arc<CompiledConfig>,
    ) -> Vec<PairOutcome> {
        let name = p.registration.name;
        let span = tracing::debug_span!("processor", processor = name);
        async {
            let mut kinds = p
                .processor
                .get_matching_kinds(event, p.registration.kinds)
                .await;
            let mut seen = std::collections::HashSet::new();
            kinds.retain(|k| seen.insert(k.clone()));
            let pairs: Vec<(usize, &ResourceConfig)> = kinds
                .iter()
                .flat_map(|k| compiled.config.resources_of_kind(k))
                .collect();
            if pairs.is_empty() {
                tracing::debug!(
                    ?kinds,
                    "the processor wants this event but none of its kinds is in the mapping"
                );
                return Vec::new();
            }
            join_all(
                pairs
                    .into_iter()
                    .map(|(index, resource)| self.run_pair(p, event, index, resource, compiled)),
            )
            .await
        }
        .instrument(span)
        .await
    }

    /// before → handle with retries → after, for one resource. Retry state lives here, per
    /// event and resource, never on the shared processor instance.
    async fn run_pair(
        &self,
        p: &RegisteredProcessor,
        event: &WebhookEvent,
        index: usize,
        resource: &ResourceConfig,
        compiled: &CompiledConfig,
    ) -> PairOutcome {
        let name = p.registration.name;
        let span = tracing::debug_span!("resource", kind = %resource.kind, index);
        let fail = |error: &Error, attempts| DeadLetterFailure {
            processor: Some(name.to_owned()),
            kind: Some(resource.kind.clone()),
            error: error.to_string(),
            attempts,
        };
        async {
            let shared = compiled
                .resource_configs
                .get(index)
                .map_or_else(|| Arc::new(resource.clone()), Arc::clone);
            let ctx = self.context.with_resource(shared);
            let processor = &p.processor;
            if let Err(e) = processor.before_processing(event, &ctx).await {
                return Err(fail(&e, 0));
            }
            let policy = p.registration.retry;
            let limit = self.options.max_event_processing;
            let mut attempt: u32 = 0;
            let results = loop {
                attempt += 1;
                let outcome =
                    match tokio::time::timeout(limit, processor.handle_event(event.payload(), resource, &ctx)).await {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            processor.cancel(event).await;
                            Err(Error::retryable(Error::msg(format!(
                                "handle_event timed out after {} ms",
                                limit.as_millis()
                            ))))
                        }
                    };
                let error = match outcome {
                    Ok(results) => break results,
                    Err(error) => error,
                };
                processor.on_error(event, &error, attempt).await;
                if attempt > policy.max_retries || !processor.should_retry(&error) {
                    tracing::warn!(trace_id = %event.trace_id(), processor = name, kind = %resource.kind, attempt, error = %error, "handle_event failed; giving up");
                    return Err(fail(&error, attempt));
                }
                let delay = processor.calculate_retry_delay(attempt, &policy);
                bump(&self.stats.retried);
                tracing::info!(trace_id = %event.trace_id(), processor = name, kind = %resource.kind, attempt, delay_ms = delay.as_millis() as u64, error = %error, "handle_event failed; retrying");
                tokio::time::sleep(delay).await;
            };
            if let Err(e) = processor.after_processing(event, &results, &ctx).await {
                return Err(fail(&e, attempt));
            }
            Ok((index, results))
        }
        .instrument(span)
        .await
    }
}

fn matched<'a>(state: &'a PathState, queued: &QueuedEvent) -> Vec<&'a RegisteredProcessor> {
    queued
        .processors
        .iter()
        .filter_map(|name| {
            let found = state
                .processors
                .iter()
                .find(|p| p.registration.name == name);
            if found.is_none() {
                tracing::warn!(processor = %name, "queued event names a processor that is not registered");
            }
            found
        })
        .collect()
}
