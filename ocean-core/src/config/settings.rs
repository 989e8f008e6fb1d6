//! The framework's settings (`OCEAN__*`), with Ocean's names and defaults.

use super::de::from_tree;
use super::error::ConfigError;
use super::integration::IntegrationConfigValues;
use super::schema::{Schema, UnknownSetting, refuse_unavailable, unknown_settings};
use super::secret::Secret;
use super::sources::ConfigSources;
use super::tree::{Provenance, Segment};
use serde::de::{self, DeserializeOwned, Unexpected};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;
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
    #[serde(default = "enabled")]
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
    #[serde(
        default = "default_event_workers_count",
        deserialize_with = "at_least_one"
    )]
    pub event_workers_count: usize,
    /// Time limit for processing one live event (given in seconds).
    #[serde(
        default = "default_max_event_processing",
        deserialize_with = "positive_seconds"
    )]
    pub max_event_processing_seconds: Duration,
    /// Grace period for live-event workers at shutdown (given in seconds).
    #[serde(default = "default_shutdown_grace", deserialize_with = "seconds")]
    pub max_wait_seconds_before_shutdown: Duration,
    /// Timeout of the third-party HTTP client (given in seconds).
    #[serde(
        default = "default_client_timeout",
        deserialize_with = "positive_seconds"
    )]
    pub client_timeout: Duration,
    /// Send the first raw items of each kind to Port as examples.
    #[serde(default = "enabled")]
    pub send_raw_data_examples: bool,
    /// Let jq mappings read the environment (`env`, `$ENV`).
    #[serde(default = "enabled")]
    pub allow_environment_variables_jq_access: bool,
    /// Entities per bulk upsert request.
    #[serde(
        default = "default_upsert_batch_max_length",
        deserialize_with = "at_least_one"
    )]
    pub upsert_entities_batch_max_length: usize,
    /// Byte cap of one bulk upsert request.
    #[serde(
        default = "default_upsert_batch_max_bytes",
        deserialize_with = "at_least_one"
    )]
    pub upsert_entities_batch_max_size_in_bytes: usize,
    /// Entities per bulk delete request.
    #[serde(
        default = "default_delete_batch_size",
        deserialize_with = "at_least_one"
    )]
    pub delete_entities_max_batch_size: usize,
    /// Batch size when expanding `itemsToParse`.
    #[serde(
        default = "default_items_to_parse_batch_size",
        deserialize_with = "at_least_one"
    )]
    pub yield_items_to_parse_batch_size: usize,
    /// The live-event queue (`OCEAN__LIVE_EVENTS__*`).
    #[serde(default)]
    pub live_events: LiveEventsSettings,
    /// The HTTP client handlers and processors call the third party with
    /// (`OCEAN__THIRD_PARTY_HTTP__*`).
    #[serde(default)]
    pub third_party_http: ThirdPartyHttpSettings,
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
        let schema = Self::schema();
        for unknown in unknown_settings(&tree, schema) {
            tracing::warn!(
                setting = %unknown.name,
                suggestion = unknown.suggestion.as_deref().unwrap_or(""),
                "{unknown}"
            );
        }
        refuse_unavailable(&tree, schema)?;
        let mut settings: OceanSettings = from_tree(tree.root(), Vec::new(), tree.provenance())?;
        settings.port.check_credentials(tree.provenance())?;
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

    /// The `OCEAN__*` settings in `sources` that nothing reads (a variable, a `.env` entry or a
    /// `config.yaml` key), each with the closest known name when one is near. [`Self::load`]
    /// logs them as warnings; `OCEAN__INTEGRATION__CONFIG__*` is the integration's own and is
    /// never reported.
    pub fn unknown_settings(sources: &ConfigSources) -> Result<Vec<UnknownSetting>, ConfigError> {
        let tree = sources.layer(OCEAN_PREFIX, true, Vec::new())?;
        Ok(unknown_settings(&tree, Self::schema()))
    }

    /// The keys the settings structs read, learnt once from their `Deserialize` impls.
    fn schema() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(Schema::of::<OceanSettings>)
    }

    /// The integration's own settings as the author's typed struct, read from
    /// `OCEAN__INTEGRATION__CONFIG__<KEY>` (and `config.yaml`'s `integration.config`, `.env`).
    /// Strings are coerced to each field's type; errors name the variable.
    pub fn integration_config<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.integration.config.parse()
    }

    /// [`OceanSettings::load`] for an integration whose `.port/spec.yaml` is `spec`: the spec's
    /// type names the integration unless a setting does (`fallback_type` when the spec names
    /// none), and the integration's settings are checked against the spec's configurations
    /// (required settings, types) with its defaults filled in.
    pub fn load_with_spec(
        sources: &ConfigSources,
        spec: Option<&super::IntegrationSpec>,
        fallback_type: &str,
    ) -> Result<Self, ConfigError> {
        let default_type = spec
            .and_then(|s| s.integration_type.as_deref())
            .unwrap_or(fallback_type);
        let mut settings = Self::load(sources, Some(default_type))?;
        if let Some(spec) = spec {
            settings.integration.config = spec.apply(&settings.integration.config)?;
        }
        Ok(settings)
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
    /// One credential without the other is a mistake, not a request for the local Port.
    fn check_credentials(&self, provenance: &Provenance) -> Result<(), ConfigError> {
        let given = |secret: &Option<Secret>| secret.as_ref().is_some_and(|s| !s.is_empty());
        let (set, missing) = match (given(&self.client_id), given(&self.client_secret)) {
            (true, false) => ("client_id", "client_secret"),
            (false, true) => ("client_secret", "client_id"),
            _ => return Ok(()),
        };
        let path = |key: &str| [Segment::Key("port".into()), Segment::Key(key.into())];
        let set_name = provenance.variable_name(&path(set));
        let place = provenance
            .origin_of(&path(set))
            .place(&set_name)
            .map(|place| format!(" (by {place})"))
            .unwrap_or_default();
        Err(ConfigError::MissingCompanion {
            variable: provenance.variable_name(&path(missing)),
            reason: format!(
                "{set_name} is set{place}: Port needs both the client id and the client secret; \
                 set both to use Port, or neither to run against the local Port"
            ),
        })
    }

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

/// The live-event queue. `OCEAN__LIVE_EVENTS__REDIS__*` is refused at load: the Redis backend
/// does not exist yet.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LiveEventsSettings {
    /// Capacity of the in-memory queue; intake answers "busy" beyond it.
    #[serde(deserialize_with = "at_least_one")]
    pub queue_capacity: usize,
    /// Most events a worker takes from the queue at once (`OCEAN__LIVE_EVENTS__BATCH_SIZE`);
    /// their entities share Port's bulk requests. 1 processes events one by one.
    #[serde(deserialize_with = "at_least_one")]
    pub batch_size: usize,
    /// Milliseconds a webhook waits for room in a full queue before it is answered 503
    /// (`OCEAN__LIVE_EVENTS__ENQUEUE_WAIT_MS`, default 5; 0 refuses at once).
    pub enqueue_wait_ms: u64,
    /// Bearer token of the dead-letter admin routes (`OCEAN__LIVE_EVENTS__ADMIN_TOKEN`);
    /// without one they answer 404.
    pub admin_token: Option<Secret>,
    /// A JSONL file keeping the dead letters across restarts (`OCEAN__LIVE_EVENTS__DEAD_LETTER_FILE`).
    pub dead_letter_file: Option<PathBuf>,
}

