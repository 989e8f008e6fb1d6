//! A harness for integration authors' tests: the integration runs in-process, exactly as its
//! binary would (the same startup, default resources, HTTP server, processors and workers),
//! against an embedded local Port, with settings given by the test instead of the process
//! environment.
//!
//! ```no_run
//! use ocean::testing::TestIntegration;
//! use serde_json::json;
//!
//! # #[derive(serde::Deserialize)] struct MyConfig { api_url: String }
//! # async fn example() -> Result<(), ocean::testing::TestError> {
//! let it = TestIntegration::builder(ocean::integration_info!())
//!     .config(MyConfig { api_url: "http://127.0.0.1:9999".into() })
//!     .start()
//!     .await?;
//!
//! // A resync, and its report.
//! let report = it.resync().await?;
//! assert_eq!(report.kinds[0].upserted, 3);
//!
//! // A webhook over real HTTP, signed as the third party would sign it.
//! let answer = it.webhook("/webhook").json(&json!({"issue": {"key": "A-1"}})).send().await?;
//! assert_eq!(answer.status, 202);
//! let issue = it.wait_for_entity("issue", "A-1").await?;
//! assert_eq!(issue.title.as_deref(), Some("Broken login"));
//! it.stop().await;
//! # Ok(()) }
//! ```
//!
//! What the harness sets unless the test says otherwise (with
//! [`TestIntegrationBuilder::setting`]): the listener `WEBHOOKS_ONLY` (resyncs happen when the
//! test asks, with [`TestIntegration::resync`]), the HTTP server on a free loopback port, the
//! default resources from the crate's `.port/resources`, no raw-data examples sent to Port, and
//! no caching of the mapping (so [`TestIntegration::set_mapping`] takes effect at once). The
//! process environment, `.env` and `config.yaml` are not read.

