//! The integration's HTTP server: health checks, metrics, and the routes other parts add
//! (live-event intake under `/integration`).
//!
//! Every framework route sits under `/{OCEAN__PATH_PREFIX}` when a prefix is set. Extra routes
//! are given as [`RouteConfig`] closures, applied inside that prefix, so features register
//! their routes without this module knowing them.

mod health;
mod metrics;

pub use health::Health;
pub use metrics::{Metrics, RUNTIME_KIND};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Adds routes to the server (called once per worker, inside the path prefix).
pub type RouteConfig = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// Errors of starting or stopping the HTTP server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("the HTTP server could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server ended abnormally.
    #[error("the HTTP server failed: {0}")]
    Failed(String),
}

/// Where and how the server listens.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The address to bind (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Prefix of every route, without leading or trailing `/` (`OCEAN__PATH_PREFIX`).
    pub path_prefix: Option<String>,
    /// Worker threads serving requests.
    pub workers: usize,
}

impl ServerOptions {
    /// Listens on `0.0.0.0:{port}` without a prefix, with two workers.
    pub fn on_port(port: u16) -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], port)),
            path_prefix: None,
            workers: 2,
        }
    }

    /// The scope path routes are mounted under: `""` or `/{prefix}`.
    fn scope(&self) -> String {
        match self.path_prefix.as_deref().map(|p| p.trim_matches('/')) {
            Some(prefix) if !prefix.is_empty() => format!("/{prefix}"),
            _ => String::new(),
        }
    }
}

/// What the framework routes read: readiness and metrics.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// Liveness and readiness.
    pub health: Health,
    /// The metrics registry served at `/metrics`.
    pub metrics: Metrics,
}

/// Registers the framework routes (`/health/live`, `/health/ready`, `/metrics`) on `cfg`.
pub fn framework_routes(cfg: &mut web::ServiceConfig, state: &ServerState) {
    cfg.app_data(web::Data::new(state.health.clone()))
        .app_data(web::Data::new(state.metrics.clone()))
        .route("/health/live", web::get().to(health::live))
        .route("/health/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics_route))
        .route("/metrics/", web::get().to(metrics_route));
}

async fn metrics_route(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(metrics.render())
}

/// A running HTTP server.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and lets requests in flight finish (bounded by the
    /// server's shutdown timeout).
    pub async fn stop(self) -> Result<(), ServerError> {
        self.handle.stop(true).await;
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::Failed(e.to_string())),
            Err(e) => Err(ServerError::Failed(e.to_string())),
        }
    }
}

/// Binds and starts the server on the current tokio runtime with the framework routes and
/// `extra` routes, all under the path prefix. Signals are left to the caller.
pub fn start(
    options: &ServerOptions,
    state: ServerState,
    extra: Vec<RouteConfig>,
    shutdown_timeout_seconds: u64,
) -> Result<RunningServer, ServerError> {
    let scope = options.scope();
    let server = HttpServer::new(move || {
        let state = state.clone();
        let extra = extra.clone();
        App::new().service(web::scope(&scope).configure(move |cfg| {
            framework_routes(cfg, &state);
            for configure in &extra {
                configure(cfg);
            }
        }))
    })
    .workers(options.workers.max(1))
    .disable_signals()
    .shutdown_timeout(shutdown_timeout_seconds)
    .bind(options.bind)
    .map_err(|source| ServerError::Bind {
        addr: options.bind,
        source,
    })?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| ServerError::Failed("no address was bound".to_owned()))?;
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningServer { addr, handle, task })
}
