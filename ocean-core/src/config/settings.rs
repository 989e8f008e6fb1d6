//! The framework's settings (`OCEAN__*`), with Ocean's names and defaults.

use super::de::from_tree;
use super::error::{ConfigError, url_without_password};
use super::integration::IntegrationConfigValues;
use super::secret::Secret;
use super::sources::ConfigSources;
use serde::de::{self, DeserializeOwned, Unexpected};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Prefix of every framework variable.
pub const OCEAN_PREFIX: &str = "OCEAN__";

/// Port's public API, used when `OCEAN__PORT__BASE_URL` is not set.
pub const DEFAULT_PORT_BASE_URL: &str = "https://api.getport.io";

/// Everything the framework is configured with. `Debug` never shows a secret: credentials are
/// [`Secret`]s, the integration's own values are listed by key only, and URLs hide passwords.
#[derive(Debug, Clone, Deserialize)]
pub struct OceanSettings {
    /// How to reach Port (`OCEAN__PORT__*`).
    #[serde(default)]
    pub port: PortSettings,
    /// Who this integration is in Port, and its own settings (`OCEAN__INTEGRATION__*`).
    pub integration: IntegrationSettings,
    /// What triggers resyncs and whether webhooks are processed (`OCEAN__EVENT_LISTENER__*`).
    #[serde(default)]
    pub event_listener: EventListenerSettings,
    /// Create the default blueprints, actions, scorecards and pages at first start.
    #[serde(default = "yes")]
    pub initialize_port_resources: bool,
    /// Directory holding those defaults.
    #[serde(default = "default_resources_path")]
    pub resources_path: PathBuf,
    /// Time between automatic full resyncs, on top of listener-triggered ones (given in minutes).
    #[serde(default, deserialize_with = "optional_minutes")]
    pub scheduled_resync_interval: Option<Duration>,
    /// Public URL of this instance (no trailing `/`); live events need it.
    #[serde(default, deserialize_with = "optional_http_url")]
    pub base_url: Option<String>,
    /// Prefix of every framework route, without leading or trailing `/`.
    #[serde(default, deserialize_with = "optional_path_prefix")]
    pub path_prefix: Option<String>,
    /// Live-event workers per registered webhook path.
    #[serde(default = "one", deserialize_with = "at_least_one")]
    pub event_workers_count: usize,
    /// Time limit for processing one live event (given in seconds).
    #[serde(default = "ninety_seconds", deserialize_with = "positive_seconds")]
    pub max_event_processing_seconds: Duration,
    /// Grace period for live-event workers at shutdown (given in seconds).
    #[serde(default = "five_seconds", deserialize_with = "seconds")]
    pub max_wait_seconds_before_shutdown: Duration,
    /// Timeout of the third-party HTTP client (given in seconds).
    #[serde(default = "sixty_seconds", deserialize_with = "positive_seconds")]
    pub client_timeout: Duration,
    /// Send the first raw items of each kind to Port as examples.
    #[serde(default = "yes")]
    pub send_raw_data_examples: bool,
    /// Let jq mappings read the environment (`env`, `$ENV`).
    #[serde(default = "yes")]
    pub allow_environment_variables_jq_access: bool,
    /// Entities per bulk upsert request.
    #[serde(default = "twenty", deserialize_with = "at_least_one")]
    pub upsert_entities_batch_max_length: usize,
    /// Byte cap of one bulk upsert request.
    #[serde(default = "one_mebibyte", deserialize_with = "at_least_one")]
    pub upsert_entities_batch_max_size_in_bytes: usize,
    /// Entities per bulk delete request.
    #[serde(default = "one_thousand", deserialize_with = "at_least_one")]
    pub delete_entities_max_batch_size: usize,
    /// Batch size when expanding `itemsToParse`.
    #[serde(default = "two_hundred", deserialize_with = "at_least_one")]
    pub yield_items_to_parse_batch_size: usize,
    /// The live-event queue (`OCEAN__LIVE_EVENTS__*`).
    #[serde(default)]
    pub live_events: LiveEventsSettings,
}