use crate::config::{
    ApplicationSettings, ConfigError, ConfigSources, IntegrationSpec, OceanSettings,
};
use crate::live_events::ProcessorRetryPolicy;
use crate::port::client::PortClient;
use crate::port::local::{LocalEntity, LocalPortHandle, LocalPortState};
use crate::registry::{Registry, RegistryError};
use crate::runtime::{
    IntegrationInfo, Launch, NoConfig, ResyncOutcome, RunningIntegration, StartupError, Trigger,
    launch,
};
use crate::signature::SignedHeaders;
use crate::sync::ResyncReport;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::Any;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the `wait_*` methods wait before giving up.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// Why a test integration could not do what the test asked.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The settings given by the test are invalid.
    #[error("invalid test settings: {0}")]
    Config(#[from] ConfigError),
    /// The registrations are invalid.
    #[error("invalid registrations: {0}")]
    Registry(#[from] RegistryError),
    /// The integration did not start.
    #[error("the integration did not start: {0}")]
    Startup(#[from] StartupError),
    /// A resync could not be started (the integration is stopping) or did not complete.
    #[error("resync {0}")]
    Resync(String),
    /// An HTTP call to the integration failed.
    #[error("HTTP call to the integration failed: {0}")]
    Http(#[from] reqwest::Error),
    /// A Port call failed.
    #[error("Port call failed: {0}")]
    Port(#[from] crate::port::client::PortError),
    /// What the test waited for did not happen in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
    /// Something the test used is not there (e.g. live events on an integration without
    /// processors).
    #[error("{0}")]
    Missing(String),
}

type ConfigLoader =
    Box<dyn FnOnce(&OceanSettings) -> Result<Arc<dyn Any + Send + Sync>, ConfigError> + Send>;

/// Builds a [`TestIntegration`]; see the [module documentation](self).
pub struct TestIntegrationBuilder {
    info: IntegrationInfo,
    settings: Vec<(String, String)>,
    config: ConfigLoader,
    registry: Option<Registry>,
    processor_retries: Option<ProcessorRetryPolicy>,
    wait: Duration,
    standalone: Option<LocalPortState>,
}

impl std::fmt::Debug for TestIntegrationBuilder {
    // Setting values may be secrets: only names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIntegrationBuilder")
            .field("info", &self.info)
            .field(
                "settings",
                &self.settings.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl TestIntegrationBuilder {
    /// Sets a setting by its variable name (`OCEAN__…`, `APPLICATION__…`), as the environment
    /// would; later calls win.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// The integration's typed configuration, given as a value (what `Context::config`
    /// returns).
    pub fn config<C: Any + Send + Sync>(mut self, config: C) -> Self {
        let config: Arc<dyn Any + Send + Sync> = Arc::new(config);
        self.config = Box::new(move |_| Ok(config));
        self
    }

    /// The integration's typed configuration, read from the `OCEAN__INTEGRATION__CONFIG__*`
    /// settings given with [`TestIntegrationBuilder::setting`], as the binary reads it.
    pub fn config_from_settings<C: DeserializeOwned + Send + Sync + 'static>(mut self) -> Self {
        self.config = Box::new(|settings| {
            let config: C = settings.integration_config()?;
            Ok(Arc::new(config))
        });
        self
    }

    /// Runs these registrations instead of everything the crate registered with its macros.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Every webhook processor retries as `policy` says (tests use short delays).
    pub fn processor_retries(mut self, policy: ProcessorRetryPolicy) -> Self {
        self.processor_retries = Some(policy);
        self
    }

    /// Runs against this standalone local Port (its URL and credentials) instead of an
    /// embedded one, e.g. to keep its catalog across two runs of the integration.
    pub fn local_port(mut self, port: &LocalPortHandle) -> Self {
        self.settings
            .push(("OCEAN__PORT__BASE_URL".into(), port.url().to_owned()));
        self.settings
            .push(("OCEAN__PORT__CLIENT_ID".into(), port.client_id().to_owned()));
        self.settings.push((
            "OCEAN__PORT__CLIENT_SECRET".into(),
            port.client_secret().expose().to_owned(),
        ));
        self.standalone = Some(port.state());
        self
    }

    /// How long the `wait_*` methods wait before giving up (default [`DEFAULT_WAIT`]).
    pub fn wait_timeout(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Starts the integration; returns once it serves webhooks.
    pub async fn start(self) -> Result<TestIntegration, TestError> {
        let resources = std::path::Path::new(self.info.manifest_dir).join(".port/resources");
        let mut sources = ConfigSources::new()
            .with_env_var("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")
            .with_env_var("OCEAN__RESOURCES_PATH", resources.display().to_string())
            .with_env_var("OCEAN__SEND_RAW_DATA_EXAMPLES", "false")
            .with_env_var("OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "0")
            .with_env_var("APPLICATION__PORT", "0");
        for (name, value) in self.settings {
            sources = sources.with_env_var(name, value);
        }
        let spec =
            IntegrationSpec::load(&std::path::Path::new(self.info.manifest_dir).join(".port"))?;
        let settings = OceanSettings::load_with_spec(&sources, spec.as_ref(), self.info.name)?;
        let application = ApplicationSettings::load(&sources)?;
        let config = (self.config)(&settings)?;
        let mut registry = match self.registry {
            Some(registry) => registry,
            None => Registry::collect()?,
        };
        if let Some(policy) = self.processor_retries {
            registry = registry.with_processor_retries(policy);
        }
        let mut args = Launch::new(self.info, settings, application, registry, config);
        args.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        args.require_server = true;
        let running = launch(args).await?;
        let catalog = self
            .standalone
            .or_else(|| running.local_port().map(LocalPortHandle::state));
        let (Some(addr), Some(catalog)) = (running.server_addr(), catalog) else {
            running.shutdown().await;
            return Err(TestError::Missing(
                "the test harness runs against a local Port (embedded, or given with `local_port`): unset OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET".into(),
            ));
        };
        Ok(TestIntegration {
            base: format!("http://{addr}"),
            running,
            catalog,
            wait: self.wait,
            http: reqwest::Client::new(),
        })
    }
}

/// An integration running in the test's process against an embedded local Port.
#[derive(Debug)]
pub struct TestIntegration {
    running: RunningIntegration,
    catalog: LocalPortState,
    base: String,
    wait: Duration,
    http: reqwest::Client,
}

/// What the integration answered to a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    /// The HTTP status (202 accepted, 200 ignored, 401, 422, ...).
    pub status: u16,
    /// The JSON body (`null` when there was none).
    pub body: Value,
}

impl WebhookAnswer {
    /// The event id of an accepted webhook.
    pub fn event_id(&self) -> Option<&str> {
        self.body.get("eventId").and_then(Value::as_str)
    }
}

/// A webhook about to be posted to the integration; see [`TestIntegration::webhook`].
#[derive(Debug)]
pub struct WebhookRequest<'a> {
    integration: &'a TestIntegration,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl WebhookRequest<'_> {
    /// The body: `payload` as JSON (and `content-type: application/json`).
    pub fn json(mut self, payload: &Value) -> Self {
        self.body = payload.to_string().into_bytes();
        self.header("content-type", "application/json")
    }

    /// The body, as raw bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds the headers `sign` makes from the body, e.g.
    /// `.signed(|body| StandardWebhooks::new(secret).sign("msg_1", now, body))`.
    pub fn signed<E>(
        mut self,
        sign: impl FnOnce(&[u8]) -> Result<SignedHeaders, E>,
    ) -> Result<Self, E> {
        let headers = sign(&self.body)?;
        for (name, value) in headers.iter() {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        Ok(self)
    }

    /// Posts it to `/integration{path}` over HTTP and returns the answer.
    pub async fn send(self) -> Result<WebhookAnswer, TestError> {
        let url = format!("{}{}", self.integration.integration_url(), self.path);
        let mut request = self.integration.http.post(url).body(self.body);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let answer = request.send().await?;
        let status = answer.status().as_u16();
        let text = answer.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        });
        Ok(WebhookAnswer { status, body })
    }
}

impl TestIntegration {
    /// A builder for the integration described by `info` (usually
    /// [`ocean::integration_info!()`](crate::integration_info), which names the calling crate),
    /// with no typed configuration ([`NoConfig`]) until [`TestIntegrationBuilder::config`] or
    /// [`TestIntegrationBuilder::config_from_settings`] gives one.
    pub fn builder(info: IntegrationInfo) -> TestIntegrationBuilder {
        TestIntegrationBuilder {
            info,
            settings: Vec::new(),
            config: Box::new(|_| Ok(Arc::new(NoConfig {}))),
            registry: None,
            processor_retries: None,
            wait: DEFAULT_WAIT,
            standalone: None,
        }
    }

    /// The running integration (settings, coordinator, live events, metrics).
    pub fn running(&self) -> &RunningIntegration {
        &self.running
    }

    /// The integration's identifier in Port.
    pub fn identifier(&self) -> &str {
        &self.running.settings().integration.identifier
    }

    /// The base URL of the integration's HTTP server (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Where webhooks are served: the base URL, the path prefix if any, and `/integration`.
    pub fn integration_url(&self) -> String {
        match self
            .running
            .settings()
            .path_prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
        {
            Some(prefix) if !prefix.is_empty() => format!("{}/{prefix}/integration", self.base),
            _ => format!("{}/integration", self.base),
        }
    }

    /// The Port client the integration writes with.
    pub fn port(&self) -> &PortClient {
        self.running.port()
    }

    /// The local Port's catalog, which the integration writes to.
    pub fn catalog(&self) -> &LocalPortState {
        &self.catalog
    }

    /// Runs one resync now and returns its report; a resync that could not run (e.g. the
    /// mapping is missing) is an error naming why. A resync that ran but failed a kind
    /// returns its report: check `report.status` and each kind's `errors`.
    pub async fn resync(&self) -> Result<ResyncReport, TestError> {
        let outcome = self.resync_outcome().await?;
        match outcome.report {
            Some(report) => Ok(report),
            None => Err(TestError::Resync(format!(
                "{}: {}",
                outcome.status.as_str(),
                outcome.error.unwrap_or_default()
            ))),
        }
    }

    /// Runs one resync now and returns its whole outcome (status, report, error).
    pub async fn resync_outcome(&self) -> Result<ResyncOutcome, TestError> {
        let handle = self
            .running
            .coordinator()
            .start(Trigger::Manual)
            .await
            .ok_or_else(|| {
                TestError::Resync("could not start: the integration is stopping".into())
            })?;
        Ok(handle.outcome().await)
    }

    /// Replaces the integration's mapping (port-app-config) in Port, as a user editing it in
    /// Port would; the next resync and the next live events use it.
    pub async fn set_mapping(&self, mapping: &Value) -> Result<(), TestError> {
        self.port()
            .patch_integration_config(self.identifier(), mapping)
            .await?;
        Ok(())
    }

    /// A webhook to post to `/integration{path}`.
    pub fn webhook(&self, path: &str) -> WebhookRequest<'_> {
        WebhookRequest {
            integration: self,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The entity `id` of `blueprint` in the local Port, if it is there.
    pub fn entity(&self, blueprint: &str, id: &str) -> Option<LocalEntity> {
        self.catalog.entity(blueprint, id)
    }

    /// Every entity of `blueprint` in the local Port, in identifier order.
    pub fn entities(&self, blueprint: &str) -> Vec<LocalEntity> {
        self.catalog.entities(blueprint)
    }

    /// Waits (at most the builder's wait timeout) until `check` holds.
    pub async fn wait_until(
        &self,
        what: &str,
        mut check: impl FnMut(&Self) -> bool,
    ) -> Result<(), TestError> {
        let deadline = Instant::now() + self.wait;
        while !check(self) {
            if Instant::now() >= deadline {
                return Err(TestError::Timeout {
                    what: what.to_owned(),
                    waited: self.wait,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Waits until the entity `id` of `blueprint` is in the local Port and returns it.
    pub async fn wait_for_entity(
        &self,
        blueprint: &str,
        id: &str,
    ) -> Result<LocalEntity, TestError> {
        let what = format!("entity `{id}` of blueprint `{blueprint}`");
        self.wait_until(&what, |it| it.entity(blueprint, id).is_some())
            .await?;
        self.entity(blueprint, id).ok_or(TestError::Timeout {
            what,
            waited: self.wait,
        })
    }

    /// Waits until the entity `id` of `blueprint` is no longer in the local Port.
    pub async fn wait_for_deletion(&self, blueprint: &str, id: &str) -> Result<(), TestError> {
        let what = format!("entity `{id}` of blueprint `{blueprint}` to be deleted");
        self.wait_until(&what, |it| it.entity(blueprint, id).is_none())
            .await
    }

    /// Waits until every live event accepted so far was processed or dead-lettered.
    pub async fn wait_for_live_events(&self) -> Result<(), TestError> {
        let live = self
            .running
            .live_events()
            .ok_or_else(|| TestError::Missing("this integration processes no live events".into()))?
            .clone();
        self.wait_until("the accepted live events to be processed", move |_| {
            let stats = live.stats();
            stats.queue_depth == 0 && stats.accepted == stats.processed + stats.dead_lettered
        })
        .await
    }

    /// The running integration itself, for tests that drive its shutdown (`run_until`,
    /// `shutdown`) themselves.
    pub fn into_running(self) -> RunningIntegration {
        self.running
    }

    /// Stops the integration gracefully (live events drained, local Port stopped).
    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// What gets logged while a test runs, for assertions on what was (or was not) logged, such
/// as a secret that must never appear:
///
/// ```
/// let logs = ocean::testing::CapturedLogs::new();
/// tracing::subscriber::with_default(logs.subscriber(tracing::Level::INFO), || {
///     tracing::warn!("the local Port is used");
/// });
/// assert!(logs.text().contains("WARN"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// A subscriber writing plain-text lines at `level` and above into this capture; install
    /// it with `tracing::subscriber::set_default` or `with_default`.
    pub fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(level)
            .finish()
    }

    /// Everything captured so far, as text.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut lines) => lines.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
