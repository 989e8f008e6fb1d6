//! The live-events manager: registered processors per path, the door checks, queues, workers,
//! per-event processing with retries, dead letters and shutdown.

use super::app_config::CompiledConfig;
use super::applier::LiveApplier;
use super::dead_letter::{DeadLetter, DeadLetterFailure, DeadLetterStore, StoredEvent};
use super::erased::{DynWebhookProcessor, WebhookProcessorRegistration};
use super::error::LiveEventsError;
use super::event::{WebhookEvent, WebhookEventRawResults};
use super::queue::{Delivery, EventQueue, MemoryQueue, QueuedEvent};
use super::raw_routes::RawRoutesRegistration;
use super::settings::LiveEventsOptions;
use super::stats::{LiveEventsStats, StatsSnapshot, bump};
use crate::mapping::PortAppConfigProvider;
use crate::mapping::{JqEngine, ResourceConfig};
use crate::port::client::PortClient;
use crate::{Context, Error};
use bytes::Bytes;
use chrono::Utc;
use futures::future::join_all;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A processor instance with its registration.
#[derive(Clone)]
pub struct RegisteredProcessor {
    /// How it was registered.
    pub registration: WebhookProcessorRegistration,
    /// The instance serving every event of its path.
    pub processor: Arc<dyn DynWebhookProcessor>,
}

impl std::fmt::Debug for RegisteredProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredProcessor")
            .field("registration", &self.registration)
            .finish_non_exhaustive()
    }
}

fn place(r: &WebhookProcessorRegistration) -> String {
    format!("{}:{}", r.file, r.line)
}

/// Collects registrations into a map sorted by path, then name, file and line (inventory order
/// is unspecified), rejecting a processor name registered twice on one path.
pub fn collect_registrations(
    registrations: impl IntoIterator<Item = WebhookProcessorRegistration>,
) -> Result<BTreeMap<String, Vec<WebhookProcessorRegistration>>, LiveEventsError> {
    let mut by_path: BTreeMap<String, Vec<WebhookProcessorRegistration>> = BTreeMap::new();
    for r in registrations {
        if !r.path.starts_with('/') || r.path.contains(char::is_whitespace) {
            return Err(LiveEventsError::InvalidPath(r.path.to_owned()));
        }
        by_path.entry(r.path.to_owned()).or_default().push(r);
    }
    for (path, list) in &mut by_path {
        list.sort_by(|a, b| (a.name, a.file, a.line).cmp(&(b.name, b.file, b.line)));
        for pair in list.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(LiveEventsError::DuplicateProcessor {
                    path: path.clone(),
                    name: pair[0].name.to_owned(),
                    first: place(&pair[0]),
                    second: place(&pair[1]),
                });
            }
        }
    }
    Ok(by_path)
}

/// Builds a [`LiveEvents`].
pub struct LiveEventsBuilder {
    context: Context,
    port: PortClient,
    configs: Arc<dyn PortAppConfigProvider>,
    jq: Arc<JqEngine>,
    options: LiveEventsOptions,
    registrations: Vec<WebhookProcessorRegistration>,
    raw_routes: Vec<RawRoutesRegistration>,
    queues: Option<QueueFactory>,
}

/// Makes the queue of one path from its path and capacity.
pub type QueueFactory = Box<dyn Fn(&str, usize) -> Arc<dyn EventQueue> + Send>;

impl std::fmt::Debug for LiveEventsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveEventsBuilder")
            .field("options", &self.options)
            .field("registrations", &self.registrations)
            .finish_non_exhaustive()
    }
}

impl LiveEventsBuilder {
    /// Uses `jq` to compile mappings (default: a default engine).
    pub fn jq(mut self, jq: Arc<JqEngine>) -> Self {
        self.jq = jq;
        self
    }

    /// Sets the options.
    pub fn options(mut self, options: LiveEventsOptions) -> Self {
        self.options = options;
        self
    }

    /// Uses another queue backend (e.g. Redis Streams): `make(path, capacity)` builds the queue
    /// of each path. Default: a [`MemoryQueue`] per path.
    pub fn queues(
        mut self,
        make: impl Fn(&str, usize) -> Arc<dyn EventQueue> + Send + 'static,
    ) -> Self {
        self.queues = Some(Box::new(make));
        self
    }