impl Default for LiveEventsSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            batch_size: 500,
            enqueue_wait_ms: 5,
            admin_token: None,
            dead_letter_file: None,
        }
    }
}

/// The third-party HTTP client (`ctx.http()`): retries, requests in flight per host, and rate
/// budgets shared by resyncs and live events.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ThirdPartyHttpSettings {
    /// Retries of a failed request (`OCEAN__THIRD_PARTY_HTTP__MAX_RETRIES`, default 3).
    pub max_retries: u32,
    /// Requests in flight at once to one host (`..._MAX_IN_FLIGHT_PER_HOST`, default 10).
    #[serde(deserialize_with = "at_least_one")]
    pub max_in_flight_per_host: usize,
    /// Share (0 to below 1) of each host's rate budget only live events may use
    /// (`..._LIVE_EVENTS_RESERVE`, default 0.25), so a resync never starves webhooks.
    pub live_events_reserve: f64,
    /// Requests per second allowed to each host, as a JSON object of host (or `host:port`) to
    /// a number (`..._RATE_LIMITS='{"api.example.com": 10}'`); hosts not named are unlimited.
    pub rate_limits: BTreeMap<String, u32>,
}

impl Default for ThirdPartyHttpSettings {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_in_flight_per_host: 10,
            live_events_reserve: 0.25,
            rate_limits: BTreeMap::new(),
        }
    }
}

