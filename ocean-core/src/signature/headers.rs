//! Read request headers from whatever map the caller holds, and hand out headers to sign with.

use super::error::SignatureError;
use std::collections::{BTreeMap, HashMap};

/// Case-insensitive, read-only access to request headers.
///
/// Implemented for `http::HeaderMap` (what reqwest and hyper use), actix-web's `HeaderMap` and
/// `HttpRequest`, string maps and slices of pairs (handy in tests), and [`SignedHeaders`].
/// When a header occurs more than once, the first value is the one read.
pub trait HeaderSource {
    /// The raw bytes of the first value of header `name` (matched case-insensitively).
    fn header_bytes(&self, name: &str) -> Option<&[u8]>;

    /// The first value of header `name` as text, or `None` when absent or not UTF-8.
    fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        (**self).header_bytes(name)
    }
}

impl HeaderSource for http::HeaderMap {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }
}

impl HeaderSource for actix_web::http::header::HeaderMap {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(|value| value.as_bytes())
    }
}

impl HeaderSource for actix_web::HttpRequest {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers().get(name).map(|value| value.as_bytes())
    }
}

fn find_in_pairs<'a, K, V>(
    pairs: impl IntoIterator<Item = (&'a K, &'a V)>,
    name: &str,
) -> Option<&'a [u8]>
where
    K: AsRef<str> + ?Sized + 'a,
    V: AsRef<str> + ?Sized + 'a,
{
    pairs
        .into_iter()
        .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_ref().as_bytes())
}

impl<S: std::hash::BuildHasher> HeaderSource for HashMap<String, String, S> {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        // Exact hit first (the common, lower-case case), then a case-insensitive scan.
        match self.get(name) {
            Some(value) => Some(value.as_bytes()),
            None => find_in_pairs(self.iter(), name),
        }
    }
}

impl HeaderSource for BTreeMap<String, String> {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        match self.get(name) {
            Some(value) => Some(value.as_bytes()),
            None => find_in_pairs(self.iter(), name),
        }
    }
}

impl HeaderSource for [(String, String)] {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        find_in_pairs(self.iter().map(|(k, v)| (k, v)), name)
    }
}

impl HeaderSource for [(&str, &str)] {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        find_in_pairs(self.iter().map(|(k, v)| (*k, *v)), name)
    }
}

impl HeaderSource for Vec<(String, String)> {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header_bytes(name)
    }
}

impl<const N: usize> HeaderSource for [(&str, &str); N] {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header_bytes(name)
    }
}

/// Headers produced by a verifier's `sign`: lower-case names and their values, in sending order.
///
/// Iterate it to set headers on any client (`request.header(name, value)`), convert it with
/// [`SignedHeaders::to_header_map`], or verify it directly (it is a [`HeaderSource`]).
/// `Debug` shows only the names: a value may be a token.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders(Vec<(&'static str, String)>);

impl std::fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "[REDACTED]")))
            .finish()
    }
}

impl SignedHeaders {
    pub(crate) fn new(pairs: Vec<(&'static str, String)>) -> Self {
        Self(pairs)
    }

    /// The headers as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.0.iter().map(|(name, value)| (*name, value.as_str()))
    }

    /// The value of one header (case-insensitive), if this set holds it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.header(name)
    }

    /// The headers as an `http::HeaderMap` (the type reqwest takes).
    ///
    /// Fails only when a value cannot be a header value, which can happen with a caller-chosen
    /// message id holding control characters.
    pub fn to_header_map(&self) -> Result<http::HeaderMap, SignatureError> {
        let mut map = http::HeaderMap::with_capacity(self.0.len());
        for (name, value) in &self.0 {
            let malformed = |expected| SignatureError::MalformedHeader { name, expected };
            let header_name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| malformed("a valid header name"))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|_| malformed("visible ASCII characters only"))?;
            map.append(header_name, value);
        }
        Ok(map)
    }
}

impl IntoIterator for SignedHeaders {
    type Item = (&'static str, String);
    type IntoIter = std::vec::IntoIter<(&'static str, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl HeaderSource for SignedHeaders {
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        find_in_pairs(self.0.iter().map(|(k, v)| (*k, v)), name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_header_map_lookup_ignores_case() {
        let mut map = http::HeaderMap::new();
        map.insert("x-hub-signature-256", "sha256=ab".parse().unwrap());
        assert_eq!(map.header("X-Hub-Signature-256"), Some("sha256=ab"));
        assert_eq!(map.header("x-hub-signature-256"), Some("sha256=ab"));
        assert_eq!(map.header("x-other"), None);
    }

    #[test]
    fn actix_header_map_lookup_ignores_case() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("x-gitlab-token"),
            HeaderValue::from_static("t0ken"),
        );
        assert_eq!(map.header("X-Gitlab-Token"), Some("t0ken"));
        assert_eq!(map.header("x-port-timestamp"), None);
    }

    #[test]
    fn actix_request_exposes_its_headers() {
        let request = actix_web::test::TestRequest::default()
            .insert_header(("webhook-id", "msg_1"))
            .to_http_request();
        assert_eq!(request.header("Webhook-Id"), Some("msg_1"));
    }

    #[test]
    fn string_maps_lookup_ignores_case() {
        let mut hash = HashMap::new();
        hash.insert("X-Port-Timestamp".to_owned(), "17".to_owned());
        assert_eq!(hash.header("x-port-timestamp"), Some("17"));
        let tree: BTreeMap<String, String> = hash.into_iter().collect();
        assert_eq!(tree.header("X-PORT-TIMESTAMP"), Some("17"));
        let pairs = [("Webhook-Id", "msg_1")];
        assert_eq!(pairs.header("webhook-id"), Some("msg_1"));
    }

    #[test]
    fn non_utf8_value_reads_as_bytes_but_not_as_text() {
        let mut map = http::HeaderMap::new();
        map.insert(
            "x-gitlab-token",
            http::HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap(),
        );
        assert_eq!(map.header_bytes("x-gitlab-token"), Some(&[0xff, 0xfe][..]));
        assert_eq!(map.header("x-gitlab-token"), None);
    }

    #[test]
    fn signed_headers_convert_to_header_map_or_say_which_value_is_bad() {
        let good = SignedHeaders::new(vec![("webhook-id", "msg_1".to_owned())]);
        let map = good.to_header_map().unwrap();
        assert_eq!(map.header("webhook-id"), Some("msg_1"));

        let bad = SignedHeaders::new(vec![("webhook-id", "msg\n1".to_owned())]);
        assert_eq!(
            bad.to_header_map().unwrap_err(),
            SignatureError::MalformedHeader {
                name: "webhook-id",
                expected: "visible ASCII characters only",
            }
        );
    }
}