    /// Registers one processor explicitly (tests, or targets without `inventory`).
    pub fn register(mut self, registration: WebhookProcessorRegistration) -> Self {
        self.registrations.push(registration);
        self
    }

    /// Registers raw routes explicitly.
    pub fn raw_routes(mut self, registration: RawRoutesRegistration) -> Self {
        self.raw_routes.push(registration);
        self
    }

    /// Adds every processor and raw route submitted through `inventory`.
    pub fn with_inventory(mut self) -> Self {
        self.registrations.extend(
            inventory::iter::<WebhookProcessorRegistration>
                .into_iter()
                .copied(),
        );
        let mut raw: Vec<RawRoutesRegistration> = inventory::iter::<RawRoutesRegistration>
            .into_iter()
            .copied()
            .collect();
        raw.sort_by(|a, b| (a.file, a.line, a.name).cmp(&(b.file, b.line, b.name)));
        self.raw_routes.extend(raw);
        self
    }

    /// Builds the manager (loading persisted dead letters). Workers start with
    /// [`LiveEvents::start`].
    pub async fn build(self) -> Result<LiveEvents, LiveEventsError> {
        let by_path = collect_registrations(self.registrations)?;
        let mut paths = BTreeMap::new();
        for (path, regs) in by_path {
            let mut processors = Vec::with_capacity(regs.len());
            for registration in regs {
                let processor = (registration.factory)(&self.context).map_err(|e| {
                    LiveEventsError::ProcessorConstruction {
                        name: registration.name.to_owned(),
                        place: place(&registration),
                        cause: e.to_string(),
                    }
                })?;
                processors.push(RegisteredProcessor {
                    processor,
                    registration,
                });
            }
            let capacity = self.options.queue_capacity;
            let queue: Arc<dyn EventQueue> = match &self.queues {
                Some(make) => make(&path, capacity),
                None => Arc::new(
                    MemoryQueue::new(capacity).with_enqueue_wait(self.options.enqueue_wait),
                ),
            };
            paths.insert(path, PathState { processors, queue });
        }
        let dead_letters = match &self.options.dead_letter_file {
            Some(file) => {
                DeadLetterStore::persistent(self.options.dead_letter_capacity, file.clone()).await?
            }
            None => DeadLetterStore::in_memory(self.options.dead_letter_capacity),
        };
        Ok(LiveEvents {
            inner: Arc::new(Inner {
                paths,
                applier: LiveApplier::new(self.port, self.configs, self.jq),
                context: self.context,
                options: self.options,
                dead_letters: Arc::new(dead_letters),
                stats: LiveEventsStats::default(),
                accepting: AtomicBool::new(true),
                started: AtomicBool::new(false),
                hard_stop: CancellationToken::new(),
                workers: Mutex::new(Vec::new()),
                raw_routes: self.raw_routes,
                busy_warning: Throttle::default(),
            }),
        })
    }
}

pub(super) struct PathState {
    pub(super) processors: Vec<RegisteredProcessor>,
    pub(super) queue: Arc<dyn EventQueue>,
}

pub(super) struct Inner {
    pub(super) paths: BTreeMap<String, PathState>,
    pub(super) applier: LiveApplier,
    context: Context,
    pub(super) options: LiveEventsOptions,
    pub(super) dead_letters: Arc<DeadLetterStore>,
    pub(super) stats: LiveEventsStats,
    accepting: AtomicBool,
    started: AtomicBool,
    hard_stop: CancellationToken,
    workers: Mutex<Vec<JoinHandle<usize>>>,
    pub(super) raw_routes: Vec<RawRoutesRegistration>,
    busy_warning: Throttle,
}

/// Lets a log line through at most once a second, so an overload (thousands of 503s a
/// second) is reported without flooding the log.
#[derive(Debug, Default)]
struct Throttle {
    last_second: std::sync::atomic::AtomicU64,
}

impl Throttle {
    fn ready(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Ordering::Relaxed);
        now > last
            && self
                .last_second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// The live-events manager. Cheap to clone; every clone is the same manager.
#[derive(Clone)]
pub struct LiveEvents {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for LiveEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveEvents")
            .field("paths", &self.paths())
            .finish_non_exhaustive()
    }
}

