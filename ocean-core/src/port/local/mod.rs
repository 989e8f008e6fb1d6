//! The local Port: an HTTP server that emulates the Port REST API with Port's rules.
//!
//! An integration without Port credentials runs against an embedded local Port on a free
//! loopback port, and every test uses one: requests go over real HTTP, and the server checks
//! what Port checks (credentials and token expiry, blueprint schemas, identifier patterns,
//! relations, bulk limits, body size), so a client that works here behaves on Port.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ocean::port::local::LocalPortError> {
//! use ocean::port::local::LocalPort;
//! let port = LocalPort::builder().client_id("id").client_secret("secret").start().await?;
//! println!("Port API at {}", port.url());
//! port.stop().await?;
//! # Ok(()) }
//! ```
//!
//! The HTTP server is actix-web: its accept loop and workers run on their own threads (each
//! worker a single-threaded tokio runtime), driven by a task spawned on the caller's tokio
//! runtime. Handlers never block beyond short, in-memory critical sections.
//!
//! Where the local Port departs from Port on purpose:
//! - write times (`createdAt`, `updatedAt`) have microsecond precision and strictly increase
//!   from one write to the next, so `before` filters never tie and never run ahead of the clock;
//! - webhook secrets are answered as `"[REDACTED]"`;
//! - `between` takes `{from, to}` only (no date presets); team search queries give no team;
//! - deletes of all entities finish at once (their migration is already `COMPLETED`).

mod clock;
mod entity;
mod error;
mod faults;
mod input;
mod query;
mod routes;
mod schema;
mod state;
mod store;
mod writes;

pub use entity::LocalEntity;
pub use faults::FaultConfig;
pub use routes::STATS_PATH;
pub use state::StateFile;

