//! When and how long to wait before sending a request to Port again.

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// A numeric rate-limit header above this is a Unix timestamp rather than a number of seconds.
const EPOCH_THRESHOLD: u64 = 10_000;

/// Retry settings for requests that are safe to send twice.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first send (so at most `max_retries + 1` sends).
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each further retry.
    pub base_delay: Duration,
    /// Random spread of each backoff wait, as a fraction (0.1 = ±10%).
    pub jitter_ratio: f64,
    /// No wait is longer than this, whether computed or asked for by Port's headers.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Port's policy: 10 retries, 0.3 s doubling, ±10% jitter, at most 300 s per wait.
    fn default() -> Self {
        Self {
            max_retries: 10,
            base_delay: Duration::from_millis(300),
            jitter_ratio: 0.1,
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): what Port's `Retry-After` or
    /// `x-ratelimit-reset` asks for when present, else exponential backoff with jitter; capped.
    pub fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        let asked = headers.and_then(|h| server_asked_delay(h, Utc::now()));
        let wait = asked.unwrap_or_else(|| self.backoff(retry));
        wait.min(self.max_backoff)
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(63);
        let nominal = self.base_delay.as_secs_f64() * 2f64.powi(exponent as i32);
        let ratio = self.jitter_ratio.abs();
        let jitter = if ratio > 0.0 {
            rand::rng().random_range(-ratio..=ratio)
        } else {
            0.0
        };
        let secs = nominal * (1.0 + jitter);
        // Large exponents overflow to infinity; the cap in `delay` applies afterwards.
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max_backoff)
    }
}

/// True for statuses worth sending again: rate limited, request timeout and gateway trouble.
/// 500 is deliberately absent: it usually means the request itself breaks Port.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

/// The wait Port asks for: `Retry-After` first, then `x-ratelimit-reset`.
fn server_asked_delay(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    ["retry-after", "x-ratelimit-reset"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .find_map(|value| parse_wait(value.trim(), now))
}

/// Parses a wait header: delta seconds, a Unix timestamp (numbers above 10000), an HTTP date or
/// an RFC 3339 date. Dates in the past and unreadable values give `None`.
fn parse_wait(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = value.parse().ok()?;
        if n > EPOCH_THRESHOLD {
            let now_secs = u64::try_from(now.timestamp()).unwrap_or(0);
            return Some(Duration::from_secs(n.saturating_sub(now_secs)));
        }
        return Some(Duration::from_secs(n));
    }
    let at: DateTime<Utc> = match httpdate::parse_http_date(value) {
        Ok(t) => t.into(),
        Err(_) => DateTime::parse_from_rfc3339(value)
            .ok()?
            .with_timezone(&Utc),
    };
    (at - now).to_std().ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_delta_seconds_epoch_http_date_and_rfc3339() {
        assert_eq!(parse_wait("7", now()), Some(Duration::from_secs(7)));
        let epoch = now().timestamp() + 30;
        assert_eq!(
            parse_wait(&epoch.to_string(), now()),
            Some(Duration::from_secs(30))
        );
        let past_epoch = now().timestamp() - 30;
        assert_eq!(
            parse_wait(&past_epoch.to_string(), now()),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_wait("Tue, 03 Mar 2026 12:00:45 GMT", now()),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            parse_wait("2026-03-03T12:01:00+00:00", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_wait("Tue, 03 Mar 2026 11:00:00 GMT", now()), None);
        assert_eq!(parse_wait("soon", now()), None);
        assert_eq!(parse_wait("", now()), None);
    }

    #[test]
    fn retry_after_wins_over_ratelimit_reset_and_bad_values_fall_through() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("9"));
        assert_eq!(
            server_asked_delay(&headers, now()),
            Some(Duration::from_secs(9))
        );
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            server_asked_delay(&headers, now()),
            Some(Duration::from_secs(3))
        );
        headers.insert("retry-after", HeaderValue::from_static("later"));
        assert_eq!(
            server_asked_delay(&headers, now()),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        for retry in 1..=10u32 {
            let nominal = 0.3 * 2f64.powi(retry as i32 - 1);
            let d = policy.delay(retry, None).as_secs_f64();
            assert!(
                d >= (nominal * 0.9).min(300.0) - 1e-9 && d <= (nominal * 1.1).min(300.0) + 1e-9,
                "retry {retry}: {d}s is outside {nominal}s ±10%"
            );
        }
        assert_eq!(policy.delay(200, None), Duration::from_secs(300));
    }

    #[test]
    fn server_asked_wait_is_capped_by_max_backoff() {
        let policy = RetryPolicy {
            max_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("120"));
        assert_eq!(policy.delay(1, Some(&headers)), Duration::from_millis(5));
    }

    #[test]
    fn only_throttling_and_gateway_statuses_are_retryable() {
        for s in [408, 429, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [200, 400, 401, 404, 409, 413, 422, 500] {
            assert!(!is_retryable_status(s));
        }
    }
}
