//! The compiled mappings of live-event processing, per config version.

use crate::mapping::{CompiledResource, JqEngine, PortAppConfig, ResourceConfig};
use std::sync::{Arc, Mutex};

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
