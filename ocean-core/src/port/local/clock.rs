//! Write timestamps: strictly increasing, so that `before` filters never tie.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// Hands out write times in microseconds since the Unix epoch, each strictly greater than the
/// previous one.
///
/// Microseconds (not Port's milliseconds) because a millisecond clock forced to increase on every
/// write would run ahead of real time as soon as the server takes more than a thousand writes a
/// second, and a reconciliation `before` taken from the real clock would then miss them.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: AtomicI64,
}

impl Clock {
    /// A clock that never goes back before `floor` (the newest time of a loaded state).
    pub(crate) fn starting_after(floor: i64) -> Self {
        Self {
            last: AtomicI64::new(floor),
        }
    }

    /// The next write time.
    pub(crate) fn tick(&self) -> i64 {
        let now = Utc::now().timestamp_micros();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

/// Formats a write time as RFC 3339 in UTC (`2024-01-15T10:30:00.123456Z`).
pub(crate) fn format_micros(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an ISO 8601 / RFC 3339 time to microseconds; a time without offset is read as UTC.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_micros());
    }
    // ISO 8601 offsets without a colon (`+0200`), as Jira writes them; Port's date-time
    // validation accepts them.
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_strictly_increasing_even_within_one_microsecond() {
        let clock = Clock::default();
        let mut prev = clock.tick();
        for _ in 0..10_000 {
            let next = clock.tick();
            assert!(next > prev);
            prev = next;
        }
    }

    #[test]
    fn formatted_times_parse_back_exactly() {
        let t = Clock::default().tick();
        let text = format_micros(t);
        assert!(text.ends_with('Z'));
        assert_eq!(parse_time(&text), Some(t));
    }

    #[test]
    fn parses_python_isoformat_with_offset_and_naive_times() {
        assert_eq!(
            parse_time("2026-03-03T12:00:00+00:00"),
            parse_time("2026-03-03T12:00:00Z")
        );
        assert_eq!(
            parse_time("2026-03-03T12:00:00.5"),
            parse_time("2026-03-03T12:00:00.500Z")
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(
            parse_time("2026-01-12T09:14:03.120+0200"),
            parse_time("2026-01-12T07:14:03.120Z")
        );
    }
}
