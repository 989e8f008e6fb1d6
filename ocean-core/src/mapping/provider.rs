//! Where the port-app-config (the mapping) comes from: one provider shared by resyncs and live
//! events. [`PortAppConfigFromPort`] reads it from the integration's record in Port and reuses it
//! for a TTL (`OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL`, default 60 s, as Ocean 0.50 caches it),
//! so a mapping edited in Port reaches live events within the TTL; a resync reads it fresh and
//! refreshes the cache on the way.

use super::config::{ConfigError, PortAppConfig};
use crate::port::client::{PortClient, PortError};
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Why the port-app-config could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PortAppConfigError {
    /// Port could not be asked.
    #[error("could not read the mapping from Port: {0}")]
    Port(Box<PortError>),
    /// The integration has no record in Port.
    #[error("the integration `{0}` does not exist in Port")]
    MissingIntegration(String),
    /// The integration's record holds no mapping.
    #[error(
        "the integration `{0}` has no mapping (port-app-config) in Port: set one in Port, or add .port/resources/port-app-config.yml and start with initialize_port_resources"
    )]
    NoMapping(String),
    /// The mapping in Port is not a valid port-app-config.
    #[error(
        "the mapping (port-app-config) of integration `{integration}` in Port is invalid: {error}"
    )]
    Invalid {
        /// The integration.
        integration: String,
        /// What is wrong with it.
        error: ConfigError,
    },
}

impl From<PortError> for PortAppConfigError {
    fn from(error: PortError) -> Self {
        Self::Port(Box::new(error))
    }
}

/// Gives the current port-app-config to resyncs and live-event processing.
///
/// The futures are boxed so providers can be kept as `Arc<dyn PortAppConfigProvider>`.
pub trait PortAppConfigProvider: Send + Sync + 'static {
    /// The config to process the next event with: fresh enough for the provider's policy.
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, PortAppConfigError>>;

    /// The config as it is now, bypassing any cache (what a resync starts from). Default:
    /// [`PortAppConfigProvider::current`].
    fn fresh(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, PortAppConfigError>> {
        self.current()
    }
}

/// A provider of one fixed config (tests, and integrations configured from a file).
#[derive(Debug, Clone)]
pub struct FixedPortAppConfig(Arc<PortAppConfig>);

impl FixedPortAppConfig {
    /// A provider that always gives `config`.
    pub fn new(config: PortAppConfig) -> Self {
        Self(Arc::new(config))
    }
}

impl PortAppConfigProvider for FixedPortAppConfig {
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, PortAppConfigError>> {
        let config = Arc::clone(&self.0);
        Box::pin(async move { Ok(config) })
    }
}

/// Reads the config from the integration's record in Port and reuses it for a TTL; concurrent
/// callers share one fetch. [`PortAppConfigProvider::fresh`] always fetches and refreshes the
/// cache.
#[derive(Debug)]
pub struct PortAppConfigFromPort {
    port: PortClient,
    integration: String,
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<PortAppConfig>)>>,
}

impl PortAppConfigFromPort {
    /// A provider reading integration `integration` through `port`, caching for `ttl`
    /// (zero: fetch every time).
    pub fn new(port: PortClient, integration: impl Into<String>, ttl: Duration) -> Self {
        Self {
            port,
            integration: integration.into(),
            ttl,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The cache's time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    async fn fetch(&self) -> Result<PortAppConfig, PortAppConfigError> {
        let integration = self
            .port
            .get_integration(&self.integration)
            .await?
            .ok_or_else(|| PortAppConfigError::MissingIntegration(self.integration.clone()))?;
        let config = integration.config.unwrap_or(Value::Null);
        let empty = match &config {
            Value::Null => true,
            Value::Object(map) => map.is_empty(),
            _ => false,
        };
        if empty {
            return Err(PortAppConfigError::NoMapping(self.integration.clone()));
        }
        PortAppConfig::from_value(&config).map_err(|error| PortAppConfigError::Invalid {
            integration: self.integration.clone(),
            error,
        })
    }

    async fn load(&self, use_cache: bool) -> Result<Arc<PortAppConfig>, PortAppConfigError> {
        let mut cached = self.cached.lock().await;
        if use_cache
            && let Some((at, config)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(config));
        }
        let config = Arc::new(self.fetch().await?);
        *cached = Some((Instant::now(), Arc::clone(&config)));
        Ok(config)
    }
}

impl PortAppConfigProvider for PortAppConfigFromPort {
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, PortAppConfigError>> {
        Box::pin(self.load(true))
    }

    fn fresh(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, PortAppConfigError>> {
        Box::pin(self.load(false))
    }
}
