//! Why a webhook was not accepted as authentic.

use std::time::Duration;
use thiserror::Error;

/// Which side of the tolerance window a timestamp fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skew {
    /// The timestamp is older than `now - tolerance`.
    TooOld,
    /// The timestamp is later than `now + tolerance`.
    InTheFuture,
}

impl std::fmt::Display for Skew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Skew::TooOld => "too old",
            Skew::InTheFuture => "in the future",
        })
    }
}

/// A webhook failed verification.
///
/// Every message is safe to send back to the HTTP client: none carries a secret, an expected
/// signature or the value of a header that may hold a token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// No secret is configured, so nothing can be verified; the verifier fails closed.
    #[error("webhook verification is not configured (no secret); refusing the request")]
    MissingSecret,
    /// The configured secret cannot be used (for example `whsec_` followed by invalid base64).
    #[error("webhook verification is misconfigured: {reason}; refusing the request")]
    InvalidSecret {
        /// What is wrong with the secret, without its value.
        reason: &'static str,
    },
    /// A header the scheme requires is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but not in the form the scheme defines.
    #[error("malformed header `{name}`: expected {expected}")]
    MalformedHeader {
        /// The header's name.
        name: &'static str,
        /// The form the scheme defines for it.
        expected: &'static str,
    },
    /// The signed timestamp is outside the accepted window around the receiver's clock.
    #[error("timestamp is {skew}: outside the tolerance of {} s", tolerance.as_secs())]
    TimestampOutOfTolerance {
        /// Which side of the window the timestamp fell on.
        skew: Skew,
        /// The configured tolerance.
        tolerance: Duration,
    },
    /// No signature (or token) in the request matches any configured secret.
    #[error("signature does not match")]
    Mismatch,
    /// A message with this id was already accepted within the tolerance window.
    #[error("message id was already accepted (replay)")]
    Replayed,
}
