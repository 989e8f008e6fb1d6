//! When and how long to wait before sending a request to Port again.

use crate::backoff::Backoff;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Retry settings of the Port client: how many retries, and the [`Backoff`] between them.
///
/// Requests that are safe to send twice (GET, PUT, DELETE and Port's idempotent POSTs) are
/// retried on 408, 429, 502, 503, 504 and transport errors; every other request only on 429 and
/// on connections that were never made, which Port cannot have processed.
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
        self.backoff().delay_for(retry, headers)
    }

    /// The backoff this policy waits with.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.base_delay, self.max_backoff).with_jitter(self.jitter_ratio)
    }
}

/// True for statuses worth sending again: rate limited, request timeout and gateway trouble.
/// 500 is deliberately absent: it usually means the request itself breaks Port.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

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