/// What intake decided about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Queued; the event id.
    Accepted(String),
    /// No processor wanted it.
    Ignored,
    /// The body is larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON.
    BadJson(String),
    /// A matched processor did not authenticate it.
    Unauthorized {
        /// The processor.
        processor: String,
    },
    /// A matched processor found the payload invalid.
    Invalid {
        /// The processor.
        processor: String,
        /// Why, when the check failed with an error.
        reason: Option<String>,
    },
    /// The queue is full.
    Busy,
    /// Shutting down: no new events.
    ShuttingDown,
    /// No processor is registered on the path.
    UnknownPath,
}

/// What shutdown did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The grace period ran out before the workers finished.
    pub timed_out: bool,
    /// In-flight events abandoned (their processors were cancelled; they were dead-lettered).
    pub abandoned: usize,
    /// Queued events never started (dead-lettered).
    pub unstarted: usize,
}

/// How one (processor, resource) run ended.
type PairOutcome = Result<(usize, WebhookEventRawResults), DeadLetterFailure>;

impl LiveEvents {
    /// A builder: `context` is handed to processors, `port` receives the entities, `configs`
    /// gives the port-app-config.
    pub fn builder(
        context: Context,
        port: PortClient,
        configs: Arc<dyn PortAppConfigProvider>,
    ) -> LiveEventsBuilder {
        LiveEventsBuilder {
            context,
            port,
            configs,
            jq: Arc::new(JqEngine::default()),
            options: LiveEventsOptions::default(),
            registrations: Vec::new(),
            raw_routes: Vec::new(),
            queues: None,
        }
    }

    /// A manager of every processor and raw route registered through `inventory`.
    pub async fn from_inventory(
        context: Context,
        port: PortClient,
        configs: Arc<dyn PortAppConfigProvider>,
        options: LiveEventsOptions,
    ) -> Result<Self, LiveEventsError> {
        Self::builder(context, port, configs)
            .options(options)
            .with_inventory()
            .build()
            .await
    }

    /// The registered paths, sorted.
    pub fn paths(&self) -> Vec<&str> {
        self.inner.paths.keys().map(String::as_str).collect()
    }

    /// The processors of `path`, in matching order (sorted by name).
    pub fn processors(&self, path: &str) -> &[RegisteredProcessor] {
        self.inner
            .paths
            .get(path)
            .map_or(&[], |p| p.processors.as_slice())
    }

    /// The applier (for raw route handlers and the runtime).
    pub fn applier(&self) -> &LiveApplier {
        &self.inner.applier
    }

    /// The dead-letter store.
    pub fn dead_letters(&self) -> &Arc<DeadLetterStore> {
        &self.inner.dead_letters
    }

    /// The options.
    pub fn options(&self) -> &LiveEventsOptions {
        &self.inner.options
    }

    /// The counters, with the current queue depth.
    pub fn stats(&self) -> StatsSnapshot {
        let depth = self.inner.paths.values().map(|p| p.queue.depth()).sum();
        self.inner.stats.snapshot(depth)
    }