/// The default of the switches that are on unless turned off.
fn enabled() -> bool {
    true
}
fn default_event_workers_count() -> usize {
    1
}
/// Port's limit of entities per bulk upsert request.
fn default_upsert_batch_max_length() -> usize {
    20
}
fn default_items_to_parse_batch_size() -> usize {
    200
}
fn default_delete_batch_size() -> usize {
    1000
}
fn default_upsert_batch_max_bytes() -> usize {
    1_048_576
}
fn default_shutdown_grace() -> Duration {
    Duration::from_secs(5)
}
fn default_client_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_event_processing() -> Duration {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(sources: &ConfigSources) -> Result<OceanSettings, ConfigError> {
        OceanSettings::load(sources, Some("fake"))
    }

    fn env(vars: &[(&str, &str)]) -> ConfigSources {
        ConfigSources::new().with_env(vars.iter().copied())
    }

    #[test]
    fn defaults_match_ocean() {
        let s = load(&ConfigSources::new()).unwrap();
        assert!(s.port.client_id.is_none() && s.port.client_secret.is_none());
        assert!(s.port.credentials().is_none());
        assert_eq!(s.port.base_url, "https://api.getport.io");
        assert_eq!(s.port.port_app_config_cache_ttl, Duration::from_secs(60));
        assert_eq!(s.port.blueprint_cache_ttl_seconds, Duration::from_secs(120));
        assert_eq!(s.integration.r#type, "fake");
        assert_eq!(s.integration.identifier, "my-fake-integration");
        assert_eq!(s.integration.config.keys().count(), 0);
        assert_eq!(s.event_listener, EventListenerSettings::default());
        assert_eq!(s.event_listener.r#type, EventListenerType::Polling);
        assert_eq!(s.event_listener.interval, Duration::from_secs(60));
        assert!(s.event_listener.resync_on_start);
        assert!(s.event_listener.should_resync);
        assert!(s.event_listener.should_process_webhooks);
        assert!(s.initialize_port_resources);
        assert_eq!(s.resources_path, PathBuf::from(".port/resources"));
        assert_eq!(s.scheduled_resync_interval, None);
        assert_eq!(s.base_url, None);
        assert_eq!(s.path_prefix, None);
        assert_eq!(s.event_workers_count, 1);
        assert_eq!(s.max_event_processing_seconds, Duration::from_secs(90));
        assert_eq!(s.max_wait_seconds_before_shutdown, Duration::from_secs(5));
        assert_eq!(s.client_timeout, Duration::from_secs(60));
        assert!(s.send_raw_data_examples);
        assert!(s.allow_environment_variables_jq_access);
        assert_eq!(s.upsert_entities_batch_max_length, 20);
        assert_eq!(s.upsert_entities_batch_max_size_in_bytes, 1_048_576);
        assert_eq!(s.delete_entities_max_batch_size, 1000);
        assert_eq!(s.yield_items_to_parse_batch_size, 200);
        assert_eq!(s.live_events.queue_capacity, 10_000);
        assert_eq!(s.live_events.batch_size, 500);
        assert_eq!(s.live_events.enqueue_wait_ms, 5);
    }

    #[test]
    fn integration_type_default_is_lower_cased_and_configurable() {
        let s = OceanSettings::load(&ConfigSources::new(), Some("Jira")).unwrap();
        assert_eq!(s.integration.r#type, "jira");
        let s = OceanSettings::load(
            &env(&[
                ("OCEAN__INTEGRATION__TYPE", "github"),
                ("OCEAN__INTEGRATION__IDENTIFIER", "gh-prod"),
            ]),
            Some("jira"),
        )
        .unwrap();
        assert_eq!(s.integration.r#type, "github");
        assert_eq!(s.integration.identifier, "gh-prod");
    }

    #[test]
    fn missing_integration_type_names_the_variable() {
        let err = OceanSettings::load(&ConfigSources::new(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__INTEGRATION__TYPE: required setting is missing"
        );
    }

    #[test]
    fn reads_every_setting_from_the_environment() {
        let s = load(&env(&[
            ("OCEAN__PORT__CLIENT_ID", "id-1"),
            ("OCEAN__PORT__CLIENT_SECRET", "shh"),
            ("OCEAN__PORT__BASE_URL", "https://api.us.getport.io/"),
            ("OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "0"),
            ("OCEAN__PORT__BLUEPRINT_CACHE_TTL_SECONDS", "2.5"),
            ("OCEAN__INITIALIZE_PORT_RESOURCES", "false"),
            ("OCEAN__RESOURCES_PATH", "defaults"),
            ("OCEAN__SCHEDULED_RESYNC_INTERVAL", "15"),
            ("OCEAN__BASE_URL", "https://ocean.example.com/"),
            ("OCEAN__PATH_PREFIX", "/jira/"),
            ("OCEAN__EVENT_WORKERS_COUNT", "4"),
            ("OCEAN__MAX_EVENT_PROCESSING_SECONDS", "30"),
            ("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "0"),
            ("OCEAN__CLIENT_TIMEOUT", "10"),
            ("OCEAN__SEND_RAW_DATA_EXAMPLES", "no"),
            ("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", "0"),
            ("OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", "50"),
            ("OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES", "2048"),
            ("OCEAN__DELETE_ENTITIES_MAX_BATCH_SIZE", "10"),
            ("OCEAN__YIELD_ITEMS_TO_PARSE_BATCH_SIZE", "7"),
            ("OCEAN__LIVE_EVENTS__QUEUE_CAPACITY", "64"),
        ]))
        .unwrap();
        let (id, secret) = s.port.credentials().unwrap();
        assert_eq!((id.expose(), secret.expose()), ("id-1", "shh"));
        assert_eq!(s.port.base_url, "https://api.us.getport.io");
        assert_eq!(s.port.port_app_config_cache_ttl, Duration::ZERO);
        assert_eq!(
            s.port.blueprint_cache_ttl_seconds,
            Duration::from_millis(2500)
        );
        assert!(!s.initialize_port_resources);
        assert_eq!(s.resources_path, PathBuf::from("defaults"));
        assert_eq!(
            s.scheduled_resync_interval,
            Some(Duration::from_secs(15 * 60))
        );
        assert_eq!(s.base_url.as_deref(), Some("https://ocean.example.com"));
        assert_eq!(s.path_prefix.as_deref(), Some("jira"));
        assert_eq!(s.event_workers_count, 4);
        assert_eq!(s.max_event_processing_seconds, Duration::from_secs(30));
        assert_eq!(s.max_wait_seconds_before_shutdown, Duration::ZERO);
        assert_eq!(s.client_timeout, Duration::from_secs(10));
        assert!(!s.send_raw_data_examples);
        assert!(!s.allow_environment_variables_jq_access);
        assert_eq!(s.upsert_entities_batch_max_length, 50);
        assert_eq!(s.upsert_entities_batch_max_size_in_bytes, 2048);
        assert_eq!(s.delete_entities_max_batch_size, 10);
        assert_eq!(s.yield_items_to_parse_batch_size, 7);
        assert_eq!(s.live_events.queue_capacity, 64);
    }

    #[test]
    fn listener_defaults_depend_on_type() {
        let once = load(&env(&[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")])).unwrap();
        assert_eq!(once.event_listener.r#type, EventListenerType::Once);
        assert!(once.event_listener.should_resync);
        assert!(!once.event_listener.should_process_webhooks);

        let hooks = load(&env(&[("OCEAN__EVENT_LISTENER__TYPE", "webhooks_only")])).unwrap();
        assert_eq!(hooks.event_listener.r#type, EventListenerType::WebhooksOnly);
        assert!(!hooks.event_listener.should_resync);
        assert!(hooks.event_listener.should_process_webhooks);

        let explicit = load(&env(&[
            ("OCEAN__EVENT_LISTENER__TYPE", "ONCE"),
            ("OCEAN__EVENT_LISTENER__SHOULD_PROCESS_WEBHOOKS", "true"),
            ("OCEAN__EVENT_LISTENER__INTERVAL", "5"),
            ("OCEAN__EVENT_LISTENER__RESYNC_ON_START", "false"),
        ]))
        .unwrap();
        assert!(explicit.event_listener.should_process_webhooks);
        assert_eq!(explicit.event_listener.interval, Duration::from_secs(5));
        assert!(!explicit.event_listener.resync_on_start);
    }

    #[test]
    fn nested_section_given_as_one_json_value() {
        let s = load(&env(&[(
            "OCEAN__EVENT_LISTENER",
            r#"{"type":"ONCE","interval":"30"}"#,
        )]))
        .unwrap();
        assert_eq!(s.event_listener.r#type, EventListenerType::Once);
        assert_eq!(s.event_listener.interval, Duration::from_secs(30));
    }

    #[test]
    fn nested_variable_refines_a_json_section() {
        let s = load(&env(&[
            ("OCEAN__EVENT_LISTENER", r#"{"type":"ONCE","interval":30}"#),
            ("OCEAN__EVENT_LISTENER__INTERVAL", "45"),
        ]))
        .unwrap();
        assert_eq!(s.event_listener.r#type, EventListenerType::Once);
        assert_eq!(s.event_listener.interval, Duration::from_secs(45));
    }

    #[test]
    fn variable_names_are_case_insensitive() {
        let s = load(&env(&[
            ("ocean__event_listener__type", "ONCE"),
            ("Ocean__Port__Base_Url", "https://api.us.getport.io"),
        ]))
        .unwrap();
        assert_eq!(s.event_listener.r#type, EventListenerType::Once);
        assert_eq!(s.port.base_url, "https://api.us.getport.io");
    }

    #[test]
    fn unknown_keys_and_foreign_variables_are_ignored() {
        let s = load(&env(&[
            ("OCEAN__NOT_A_SETTING", "x"),
            ("OCEAN__PORT__SOMETHING_ELSE", "y"),
            ("PATH", "/usr/bin"),
        ]))
        .unwrap();
        assert_eq!(s.port.base_url, DEFAULT_PORT_BASE_URL);
    }

    #[test]
    fn bad_listener_type_names_the_variable_and_the_choices() {
        let err = load(&env(&[("OCEAN__EVENT_LISTENER__TYPE", "FOO")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_LISTENER__TYPE: expected one of POLLING, ONCE, WEBHOOKS_ONLY, got \"FOO\""
        );
    }

    #[test]
    fn kafka_listener_is_rejected_as_not_supported() {
        let err = load(&env(&[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")])).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("OCEAN__EVENT_LISTENER__TYPE: KAFKA is not supported"),
            "{message}"
        );
        assert!(
            message.contains("POLLING, ONCE, WEBHOOKS_ONLY"),
            "{message}"
        );
        let err = load(&env(&[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK")])).unwrap_err();
        assert!(
            err.to_string().contains("WEBHOOK is not supported"),
            "{err}"
        );
    }

    #[test]
    fn bad_value_inside_json_section_names_where_it_came_from() {
        let err = load(&env(&[("OCEAN__EVENT_LISTENER", r#"{"type":"FOO"}"#)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_LISTENER__TYPE: expected one of POLLING, ONCE, WEBHOOKS_ONLY, \
             got \"FOO\" (set by environment variable OCEAN__EVENT_LISTENER)"
        );
    }

    #[test]
    fn key_missing_from_a_json_section_names_the_section_variable() {
        let err = OceanSettings::load(
            &env(&[("OCEAN__INTEGRATION", r#"{"identifier":"x"}"#)]),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__INTEGRATION__TYPE: required setting is missing \
             (not given in environment variable OCEAN__INTEGRATION)"
        );
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        let err = load(&env(&[("OCEAN__EVENT_WORKERS_COUNT", "many")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_WORKERS_COUNT: expected an unsigned integer, got \"many\""
        );
        let err = load(&env(&[("OCEAN__EVENT_WORKERS_COUNT", "0")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_WORKERS_COUNT: expected an integer of at least 1, got \"0\""
        );
        let err = load(&env(&[("OCEAN__CLIENT_TIMEOUT", "-1")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__CLIENT_TIMEOUT: expected a number of seconds greater than 0, got \"-1\""
        );
        let err = load(&env(&[("OCEAN__SCHEDULED_RESYNC_INTERVAL", "soon")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__SCHEDULED_RESYNC_INTERVAL: expected a number, got \"soon\""
        );
        let err = load(&env(&[("OCEAN__SEND_RAW_DATA_EXAMPLES", "maybe")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__SEND_RAW_DATA_EXAMPLES: expected a boolean (true or false), got \"maybe\""
        );
    }

    #[test]
    fn bad_urls_name_the_variable() {
        let err = load(&env(&[("OCEAN__PORT__BASE_URL", "api.getport.io")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__PORT__BASE_URL: expected an absolute http:// or https:// URL, got \"api.getport.io\""
        );
    }

    #[test]
    fn empty_value_unsets_an_optional_setting() {
        let s = load(&env(&[
            ("OCEAN__BASE_URL", ""),
            ("OCEAN__SCHEDULED_RESYNC_INTERVAL", " "),
        ]))
        .unwrap();
        assert_eq!(s.base_url, None);
        assert_eq!(s.scheduled_resync_interval, None);
    }

    #[test]
    fn debug_of_settings_never_shows_secrets() {
        let s = load(&env(&[
            ("OCEAN__PORT__CLIENT_ID", "client-id-value"),
            ("OCEAN__PORT__CLIENT_SECRET", "client-secret-value"),
            ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "token-value"),
        ]))
        .unwrap();
        let shown = format!("{s:?}");
        for secret in ["client-id-value", "client-secret-value", "token-value"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("api_token"), "{shown}");
    }

    #[test]
    fn override_sets_a_whole_section_from_json() {
        let sources = ConfigSources::new()
            .with_env_var("OCEAN__EVENT_LISTENER__TYPE", "POLLING")
            .with_override("OCEAN__EVENT_LISTENER", json!({"type": "ONCE"}));
        let s = load(&sources).unwrap();
        assert_eq!(s.event_listener.r#type, EventListenerType::Once);
    }

    #[test]
    fn one_port_credential_without_the_other_names_the_missing_one() {
        let err = load(&env(&[("OCEAN__PORT__CLIENT_ID", "id-1")])).unwrap_err();
        assert!(
            matches!(err, ConfigError::MissingCompanion { .. }),
            "{err:?}"
        );
        assert_eq!(err.variable(), Some("OCEAN__PORT__CLIENT_SECRET"));
        assert!(
            err.to_string().starts_with(
                "OCEAN__PORT__CLIENT_SECRET: required setting is missing, because \
                 OCEAN__PORT__CLIENT_ID is set:"
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("id-1"), "{err}");

        let err = load(&env(&[("OCEAN__PORT__CLIENT_SECRET", "shh")])).unwrap_err();
        assert_eq!(err.variable(), Some("OCEAN__PORT__CLIENT_ID"));
        assert!(!err.to_string().contains("shh"), "{err}");
    }

    #[test]
    fn both_port_credentials_or_neither_are_fine() {
        let s = load(&env(&[
            ("OCEAN__PORT__CLIENT_ID", "id-1"),
            ("OCEAN__PORT__CLIENT_SECRET", "shh"),
        ]))
        .unwrap();
        assert!(s.port.credentials().is_some());
        let s = load(&env(&[
            ("OCEAN__PORT__CLIENT_ID", ""),
            ("OCEAN__PORT__CLIENT_SECRET", ""),
        ]))
        .unwrap();
        assert!(s.port.credentials().is_none());
    }

    #[test]
    fn credential_from_a_json_section_says_where_it_was_set() {
        let err = load(&env(&[("OCEAN__PORT", r#"{"client_secret":"shh"}"#)])).unwrap_err();
        assert_eq!(err.variable(), Some("OCEAN__PORT__CLIENT_ID"));
        assert!(
            err.to_string().contains(
                "OCEAN__PORT__CLIENT_SECRET is set (by environment variable OCEAN__PORT)"
            ),
            "{err}"
        );
    }

    #[test]
    fn any_redis_setting_is_refused_until_the_backend_exists() {
        for (name, value) in [
            (
                "OCEAN__LIVE_EVENTS__REDIS__URL",
                "redis://:hunter2@cache:6379",
            ),
            ("OCEAN__LIVE_EVENTS__REDIS__PASSWORD", "hunter2"),
            (
                "OCEAN__LIVE_EVENTS__REDIS",
                r#"{"url":"redis://cache","password":"hunter2"}"#,
            ),
            (
                "OCEAN__LIVE_EVENTS",
                r#"{"redis":{"tls":true},"x":"hunter2"}"#,
            ),
        ] {
            let err = load(&env(&[(name, value)])).unwrap_err();
            assert!(matches!(err, ConfigError::Rejected { .. }), "{err:?}");
            let message = err.to_string();
            assert!(
                message.contains(
                    "the Redis queue backend is not available yet; unset OCEAN__LIVE_EVENTS__REDIS"
                ),
                "{message}"
            );
            assert!(
                message.contains("every OCEAN__LIVE_EVENTS__REDIS__* setting"),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn known_names_cover_every_setting_the_structs_read() {
        let schema = OceanSettings::schema();
        let keys =
            |name: &str| -> Vec<String> { name.split("__").map(str::to_ascii_lowercase).collect() };
        for name in [
            "PORT__CLIENT_ID",
            "PORT__CLIENT_SECRET",
            "PORT__BASE_URL",
            "PORT__PORT_APP_CONFIG_CACHE_TTL",
            "PORT__BLUEPRINT_CACHE_TTL_SECONDS",
            "INTEGRATION__IDENTIFIER",
            "INTEGRATION__TYPE",
            "INTEGRATION__CONFIG__ANYTHING",
            "EVENT_LISTENER__TYPE",
            "EVENT_LISTENER__INTERVAL",
            "EVENT_LISTENER__RESYNC_ON_START",
            "EVENT_LISTENER__SHOULD_RESYNC",
            "EVENT_LISTENER__SHOULD_PROCESS_WEBHOOKS",
            "INITIALIZE_PORT_RESOURCES",
            "RESOURCES_PATH",
            "SCHEDULED_RESYNC_INTERVAL",
            "BASE_URL",
            "PATH_PREFIX",
            "EVENT_WORKERS_COUNT",
            "MAX_EVENT_PROCESSING_SECONDS",
            "MAX_WAIT_SECONDS_BEFORE_SHUTDOWN",
            "CLIENT_TIMEOUT",
            "SEND_RAW_DATA_EXAMPLES",
            "ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS",
            "UPSERT_ENTITIES_BATCH_MAX_LENGTH",
            "UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES",
            "DELETE_ENTITIES_MAX_BATCH_SIZE",
            "YIELD_ITEMS_TO_PARSE_BATCH_SIZE",
            "LIVE_EVENTS__QUEUE_CAPACITY",
            "LIVE_EVENTS__BATCH_SIZE",
            "LIVE_EVENTS__ENQUEUE_WAIT_MS",
            "LIVE_EVENTS__ADMIN_TOKEN",
            "LIVE_EVENTS__DEAD_LETTER_FILE",
            "THIRD_PARTY_HTTP__MAX_RETRIES",
            "THIRD_PARTY_HTTP__MAX_IN_FLIGHT_PER_HOST",
            "THIRD_PARTY_HTTP__LIVE_EVENTS_RESERVE",
            "THIRD_PARTY_HTTP__RATE_LIMITS",
        ] {
            assert!(
                schema.is_known(&keys(name)),
                "OCEAN__{name} should be known"
            );
        }
        assert!(!schema.is_known(&keys("LIVE_EVENTS__REDIS__URL")));
        assert!(!schema.is_known(&keys("EVENT_LISTENR__TYPE")));
    }

    #[test]
    fn third_party_http_limits_are_read_with_rate_limits_as_json() {
        let s = OceanSettings::load(
            &env(&[
                ("OCEAN__THIRD_PARTY_HTTP__MAX_IN_FLIGHT_PER_HOST", "4"),
                ("OCEAN__THIRD_PARTY_HTTP__LIVE_EVENTS_RESERVE", "0.5"),
                (
                    "OCEAN__THIRD_PARTY_HTTP__RATE_LIMITS",
                    r#"{"api.example.com": 10, "jira.example.com:8443": 3}"#,
                ),
            ]),
            Some("t"),
        )
        .unwrap();
        let http = &s.third_party_http;
        assert_eq!((http.max_retries, http.max_in_flight_per_host), (3, 4));
        assert_eq!(http.live_events_reserve, 0.5);
        assert_eq!(
            http.rate_limits.iter().collect::<Vec<_>>(),
            [
                (&"api.example.com".to_owned(), &10),
                (&"jira.example.com:8443".to_owned(), &3)
            ]
        );
        let error = OceanSettings::load(
            &env(&[("OCEAN__THIRD_PARTY_HTTP__RATE_LIMITS", r#"{"a": "fast"}"#)]),
            Some("t"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("OCEAN__THIRD_PARTY_HTTP__RATE_LIMITS"),
            "{error}"
        );
    }

    #[test]
    fn unknown_settings_are_listed_with_the_closest_known_name() {
        let sources = env(&[
            ("OCEAN__EVENT_LISTENR__TYPE", "ONCE"),
            ("OCEAN__PORT__CLIENTID", "x"),
            ("OCEAN__NOT_A_SETTING_AT_ALL", "x"),
            ("OCEAN__INTEGRATION__CONFIG__WHATEVER_THE_AUTHOR_WANTS", "x"),
            ("OCEAN__EVENT_LISTENER__TYPE", "ONCE"),
        ]);
        let unknown = OceanSettings::unknown_settings(&sources).unwrap();
        let found: Vec<(&str, Option<&str>)> = unknown
            .iter()
            .map(|u| (u.name.as_str(), u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "OCEAN__EVENT_LISTENR__TYPE",
                    Some("OCEAN__EVENT_LISTENER__TYPE")
                ),
                ("OCEAN__NOT_A_SETTING_AT_ALL", None),
                ("OCEAN__PORT__CLIENTID", Some("OCEAN__PORT__CLIENT_ID")),
            ]
        );
        assert_eq!(
            unknown[0].to_string(),
            "OCEAN__EVENT_LISTENR__TYPE is not a setting; it is ignored; \
             did you mean OCEAN__EVENT_LISTENER__TYPE?"
        );
        load(&sources).unwrap();
    }

    #[test]
    fn unknown_keys_inside_a_json_section_are_listed_too() {
        let sources = env(&[("OCEAN__EVENT_LISTENER", r#"{"type":"ONCE","intervall":5}"#)]);
        let unknown = OceanSettings::unknown_settings(&sources).unwrap();
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert_eq!(unknown[0].name, "OCEAN__EVENT_LISTENER__INTERVALL");
        assert_eq!(
            unknown[0].suggestion.as_deref(),
            Some("OCEAN__EVENT_LISTENER__INTERVAL")
        );
        assert!(
            unknown[0]
                .to_string()
                .contains("(set by environment variable OCEAN__EVENT_LISTENER)"),
            "{}",
            unknown[0]
        );
    }

    #[test]
    fn load_warns_about_each_unknown_setting_with_the_suggestion() {
        let logs = crate::testing::CapturedLogs::new();
        tracing::subscriber::with_default(logs.subscriber(tracing::Level::TRACE), || {
            load(&env(&[("OCEAN__EVENT_LISTENR__TYPE", "ONCE")])).unwrap();
        });
        let logged = logs.text();
        assert!(
            logged.contains("WARN")
                && logged.contains("OCEAN__EVENT_LISTENR__TYPE is not a setting")
                && logged.contains("did you mean OCEAN__EVENT_LISTENER__TYPE?"),
            "{logged}"
        );
    }
}
