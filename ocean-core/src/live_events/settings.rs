//! Tuning of live events: workers, queue, timeouts, limits, dead letters and the admin token.

use crate::config::{OceanSettings, Secret};
use std::path::PathBuf;
use std::time::Duration;

/// The variable holding the bearer token of the dead-letter admin routes.
pub const ADMIN_TOKEN_ENV: &str = "OCEAN__LIVE_EVENTS__ADMIN_TOKEN";

/// How live events run. [`LiveEventsOptions::from_settings`] reads Ocean's settings; the fields
/// Ocean has no setting for keep their defaults and can be set directly.
#[derive(Debug, Clone)]
pub struct LiveEventsOptions {
    /// Workers per registered path (`event_workers_count`, default 1).
    pub workers_per_path: usize,
    /// Events queued or in flight per path before intake answers 503 (`live_events.queue_capacity`).
    pub queue_capacity: usize,
    /// Limit of one `handle_event` attempt (`max_event_processing_seconds`, default 90 s).
    pub max_event_processing: Duration,
    /// How long shutdown waits for workers (`max_wait_seconds_before_shutdown`, default 5 s).
    pub shutdown_grace: Duration,
    /// Largest accepted request body in bytes (default 1 MiB); larger answers 413.
    pub body_limit: usize,
    /// Dead letters kept in memory; the oldest is evicted beyond it (default 1000).
    pub dead_letter_capacity: usize,
    /// A JSONL file the dead letters are kept in, so they survive restarts.
    pub dead_letter_file: Option<PathBuf>,
    /// The bearer token of the admin routes; without one they answer 404.
    pub admin_token: Option<Secret>,
    /// Seconds a 503 tells the sender to wait (`Retry-After`).
    pub retry_after_seconds: u32,
    /// Most events a worker takes from the queue at once (`live_events.batch_size`, default
    /// 500): their processors run concurrently and their entities share Port's bulk requests.
    /// 1 processes events one by one.
    pub batch_size: usize,
    /// How long a webhook waits for room in a full queue before it is answered 503
    /// (`live_events.enqueue_wait_ms`, default 5 ms). Under a burst the sender gets its 202 a
    /// few milliseconds later instead of a 503 it must retry (some providers never do); zero
    /// refuses at once.
    pub enqueue_wait: Duration,
}

impl Default for LiveEventsOptions {
    fn default() -> Self {
        Self {
            workers_per_path: 1,
            queue_capacity: 10_000,
            max_event_processing: Duration::from_secs(90),
            shutdown_grace: Duration::from_secs(5),
            body_limit: 1024 * 1024,
            dead_letter_capacity: 1000,
            dead_letter_file: None,
            admin_token: None,
            retry_after_seconds: 5,
            batch_size: 500,
            enqueue_wait: Duration::from_millis(5),
        }
    }
}

impl LiveEventsOptions {
    /// The options Ocean's settings give; the others keep their defaults.
    pub fn from_settings(settings: &OceanSettings) -> Self {
        Self {
            workers_per_path: settings.event_workers_count.max(1),
            queue_capacity: settings.live_events.queue_capacity.max(1),
            batch_size: settings.live_events.batch_size.max(1),
            enqueue_wait: Duration::from_millis(settings.live_events.enqueue_wait_ms),
            max_event_processing: settings.max_event_processing_seconds,
            shutdown_grace: settings.max_wait_seconds_before_shutdown,
            admin_token: settings.live_events.admin_token.clone(),
            dead_letter_file: settings.live_events.dead_letter_file.clone(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSources;

    #[test]
    fn reads_ocean_settings_and_keeps_defaults_for_the_rest() {
        let sources = ConfigSources::new().with_env([
            ("OCEAN__EVENT_WORKERS_COUNT", "4"),
            ("OCEAN__MAX_EVENT_PROCESSING_SECONDS", "30"),
            ("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "2"),
            ("OCEAN__LIVE_EVENTS__QUEUE_CAPACITY", "64"),
            ("OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL", "0"),
        ]);
        let settings = OceanSettings::load(&sources, Some("jira")).unwrap();
        let options = LiveEventsOptions::from_settings(&settings);
        assert_eq!(options.workers_per_path, 4);
        assert_eq!(options.max_event_processing, Duration::from_secs(30));
        assert_eq!(options.shutdown_grace, Duration::from_secs(2));
        assert_eq!(options.queue_capacity, 64);
        assert_eq!(options.body_limit, 1024 * 1024);
        assert!(options.admin_token.is_none());
        assert!(options.dead_letter_file.is_none());
    }

    #[test]
    fn reads_the_admin_token_and_dead_letter_file() {
        let sources = ConfigSources::new().with_env([
            (ADMIN_TOKEN_ENV, "t0ken"),
            (
                "OCEAN__LIVE_EVENTS__DEAD_LETTER_FILE",
                "/var/lib/ocean/dead.jsonl",
            ),
        ]);
        let settings = OceanSettings::load(&sources, Some("jira")).unwrap();
        let options = LiveEventsOptions::from_settings(&settings);
        assert_eq!(
            options.admin_token.as_ref().map(Secret::expose),
            Some("t0ken")
        );
        assert_eq!(
            options.dead_letter_file,
            Some(PathBuf::from("/var/lib/ocean/dead.jsonl"))
        );
        assert!(!format!("{settings:?}").contains("t0ken"));
    }
}