    /// The door: parses the body, finds the processors that want the event, authenticates and
    /// validates it, and queues it. Nothing is queued unless every check passed.
    pub async fn receive(
        &self,
        path: &str,
        headers: impl IntoIterator<Item = (String, String)>,
        body: Bytes,
    ) -> IntakeOutcome {
        let stats = &self.inner.stats;
        let Some(state) = self.inner.paths.get(path) else {
            return IntakeOutcome::UnknownPath;
        };
        if !self.inner.accepting.load(Ordering::Acquire) {
            bump(&stats.rejected_busy);
            return IntakeOutcome::ShuttingDown;
        }
        if body.len() > self.inner.options.body_limit {
            bump(&stats.rejected_too_large);
            return IntakeOutcome::TooLarge {
                limit: self.inner.options.body_limit,
            };
        }
        let payload = match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(e) => {
                bump(&stats.rejected_bad_json);
                return IntakeOutcome::BadJson(e.to_string());
            }
        };
        let trace_id = uuid::Uuid::new_v4().to_string();
        let event = WebhookEvent::new(&trace_id, path, payload, headers, body, Utc::now());
        // Debug spans: at thousands of events a second, an INFO span per event costs more than the
        // door itself; the lines that matter name the event themselves.
        let span = tracing::debug_span!("webhook_intake", trace_id = %trace_id, path);
        let mut authenticated: Vec<&RegisteredProcessor> = Vec::new();
        let outcome = async {
            let mut matched = Vec::new();
            for p in &state.processors {
                if p.processor.should_process_event(&event).await {
                    matched.push(p);
                }
            }
            if matched.is_empty() {
                bump(&stats.ignored);
                tracing::debug!("no webhook processor wants this event; ignored");
                return IntakeOutcome::Ignored;
            }
            for p in &matched {
                let name = p.registration.name;
                match p.processor.authenticate(&event).await {
                    Ok(true) => authenticated.push(p),
                    Ok(false) => {
                        bump(&stats.rejected_unauthorized);
                        tracing::warn!(processor = name, trace_id = %trace_id, "webhook authentication failed");
                        return IntakeOutcome::Unauthorized {
                            processor: name.to_owned(),
                        };
                    }
                    Err(e) => {
                        bump(&stats.rejected_unauthorized);
                        tracing::warn!(processor = name, trace_id = %trace_id, error = %e, "webhook authentication failed");
                        return IntakeOutcome::Unauthorized {
                            processor: name.to_owned(),
                        };
                    }
                }
            }
            for p in &matched {
                let name = p.registration.name;
                let reason = match p.processor.validate_payload(event.payload()).await {
                    Ok(true) => continue,
                    Ok(false) => None,
                    Err(e) => Some(e.to_string()),
                };
                bump(&stats.rejected_invalid);
                tracing::warn!(processor = name, trace_id = %trace_id, reason = reason.as_deref(), "webhook payload invalid");
                return IntakeOutcome::Invalid {
                    processor: name.to_owned(),
                    reason,
                };
            }
            let group = matched[0].processor.group_id(&event);
            let queued = QueuedEvent {
                event: event.clone(),
                group,
                processors: matched
                    .iter()
                    .map(|p| p.registration.name.to_owned())
                    .collect(),
            };
            match state.queue.push(queued).await {
                Ok(()) => {
                    bump(&stats.accepted);
                    tracing::debug!(processors = matched.len(), "webhook event queued");
                    IntakeOutcome::Accepted(trace_id.clone())
                }
                Err(LiveEventsError::QueueClosed) => {
                    bump(&stats.rejected_busy);
                    IntakeOutcome::ShuttingDown
                }
                Err(e) => {
                    bump(&stats.rejected_busy);
                    if self.inner.busy_warning.ready() {
                        tracing::warn!(
                            error = %e,
                            refused_so_far = stats.rejected_busy.load(Ordering::Relaxed),
                            "webhook events refused with 503: the queue is full (logged at most once a second)"
                        );
                    }
                    IntakeOutcome::Busy
                }
            }
        }
        .instrument(span)
        .await;
        if !matches!(outcome, IntakeOutcome::Accepted(_)) {
            for p in authenticated {
                p.processor.not_accepted(&event);
            }
        }
        outcome
    }

    /// Starts `workers_per_path` workers for every path, inside the current tokio runtime.
    /// Later calls do nothing.
    pub fn start(&self) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut workers = self.inner.workers.lock().unwrap_or_else(|p| p.into_inner());
        for path in self.inner.paths.keys() {
            for worker in 0..self.inner.options.workers_per_path {
                let inner = Arc::clone(&self.inner);
                let path = path.clone();
                workers.push(tokio::spawn(async move {
                    run_worker(inner, path, worker).await
                }));
            }
        }
    }

    /// Re-queues a dead letter through the normal queue (the door checks it passed are not
    /// run again) and removes it from the store; returns the event id.
    pub async fn replay(&self, id: &str) -> Result<String, LiveEventsError> {
        let letter = self
            .inner
            .dead_letters
            .get(id)
            .ok_or_else(|| LiveEventsError::DeadLetterNotFound(id.to_owned()))?;
        let state = self
            .inner
            .paths
            .get(&letter.event.path)
            .ok_or_else(|| LiveEventsError::UnknownPath(letter.event.path.clone()))?;
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(LiveEventsError::QueueClosed);
        }
        let queued = QueuedEvent {
            event: letter.event.to_event(),
            group: letter.event.group.clone(),
            processors: letter.replay_processors(),
        };
        state.queue.push(queued).await?;
        self.inner.dead_letters.remove(id).await?;
        tracing::info!(dead_letter = id, trace_id = %letter.event.trace_id, "dead letter replayed");
        Ok(letter.event.trace_id)
    }

    /// Stops intake (it answers 503), lets workers finish within the grace period, then
    /// abandons what is still running (its processors' `cancel` is called) and dead-letters
    /// what was abandoned or never started.
    pub async fn shutdown(&self) -> ShutdownReport {
        tracing::warn!("shutting down live events");
        self.inner.accepting.store(false, Ordering::Release);
        for state in self.inner.paths.values() {
            state.queue.close();
        }
        let handles: Vec<JoinHandle<usize>> =
            std::mem::take(&mut *self.inner.workers.lock().unwrap_or_else(|p| p.into_inner()));
        let aborts: Vec<_> = handles.iter().map(JoinHandle::abort_handle).collect();
        let grace = self.inner.options.shutdown_grace;
        let mut all = join_all(handles);
        let mut report = ShutdownReport::default();
        let finished = match tokio::time::timeout(grace, &mut all).await {
            Ok(finished) => finished,
            Err(_) => {
                report.timed_out = true;
                tracing::warn!("shutdown grace period over: abandoning in-flight live events");
                self.inner.hard_stop.cancel();
                // Abandoning runs the processors' `cancel`; author code gets one more grace
                // period (at least a second) before the workers are aborted outright.
                match tokio::time::timeout(grace.max(Duration::from_secs(1)), &mut all).await {
                    Ok(finished) => finished,
                    Err(_) => {
                        tracing::error!("live-event workers did not stop: aborting them");
                        for abort in &aborts {
                            abort.abort();
                        }
                        all.await
                    }
                }
            }
        };
        report.abandoned = finished.into_iter().map(|r| r.unwrap_or(0)).sum();
        for state in self.inner.paths.values() {
            for queued in state.queue.drain_queued() {
                report.unstarted += 1;
                let failure = DeadLetterFailure {
                    processor: None,
                    kind: None,
                    error: "not processed before shutdown".into(),
                    attempts: 0,
                };
                self.inner.dead_letter(&queued, vec![failure]).await;
            }
        }
        report
    }
}

