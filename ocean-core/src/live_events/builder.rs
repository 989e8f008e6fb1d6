//! Building [`LiveEvents`]: the registered processors per path (sorted, checked, built from the
//! context), their queues and the dead-letter store.

use super::applier::LiveApplier;
use super::dead_letter::DeadLetterStore;
use super::door::Throttle;
use super::error::LiveEventsError;
use super::queue::{EventQueue, MemoryQueue};
use super::raw_routes::RawRoutesRegistration;
use super::registration::{DynWebhookProcessor, WebhookProcessorRegistration};
use super::settings::LiveEventsOptions;
use super::state::{Inner, LiveEvents, PathState};
use super::stats::LiveEventsStats;
use crate::Context;
use crate::mapping::JqEngine;
use crate::mapping::PortAppConfigProvider;
use crate::port::client::PortClient;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

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

    /// Builds the live events (loading persisted dead letters). Workers start with
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

    /// Live events of every processor and raw route registered through `inventory`.
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
}
