//! Webhook signature verifiers over raw request bytes: Port, GitHub, GitLab, Standard Webhooks.
//!
//! Call one from a processor's `authenticate`, before the event is queued. Every verifier:
//! - works on the **raw body bytes** as received, never on re-serialised JSON;
//! - compares in constant time;
//! - fails closed: with no (or an empty) secret, every request is rejected with
//!   [`SignatureError::MissingSecret`];
//! - accepts several secrets (`also_accept`) so keys can be rotated without downtime;
//! - reads headers through [`HeaderSource`], so actix-web, `http` and plain maps all work;
//! - takes the current time as a parameter where the scheme is timestamped, so tests are
//!   deterministic ([`WebhookVerifier::verify_now`] reads the system clock).
//!
//! Errors never carry a secret, an expected signature or a token, so their message can be
//! returned to the HTTP client as is.

mod error;
mod github;
mod gitlab;
mod headers;
mod keys;
mod port;
mod replay;
mod signature_list;
mod standard_webhooks;
mod timestamp;

pub use error::{SignatureError, Skew};
pub use github::GitHubSignature;
pub use gitlab::GitLabToken;
pub use headers::{HeaderSource, SignedHeaders};
pub use port::PortSignature;
pub use replay::{DEFAULT_REPLAY_CAPACITY, ReplayGuard};
pub use standard_webhooks::StandardWebhooks;
pub use timestamp::DEFAULT_TOLERANCE;

use std::time::SystemTime;

/// Any of the verifiers, behind one object-safe interface (for processors that pick a scheme
/// from configuration).
pub trait WebhookVerifier: Send + Sync {
    /// Verifies a request's headers and raw `body` as of `now`.
    fn verify_at(
        &self,
        headers: &dyn HeaderSource,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError>;

    /// Verifies a request's headers and raw `body` as of the system clock.
    fn verify_now(&self, headers: &dyn HeaderSource, body: &[u8]) -> Result<(), SignatureError> {
        self.verify_at(headers, body, SystemTime::now())
    }
}

/// Logs a rejection (never its inputs) and passes the outcome through.
fn log_outcome(
    scheme: &'static str,
    outcome: Result<(), SignatureError>,
) -> Result<(), SignatureError> {
    match &outcome {
        Ok(()) => tracing::trace!(scheme, "webhook signature verified"),
        Err(error @ (SignatureError::MissingSecret | SignatureError::InvalidSecret { .. })) => {
            tracing::warn!(scheme, %error, "webhook rejected: verifier not configured");
        }
        Err(error) => tracing::debug!(scheme, %error, "webhook rejected"),
    }
    outcome
}