use crate::config::Secret;
use crate::port::types::Blueprint;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, middleware, web};
use serde_json::{Value, json};
use state::{Settings, Shared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Default largest request body: 1 MiB, the size Ocean keeps its bulk requests under.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default token lifetime: one hour, as Port.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Default time between two saves of the state file while the server runs.
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_secs(30);

/// Errors of starting, stopping or administering a local Port.
#[derive(Debug, thiserror::Error)]
pub enum LocalPortError {
    /// The listen address could not be bound.
    #[error("the local Port could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The state file exists but could not be read.
    #[error("could not read the local Port state file {}: {source}", path.display())]
    StateRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state file does not hold a valid state.
    #[error("the local Port state file {} is invalid: {message}", path.display())]
    StateInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The state file could not be written.
    #[error("could not write the local Port state file {}: {source}", path.display())]
    StateWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An administrative call named an integration that does not exist.
    #[error("integration \"{0}\" does not exist in the local Port")]
    UnknownIntegration(String),
    /// The server task ended abnormally.
    #[error("the local Port server failed: {0}")]
    Server(String),
}

/// Entry point: `LocalPort::builder()...start().await`.
#[derive(Debug, Clone, Copy)]
pub struct LocalPort;

impl LocalPort {
    /// A builder with Port's defaults, listening on a free loopback port.
    pub fn builder() -> LocalPortBuilder {
        LocalPortBuilder::default()
    }
}

/// Settings of a local Port to start.
#[derive(Debug, Clone)]
pub struct LocalPortBuilder {
    client_id: String,
    client_secret: Secret,
    state_file: Option<PathBuf>,
    token_ttl: Duration,
    faults: FaultConfig,
    body_limit: usize,
    bind: SocketAddr,
    workers: usize,
    save_interval: Duration,
    organization_id: String,
}

impl Default for LocalPortBuilder {
    fn default() -> Self {
        Self {
            client_id: "local-client-id".to_owned(),
            client_secret: Secret::new("local-client-secret"),
            state_file: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            faults: FaultConfig::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 2,
            save_interval: DEFAULT_SAVE_INTERVAL,
            organization_id: "org_local".to_owned(),
        }
    }
}

impl LocalPortBuilder {
    /// The client id clients must present.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// The client secret clients must present.
    pub fn client_secret(mut self, client_secret: impl Into<Secret>) -> Self {
        self.client_secret = client_secret.into();
        self
    }

    /// A JSON file to load the state from at start (if it exists) and save it to on stop and
    /// periodically.
    pub fn state_file(mut self, path: Option<PathBuf>) -> Self {
        self.state_file = path;
        self
    }

    /// How long an access token stays valid.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Faults to inject.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// The largest request body in bytes; larger bodies get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The address to listen on (port 0 picks a free one).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Number of HTTP worker threads (at least 1).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Time between two saves of the state file while running.
    pub fn save_interval(mut self, interval: Duration) -> Self {
        self.save_interval = interval;
        self
    }

    /// The organization id answered by `GET /v1/organization`.
    pub fn organization_id(mut self, id: impl Into<String>) -> Self {
        self.organization_id = id.into();
        self
    }

    /// Loads the state file (if any), binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<LocalPortHandle, LocalPortError> {
        let initial = match &self.state_file {
            Some(path) => StateFile::load(path).await?,
            None => StateFile::default(),
        };
        let settings = Settings {
            client_id: self.client_id,
            client_secret: self.client_secret,
            token_ttl: self.token_ttl,
            faults: self.faults,
            organization_id: self.organization_id,
        };
        let shared =
            Shared::new(settings, initial).map_err(|message| LocalPortError::StateInvalid {
                path: self.state_file.clone().unwrap_or_default(),
                message,
            })?;
        let shared = Arc::new(shared);
        let data = web::Data::from(Arc::clone(&shared));
        let body_limit = self.body_limit;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .wrap(middleware::from_fn(routes::gate))
                .configure(|cfg| routes::configure(cfg, body_limit))
        })
        .workers(self.workers)
        .disable_signals()
        .shutdown_timeout(5)
        .bind(self.bind)
        .map_err(|source| LocalPortError::Bind {
            addr: self.bind,
            source,
        })?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| LocalPortError::Server("no address was bound".to_owned()))?;
        let server = server.run();
        let server_handle = server.handle();
        let task = tokio::spawn(server);
        let cancel = CancellationToken::new();
        let saver = self.state_file.clone().map(|path| {
            tokio::spawn(save_periodically(
                Arc::clone(&shared),
                path,
                self.save_interval,
                cancel.clone(),
            ))
        });
        tracing::info!(%addr, "local Port listening");
        Ok(LocalPortHandle {
            url: format!("http://{addr}"),
            addr,
            shared,
            server: Some((server_handle, task)),
            saver,
            cancel,
            state_file: self.state_file,
        })
    }
}

async fn save_periodically(
    shared: Arc<Shared>,
    path: PathBuf,
    interval: Duration,
    cancel: CancellationToken,
) {
    let mut saved_at = shared.writes.load(Ordering::Relaxed);
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let writes = shared.writes.load(Ordering::Relaxed);
        if writes == saved_at {
            continue;
        }
        match shared.snapshot().save(path.clone()).await {
            Ok(()) => saved_at = writes,
            Err(e) => tracing::warn!(error = %e, "periodic save of the local Port state failed"),
        }
    }
}

/// A running local Port.
#[derive(Debug)]
pub struct LocalPortHandle {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<(ServerHandle, JoinHandle<std::io::Result<()>>)>,
    saver: Option<JoinHandle<()>>,
    cancel: CancellationToken,
    state_file: Option<PathBuf>,
}

