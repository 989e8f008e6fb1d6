//! The context handed to author code.

use std::any::Any;
use std::sync::Arc;

/// What resync handlers, start hooks and webhook processors get: the integration's typed
/// configuration and the clients they need. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    integration_config: Arc<dyn Any + Send + Sync>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    /// A context holding `integration_config` (the author's typed settings) and an HTTP client
    /// for the third party.
    pub fn new<C: Any + Send + Sync>(integration_config: C, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                integration_config: Arc::new(integration_config),
                http,
            }),
        }
    }

    /// The integration's typed configuration (the type given to `ocean::run!(config = T)`).
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
}
