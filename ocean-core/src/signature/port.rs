//! Port's webhook signature: `x-port-signature: v1,<base64 HMAC-SHA256 of "{timestamp}.{body}">`
//! with the unix-seconds `x-port-timestamp`.

use super::error::SignatureError;
use super::headers::{HeaderSource, SignedHeaders};
use super::keys::{KeyRing, any_candidate_matches, tag};
use super::signature_list::{v1_entry, v1_signatures};
use super::timestamp::{DEFAULT_TOLERANCE, check_window, read_unix_seconds};
use super::{WebhookVerifier, log_outcome};
use crate::config::Secret;
use std::time::{Duration, SystemTime};

/// Verifies (and makes) Port's signed webhooks.
///
/// ```
/// use ocean::signature::{PortSignature, WebhookVerifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let port = PortSignature::new("s3cret");
/// let body = br#"{"action":"CREATE"}"#;
/// let headers = port.sign(body, 1_700_000_000).unwrap();
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_060);
/// assert!(port.verify(&headers, body, now).is_ok());
/// assert!(port.verify(&headers, b"{}", now).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct PortSignature {
    keys: KeyRing,
    tolerance: Duration,
}

impl PortSignature {
    /// The header holding the signature list.
    pub const SIGNATURE_HEADER: &'static str = "x-port-signature";
    /// The header holding the signed unix-seconds timestamp.
    pub const TIMESTAMP_HEADER: &'static str = "x-port-timestamp";

    /// A verifier for `secret`. An empty secret makes every verification fail closed with
    /// [`SignatureError::MissingSecret`], so an unset setting can be passed as
    /// `Secret::default()`.
    pub fn new(secret: impl Into<Secret>) -> Self {
        let mut keys = KeyRing::default();
        keys.push_text(&secret.into());
        Self {
            keys,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Also accepts signatures made with `secret` (the previous one, while rotating).
    pub fn also_accept(mut self, secret: impl Into<Secret>) -> Self {
        self.keys.push_text(&secret.into());
        self
    }

    /// Accepts timestamps at most `tolerance` away from the receiver's clock, either way
    /// (default five minutes).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The accepted clock difference.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Whether a usable secret is configured (call it at startup to fail early).
    pub fn check_secret(&self) -> Result<(), SignatureError> {
        self.keys.usable().map(|_| ())
    }

    /// Verifies the raw `body` against the Port headers at time `now`.
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        log_outcome("port", self.check(headers, body, now))
    }

    fn check<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        let keys = self.keys.usable()?;
        let signature_header = headers
            .header_bytes(Self::SIGNATURE_HEADER)
            .ok_or(SignatureError::MissingHeader(Self::SIGNATURE_HEADER))?;
        let signature_header =
            std::str::from_utf8(signature_header).map_err(|_| SignatureError::MalformedHeader {
                name: Self::SIGNATURE_HEADER,
                expected: "ASCII text",
            })?;
        let (timestamp, timestamp_text) = read_unix_seconds(headers, Self::TIMESTAMP_HEADER)?;
        let candidates = v1_signatures(Self::SIGNATURE_HEADER, signature_header)?;
        check_window(timestamp, now, self.tolerance)?;
        let signed = [timestamp_text.as_bytes(), b".", body];
        if any_candidate_matches(keys, &signed, &candidates)? {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The headers Port would send with `body` at unix second `timestamp`, signed with the first
    /// configured secret (for tests, load generators and the local Port).
    pub fn sign(&self, body: &[u8], timestamp: u64) -> Result<SignedHeaders, SignatureError> {
        let key = self.keys.signing_key()?;
        let timestamp = timestamp.to_string();
        let signature = v1_entry(&tag(key, &[timestamp.as_bytes(), b".", body])?);
        Ok(SignedHeaders::new(vec![
            (Self::TIMESTAMP_HEADER, timestamp),
            (Self::SIGNATURE_HEADER, signature),
        ]))
    }
}

impl WebhookVerifier for PortSignature {
    fn verify_at(
        &self,
        headers: &dyn HeaderSource,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        self.verify(headers, body, now)
    }
}