impl LocalPortHandle {
    /// The base URL, e.g. `http://127.0.0.1:5555` (the API is under `/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The client id the server accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.settings.client_id
    }

    /// The client secret the server accepts.
    pub fn client_secret(&self) -> &Secret {
        &self.shared.settings.client_secret
    }

    /// A read-only view of what the server holds, for tests and tools.
    pub fn state(&self) -> LocalPortState {
        LocalPortState {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Sets a new resync request on an integration (what `GET .../resync-request` answers
    /// next) and returns its id.
    pub fn request_resync(&self, integration: &str) -> Result<String, LocalPortError> {
        let now = clock::format_micros(self.shared.clock.tick());
        let mut integrations = self.shared.integrations();
        if !integrations.items.contains_key(integration) {
            return Err(LocalPortError::UnknownIntegration(integration.to_owned()));
        }
        let id = uuid::Uuid::new_v4().to_string();
        integrations
            .resync_requests
            .insert(integration.to_owned(), json!({"id": id, "updatedAt": now}));
        Ok(id)
    }

    /// Invalidates every access token, as if they had all expired.
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Writes the state file now (no-op without one).
    pub async fn save(&self) -> Result<(), LocalPortError> {
        match &self.state_file {
            Some(path) => self.shared.snapshot().save(path.clone()).await,
            None => Ok(()),
        }
    }

    /// Stops serving (letting requests in flight finish) and saves the state file.
    pub async fn stop(mut self) -> Result<(), LocalPortError> {
        self.cancel.cancel();
        if let Some(saver) = self.saver.take() {
            let _ = saver.await;
        }
        if let Some((handle, task)) = self.server.take() {
            handle.stop(true).await;
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(LocalPortError::Server(e.to_string())),
                Err(e) => return Err(LocalPortError::Server(e.to_string())),
            }
        }
        self.save().await
    }
}

impl Drop for LocalPortHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some((handle, _task)) = self.server.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(handle.stop(false));
        }
    }
}

/// A read-only view of a local Port's state.
#[derive(Debug, Clone)]
pub struct LocalPortState {
    shared: Arc<Shared>,
}

impl LocalPortState {
    /// Every blueprint, in identifier order.
    pub fn blueprints(&self) -> Vec<Blueprint> {
        self.shared
            .read()
            .blueprints
            .values()
            .map(|b| b.raw.clone())
            .collect()
    }

    /// One blueprint.
    pub fn blueprint(&self, id: &str) -> Option<Blueprint> {
        self.shared.read().blueprints.get(id).map(|b| b.raw.clone())
    }

    /// The entities of a blueprint, in identifier order.
    pub fn entities(&self, blueprint: &str) -> Vec<LocalEntity> {
        self.shared.read().local_entities(blueprint)
    }

    /// One entity.
    pub fn entity(&self, blueprint: &str, id: &str) -> Option<LocalEntity> {
        let store = self.shared.read();
        store.entity(blueprint, id).map(|_| ())?;
        store
            .local_entities(blueprint)
            .into_iter()
            .find(|e| e.identifier == id)
    }

    /// How many requests the local Port has received so far (every route, answered or not).
    pub fn requests_received(&self) -> u64 {
        self.shared
            .received
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of entities in all blueprints.
    pub fn entity_count(&self) -> usize {
        self.shared.read().total_entities()
    }

    /// One integration, as `GET /v1/integration/{id}` answers it.
    pub fn integration(&self, id: &str) -> Option<Value> {
        let integrations = self
            .shared
            .integrations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        integrations.items.get(id).cloned()
    }

    /// The raw data examples last sent for an integration's kind.
    pub fn examples(&self, integration: &str, kind: &str) -> Vec<Value> {
        let integrations = self
            .shared
            .integrations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        integrations
            .examples
            .get(integration)
            .and_then(|k| k.get(kind))
            .cloned()
            .unwrap_or_default()
    }

    /// Every webhook, secrets redacted, in creation order.
    pub fn webhooks(&self) -> Vec<Value> {
        let webhooks = self
            .shared
            .webhooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        webhooks.values().map(routes::redacted_webhook).collect()
    }

    /// A copy of the whole state, as the state file holds it.
    pub fn snapshot(&self) -> StateFile {
        self.shared.snapshot()
    }
}