async fn run_worker(inner: Arc<Inner>, path: String, worker: usize) -> usize {
    let Some(state) = inner.paths.get(&path) else {
        return 0;
    };
    let queue = Arc::clone(&state.queue);
    let max_batch = inner.options.batch_size.max(1);
    let mut abandoned = 0;
    loop {
        let batch = tokio::select! {
            biased;
            () = inner.hard_stop.cancelled() => break,
            batch = queue.pop_batch(max_batch) => batch,
        };
        if batch.is_empty() {
            break;
        }
        let span =
            tracing::debug_span!("live_events_batch", path = %path, worker, events = batch.len());
        let finished = tokio::select! {
            biased;
            () = inner.hard_stop.cancelled() => false,
            () = inner.process_batch(state, &batch).instrument(span.clone()) => true,
        };
        if !finished {
            for delivery in &batch {
                abandoned += 1;
                inner
                    .abandon(state, &delivery.queued)
                    .instrument(span.clone())
                    .await;
            }
        }
        for delivery in &batch {
            queue.ack(&delivery.id).await;
        }
    }
    abandoned
}

/// What running an event's processors produced: results to apply, and what failed.
struct Handled {
    results: Vec<(usize, WebhookEventRawResults)>,
    failures: Vec<DeadLetterFailure>,
}

impl Inner {
    async fn dead_letter(&self, queued: &QueuedEvent, failures: Vec<DeadLetterFailure>) {
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

    async fn abandon(&self, state: &PathState, queued: &QueuedEvent) {
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
    async fn process_batch(&self, state: &PathState, batch: &[Delivery]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_line_through_per_second() {
        let throttle = Throttle::default();
        assert!(throttle.ready());
        assert!(
            !throttle.ready(),
            "a second line in the same second is held back"
        );
        throttle.last_second.store(0, Ordering::Relaxed);
        assert!(throttle.ready(), "a new second lets one through again");
    }
}
