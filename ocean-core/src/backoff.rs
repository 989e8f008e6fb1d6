//! How long to wait before trying again: one exponential backoff with jitter for the whole
//! framework (the Port client, webhook processors, the third-party HTTP client), and the wait a
//! server asks for in `Retry-After` / `x-ratelimit-reset`.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use rand::Rng;
use std::time::Duration;

/// A numeric rate-limit header above this is a Unix timestamp rather than a number of seconds.
const EPOCH_THRESHOLD: u64 = 10_000;

/// Exponential backoff with jitter: the wait before retry `n` (1-based) is
/// `initial * factor^(n-1)`, spread at random by ±`jitter_ratio`, and never above `max`.
///
/// ```
/// use ocean::backoff::Backoff;
/// use std::time::Duration;
///
/// let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30)).with_jitter(0.0);
/// assert_eq!(backoff.delay(1), Duration::from_millis(500));
/// assert_eq!(backoff.delay(3), Duration::from_secs(2));
/// assert_eq!(backoff.delay(20), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub initial: Duration,
    /// Growth between two retries (values below 1 count as 1).
    pub factor: f64,
    /// No wait is longer than this, computed or asked for by a server.
    pub max: Duration,
    /// Random spread of each computed wait, as a fraction: 0.1 is ±10%, 0 gives exact waits.
    pub jitter_ratio: f64,
}

impl Default for Backoff {
    /// 1 s doubling up to 30 s, ±10%.
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(30))
    }
}

impl Backoff {
    /// A backoff starting at `initial`, doubling, capped at `max`, with ±10% jitter.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            factor: 2.0,
            max,
            jitter_ratio: 0.1,
        }
    }

    /// The same backoff growing by `factor` between retries.
    pub const fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The same backoff with a jitter of ±`ratio` (0 for exact, reproducible waits).
    pub const fn with_jitter(mut self, ratio: f64) -> Self {
        self.jitter_ratio = ratio;
        self
    }

    /// The wait before retry `retry` (1-based; 0 counts as 1): exponential, jittered, capped.
    pub fn delay(&self, retry: u32) -> Duration {
        let ratio = self.jitter_ratio();
        let roll = if ratio > 0.0 {
            rand::rng().random_range(-1.0..=1.0)
        } else {
            0.0
        };
        self.delay_with_roll(retry, roll)
    }

    /// The wait before retry `retry` when the server asked for none: the wait `headers` ask for
    /// (see [`server_asked_delay`]) when present, else [`Self::delay`]; capped at `max` either way.
    pub fn delay_for(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        headers
            .and_then(server_asked_delay)
            .map_or_else(|| self.delay(retry), |asked| asked.min(self.max))
    }

    /// The un-jittered wait before retry `retry`, capped.
    pub fn nominal(&self, retry: u32) -> Duration {
        self.delay_with_roll(retry, 0.0)
    }

    /// The wait for a jitter draw `roll` in [-1, 1] (-1 is the shortest spread, 1 the longest).
    fn delay_with_roll(&self, retry: u32, roll: f64) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let nominal = self.initial.as_secs_f64() * factor.powi(exponent);
        let secs = nominal * (1.0 + self.jitter_ratio() * roll.clamp(-1.0, 1.0));
        let max = self.max.as_secs_f64();
        // Large exponents overflow to infinity, which the cap turns into `max`.
        if secs.is_nan() || secs >= max {
            return self.max;
        }
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max)
    }

    /// The jitter ratio as used: non-negative, at most 1, 0 when not a number.
    fn jitter_ratio(&self) -> f64 {
        if self.jitter_ratio.is_finite() {
            self.jitter_ratio.abs().min(1.0)
        } else {
            0.0
        }
    }
}

/// The wait a server asks for before the next request: `Retry-After` first (delta seconds or an
/// HTTP date), then `x-ratelimit-reset` (seconds, or a Unix timestamp when above 10000).
/// Unreadable values are skipped; a time already past gives zero or `None`.
pub fn server_asked_delay(headers: &HeaderMap) -> Option<Duration> {
    server_asked_delay_at(headers, Utc::now())
}

