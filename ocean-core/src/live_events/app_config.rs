//! Where processing gets the port-app-config from, and the compiled mappings per config version.

use super::error::LiveEventsError;
use crate::mapping::{CompiledResource, JqEngine, PortAppConfig, ResourceConfig};
use crate::port::client::PortClient;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Gives the current port-app-config (the resource mapping) to live-event processing.
///
/// The future is boxed so providers can be kept as `Arc<dyn PortAppConfigProvider>`.
pub trait PortAppConfigProvider: Send + Sync + 'static {
    /// The config to process the next event with: fresh enough for the provider's policy.
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, LiveEventsError>>;
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
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, LiveEventsError>> {
        let config = Arc::clone(&self.0);
        Box::pin(async move { Ok(config) })
    }
}

/// Reads the config from the integration's record in Port and reuses it for a TTL
/// (`port.port_app_config_cache_ttl`); concurrent callers share one fetch.
#[derive(Debug)]
pub struct PortAppConfigFromPort {
    port: PortClient,
    integration: String,
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<PortAppConfig>)>>,
}

impl PortAppConfigFromPort {
    /// A provider reading integration `integration` through `port`, caching for `ttl`
    /// (zero: fetch for every event).
    pub fn new(port: PortClient, integration: impl Into<String>, ttl: Duration) -> Self {
        Self {
            port,
            integration: integration.into(),
            ttl,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<PortAppConfig, LiveEventsError> {
        let integration = self
            .port
            .get_integration(&self.integration)
            .await?
            .ok_or_else(|| {
                LiveEventsError::Config(format!(
                    "integration `{}` does not exist in Port",
                    self.integration
                ))
            })?;
        let value = integration.config.ok_or_else(|| {
            LiveEventsError::Config(format!(
                "integration `{}` has no port-app-config",
                self.integration
            ))
        })?;
        PortAppConfig::from_value(&value).map_err(|e| {
            LiveEventsError::Config(format!(
                "integration `{}` has an invalid port-app-config: {e}",
                self.integration
            ))
        })
    }
}

impl PortAppConfigProvider for PortAppConfigFromPort {
    fn current(&self) -> BoxFuture<'_, Result<Arc<PortAppConfig>, LiveEventsError>> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some((at, config)) = cached.as_ref()
                && at.elapsed() < self.ttl
            {
                return Ok(Arc::clone(config));
            }
            let config = Arc::new(self.fetch().await?);
            *cached = Some((Instant::now(), Arc::clone(&config)));
            Ok(config)
        })
    }
}

/// The resources of one config, compiled once.
#[derive(Debug)]
pub struct CompiledConfig {
    /// The config they were compiled from.
    pub config: Arc<PortAppConfig>,
    /// One compiled resource per `config.resources` entry, same order.
    pub resources: Vec<CompiledResource>,
    /// Each `config.resources` entry, shared, for the contexts handed to processors (so no
    /// event clones a resource's configuration).
    pub resource_configs: Vec<Arc<ResourceConfig>>,
}

/// Keeps the compiled form of the latest config, recompiling only when the config changes
/// (a refetched but identical config is not recompiled).
#[derive(Debug)]
pub struct CompiledConfigCache {
    jq: Arc<JqEngine>,
    latest: Mutex<Option<Arc<CompiledConfig>>>,
}

impl CompiledConfigCache {
    /// An empty cache compiling with `jq`.
    pub fn new(jq: Arc<JqEngine>) -> Self {
        Self {
            jq,
            latest: Mutex::new(None),
        }
    }

    /// The compiled form of `config`.
    pub fn get(&self, config: &Arc<PortAppConfig>) -> Arc<CompiledConfig> {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(compiled) = latest.as_ref()
            && (Arc::ptr_eq(&compiled.config, config) || *compiled.config == **config)
        {
            return Arc::clone(compiled);
        }
        let compiled = Arc::new(CompiledConfig {
            config: Arc::clone(config),
            resources: config
                .resources
                .iter()
                .map(|r| CompiledResource::new(r, &self.jq))
                .collect(),
            resource_configs: config.resources.iter().cloned().map(Arc::new).collect(),
        });
        *latest = Some(Arc::clone(&compiled));
        compiled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> PortAppConfig {
        PortAppConfig::parse(&format!(
            r#"
resources:
  - kind: {kind}
    selector: {{query: "true"}}
    port:
      entity:
        mappings: {{identifier: .id, blueprint: '"svc"'}}
"#
        ))
        .unwrap()
    }

    #[test]
    fn compiles_once_per_config_version() {
        let cache = CompiledConfigCache::new(Arc::new(JqEngine::default()));
        let a = Arc::new(config("a"));
        let first = cache.get(&a);
        let again = cache.get(&Arc::new(config("a")));
        assert!(
            Arc::ptr_eq(&first, &again),
            "an equal config is not recompiled"
        );
        let b = cache.get(&Arc::new(config("b")));
        assert!(!Arc::ptr_eq(&first, &b));
        assert_eq!(b.resources[0].kind(), "b");
    }
}
