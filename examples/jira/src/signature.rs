//! Jira's webhook signature: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, made
//! with the secret given when the webhook was registered.
//!
//! It is GitHub's scheme under GitHub's older header name, so `ocean::signature::GitHubSignature`
//! (which reads `X-Hub-Signature-256`) does not fit as is.

use hmac::{Hmac, Mac};
use ocean::config::Secret;
use ocean::live_events::WebhookEvent;
use ocean::signature::SignatureError;
use sha2::Sha256;

/// The header Jira Cloud signs webhooks in.
pub const SIGNATURE_HEADER: &str = "x-hub-signature";

const EXPECTED: &str = "`sha256=` followed by 64 hex digits";

/// Verifies `X-Hub-Signature` over `body` with `secret`, in constant time.
pub fn verify(secret: &Secret, signature: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let malformed = || SignatureError::MalformedHeader {
        name: SIGNATURE_HEADER,
        expected: EXPECTED,
    };
    if secret.is_empty() {
        return Err(SignatureError::MissingSecret);
    }
    let value = signature.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let digits = value.trim().strip_prefix("sha256=").ok_or_else(malformed)?;
    if digits.len() != 64 {
        return Err(malformed());
    }
    let candidate = hex::decode(digits).map_err(|_| malformed())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| SignatureError::MissingSecret)?;
    mac.update(body);
    mac.verify_slice(&candidate)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature` value Jira would send with `body` (for tests and tools).
pub fn sign(secret: &Secret, body: &[u8]) -> Result<String, SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::MissingSecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| SignatureError::MissingSecret)?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// How a processor authenticates webhooks: with the integration's webhook secret, or not at
/// all when none is configured (every sender is trusted).
#[derive(Clone)]
pub struct WebhookAuth {
    secret: Option<Secret>,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.secret {
            None => f.write_str("WebhookAuth(unsigned)"),
            Some(_) => f.write_str("WebhookAuth([REDACTED])"),
        }
    }
}

impl WebhookAuth {
    /// Verifies signatures made with `secret`; accepts unsigned webhooks when `None`.
    pub fn new(secret: Option<Secret>) -> Self {
        Self { secret }
    }

    /// Whether `event` is genuine: its signature verifies with the secret, or no secret is
    /// configured. Rejections are logged without their inputs.
    pub fn authenticate(&self, event: &WebhookEvent) -> bool {
        let Some(secret) = &self.secret else {
            return true;
        };
        match verify(secret, event.header(SIGNATURE_HEADER), event.raw_body()) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, trace_id = event.trace_id(), "Jira webhook signature rejected");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_others_do_not() {
        let secret = Secret::from("It's a Secret to Everybody");
        // The HMAC-SHA256 of "Hello, World!" under that key, as published by GitHub for the
        // same scheme.
        let known = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(&secret, b"Hello, World!").unwrap(), known);
        assert!(verify(&secret, Some(known), b"Hello, World!").is_ok());
        assert_eq!(
            verify(&secret, Some(known), b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        let other = Secret::from("another");
        assert_eq!(
            verify(&other, Some(known), b"Hello, World!"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_or_malformed_headers_and_empty_secrets_fail_closed() {
        let secret = Secret::from("s");
        assert_eq!(
            verify(&secret, None, b"{}"),
            Err(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
        for bad in ["md5=abc", "sha256=xyz", "sha256=00"] {
            assert!(
                matches!(
                    verify(&secret, Some(bad), b"{}"),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{bad}"
            );
        }
        let signed = sign(&secret, b"{}").unwrap();
        assert_eq!(
            verify(&Secret::from(""), Some(&signed), b"{}"),
            Err(SignatureError::MissingSecret)
        );
    }

    #[test]
    fn debug_of_the_secret_is_redacted() {
        let auth = WebhookAuth::new(Some(Secret::from("hunter2")));
        assert_eq!(format!("{auth:?}"), "WebhookAuth([REDACTED])");
        assert_eq!(
            format!("{:?}", WebhookAuth::new(None)),
            "WebhookAuth(unsigned)"
        );
    }
}
