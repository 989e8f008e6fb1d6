//! Configuration: `OCEAN__*` environment variables, `.env`, `config.yaml`, and the author's typed
//! integration settings.
//!
//! Names follow Python Ocean: prefix `OCEAN__`, `__` between nested keys, names
//! case-insensitive, a nested section may be one JSON value
//! (`OCEAN__EVENT_LISTENER='{"type":"ONCE"}'`). Precedence, highest first: programmatic
//! overrides > process environment > `.env` > `config.yaml` (camelCase keys,
//! `{{ from env VAR }}` references). Values are strings in the environment and are coerced to
//! what each setting asks for; a bad or missing value stops startup with an error naming the
//! variable (every missing one, not only the first).
//!
//! Nothing is silently surprising: an `OCEAN__*` name that no setting reads is logged as a
//! warning with the closest known name ([`OceanSettings::unknown_settings`]; the known names
//! are learnt from the settings structs themselves), a setting whose feature does not exist yet
//! (`OCEAN__LIVE_EVENTS__REDIS__*`) stops startup, and so does one Port credential without the
//! other.
//!
//! ```
//! use ocean::config::{ConfigSources, EventListenerType, OceanSettings};
//!
//! #[derive(serde::Deserialize)]
//! struct JiraConfig {
//!     jira_host: String,
//!     #[serde(default)]
//!     page_size: Option<u32>,
//! }
//!
//! let sources = ConfigSources::new()
//!     .with_env_var("OCEAN__EVENT_LISTENER__TYPE", "ONCE")
//!     .with_env_var("OCEAN__INTEGRATION__CONFIG__JIRA_HOST", "https://example.atlassian.net")
//!     .with_env_var("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "50");
//! let settings = OceanSettings::load(&sources, Some("jira"))?;
//! assert_eq!(settings.integration.identifier, "my-jira-integration");
//! assert_eq!(settings.event_listener.r#type, EventListenerType::Once);
//! assert!(!settings.event_listener.should_process_webhooks);
//!
//! let jira: JiraConfig = settings.integration_config()?;
//! assert_eq!(jira.page_size, Some(50));
//! # Ok::<(), ocean::config::ConfigError>(())
//! ```

mod application;
mod de;
mod error;
mod integration;
mod placeholder;
mod schema;
mod secret;
mod settings;
mod sources;
mod spec;
pub mod tls;
mod tree;

pub use application::{APPLICATION_PREFIX, ApplicationSettings, LogLevel};
pub use error::{ConfigError, SettingOrigin};
pub use integration::IntegrationConfigValues;
pub use schema::UnknownSetting;
pub use secret::Secret;
pub use settings::{
    DEFAULT_PORT_BASE_URL, EventListenerSettings, EventListenerType, IntegrationSettings,
    LiveEventsSettings, OCEAN_PREFIX, OceanSettings, PortSettings, ThirdPartyHttpSettings,
};
pub use sources::ConfigSources;
pub use spec::{IntegrationSpec, SpecConfiguration, SpecFeature, SpecResource};
