//! Standard Webhooks v1 (symmetric): `webhook-id`, `webhook-timestamp` and a space-separated
//! `webhook-signature` list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use super::error::SignatureError;
use super::headers::{HeaderSource, SignedHeaders};
use super::keys::{KeyRing, any_candidate_matches, tag};
use super::replay::ReplayGuard;
use super::signature_list::{v1_entry, v1_signatures};
use super::timestamp::{DEFAULT_TOLERANCE, check_window, read_unix_seconds, unix_seconds};
use super::{WebhookVerifier, log_outcome};
use crate::config::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::time::{Duration, SystemTime};

const SECRET_PREFIX: &str = "whsec_";

/// Verifies (and makes) Standard Webhooks deliveries, rejecting replays.
///
/// The secret is normally `whsec_<base64>`: the part after the prefix is decoded to the key. A
/// secret without the prefix is used as its raw UTF-8 bytes, for senders that hand out plain
/// strings. Clones share one [`ReplayGuard`], so one verifier instance protects a route.
///
/// ```
/// use ocean::signature::StandardWebhooks;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let verifier = StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
/// let headers = [
///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
/// assert!(verifier.verify(&headers, br#"{"test": 2432232314}"#, now).is_ok());
/// // The same delivery again is a replay.
/// assert!(verifier.verify(&headers, br#"{"test": 2432232314}"#, now).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    keys: KeyRing,
    tolerance: Duration,
    replay: ReplayGuard,
}

impl StandardWebhooks {
    /// The header holding the message id.
    pub const ID_HEADER: &'static str = "webhook-id";
    /// The header holding the signed unix-seconds timestamp.
    pub const TIMESTAMP_HEADER: &'static str = "webhook-timestamp";
    /// The header holding the space-separated signature list.
    pub const SIGNATURE_HEADER: &'static str = "webhook-signature";

    /// A verifier for `secret` (`whsec_<base64>` or raw), with a five-minute tolerance and a
    /// replay guard of [`DEFAULT_REPLAY_CAPACITY`](super::DEFAULT_REPLAY_CAPACITY) ids. An empty
    /// secret fails closed with [`SignatureError::MissingSecret`]; `whsec_` followed by invalid
    /// base64 fails closed with [`SignatureError::InvalidSecret`].
    pub fn new(secret: impl Into<Secret>) -> Self {
        let mut keys = KeyRing::default();
        keys.push_decoded(decode_secret(&secret.into()));
        Self {
            keys,
            tolerance: DEFAULT_TOLERANCE,
            replay: ReplayGuard::default(),
        }
    }

    /// Also accepts signatures made with `secret` (the previous one, while rotating).
    pub fn also_accept(mut self, secret: impl Into<Secret>) -> Self {
        self.keys.push_decoded(decode_secret(&secret.into()));
        self
    }

