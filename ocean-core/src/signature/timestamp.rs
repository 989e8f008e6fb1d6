//! Signed unix-second timestamps and the tolerance window around the receiver's clock.

use super::error::{SignatureError, Skew};
use super::headers::HeaderSource;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default tolerance of the timestamped schemes, as the Standard Webhooks spec recommends.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Reads a header holding unix seconds (ASCII digits only): the value and the text that was signed.
pub(crate) fn read_unix_seconds<'h, H: HeaderSource + ?Sized>(
    headers: &'h H,
    name: &'static str,
) -> Result<(u64, &'h str), SignatureError> {
    let malformed = SignatureError::MalformedHeader {
        name,
        expected: "unix time in whole seconds (digits only)",
    };
    let raw = headers
        .header_bytes(name)
        .ok_or(SignatureError::MissingHeader(name))?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| malformed.clone())?
        .trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    let seconds = text.parse::<u64>().map_err(|_| malformed)?;
    Ok((seconds, text))
}

/// Seconds since the epoch; a clock before 1970 counts as negative.
pub(crate) fn unix_seconds(now: SystemTime) -> i128 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::from(after.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()),
    }
}

/// Accepts `timestamp` when it lies within `tolerance` of `now`, on either side.
pub(crate) fn check_window(
    timestamp: u64,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let age = unix_seconds(now) - i128::from(timestamp);
    let limit = i128::from(tolerance.as_secs());
    let skew = if age > limit {
        Skew::TooOld
    } else if -age > limit {
        Skew::InTheFuture
    } else {
        return Ok(());
    };
    Err(SignatureError::TimestampOutOfTolerance { skew, tolerance })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn window_is_inclusive_on_both_edges() {
        let tol = Duration::from_secs(300);
        assert!(check_window(1_000, at(1_300), tol).is_ok());
        assert!(check_window(1_300, at(1_000), tol).is_ok());
        assert_eq!(
            check_window(999, at(1_300), tol).unwrap_err(),
            SignatureError::TimestampOutOfTolerance {
                skew: Skew::TooOld,
                tolerance: tol
            }
        );
        assert_eq!(
            check_window(1_301, at(1_000), tol).unwrap_err(),
            SignatureError::TimestampOutOfTolerance {
                skew: Skew::InTheFuture,
                tolerance: tol
            }
        );
    }

    #[test]
    fn huge_timestamps_do_not_overflow() {
        assert!(matches!(
            check_window(u64::MAX, at(0), DEFAULT_TOLERANCE),
            Err(SignatureError::TimestampOutOfTolerance {
                skew: Skew::InTheFuture,
                ..
            })
        ));
    }

    #[test]
    fn timestamp_header_must_be_plain_digits() {
        for bad in [
            "",
            "-5",
            "+5",
            "12.5",
            "1e9",
            "abc",
            "99999999999999999999999",
        ] {
            let headers = [("x-port-timestamp", bad)];
            assert!(
                matches!(
                    read_unix_seconds(&headers, "x-port-timestamp"),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{bad:?} should be malformed"
            );
        }
        let headers = [("x-port-timestamp", " 1700000000 ")];
        assert_eq!(
            read_unix_seconds(&headers, "x-port-timestamp").unwrap(),
            (1_700_000_000, "1700000000")
        );
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            read_unix_seconds(&none, "x-port-timestamp").unwrap_err(),
            SignatureError::MissingHeader("x-port-timestamp")
        );
    }
}