impl OceanSettings {
    /// Loads the settings from `sources` with Ocean's precedence (overrides > environment >
    /// `.env` > `config.yaml`). `default_integration_type` (usually the binary's name) is used
    /// when `OCEAN__INTEGRATION__TYPE` is not set anywhere.
    ///
    /// Reads files synchronously: call it at startup, before or outside the async runtime.
    pub fn load(
        sources: &ConfigSources,
        default_integration_type: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut defaults = vec![(vec!["integration".to_owned()], Value::Object(Map::new()))];
        if let Some(kind) = default_integration_type.filter(|t| !t.trim().is_empty()) {
            defaults.push((
                vec!["integration".to_owned(), "type".to_owned()],
                Value::String(kind.trim().to_lowercase()),
            ));
        }
        let tree = sources.layer(OCEAN_PREFIX, true, defaults)?;
        let mut settings: OceanSettings = from_tree(tree.root(), Vec::new(), tree.provenance())?;
        settings
            .integration
            .config
            .set_provenance(tree.provenance().clone());
        tracing::debug!(
            integration_type = %settings.integration.r#type,
            identifier = %settings.integration.identifier,
            event_listener = %settings.event_listener.r#type,
            "configuration loaded"
        );
        Ok(settings)
    }

    /// The integration's own settings as the author's typed struct, read from
    /// `OCEAN__INTEGRATION__CONFIG__<KEY>` (and `config.yaml`'s `integration.config`, `.env`).
    /// Strings are coerced to each field's type; errors name the variable.
    pub fn integration_config<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.integration.config.parse()
    }
}

/// How to reach Port.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PortSettings {
    /// Machine client id; without credentials the integration runs against the local Port.
    pub client_id: Option<Secret>,
    /// Machine client secret.
    pub client_secret: Option<Secret>,
    /// Port API base URL, without trailing `/` (the client adds `/v1`).
    #[serde(deserialize_with = "http_url")]
    pub base_url: String,
    /// How long the fetched mapping (port-app-config) is reused (given in seconds).
    #[serde(deserialize_with = "seconds")]
    pub port_app_config_cache_ttl: Duration,
    /// How long fetched blueprints are reused (given in seconds).
    #[serde(deserialize_with = "seconds")]
    pub blueprint_cache_ttl_seconds: Duration,
}

impl Default for PortSettings {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            base_url: DEFAULT_PORT_BASE_URL.to_owned(),
            port_app_config_cache_ttl: Duration::from_secs(60),
            blueprint_cache_ttl_seconds: Duration::from_secs(120),
        }
    }
}

impl PortSettings {
    /// Client id and secret, when both are set and non-empty.
    pub fn credentials(&self) -> Option<(&Secret, &Secret)> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            _ => None,
        }
    }
}

/// Who this integration is in Port, and its own settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawIntegration")]
pub struct IntegrationSettings {
    /// Installation id in Port (default `my-{type}-integration`).
    pub identifier: String,
    /// Integration type (`installationAppType`), lower-case.
    pub r#type: String,
    /// The integration-specific values, read into a typed struct with
    /// [`OceanSettings::integration_config`].
    pub config: IntegrationConfigValues,
}

#[derive(Deserialize)]
struct RawIntegration {
    #[serde(default, deserialize_with = "optional_non_empty")]
    identifier: Option<String>,
    #[serde(deserialize_with = "non_empty")]
    r#type: String,
    #[serde(default)]
    config: Value,
}

