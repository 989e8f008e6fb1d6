//! What a [`ThirdPartyClient`](super::ThirdPartyClient) is built from.

use crate::backoff::Backoff;
use std::collections::HashMap;
use std::time::Duration;

/// A rate budget: at most `requests` per `per`, with bursts of up to `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in each period (and the largest burst).
    pub requests: u32,
    /// The period.
    pub per: Duration,
}

impl RateLimit {
    /// `requests` per `per`.
    pub const fn new(requests: u32, per: Duration) -> Self {
        Self { requests, per }
    }

    /// `requests` per second.
    pub const fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// `requests` per minute.
    pub const fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }
}

/// How a [`ThirdPartyClient`](super::ThirdPartyClient) retries, and how much it sends to each
/// host.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpClientOptions {
    /// Retries after the first send (so at most `max_retries + 1` sends). Default 3.
    pub max_retries: u32,
    /// The waits between sends when the server asks for none: default 0.5 s doubling up to
    /// 30 s, ±10%. Its `max` also bounds a server's `Retry-After`: a longer one is not waited
    /// for, the answer is returned at once so the caller's own (slower) retry takes over.
    pub backoff: Backoff,
    /// Requests in flight at once to one `host:port`, across lanes. Default 10.
    pub max_in_flight_per_host: usize,
    /// The share (0 to below 1) of every host's rate budget that only live events may use.
    /// Default 0.25.
    pub live_events_reserve: f64,
    /// Rate budgets by host, keyed `host` or `host:port` (the latter wins). Default: none.
    pub rate_limits: HashMap<String, RateLimit>,
    /// The budget of hosts that `rate_limits` does not name. Default `None`: unlimited.
    pub default_rate_limit: Option<RateLimit>,
    /// Timeout of one round trip when the client builds its own `reqwest::Client`; a request's
    /// own `.timeout()` replaces it. Default 60 s.
    pub timeout: Duration,
}

impl Default for HttpClientOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            max_in_flight_per_host: 10,
            live_events_reserve: 0.25,
            rate_limits: HashMap::new(),
            default_rate_limit: None,
            timeout: Duration::from_secs(60),
        }
    }
}

impl HttpClientOptions {
    /// The same options with a rate budget for `host` (`api.example.com` or
    /// `api.example.com:8443`).
    pub fn rate_limit(mut self, host: impl Into<String>, limit: RateLimit) -> Self {
        self.rate_limits
            .insert(host.into().to_ascii_lowercase(), limit);
        self
    }

    /// Checks the options, naming the first one that cannot work.
    pub fn validate(&self) -> Result<(), HttpClientError> {
        let invalid = |message: String| Err(HttpClientError::InvalidOptions { message });
        let most = tokio::sync::Semaphore::MAX_PERMITS;
        if !(1..=most).contains(&self.max_in_flight_per_host) {
            return invalid(format!(
                "max_in_flight_per_host must be between 1 and {most}, got {}",
                self.max_in_flight_per_host
            ));
        }
        if !(0.0..1.0).contains(&self.live_events_reserve) {
            return invalid(format!(
                "live_events_reserve must be at least 0 and below 1, got {}",
                self.live_events_reserve
            ));
        }
        let limits = self
            .rate_limits
            .iter()
            .map(|(host, limit)| (format!("the rate limit of {host}"), limit))
            .chain(
                self.default_rate_limit
                    .iter()
                    .map(|limit| ("default_rate_limit".to_owned(), limit)),
            );
        for (name, limit) in limits {
            if limit.requests == 0 || limit.per.is_zero() {
                return invalid(format!(
                    "{name} must allow at least 1 request in a non-zero period, got {} per {:?}",
                    limit.requests, limit.per
                ));
            }
        }
        Ok(())
    }

    /// The budget of `host` (lowercase) on `port`.
    pub(crate) fn rate_limit_for(&self, host: &str, port: Option<u16>) -> Option<RateLimit> {
        port.and_then(|port| self.rate_limits.get(&format!("{host}:{port}")))
            .or_else(|| self.rate_limits.get(host))
            .copied()
            .or(self.default_rate_limit)
    }
}

/// Why a [`ThirdPartyClient`](super::ThirdPartyClient) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// An option is out of range.
    #[error("invalid HTTP client options: {message}")]
    InvalidOptions {
        /// Which option, what it must be and what it was.
        message: String,
    },
    /// reqwest could not build its client (e.g. no TLS backend).
    #[error("the HTTP client could not be built: {0}")]
    Build(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(HttpClientOptions::default().validate().is_ok());
        let bad = |options: HttpClientOptions| options.validate().unwrap_err().to_string();
        let text = bad(HttpClientOptions {
            max_in_flight_per_host: 0,
            ..HttpClientOptions::default()
        });
        assert!(text.contains("max_in_flight_per_host"), "{text}");
        let text = bad(HttpClientOptions {
            max_in_flight_per_host: usize::MAX,
            ..HttpClientOptions::default()
        });
        assert!(text.contains("max_in_flight_per_host"), "{text}");
        for reserve in [1.0, -0.1, f64::NAN] {
            let text = bad(HttpClientOptions {
                live_events_reserve: reserve,
                ..HttpClientOptions::default()
            });
            assert!(text.contains("live_events_reserve"), "{text}");
        }
        let text =
            bad(HttpClientOptions::default()
                .rate_limit("api.example.com", RateLimit::per_second(0)));
        assert!(text.contains("api.example.com"), "{text}");
    }

    #[test]
    fn a_host_and_port_limit_wins_over_the_host_and_the_default() {
        let options = HttpClientOptions {
            default_rate_limit: Some(RateLimit::per_second(1)),
            ..HttpClientOptions::default()
        }
        .rate_limit("API.example.com", RateLimit::per_second(2))
        .rate_limit("api.example.com:8443", RateLimit::per_second(3));
        let limit = |host, port| options.rate_limit_for(host, port).map(|l| l.requests);
        assert_eq!(limit("api.example.com", Some(8443)), Some(3));
        assert_eq!(limit("api.example.com", Some(443)), Some(2));
        assert_eq!(limit("other.example.com", Some(443)), Some(1));
    }
}
