//! Live events: webhook processors, from the HTTP request to Port.
//!
//! The flow: [`LiveEvents::configure`] mounts `POST /integration{path}` for every registered
//! path. Intake checks the body size, parses JSON, asks the path's processors whether they want
//! the event, authenticates and validates it, and answers 202 only once the [`EventQueue`]
//! holds it. Workers (N per path) take events in per-group order, run each matched processor
//! on every resource of its kinds with timeout and retries, map the raw results with the
//! resource's mapping and apply them through [`LiveApplier`] (which writes with the resync's
//! applier). Events that still fail go to the
//! [`DeadLetterStore`], which [`LiveEvents::configure_admin`] exposes for listing and replay.
//!
//! Where this differs from Python Ocean, on purpose:
//! - events are rejected at the door (400/401/413/422, 503 when full) and acknowledged (202)
//!   only once queued; nothing waits in an unbounded queue;
//! - retry state is per event and resource, never on the shared processor instance, and the
//!   first retry waits `initial_retry_delay` (Ocean sleeps one exponent more than it logs);
//! - `max_event_processing` bounds each `handle_event` attempt: a timed-out attempt is
//!   cancelled (`cancel`) and counts as a retryable failure;
//! - a group stays busy until its event is acked: no lock expiry, so no duplicate or lost work;
//!   events without a group run in parallel instead of sharing one group;
//! - results are written by the resync's applier (`crate::sync::Applier`): the same upsert
//!   options, relation-order retries, `deleteDependentEntities` ordering and owned-only
//!   deletes (ownership searched once per chunk of candidates); writes are attributed to
//!   `http_request`, as Port names live events;
//! - events that fail every attempt, or that shutdown abandons, go to the dead letters.

mod admin;
mod app_config;
mod applier;
mod builder;
mod dead_letter;
mod door;
mod error;
mod event;
mod intake;
mod processing;
mod processor;
mod queue;
mod raw_routes;
mod registration;
mod replay;
mod settings;
mod shutdown;
mod state;
mod stats;
mod workers;

pub use app_config::{CompiledConfig, CompiledConfigCache};
pub use applier::{ApplyPlan, ApplyReport, LiveApplier, plan_results};
pub use builder::{LiveEventsBuilder, QueueFactory, RegisteredProcessor, collect_registrations};
pub use dead_letter::{DeadLetter, DeadLetterFailure, DeadLetterStore, StoredEvent};
pub use door::IntakeOutcome;
pub use error::LiveEventsError;
pub use event::{Payload, WebhookEvent, WebhookEventRawResults};
pub use processor::{ProcessorRetryPolicy, WebhookProcessor};
pub use queue::{Delivery, EventQueue, MemoryQueue, QueuedEvent, QueuedRecord};
pub use raw_routes::RawRoutesRegistration;
pub use registration::{
    DynWebhookProcessor, ProcessorFactory, WebhookProcessorRegistration, processor_factory,
};
pub use settings::{ADMIN_TOKEN_ENV, LiveEventsOptions};
pub use shutdown::ShutdownReport;
pub use state::LiveEvents;
pub use stats::{LiveEventsStats, StatsSnapshot};
