//! The secrets a verifier accepts (several, for rotation) and the HMAC-SHA256 over them.

use super::error::SignatureError;
use crate::config::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Key bytes; `Debug` never shows them.
#[derive(Clone)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// The keys of one verifier, newest first. Empty secrets are skipped, so a verifier built from an
/// unset setting has no key and fails closed; a secret that cannot be decoded poisons the whole
/// ring, because accepting with the remaining keys would hide the misconfiguration.
#[derive(Clone, Default)]
pub(crate) struct KeyRing {
    keys: Vec<Key>,
    problem: Option<&'static str>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.len())
            .field("problem", &self.problem)
            .finish()
    }
}

impl KeyRing {
    /// Adds a secret used as its UTF-8 bytes.
    pub(crate) fn push_text(&mut self, secret: &Secret) {
        self.push_decoded(Ok(secret.expose().as_bytes().to_vec()));
    }

    /// Adds an already-decoded key, or records why the secret could not be decoded.
    pub(crate) fn push_decoded(&mut self, key: Result<Vec<u8>, &'static str>) {
        match key {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => self.keys.push(Key(bytes)),
            Err(reason) => {
                self.problem.get_or_insert(reason);
            }
        }
    }

    /// The keys to verify with, or why there are none usable.
    pub(crate) fn usable(&self) -> Result<&[Key], SignatureError> {
        if let Some(reason) = self.problem {
            return Err(SignatureError::InvalidSecret { reason });
        }
        if self.keys.is_empty() {
            return Err(SignatureError::MissingSecret);
        }
        Ok(&self.keys)
    }

    /// The key new signatures are made with (the first one configured).
    pub(crate) fn signing_key(&self) -> Result<&Key, SignatureError> {
        self.usable()?.first().ok_or(SignatureError::MissingSecret)
    }
}

/// HMAC-SHA256 of the concatenated `parts`, without copying them into one buffer.
pub(crate) fn mac_over(key: &Key, parts: &[&[u8]]) -> Result<HmacSha256, SignatureError> {
    let mut mac =
        HmacSha256::new_from_slice(key.bytes()).map_err(|_| SignatureError::InvalidSecret {
            reason: "the key cannot be used for HMAC-SHA256",
        })?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac)
}

/// The HMAC-SHA256 tag of `parts` under `key`.
pub(crate) fn tag(key: &Key, parts: &[&[u8]]) -> Result<Vec<u8>, SignatureError> {
    Ok(mac_over(key, parts)?.finalize().into_bytes().to_vec())
}

/// True when some key's tag over `parts` equals some candidate, compared in constant time.
pub(crate) fn any_candidate_matches(
    keys: &[Key],
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
) -> Result<bool, SignatureError> {
    for key in keys {
        let mac = mac_over(key, parts)?;
        for candidate in candidates {
            if mac.clone().verify_slice(candidate).is_ok() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_without_keys_fails_closed() {
        let mut ring = KeyRing::default();
        ring.push_text(&Secret::new(""));
        assert_eq!(ring.usable().unwrap_err(), SignatureError::MissingSecret);
        assert_eq!(
            ring.signing_key().unwrap_err(),
            SignatureError::MissingSecret
        );
    }

    #[test]
    fn undecodable_secret_poisons_the_ring_even_next_to_good_keys() {
        let mut ring = KeyRing::default();
        ring.push_text(&Secret::new("good"));
        ring.push_decoded(Err("bad base64"));
        assert_eq!(
            ring.usable().unwrap_err(),
            SignatureError::InvalidSecret {
                reason: "bad base64"
            }
        );
    }

    #[test]
    fn debug_of_keys_shows_no_bytes() {
        let mut ring = KeyRing::default();
        ring.push_text(&Secret::new("hunter2"));
        let shown = format!("{ring:?} {:?}", ring.usable().unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104"), "{shown}");
    }

    #[test]
    fn candidate_matching_tries_every_key_and_candidate() {
        let mut ring = KeyRing::default();
        ring.push_text(&Secret::new("new"));
        ring.push_text(&Secret::new("old"));
        let keys = ring.usable().unwrap();
        let by_old = tag(&keys[1], &[b"a", b"b"]).unwrap();
        let junk = vec![0_u8; 32];
        assert!(any_candidate_matches(keys, &[b"ab"], &[junk.clone(), by_old]).unwrap());
        assert!(!any_candidate_matches(keys, &[b"ab"], &[junk]).unwrap());
    }
}