/// [`server_asked_delay`] as seen at `now`.
pub fn server_asked_delay_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
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
    use http::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn exact(initial_ms: u64, max_ms: u64) -> Backoff {
        Backoff::new(
            Duration::from_millis(initial_ms),
            Duration::from_millis(max_ms),
        )
        .with_jitter(0.0)
    }

    #[test]
    fn without_jitter_waits_grow_by_the_factor_up_to_the_cap() {
        let b = exact(100, 350);
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(350));
        assert_eq!(b.delay(u32::MAX), Duration::from_millis(350));
        let tripling = exact(10, 1_000).with_factor(3.0);
        assert_eq!(tripling.delay(3), Duration::from_millis(90));
    }

    #[test]
    fn a_factor_below_one_or_not_a_number_does_not_shrink_the_wait() {
        assert_eq!(
            exact(100, 1_000).with_factor(0.5).delay(4),
            Duration::from_millis(100)
        );
        assert_eq!(
            exact(100, 1_000).with_factor(f64::NAN).delay(4),
            Duration::from_millis(100)
        );
        assert_eq!(
            exact(100, 1_000).with_factor(f64::INFINITY).delay(4),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn jitter_spreads_each_wait_within_the_ratio() {
        let b = Backoff::new(Duration::from_millis(300), Duration::from_secs(300));
        assert_eq!(b.delay_with_roll(2, -1.0), Duration::from_millis(540));
        assert_eq!(b.delay_with_roll(2, 1.0), Duration::from_millis(660));
        assert_eq!(b.nominal(2), Duration::from_millis(600));
        for retry in 1..=10u32 {
            let nominal = 0.3 * 2f64.powi(retry as i32 - 1);
            for _ in 0..20 {
                let d = b.delay(retry).as_secs_f64();
                assert!(
                    d >= nominal * 0.9 - 1e-9 && d <= nominal * 1.1 + 1e-9,
                    "retry {retry}: {d}s is outside {nominal}s ±10%"
                );
            }
        }
        assert_eq!(b.delay(200), Duration::from_secs(300));
    }

    #[test]
    fn an_odd_jitter_ratio_is_tamed() {
        let wild = exact(100, 1_000).with_jitter(f64::NAN);
        assert_eq!(wild.delay(1), Duration::from_millis(100));
        let huge = exact(100, 1_000).with_jitter(-5.0);
        assert_eq!(huge.delay_with_roll(1, -1.0), Duration::ZERO);
        assert_eq!(huge.delay_with_roll(1, 1.0), Duration::from_millis(200));
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
        assert_eq!(parse_wait("99999999999999999999999", now()), None);
        assert_eq!(parse_wait("soon", now()), None);
        assert_eq!(parse_wait("", now()), None);
    }

    #[test]
    fn retry_after_wins_over_ratelimit_reset_and_bad_values_fall_through() {
        let mut headers = HeaderMap::new();
        assert_eq!(server_asked_delay_at(&headers, now()), None);
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("9"));
        assert_eq!(
            server_asked_delay_at(&headers, now()),
            Some(Duration::from_secs(9))
        );
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            server_asked_delay_at(&headers, now()),
            Some(Duration::from_secs(3))
        );
        headers.insert("retry-after", HeaderValue::from_static("later"));
        assert_eq!(
            server_asked_delay_at(&headers, now()),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn delay_for_prefers_the_server_asked_wait_capped() {
        let b = exact(100, 5_000);
        let mut headers = HeaderMap::new();
        assert_eq!(b.delay_for(2, Some(&headers)), Duration::from_millis(200));
        assert_eq!(b.delay_for(2, None), Duration::from_millis(200));
        headers.insert("retry-after", HeaderValue::from_static("0"));
        assert_eq!(b.delay_for(2, Some(&headers)), Duration::ZERO);
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(b.delay_for(2, Some(&headers)), Duration::from_secs(2));
        headers.insert("retry-after", HeaderValue::from_static("120"));
        assert_eq!(b.delay_for(2, Some(&headers)), Duration::from_secs(5));
    }
}
