//! Startup and shutdown of a running integration, independent of the process: tests launch an
//! integration in-process with [`launch`] and stop it with [`RunningIntegration::shutdown`].

use super::IntegrationInfo;
use super::connection::{ConnectError, PortConnection, connect};
use super::defaults::{
    DefaultResources, DefaultsError, ensure_blueprints, ensure_integration, resolve_resources_path,
};
use super::listeners;
use super::resync::{ResyncCoordinator, ResyncHandle, ResyncOutcome, Trigger};
use crate::Context;
use crate::config::{ApplicationSettings, EventListenerType, OceanSettings};
use crate::http::{HttpClientOptions, Lane, RateLimit, ThirdPartyClient};
use crate::live_events::{ADMIN_TOKEN_ENV, LiveEvents, LiveEventsError, LiveEventsOptions};
use crate::mapping::{JqEngine, JqOptions, PortAppConfigFromPort, PortAppConfigProvider};
use crate::port::client::PortClient;
use crate::port::local::LocalPortHandle;
use crate::registry::Registry;
use crate::server::{
    self, Health, Metrics, RouteConfig, RunningServer, ServerOptions, ServerState,
};
use crate::sync::{ResyncStatus, SyncEngine, SyncOptions};
use std::any::Any;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the integration could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// No Port to talk to.
    #[error("could not connect to Port: {0}")]
    Connect(Box<ConnectError>),
    /// The default resources could not be set up.
    #[error("could not set up the default Port resources: {0}")]
    Defaults(Box<DefaultsError>),
    /// The HTTP server did not start.
    #[error(transparent)]
    Server(#[from] server::ServerError),
    /// Live events could not be set up (e.g. an unreadable dead-letter file).
    #[error("could not set up live events: {0}")]
    LiveEvents(#[from] LiveEventsError),
    /// The third-party HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// The listener resyncs but nothing produces data.
    #[error(
        "no resync handler is registered, but the {0} listener resyncs: add an `#[on_resync]` function, or set OCEAN__EVENT_LISTENER__TYPE=WEBHOOKS_ONLY"
    )]
    NoResyncHandler(EventListenerType),
}

impl From<ConnectError> for StartupError {
    fn from(error: ConnectError) -> Self {
        StartupError::Connect(Box::new(error))
    }
}

impl From<DefaultsError> for StartupError {
    fn from(error: DefaultsError) -> Self {
        StartupError::Defaults(Box::new(error))
    }
}

/// Everything [`launch`] needs.
pub struct Launch {
    /// The integration's crate.
    pub info: IntegrationInfo,
    /// The framework settings.
    pub settings: OceanSettings,
    /// The process settings (HTTP port).
    pub application: ApplicationSettings,
    /// The registered handlers and hooks.
    pub registry: Registry,
    /// The integration's typed configuration (what `Context::config` returns).
    pub integration_config: Arc<dyn Any + Send + Sync>,
    /// Routes added to the HTTP server, inside the path prefix.
    pub extra_routes: Vec<RouteConfig>,
    /// The interface the HTTP server listens on (all interfaces by default).
    pub bind_ip: IpAddr,
    /// Whether a failure to bind the HTTP server stops startup (for ONCE it only warns).
    pub require_server: bool,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("info", &self.info)
            .field("settings", &self.settings)
            .field("application", &self.application)
            .finish_non_exhaustive()
    }
}

