//! Startup and shutdown: configuration, Port connection, default resources, listeners, server.

mod context;

pub use context::Context;

use crate::registry::Registry;
use serde::de::DeserializeOwned;
use std::process::ExitCode;

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

/// Runs the integration whose handlers are registered in this binary, with `C` as its typed
/// configuration; what `ocean::run!()` calls from `main`.
///
/// `--about` prints the integration's name, version, configuration type, kinds, resync
/// handlers and start hooks as JSON.
pub fn run<C>(info: IntegrationInfo) -> ExitCode
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let registry = match Registry::collect() {
        Ok(registry) => registry,
        Err(error) => {
            tracing::error!(%error, "invalid handler registrations");
            eprintln!("{}: {error}", info.name);
            return ExitCode::FAILURE;
        }
    };
    if std::env::args_os().skip(1).any(|arg| arg == "--about") {
        let mut about = serde_json::Map::new();
        about.insert("name".into(), info.name.into());
        about.insert("version".into(), info.version.into());
        about.insert("config".into(), std::any::type_name::<C>().into());
        if let serde_json::Value::Object(registrations) = registry.about() {
            about.extend(registrations);
        }
        println!("{}", serde_json::Value::Object(about));
        return ExitCode::SUCCESS;
    }
    tracing::error!(
        integration = info.name,
        "the runtime is not wired yet; only --about is available"
    );
    eprintln!(
        "{}: the runtime is not wired yet; only --about is available",
        info.name
    );
    ExitCode::FAILURE
}
