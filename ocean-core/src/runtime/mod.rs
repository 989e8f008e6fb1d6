//! Startup and shutdown: configuration, Port connection, default resources, listeners, server.
//!
//! [`run`] is what `ocean::run!()` calls from `main`: it reads the command line and the
//! settings, sets up logging, and drives [`launch`] until a signal (or the end of the ONCE
//! resync). Exit codes: 0 success, 1 the ONCE resync failed or was aborted (or the integration
//! could not start), 2 the configuration is invalid.

mod cli;
mod connection;
pub mod defaults;
mod launch;
mod listeners;
mod resync;

pub use cli::Cli;
pub use connection::{ConnectError, PortConnection, connect, datasource};
pub use launch::{Launch, RunExit, RunningIntegration, StartupError, launch};
pub use listeners::{PollDecision, decide as decide_poll};
pub use resync::{ResyncCoordinator, ResyncHandle, ResyncOutcome, Trigger};

use crate::config::{
    ApplicationSettings, ConfigError, ConfigSources, EventListenerType, IntegrationSpec,
    OCEAN_PREFIX, OceanSettings,
};
use crate::registry::Registry;
use clap::Parser;
use serde::de::DeserializeOwned;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code of a run that could not start (or whose ONCE resync failed).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of an invalid configuration.
pub const EXIT_CONFIG: u8 = 2;

/// What `ocean::run!()` knows about the integration's crate, taken from Cargo at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrationInfo {
    /// The package name (`CARGO_PKG_NAME`).
    pub name: &'static str,
    /// The package version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// The package directory (`CARGO_MANIFEST_DIR`), where `.port/` and `config.yaml` live.
    pub manifest_dir: &'static str,
}

/// The integration configuration of an integration that has none: `ocean::run!()` without
/// `config = ...`. Accepts any settings map and ignores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct NoConfig {}

/// Defaults an integration binary may give the runtime, used where the configuration is silent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunDefaults {
    /// The event listener when `OCEAN__EVENT_LISTENER__TYPE` is set nowhere (otherwise POLLING).
    pub event_listener: Option<EventListenerType>,
}

/// Runs the integration whose handlers are registered in this binary, with `C` as its typed
/// configuration; what `ocean::run!()` calls from `main`.
///
/// `--about` prints the integration's name, version, configuration type, `.port/spec.yaml`
/// (sensitive defaults masked), kinds, resync handlers and start hooks as JSON. The spec's
/// configurations are checked at startup: every required setting present, each of its type,
/// defaults filled in.
pub fn run<C>(info: IntegrationInfo) -> ExitCode
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    run_with::<C>(info, RunDefaults::default())
}

/// [`run`] with defaults of the binary's own (e.g. an example that runs ONCE by default).
pub fn run_with<C>(info: IntegrationInfo, defaults: RunDefaults) -> ExitCode
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_CONFIG } else { 0 });
        }
    };
    let registry = match Registry::collect() {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("{}: invalid handler registrations: {error}", info.name);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let spec = match IntegrationSpec::load(&IntegrationSpec::locate(info.manifest_dir)) {
        Ok(spec) => spec,
        Err(error) => return config_failure(&info, &error),
    };
    if cli.about {
        println!("{}", about::<C>(&info, &registry, spec.as_ref()));
        return ExitCode::SUCCESS;
    }
    let sources = match with_default_listener(cli.apply(ConfigSources::from_process()), defaults) {
        Ok(sources) => sources,
        Err(error) => return config_failure(&info, &error),
    };
    let application = match ApplicationSettings::load(&sources) {
        Ok(application) => application,
        Err(error) => return config_failure(&info, &error),
    };
    // Held to the end of `run`: dropping it flushes the log lines still buffered.
    let _log_writer = init_tracing(&application);
    let settings = match OceanSettings::load_with_spec(&sources, spec.as_ref(), info.name) {
        Ok(settings) => settings,
        Err(error) => return config_failure(&info, &error),
    };
    let config: C = match settings.integration_config() {
        Ok(config) => config,
        Err(error) => return config_failure(&info, &error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "the async runtime could not start");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let once = settings.event_listener.r#type == EventListenerType::Once;
    let launch_args = Launch::new(info, settings, application, registry, Arc::new(config));
    let code = runtime.block_on(async move {
        tracing::info!(integration = info.name, version = info.version, "starting");
        let running = match launch(launch_args).await {
            Ok(running) => running,
            Err(error) => {
                tracing::error!(%error, "Integration had a fatal error. Shutting down.");
                eprintln!("{}: {error}", info.name);
                return EXIT_FAILURE;
            }
        };
        let exit = running.run_until(shutdown_signal()).await;
        if once && let RunExit::Once(outcome) = &exit {
            print!("{}", summary_table(outcome));
        }
        exit.code()
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(code)
}

fn about<C>(
    info: &IntegrationInfo,
    registry: &Registry,
    spec: Option<&IntegrationSpec>,
) -> serde_json::Value {
    let mut about = serde_json::Map::new();
    about.insert("name".into(), info.name.into());
    about.insert("version".into(), info.version.into());
    about.insert("config".into(), std::any::type_name::<C>().into());
    if let Some(spec) = spec {
        about.insert("spec".into(), spec.about());
    }
    if let serde_json::Value::Object(registrations) = registry.about() {
        about.extend(registrations);
    }
    serde_json::Value::Object(about)
}

/// Sets the listener type to `defaults.event_listener` when no source names one.
fn with_default_listener(
    sources: ConfigSources,
    defaults: RunDefaults,
) -> Result<ConfigSources, ConfigError> {
    let Some(listener) = defaults.event_listener else {
        return Ok(sources);
    };
    let tree = sources.layer(OCEAN_PREFIX, true, Vec::new())?;
    let named = ["event_listener", "type"]
        .iter()
        .try_fold(tree.root(), |node, key| node.as_object()?.get(*key))
        .is_some();
    if named {
        return Ok(sources);
    }
    Ok(sources.with_override("OCEAN__EVENT_LISTENER__TYPE", listener.as_str()))
}

fn config_failure(info: &IntegrationInfo, error: &ConfigError) -> ExitCode {
    tracing::error!(%error, "invalid configuration");
    eprintln!("{}: invalid configuration: {error}", info.name);
    ExitCode::from(EXIT_CONFIG)
}

/// Logs to stderr at the configured level; `RUST_LOG`, when set, decides instead. Lines are
/// written by a dedicated thread, so logging never blocks the async runtime on stderr (unless
/// 128k lines are waiting, when callers wait rather than lose lines); the guard flushes on drop.
fn init_tracing(application: &ApplicationSettings) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let level = application
            .log_level
            .tracing_level()
            .as_str()
            .to_ascii_lowercase();
        // The HTTP server's own start/stop lines are noise at INFO.
        EnvFilter::new(format!("{level},actix_server=warn"))
    });
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(128 * 1024)
        .thread_name("ocean-log")
        .finish(std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    guard
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// A short table of what a resync did, per kind.
pub fn summary_table(outcome: &ResyncOutcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Resync {}", outcome.status.as_str());
    if let Some(error) = &outcome.error {
        let _ = writeln!(out, "  {error}");
    }
    let Some(report) = &outcome.report else {
        return out;
    };
    let width = report
        .kinds
        .iter()
        .map(|k| k.kind.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>6}",
        "kind", "fetched", "mapped", "filtered", "upserted", "failed", "errors"
    );
    for k in &report.kinds {
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>6}",
            k.kind,
            k.fetched,
            k.mapped,
            k.filtered,
            k.upserted,
            k.failed,
            k.errors.len()
        );
    }
    out
}
