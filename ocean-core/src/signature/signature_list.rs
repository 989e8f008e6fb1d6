//! Lists of versioned signatures (`v1,<base64> v1,<base64>`), as Port and Standard Webhooks send
//! them so that a sender can rotate keys without downtime.

use super::error::SignatureError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const EXPECTED: &str = "a list of `v1,<base64>` signatures separated by spaces";

/// The decoded `v1` signatures of a header value; other versions are skipped.
///
/// Accepts entries separated by spaces (`v1,a v1,b`) or by commas (`v1,a,v1,b`): base64 never
/// contains either. A `v1` entry that is not base64 is skipped so that one bad entry cannot mask a
/// good one; if no `v1` entry decodes at all, the header is malformed. An empty result (only other
/// versions) is not an error here: it simply verifies nothing.
pub(crate) fn v1_signatures(
    name: &'static str,
    value: &str,
) -> Result<Vec<Vec<u8>>, SignatureError> {
    let malformed = || SignatureError::MalformedHeader {
        name,
        expected: EXPECTED,
    };
    let tokens: Vec<&str> = value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|token| !token.is_empty())
        .collect();
    if tokens.is_empty() || !tokens.len().is_multiple_of(2) {
        return Err(malformed());
    }
    let mut decoded = Vec::new();
    let mut undecodable_v1 = false;
    for pair in tokens.chunks_exact(2) {
        let (version, signature) = (pair[0], pair[1]);
        if !is_version_tag(version) {
            return Err(malformed());
        }
        if version != "v1" {
            continue;
        }
        match STANDARD.decode(signature) {
            Ok(bytes) => decoded.push(bytes),
            Err(_) => undecodable_v1 = true,
        }
    }
    if decoded.is_empty() && undecodable_v1 {
        return Err(malformed());
    }
    Ok(decoded)
}

/// `v` followed by a digit and then letters or digits: `v1`, `v1a`, `v2`.
fn is_version_tag(token: &str) -> bool {
    let mut chars = token.chars();
    chars.next() == Some('v')
        && chars.next().is_some_and(|c| c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// One `v1,<base64>` entry for `tag`.
pub(crate) fn v1_entry(tag: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "webhook-signature";

    #[test]
    fn reads_space_and_comma_separated_lists() {
        let spaced = v1_signatures(NAME, "v1,AAEC v1,AwQF").unwrap();
        let commas = v1_signatures(NAME, "v1,AAEC,v1,AwQF").unwrap();
        assert_eq!(spaced, vec![vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(spaced, commas);
    }

    #[test]
    fn skips_other_versions() {
        let sigs = v1_signatures(NAME, "v1a,AAEC v2,AwQF v1,BgcI").unwrap();
        assert_eq!(sigs, vec![vec![6, 7, 8]]);
        assert!(v1_signatures(NAME, "v1a,AAEC").unwrap().is_empty());
    }

    #[test]
    fn one_undecodable_entry_does_not_mask_a_good_one() {
        assert_eq!(
            v1_signatures(NAME, "v1,!!!! v1,AAEC").unwrap(),
            vec![vec![0, 1, 2]]
        );
        assert!(matches!(
            v1_signatures(NAME, "v1,!!!!"),
            Err(SignatureError::MalformedHeader { name: NAME, .. })
        ));
    }

    #[test]
    fn rejects_lists_that_are_not_version_signature_pairs() {
        for bad in [
            "",
            "   ",
            "v1",
            "AAEC",
            "v1,AAEC v1",
            "sha256,AAEC",
            "v,AAEC",
            "AAEC,v1",
        ] {
            assert!(
                matches!(
                    v1_signatures(NAME, bad),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{bad:?} should be malformed"
            );
        }
    }
}