impl From<RawIntegration> for IntegrationSettings {
    fn from(raw: RawIntegration) -> Self {
        let identifier = raw
            .identifier
            .unwrap_or_else(|| format!("my-{}-integration", raw.r#type.to_lowercase()));
        Self {
            identifier,
            r#type: raw.r#type,
            config: IntegrationConfigValues::new(raw.config),
        }
    }
}

/// What drives resyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventListenerType {
    /// Poll Port for resync requests every `interval` (the default).
    #[default]
    Polling,
    /// Run one resync and exit.
    Once,
    /// Never resync; only process live events.
    WebhooksOnly,
}

/// Listener types of Python Ocean that this implementation refuses, with the reason.
const UNSUPPORTED_LISTENERS: &[(&str, &str)] = &[
    ("KAFKA", "Port's Kafka listener is deprecated"),
    (
        "WEBHOOK",
        "resync requests are picked up by POLLING instead of a /resync endpoint",
    ),
    ("ACTIONS_ONLY", "action execution is not implemented"),
];

const LISTENER_CHOICES: &str = "one of POLLING, ONCE, WEBHOOKS_ONLY";

impl EventListenerType {
    /// The name used in configuration (`POLLING`, `ONCE`, `WEBHOOKS_ONLY`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventListenerType::Polling => "POLLING",
            EventListenerType::Once => "ONCE",
            EventListenerType::WebhooksOnly => "WEBHOOKS_ONLY",
        }
    }
}

impl fmt::Display for EventListenerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventListenerType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let upper = name.trim().to_ascii_uppercase();
        match upper.as_str() {
            "POLLING" => Ok(EventListenerType::Polling),
            "ONCE" => Ok(EventListenerType::Once),
            "WEBHOOKS_ONLY" => Ok(EventListenerType::WebhooksOnly),
            other => match UNSUPPORTED_LISTENERS.iter().find(|(n, _)| *n == other) {
                Some((listener, why)) => Err(de::Error::custom(format!(
                    "{listener} is not supported ({why}); expected {LISTENER_CHOICES}"
                ))),
                None => Err(de::Error::invalid_value(
                    Unexpected::Str(&name),
                    &LISTENER_CHOICES,
                )),
            },
        }
    }
}

/// The event listener and its per-type defaults (ONCE does not process webhooks;
/// WEBHOOKS_ONLY does not resync).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawEventListener")]
pub struct EventListenerSettings {
    /// The listener type.
    pub r#type: EventListenerType,
    /// POLLING: time between checks for resync requests (given in seconds).
    pub interval: Duration,
    /// POLLING: resync once at start.
    pub resync_on_start: bool,
    /// Whether this listener runs resyncs at all.
    pub should_resync: bool,
    /// Whether live events (webhooks) are processed alongside this listener.
    pub should_process_webhooks: bool,
}

impl Default for EventListenerSettings {
    fn default() -> Self {
        Self::for_type(EventListenerType::Polling)
    }
}

impl EventListenerSettings {
    /// The defaults of a listener type.
    pub fn for_type(kind: EventListenerType) -> Self {
        Self {
            r#type: kind,
            interval: Duration::from_secs(60),
            resync_on_start: true,
            should_resync: kind != EventListenerType::WebhooksOnly,
            should_process_webhooks: kind != EventListenerType::Once,
        }
    }
}

#[derive(Deserialize)]
struct RawEventListener {
    #[serde(default)]
    r#type: EventListenerType,
    #[serde(default, deserialize_with = "optional_positive_seconds")]
    interval: Option<Duration>,
    resync_on_start: Option<bool>,
    should_resync: Option<bool>,
    should_process_webhooks: Option<bool>,
}

impl From<RawEventListener> for EventListenerSettings {
    fn from(raw: RawEventListener) -> Self {
        let defaults = Self::for_type(raw.r#type);
        Self {
            r#type: raw.r#type,
            interval: raw.interval.unwrap_or(defaults.interval),
            resync_on_start: raw.resync_on_start.unwrap_or(defaults.resync_on_start),
            should_resync: raw.should_resync.unwrap_or(defaults.should_resync),
            should_process_webhooks: raw
                .should_process_webhooks
                .unwrap_or(defaults.should_process_webhooks),
        }
    }
}

/// The live-event queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LiveEventsSettings {
    /// Redis, for a queue shared by replicas.
    pub redis: RedisSettings,
    /// Capacity of the in-memory queue; intake answers "busy" beyond it.
    #[serde(deserialize_with = "at_least_one")]
    pub queue_capacity: usize,
}

