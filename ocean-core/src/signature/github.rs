//! GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use super::error::SignatureError;
use super::headers::{HeaderSource, SignedHeaders};
use super::keys::{KeyRing, any_candidate_matches, tag};
use super::{WebhookVerifier, log_outcome};
use crate::config::Secret;
use std::time::SystemTime;

const EXPECTED: &str = "`sha256=` followed by 64 hex digits";

/// Verifies (and makes) GitHub's `X-Hub-Signature-256`.
///
/// GitHub signs no timestamp, so this scheme cannot reject a replayed delivery by itself; pair it
/// with de-duplication on `X-GitHub-Delivery` where that matters.
///
/// ```
/// use ocean::signature::GitHubSignature;
///
/// // The example from GitHub's documentation.
/// let github = GitHubSignature::new("It's a Secret to Everybody");
/// let headers = [(
///     "X-Hub-Signature-256",
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
/// )];
/// assert!(github.verify(&headers, b"Hello, World!").is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct GitHubSignature {
    keys: KeyRing,
}

impl GitHubSignature {
    /// The header holding the signature.
    pub const SIGNATURE_HEADER: &'static str = "x-hub-signature-256";

    /// A verifier for the webhook `secret`; an empty one fails closed.
    pub fn new(secret: impl Into<Secret>) -> Self {
        let mut keys = KeyRing::default();
        keys.push_text(&secret.into());
        Self { keys }
    }

    /// Also accepts signatures made with `secret` (the previous one, while rotating).
    pub fn also_accept(mut self, secret: impl Into<Secret>) -> Self {
        self.keys.push_text(&secret.into());
        self
    }

    /// Whether a usable secret is configured (call it at startup to fail early).
    pub fn check_secret(&self) -> Result<(), SignatureError> {
        self.keys.usable().map(|_| ())
    }

    /// Verifies the raw `body` against `X-Hub-Signature-256`.
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        log_outcome("github", self.check(headers, body))
    }

    fn check<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let keys = self.keys.usable()?;
        let malformed = || SignatureError::MalformedHeader {
            name: Self::SIGNATURE_HEADER,
            expected: EXPECTED,
        };
        let value = headers
            .header_bytes(Self::SIGNATURE_HEADER)
            .ok_or(SignatureError::MissingHeader(Self::SIGNATURE_HEADER))?;
        let value = std::str::from_utf8(value).map_err(|_| malformed())?.trim();
        let digits = value.strip_prefix("sha256=").ok_or_else(malformed)?;
        if digits.len() != 64 {
            return Err(malformed());
        }
        let candidate = hex::decode(digits).map_err(|_| malformed())?;
        if any_candidate_matches(keys, &[body], &[candidate])? {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The header GitHub would send with `body`, signed with the first configured secret.
    pub fn sign(&self, body: &[u8]) -> Result<SignedHeaders, SignatureError> {
        let key = self.keys.signing_key()?;
        let signature = format!("sha256={}", hex::encode(tag(key, &[body])?));
        Ok(SignedHeaders::new(vec![(
            Self::SIGNATURE_HEADER,
            signature,
        )]))
    }
}

impl WebhookVerifier for GitHubSignature {
    fn verify_at(
        &self,
        headers: &dyn HeaderSource,
        body: &[u8],
        _now: SystemTime,
    ) -> Result<(), SignatureError> {
        self.verify(headers, body)
    }
}