impl Launch {
    /// A launch with no extra routes, listening on all interfaces.
    pub fn new(
        info: IntegrationInfo,
        settings: OceanSettings,
        application: ApplicationSettings,
        registry: Registry,
        integration_config: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        let require_server = settings.event_listener.r#type != EventListenerType::Once;
        Self {
            info,
            settings,
            application,
            registry,
            integration_config,
            extra_routes: Vec::new(),
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            require_server,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunExit {
    /// Stopped by a signal (or by the caller) with nothing failing.
    Stopped,
    /// The ONCE listener's resync ended.
    Once(ResyncOutcome),
}

impl RunExit {
    /// The process exit code: 0, or 1 when the ONCE resync failed or was aborted.
    pub fn code(&self) -> u8 {
        match self {
            RunExit::Stopped => 0,
            RunExit::Once(outcome) if outcome.status == ResyncStatus::Completed => 0,
            RunExit::Once(_) => 1,
        }
    }
}

/// A started integration.
#[derive(Debug)]
pub struct RunningIntegration {
    settings: Arc<OceanSettings>,
    port: PortClient,
    local: Option<LocalPortHandle>,
    server: Option<RunningServer>,
    coordinator: ResyncCoordinator,
    health: Health,
    metrics: Metrics,
    live_events: Option<LiveEvents>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    once: Option<ResyncHandle>,
}

/// The third-party HTTP client shared by resyncs and live events: TLS trusting the platform
/// store (and `SSL_CERT_FILE`), the configured timeout, retries and per-host limits.
fn build_http(settings: &OceanSettings) -> Result<ThirdPartyClient, StartupError> {
    let http = crate::config::tls::client_builder()
        .map_err(|e| StartupError::HttpClient(e.to_string()))?
        .timeout(settings.client_timeout)
        .build()
        .map_err(|e| StartupError::HttpClient(e.to_string()))?;
    let limits = &settings.third_party_http;
    let mut options = HttpClientOptions {
        max_retries: limits.max_retries,
        max_in_flight_per_host: limits.max_in_flight_per_host,
        live_events_reserve: limits.live_events_reserve,
        timeout: settings.client_timeout,
        ..HttpClientOptions::default()
    };
    for (host, per_second) in &limits.rate_limits {
        options = options.rate_limit(host.clone(), RateLimit::per_second(*per_second));
    }
    ThirdPartyClient::from_reqwest(http, options)
        .map_err(|e| StartupError::HttpClient(format!("OCEAN__THIRD_PARTY_HTTP__*: {e}")))
}

/// Starts the integration: Port connection, default resources, HTTP server, start hooks and
/// the event listener. Returns once everything runs (the ONCE resync is under way).
pub async fn launch(launch: Launch) -> Result<RunningIntegration, StartupError> {
    let Launch {
        info,
        settings,
        application,
        registry,
        integration_config,
        extra_routes,
        bind_ip,
        require_server,
    } = launch;
    let listener = settings.event_listener.clone();
    if listener.should_resync && registry.resync_handlers().next().is_none() {
        return Err(StartupError::NoResyncHandler(listener.r#type));
    }
    let settings = Arc::new(settings);
    let PortConnection {
        client: port,
        local,
    } = connect(&settings, &info).await?;
    if let Err(e) = setup_defaults(&port, &settings, &info).await {
        return Err(stop_local(local, e).await);
    }
    let http = match build_http(&settings) {
        Ok(http) => http,
        Err(e) => return Err(stop_local(local, e).await),
    };
    let context = Context::from_shared_config(integration_config, http)
        .with_port(port.clone())
        .with_settings(Arc::clone(&settings));
    let registry = Arc::new(registry);
    // One mapping provider for resyncs and live events: cached for the configured TTL.
    let configs: Arc<dyn PortAppConfigProvider> = Arc::new(PortAppConfigFromPort::new(
        port.clone(),
        settings.integration.identifier.clone(),
        settings.port.port_app_config_cache_ttl,
    ));
    let jq = Arc::new(JqEngine::new(JqOptions {
        allow_env: settings.allow_environment_variables_jq_access,
    }));
    let live_events = if !registry.has_live_events() {
        None
    } else if !listener.should_process_webhooks {
        tracing::info!(
            listener = %listener.r#type,
            "webhook processing is off for this listener: live-event routes are not mounted"
        );
        None
    } else {
        match build_live_events(
            &registry,
            &context,
            &port,
            &settings,
            Arc::clone(&configs),
            Arc::clone(&jq),
        )
        .await
        {
            Ok(live) => Some(live),
            Err(e) => return Err(stop_local(local, e.into()).await),
        }
    };
    let mut extra_routes = extra_routes;
    if let Some(live) = &live_events {
        let live = live.clone();
        extra_routes.push(Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| {
            live.configure(cfg);
            live.configure_admin(cfg);
        }));
    }
    let engine = SyncEngine::new(
        port.clone(),
        registry.clone(),
        jq,
        context.clone(),
        SyncOptions {
            integration_identifier: settings.integration.identifier.clone(),
            send_raw_data_examples: settings.send_raw_data_examples,
            ..SyncOptions::default()
        },
    );
    let metrics = Metrics::new();
    let health = Health::new();
    let coordinator = ResyncCoordinator::new(
        port.clone(),
        configs,
        engine,
        settings.integration.identifier.clone(),
        settings.scheduled_resync_interval,
        metrics.clone(),
    );
    let options = ServerOptions {
        bind: SocketAddr::new(bind_ip, application.port),
        path_prefix: settings.path_prefix.clone(),
        workers: 2,
    };
    let state = ServerState {
        health: health.clone(),
        metrics: metrics.clone(),
    };
    let grace = settings.max_wait_seconds_before_shutdown.as_secs().max(1);
    let server = match server::start(&options, state, extra_routes, grace) {
        Ok(server) => {
            tracing::info!(addr = %server.addr(), "HTTP server listening on http://{}", server.addr());
            Some(server)
        }
        Err(e) if !require_server => {
            tracing::warn!(error = %e, "running without an HTTP server");
            None
        }
        Err(e) => return Err(stop_local(local, e.into()).await),
    };
    // Routes and workers go together: without a server nobody can send events, so no workers.
    let live_events = match (live_events, &server) {
        (Some(live), Some(server)) => {
            live.start();
            let stats = live.clone();
            metrics.attach_live_events(Arc::new(move || stats.stats()));
            announce_live_events(&live, &settings, server.addr());
            Some(live)
        }
        (Some(_), None) => {
            tracing::warn!("no HTTP server: live events are not processed");
            None
        }
        (None, _) => None,
    };
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for hook in registry.start_hooks() {
        let ctx = context.clone();
        let name = hook.name;
        let run = hook.hook;
        tasks.push(tokio::spawn(async move {
            if let Err(error) = run(ctx).await {
                tracing::error!(hook = name, %error, "start hook failed");
            }
        }));
    }
    let mut once = None;
    if listener.should_resync {
        match listener.r#type {
            EventListenerType::Once => once = coordinator.start(Trigger::Start).await,
            EventListenerType::Polling => tasks.push(tokio::spawn(listeners::poll(
                port.clone(),
                settings.integration.identifier.clone(),
                coordinator.clone(),
                listener.interval,
                listener.resync_on_start,
                stop.clone(),
            ))),
            EventListenerType::WebhooksOnly => {}
        }
        if let Some(interval) = settings.scheduled_resync_interval
            && !interval.is_zero()
            && listener.r#type != EventListenerType::Once
        {
            tasks.push(tokio::spawn(listeners::schedule(
                coordinator.clone(),
                interval,
                stop.clone(),
            )));
        }
    }
    health.set_ready(true);
    tracing::info!(
        identifier = %settings.integration.identifier,
        listener = %listener.r#type,
        "integration started"
    );
    Ok(RunningIntegration {
        settings,
        port,
        local,
        server,
        coordinator,
        health,
        metrics,
        live_events,
        stop,
        tasks,
        once,
    })
}

/// Stops the embedded local Port of a launch that failed, and passes the error through.
async fn stop_local(local: Option<LocalPortHandle>, error: StartupError) -> StartupError {
    if let Some(local) = local
        && let Err(stop_error) = local.stop().await
    {
        tracing::warn!(error = %stop_error, "the local Port did not stop cleanly");
    }
    error
}

/// The live events of the registered processors and raw routes, reading the mapping
/// from the integration's record in Port. Its workers are not started yet.
async fn build_live_events(
    registry: &Registry,
    context: &Context,
    port: &PortClient,
    settings: &OceanSettings,
    configs: Arc<dyn PortAppConfigProvider>,
    jq: Arc<JqEngine>,
) -> Result<LiveEvents, LiveEventsError> {
    let options = LiveEventsOptions::from_settings(settings);
    // Processors call the third party on the live-events lane of the shared budgets.
    let context = context.clone().with_lane(Lane::LiveEvents);
    let mut builder = LiveEvents::builder(context, port.clone(), configs)
        .options(options)
        .jq(jq);
    for registration in registry.webhook_processors() {
        builder = builder.register(*registration);
    }
    for raw in registry.raw_routes() {
        builder = builder.raw_routes(*raw);
    }
    builder.build().await
}

/// Logs where live events are served: the local address, and the public URL when
/// `OCEAN__BASE_URL` is set.
fn announce_live_events(live: &LiveEvents, settings: &OceanSettings, addr: SocketAddr) {
    let prefix = match settings.path_prefix.as_deref().map(|p| p.trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("/{p}"),
        _ => String::new(),
    };
    for path in live.paths() {
        let local = format!("http://{addr}{prefix}/integration{path}");
        match &settings.base_url {
            Some(base) => {
                let public = format!("{}{prefix}/integration{path}", base.trim_end_matches('/'));
                tracing::info!(%public, %local, "live events: send webhooks to the public URL");
            }
            None => tracing::info!(
                %local,
                "live events served (set OCEAN__BASE_URL to log the public URL)"
            ),
        }
    }
    if live.options().admin_token.is_none() {
        tracing::info!(
            "dead-letter admin routes are off: set {ADMIN_TOKEN_ENV} to list and replay dead letters"
        );
    }
}

async fn setup_defaults(
    port: &PortClient,
    settings: &OceanSettings,
    info: &IntegrationInfo,
) -> Result<(), StartupError> {
    let dir = resolve_resources_path(settings, info);
    let defaults = DefaultResources::load(&dir).await?;
    tracing::debug!(dir = %dir.display(), blueprints = defaults.blueprints.len(), "default resources read");
    ensure_integration(port, settings, info, &defaults).await?;
    if settings.initialize_port_resources {
        ensure_blueprints(port, &defaults.blueprints).await?;
    }
    Ok(())
}

impl RunningIntegration {
    /// Where the HTTP server listens, when it runs.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(RunningServer::addr)
    }

    /// The Port client.
    pub fn port(&self) -> &PortClient {
        &self.port
    }

    /// The embedded local Port, when no credentials were given.
    pub fn local_port(&self) -> Option<&LocalPortHandle> {
        self.local.as_ref()
    }

    /// The settings the integration runs with.
    pub fn settings(&self) -> &OceanSettings {
        &self.settings
    }

    /// Starts resyncs (and aborts the running one).
    pub fn coordinator(&self) -> &ResyncCoordinator {
        &self.coordinator
    }

    /// Liveness and readiness.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The live events, when webhooks are processed (processors or raw routes are
    /// registered and the listener processes webhooks).
    pub fn live_events(&self) -> Option<&LiveEvents> {
        self.live_events.as_ref()
    }

    /// Runs until the ONCE resync ends or `shutdown` resolves, then shuts down gracefully.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> RunExit {
        let exit = match self.once.take() {
            Some(once) => {
                let outcome = tokio::select! {
                    outcome = once.outcome() => Some(outcome),
                    () = shutdown => None,
                };
                match outcome {
                    Some(outcome) => {
                        tracing::info!(status = outcome.status.as_str(), "Exiting application");
                        RunExit::Once(outcome)
                    }
                    None => {
                        tracing::info!("shutdown requested; aborting the resync");
                        let grace = self.settings.max_wait_seconds_before_shutdown;
                        self.coordinator.shutdown(grace).await;
                        RunExit::Once(ResyncOutcome {
                            status: ResyncStatus::Aborted,
                            report: None,
                            error: Some("stopped by a signal".into()),
                        })
                    }
                }
            }
            None => {
                shutdown.await;
                tracing::info!("shutdown requested");
                RunExit::Stopped
            }
        };
        self.shutdown_now().await;
        exit
    }

    /// Shuts down now: stops the HTTP server (requests in flight finish, so an event answered
    /// 202 is queued), drains the live events (what is still running after the grace period is
    /// dead-lettered), stops the listeners and a running resync (reported `aborted`), then the
    /// embedded local Port. Bounded by `max_wait_seconds_before_shutdown` for each stage.
    pub async fn shutdown(self) -> RunExit {
        self.run_until(std::future::ready(())).await
    }

    async fn shutdown_now(mut self) {
        let grace = self
            .settings
            .max_wait_seconds_before_shutdown
            .max(std::time::Duration::from_secs(1));
        self.health.set_ready(false);
        self.stop.cancel();
        if let Some(server) = self.server.take()
            && let Err(error) = tokio::time::timeout(grace, server.stop())
                .await
                .unwrap_or_else(|_| Err(server::ServerError::Failed("stop timed out".into())))
        {
            tracing::warn!(%error, "the HTTP server did not stop cleanly");
        }
        if let Some(live) = self.live_events.take() {
            let report = live.shutdown().await;
            if report.timed_out || report.abandoned > 0 || report.unstarted > 0 {
                tracing::warn!(
                    abandoned = report.abandoned,
                    unstarted = report.unstarted,
                    "live events stopped before every event finished; see the dead letters"
                );
            } else {
                tracing::info!("live events drained");
            }
        }
        self.coordinator.shutdown(grace).await;
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        if let Some(local) = self.local.take()
            && let Err(error) = local.stop().await
        {
            tracing::warn!(%error, "the local Port did not stop cleanly");
        }
        tracing::info!("shutdown complete");
    }
}
