//! GitLab's webhook secret token: `X-Gitlab-Token` must equal the configured token.

use super::error::SignatureError;
use super::headers::{HeaderSource, SignedHeaders};
use super::keys::KeyRing;
use super::{WebhookVerifier, log_outcome};
use crate::config::Secret;
use sha2::{Digest, Sha256};
use std::time::SystemTime;
use subtle::{Choice, ConstantTimeEq};

/// Verifies GitLab's `X-Gitlab-Token`.
///
/// GitLab sends the token itself, not a signature of the body: it proves the sender knows the
/// token but does not protect the body, so serve the route over TLS only.
///
/// ```
/// use ocean::signature::GitLabToken;
///
/// let gitlab = GitLabToken::new("glpat-like-token");
/// assert!(gitlab.verify(&[("X-Gitlab-Token", "glpat-like-token")]).is_ok());
/// assert!(gitlab.verify(&[("X-Gitlab-Token", "guess")]).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct GitLabToken {
    keys: KeyRing,
}

impl GitLabToken {
    /// The header holding the token.
    pub const TOKEN_HEADER: &'static str = "x-gitlab-token";

    /// A verifier for `token`; an empty one fails closed.
    pub fn new(token: impl Into<Secret>) -> Self {
        let mut keys = KeyRing::default();
        keys.push_text(&token.into());
        Self { keys }
    }

    /// Also accepts `token` (the previous one, while rotating).
    pub fn also_accept(mut self, token: impl Into<Secret>) -> Self {
        self.keys.push_text(&token.into());
        self
    }

    /// Whether a usable token is configured (call it at startup to fail early).
    pub fn check_secret(&self) -> Result<(), SignatureError> {
        self.keys.usable().map(|_| ())
    }

    /// Checks `X-Gitlab-Token` against the configured tokens.
    pub fn verify<H: HeaderSource + ?Sized>(&self, headers: &H) -> Result<(), SignatureError> {
        log_outcome("gitlab", self.check(headers))
    }

    fn check<H: HeaderSource + ?Sized>(&self, headers: &H) -> Result<(), SignatureError> {
        let keys = self.keys.usable()?;
        let presented = headers
            .header_bytes(Self::TOKEN_HEADER)
            .ok_or(SignatureError::MissingHeader(Self::TOKEN_HEADER))?;
        if presented.is_empty() {
            return Err(SignatureError::MalformedHeader {
                name: Self::TOKEN_HEADER,
                expected: "a non-empty token",
            });
        }
        // Comparing digests keeps the comparison constant-time in the token's length too.
        let presented = Sha256::digest(presented);
        let mut matched = Choice::from(0);
        for key in keys {
            matched |= Sha256::digest(key.bytes()).ct_eq(&presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The header GitLab would send, carrying the first configured token (for tests).
    pub fn sign(&self) -> Result<SignedHeaders, SignatureError> {
        let key = self.keys.signing_key()?;
        let token = String::from_utf8_lossy(key.bytes()).into_owned();
        Ok(SignedHeaders::new(vec![(Self::TOKEN_HEADER, token)]))
    }
}

impl WebhookVerifier for GitLabToken {
    fn verify_at(
        &self,
        headers: &dyn HeaderSource,
        _body: &[u8],
        _now: SystemTime,
    ) -> Result<(), SignatureError> {
        self.verify(headers)
    }
}
