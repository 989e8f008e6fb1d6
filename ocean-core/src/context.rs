//! The context handed to author code: resync handlers, start hooks and webhook processors get
//! everything they need through it (the typed configuration, the Port client, the HTTP client
//! for the third party, the resource being synced), never through globals.

use crate::config::OceanSettings;
use crate::http::{Lane, ThirdPartyClient};
use crate::mapping::ResourceConfig;
use crate::port::client::PortClient;
use std::any::Any;
use std::sync::Arc;

/// What resync handlers, start hooks and webhook processors get: the integration's typed
/// configuration, the clients they need, and the resource being synced. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
    resource: Option<Arc<ResourceConfig>>,
}

struct ContextInner {
    integration_config: Arc<dyn Any + Send + Sync>,
    http: ThirdPartyClient,
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
    /// for the third party (a [`ThirdPartyClient`], or a `reqwest::Client` it wraps with the
    /// default retries and limits).
    pub fn new<C: Any + Send + Sync>(
        integration_config: C,
        http: impl Into<ThirdPartyClient>,
    ) -> Self {
        Self::from_shared_config(Arc::new(integration_config), http)
    }

    /// A context holding an integration configuration that is already shared (the runtime
    /// loads it once, with its type erased).
    pub fn from_shared_config(
        integration_config: Arc<dyn Any + Send + Sync>,
        http: impl Into<ThirdPartyClient>,
    ) -> Self {
        Self {
            inner: Arc::new(ContextInner {
                integration_config,
                http: http.into(),
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

    /// The same context whose HTTP client draws on `lane` of the shared per-host budgets: the
    /// runtime hands resync handlers and start hooks the [`Lane::Resync`] context and webhook
    /// processors the [`Lane::LiveEvents`] one, so a resync never takes the share reserved for
    /// live events.
    pub fn with_lane(self, lane: Lane) -> Self {
        self.rebuilt(|inner| inner.http = inner.http.for_lane(lane))
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

    /// The HTTP client for calls to the third party: it retries 429, 5xx and transport errors
    /// of idempotent requests with backoff (honouring `Retry-After`), limits requests in flight
    /// per host, and shares each host's rate budget between resyncs and live events, keeping a
    /// share for live events. Clones share the connection pool and the budgets.
    pub fn http(&self) -> &ThirdPartyClient {
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

    /// The resource being synced (its kind, selector and mapping), when there is one.
    pub fn resource(&self) -> Option<&ResourceConfig> {
        self.resource.as_deref()
    }
}

/// How the runtime builds a value from the [`Context`] once the configuration is loaded: what
/// `#[webhook_processor]` structs implement to read their secrets and build their API clients.
///
/// Every `Default` type implements it (a processor that needs nothing derives `Default`);
/// implement it yourself for a processor that needs its configuration:
///
/// ```
/// use ocean::{Context, FromContext, Result};
/// use ocean::config::Secret;
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     webhook_secret: Secret,
/// }
///
/// struct IssueProcessor {
///     secret: Secret,
/// }
///
/// impl FromContext for IssueProcessor {
///     fn from_context(ctx: &Context) -> Result<Self> {
///         let config = ctx.config::<Config>()?;
///         Ok(Self { secret: config.webhook_secret.clone() })
///     }
/// }
/// # let ctx = Context::new(Config { webhook_secret: Secret::new("s3cret") }, reqwest::Client::new());
/// # assert_eq!(IssueProcessor::from_context(&ctx)?.secret.expose(), "s3cret");
/// # Ok::<(), ocean::Error>(())
/// ```
///
/// An error stops the integration at startup, with a message naming the processor and the
/// cause.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from the context",
    label = "the runtime builds `{Self}` when the integration starts",
    note = "derive `Default` for a processor that needs nothing, or `impl ocean::FromContext for {Self}` to read its configuration and clients from the context"
)]
pub trait FromContext: Sized {
    /// Builds the value; `ctx` holds the integration's configuration and clients.
    fn from_context(ctx: &Context) -> crate::Result<Self>;
}

impl<T: Default> FromContext for T {
    fn from_context(_ctx: &Context) -> crate::Result<Self> {
        Ok(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_keeps_its_lane_and_shares_everything_else() {
        let ctx = Context::new(7_u32, reqwest::Client::new());
        assert_eq!(ctx.http().lane(), Lane::Resync);
        let live = ctx.clone().with_lane(Lane::LiveEvents);
        assert_eq!(live.http().lane(), Lane::LiveEvents);
        assert_eq!(ctx.http().lane(), Lane::Resync, "the original is unchanged");
        assert_eq!(live.config::<u32>().ok(), Some(&7));
    }

    #[test]
    fn the_wrong_config_type_names_the_type_asked_for() {
        let ctx = Context::new(7_u32, reqwest::Client::new());
        let error = ctx.config::<String>().unwrap_err().to_string();
        assert!(error.contains("alloc::string::String"), "{error}");
    }
}