impl Default for LiveEventsSettings {
    fn default() -> Self {
        Self {
            redis: RedisSettings::default(),
            queue_capacity: 10_000,
        }
    }
}

/// Where Redis is.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` URL; may carry a password, so `Debug` masks it.
    #[serde(deserialize_with = "redis_url")]
    pub url: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://localhost:6379".to_owned(),
        }
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = url_without_password(&self.url).unwrap_or_else(|| self.url.clone());
        f.debug_struct("RedisSettings").field("url", &url).finish()
    }
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}
fn twenty() -> usize {
    20
}
fn two_hundred() -> usize {
    200
}
fn one_thousand() -> usize {
    1000
}
fn one_mebibyte() -> usize {
    1_048_576
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn sixty_seconds() -> Duration {
    Duration::from_secs(60)
}
fn ninety_seconds() -> Duration {
    Duration::from_secs(90)
}
fn default_resources_path() -> PathBuf {
    PathBuf::from(".port/resources")
}

/// A duration given as a non-negative number of `unit`-second steps.
fn duration_of<'de, D: Deserializer<'de>>(
    deserializer: D,
    unit: f64,
    positive: bool,
    expected: &'static str,
) -> Result<Duration, D::Error> {
    let amount = f64::deserialize(deserializer)?;
    let ok = if positive {
        amount > 0.0
    } else {
        amount >= 0.0
    };
    let duration = ok
        .then(|| Duration::try_from_secs_f64(amount * unit).ok())
        .flatten();
    duration.ok_or_else(|| de::Error::invalid_value(Unexpected::Float(amount), &expected))
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    duration_of(deserializer, 1.0, false, "a number of seconds (0 or more)")
}

fn positive_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    duration_of(
        deserializer,
        1.0,
        true,
        "a number of seconds greater than 0",
    )
}

fn optional_positive_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    positive_seconds(deserializer).map(Some)
}

fn optional_minutes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    struct Minutes(Duration);
    impl<'de> Deserialize<'de> for Minutes {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            duration_of(
                deserializer,
                60.0,
                true,
                "a number of minutes greater than 0",
            )
            .map(Minutes)
        }
    }
    Ok(Option::<Minutes>::deserialize(deserializer)?.map(|m| m.0))
}

fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(deserializer)?;
    if n == 0 {
        return Err(de::Error::invalid_value(
            Unexpected::Unsigned(0),
            &"an integer of at least 1",
        ));
    }
    Ok(n)
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(de::Error::invalid_value(
            Unexpected::Str(&text),
            &"a non-empty name",
        ));
    }
    Ok(trimmed.to_owned())
}

fn optional_non_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty()))
}

/// An absolute http(s) URL, without trailing `/` so callers can append paths.
fn checked_http_url<E: de::Error>(text: &str) -> Result<String, E> {
    let trimmed = text.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(trimmed.to_owned())
        }
        _ => Err(E::invalid_value(
            Unexpected::Str(text),
            &"an absolute http:// or https:// URL",
        )),
    }
}

fn http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    checked_http_url(&String::deserialize(deserializer)?)
}

fn optional_http_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| checked_http_url(&text))
        .transpose()
}

fn optional_path_prefix<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?
        .map(|p| p.trim().trim_matches('/').to_owned())
        .filter(|p| !p.is_empty()))
}

fn redis_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "redis" | "rediss") => Ok(text.trim().to_owned()),
        _ => Err(de::Error::invalid_value(
            Unexpected::Other("another value"),
            &"a redis:// or rediss:// URL",
        )),
    }
}