    /// Accepts timestamps at most `tolerance` away from the receiver's clock, either way
    /// (default five minutes). Accepted ids are remembered for as long.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Remembers at most `capacity` accepted ids (replaces the guard, so call it while building).
    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.replay = ReplayGuard::with_capacity(capacity);
        self
    }

    /// Uses `guard` to remember accepted ids (to share one guard between verifiers).
    pub fn with_replay_guard(mut self, guard: ReplayGuard) -> Self {
        self.replay = guard;
        self
    }

    /// The accepted clock difference.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// The set of accepted ids.
    pub fn replay_guard(&self) -> &ReplayGuard {
        &self.replay
    }

    /// Whether a usable secret is configured (call it at startup to fail early).
    pub fn check_secret(&self) -> Result<(), SignatureError> {
        self.keys.usable().map(|_| ())
    }

    /// Verifies the raw `body` at time `now` and records its id; a second delivery of an id
    /// within the tolerance window is [`SignatureError::Replayed`].
    ///
    /// Several processors authenticating the same delivery should share one call (or use
    /// [`StandardWebhooks::verify_signature`]): the second `verify` of the same request is, by
    /// construction, a replay.
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        let outcome = self.check(headers, body, now).and_then(|verified| {
            let expires_at = i128::from(verified.timestamp) + i128::from(self.tolerance.as_secs());
            self.replay
                .record(verified.id, expires_at, unix_seconds(now))
        });
        log_outcome("standard-webhooks", outcome)
    }

    /// Verifies the signature and timestamp only, without recording or checking the id.
    pub fn verify_signature<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        log_outcome(
            "standard-webhooks",
            self.check(headers, body, now).map(|_| ()),
        )
    }

    /// Forgets an accepted id, so that a delivery that was verified but then not accepted can
    /// be retried by its sender.
    pub fn forget(&self, id: &str) {
        self.replay.forget(id);
    }

    /// Forgets the id of a delivery by its headers (its `webhook-id`), e.g. from
    /// `WebhookProcessor::not_accepted` when the event was verified but not queued.
    pub fn forget_delivery<H: HeaderSource + ?Sized>(&self, headers: &H) {
        if let Ok(id) = read_text(headers, Self::ID_HEADER, "a non-empty message id") {
            self.replay.forget(id);
        }
    }

    fn check<'h, H: HeaderSource + ?Sized>(
        &self,
        headers: &'h H,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified<'h>, SignatureError> {
        let keys = self.keys.usable()?;
        let id = read_text(headers, Self::ID_HEADER, "a non-empty message id")?;
        let (timestamp, timestamp_text) = read_unix_seconds(headers, Self::TIMESTAMP_HEADER)?;
        let signatures = read_text(
            headers,
            Self::SIGNATURE_HEADER,
            "a list of `v1,<base64>` signatures separated by spaces",
        )?;
        let candidates = v1_signatures(Self::SIGNATURE_HEADER, signatures)?;
        check_window(timestamp, now, self.tolerance)?;
        let signed = [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body];
        if any_candidate_matches(keys, &signed, &candidates)? {
            Ok(Verified { id, timestamp })
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The three headers of a delivery of `body` with message `id` at unix second `timestamp`,
    /// signed with the first configured secret (for tests and load generators).
    pub fn sign(
        &self,
        id: &str,
        timestamp: u64,
        body: &[u8],
    ) -> Result<SignedHeaders, SignatureError> {
        let key = self.keys.signing_key()?;
        let timestamp = timestamp.to_string();
        let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
        let signature = v1_entry(&tag(key, &signed)?);
        Ok(SignedHeaders::new(vec![
            (Self::ID_HEADER, id.to_owned()),
            (Self::TIMESTAMP_HEADER, timestamp),
            (Self::SIGNATURE_HEADER, signature),
        ]))
    }
}

impl WebhookVerifier for StandardWebhooks {
    fn verify_at(
        &self,
        headers: &dyn HeaderSource,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        self.verify(headers, body, now)
    }
}

struct Verified<'h> {
    id: &'h str,
    timestamp: u64,
}

/// The key bytes of a `whsec_<base64>` or raw secret.
fn decode_secret(secret: &Secret) -> Result<Vec<u8>, &'static str> {
    let value = secret.expose();
    match value.strip_prefix(SECRET_PREFIX) {
        Some(encoded) => STANDARD
            .decode(encoded.trim())
            .map_err(|_| "`whsec_` must be followed by standard base64"),
        None => Ok(value.as_bytes().to_vec()),
    }
}

fn read_text<'h, H: HeaderSource + ?Sized>(
    headers: &'h H,
    name: &'static str,
    expected: &'static str,
) -> Result<&'h str, SignatureError> {
    let raw = headers
        .header_bytes(name)
        .ok_or(SignatureError::MissingHeader(name))?;
    match std::str::from_utf8(raw).map(str::trim) {
        Ok(text) if !text.is_empty() => Ok(text),
        _ => Err(SignatureError::MalformedHeader { name, expected }),
    }
}
