//! The context handed to author code.

use crate::config::OceanSettings;
use crate::mapping::ResourceConfig;
use crate::port::client::PortClient;
use std::any::Any;
use std::sync::{Arc, RwLock};

/// The context of the integration launched last in this process (see [`Context::current`]).
static CURRENT: RwLock<Option<Context>> = RwLock::new(None);

/// What resync handlers, start hooks and webhook processors get: the integration's typed
/// configuration, the clients they need, and the resource being synced. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
    resource: Option<Arc<ResourceConfig>>,
}

struct ContextInner {
    integration_config: Arc<dyn Any + Send + Sync>,
    http: reqwest::Client,
    port: Option<PortClient>,
    settings: Option<Arc<OceanSettings>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("resource", &self.resource.as_ref().map(|r| &r.kind))
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context holding `integration_config` (the author's typed settings) and an HTTP client
    /// for the third party.
    pub fn new<C: Any + Send + Sync>(integration_config: C, http: reqwest::Client) -> Self {
        Self::from_shared_config(Arc::new(integration_config), http)
    }

    /// A context holding an integration configuration that is already shared (the runtime
    /// loads it once, with its type erased).
    pub fn from_shared_config(
        integration_config: Arc<dyn Any + Send + Sync>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                integration_config,
                http,
                port: None,
                settings: None,
            }),
            resource: None,
        }
    }

    fn rebuilt(self, change: impl FnOnce(&mut ContextInner)) -> Self {
        let mut inner = ContextInner {
            integration_config: Arc::clone(&self.inner.integration_config),
            http: self.inner.http.clone(),
            port: self.inner.port.clone(),
            settings: self.inner.settings.clone(),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
            resource: self.resource,
        }
    }

    /// The same context with a Port client (set by the runtime).
    pub fn with_port(self, port: PortClient) -> Self {
        self.rebuilt(|inner| inner.port = Some(port))
    }

    /// The same context with the framework settings (set by the runtime).
    pub fn with_settings(self, settings: Arc<OceanSettings>) -> Self {
        self.rebuilt(|inner| inner.settings = Some(settings))
    }

    /// A context for syncing `resource` (what resync handlers and processors see).
    pub fn with_resource(&self, resource: Arc<ResourceConfig>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            resource: Some(resource),
        }
    }

    /// The integration's typed configuration (the type given to `ocean::run!(config = ...)`).
    pub fn config<C: Any + Send + Sync>(&self) -> crate::Result<&C> {
        self.inner
            .integration_config
            .downcast_ref::<C>()
            .ok_or_else(|| {
                crate::Error::msg(format!(
                    "the integration config is not a `{}`: pass that type to `ocean::run!(config = ...)`",
                    std::any::type_name::<C>()
                ))
            })
    }

    /// An HTTP client for calls to the third party (shared connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The Port client, when the runtime connected one.
    pub fn port(&self) -> Option<&PortClient> {
        self.inner.port.as_ref()
    }

    /// The framework settings (`OCEAN__*`), when the runtime set them.
    pub fn settings(&self) -> Option<&OceanSettings> {
        self.inner.settings.as_deref()
    }

    /// The context of the integration running in this process (the one launched last), for
    /// code the runtime builds without a context: a webhook processor's `Default` reads its
    /// configuration (e.g. a webhook secret) from here. `None` before the runtime set one.
    pub fn current() -> Option<Context> {
        CURRENT.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes this the context [`Context::current`] returns (done by the runtime at launch,
    /// before webhook processors are built).
    pub fn set_current(&self) {
        *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = Some(self.clone());
    }

    /// The resource being synced (its kind, selector and mapping), when there is one.
    pub fn resource(&self) -> Option<&ResourceConfig> {
        self.resource.as_deref()
    }
}
