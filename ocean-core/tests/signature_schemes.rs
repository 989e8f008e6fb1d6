//! Behaviour of the ready-made webhook verifiers, one module per scheme.
//!
//! Known-answer vectors were computed independently of this crate, with Python's `hmac`:
//!
//! ```text
//! import hmac, hashlib, base64
//! b64 = lambda k, m: base64.b64encode(hmac.new(k, m, hashlib.sha256).digest()).decode()
//! # Port
//! b64(b"port-webhook-secret", b'1700000000.{"action":"CREATE","entity":{"identifier":"svc-a"}}')
//! # Standard Webhooks, whsec_ secret
//! key = base64.b64decode("b2NlYW4tc3RhbmRhcmQtd2ViaG9va3Mta2V5LTAwMDE=")
//! b64(key, b'msg_2mGZ7bYQ8kVw.1700000000.{"kind":"issue","id":42}\n')
//! # Standard Webhooks, raw secret (no prefix)
//! b64(b"plain-raw-secret", b'msg_2mGZ7bYQ8kVw.1700000000.{"kind":"issue","id":42}\n')
//! # GitHub (the example of GitHub's documentation)
//! hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256).hexdigest()
//! ```

use ocean::config::Secret;
use ocean::signature::{
    GitHubSignature, GitLabToken, HeaderSource, PortSignature, SignatureError, SignedHeaders, Skew,
    StandardWebhooks, WebhookVerifier,
};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn with_header(signed: &SignedHeaders, name: &str, value: &str) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = signed
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    map.insert(name.to_owned(), value.to_owned());
    map
}

fn without_header(signed: &SignedHeaders, name: &str) -> HashMap<String, String> {
    signed
        .iter()
        .filter(|(k, _)| *k != name)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn flip_one_byte(body: &[u8]) -> Vec<u8> {
    let mut flipped = body.to_vec();
    flipped[body.len() / 2] ^= 0x01;
    flipped
}

fn assert_malformed(result: Result<(), SignatureError>, header: &str) {
    match result {
        Err(SignatureError::MalformedHeader { name, .. }) => assert_eq!(name, header),
        other => panic!("expected malformed `{header}`, got {other:?}"),
    }
}

fn assert_says_nothing_secret(error: &SignatureError, secrets: &[&str]) {
    let shown = format!("{error} {error:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "`{shown}` leaks `{secret}`");
    }
}

mod port {
    use super::*;

    const SECRET: &str = "port-webhook-secret";
    const BODY: &[u8] = br#"{"action":"CREATE","entity":{"identifier":"svc-a"}}"#;
    const TIMESTAMP: u64 = 1_700_000_000;
    const VECTOR: &str = "v1,Z0R6V47TmckA27+rx7q4eLR1nRLbSY9pJ/2oAHuSYoI=";

    fn vector_headers() -> HashMap<String, String> {
        headers(&[
            ("X-Port-Signature", VECTOR),
            ("X-Port-Timestamp", "1700000000"),
        ])
    }

    #[test]
    fn accepts_known_answer_vector() {
        let port = PortSignature::new(SECRET);
        assert_eq!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP + 30)),
            Ok(())
        );
    }

    #[test]
    fn sign_produces_the_known_answer_vector() {
        let signed = PortSignature::new(SECRET).sign(BODY, TIMESTAMP).unwrap();
        assert_eq!(signed.get("x-port-signature"), Some(VECTOR));
        assert_eq!(signed.get("x-port-timestamp"), Some("1700000000"));
    }

    #[test]
    fn rejects_one_flipped_body_byte() {
        let port = PortSignature::new(SECRET);
        assert_eq!(
            port.verify(&vector_headers(), &flip_one_byte(BODY), at(TIMESTAMP)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_signature_made_with_another_secret() {
        let signed = PortSignature::new("another-secret")
            .sign(BODY, TIMESTAMP)
            .unwrap();
        let error = PortSignature::new(SECRET)
            .verify(&signed, BODY, at(TIMESTAMP))
            .unwrap_err();
        assert_eq!(error, SignatureError::Mismatch);
        let expected = PortSignature::new(SECRET).sign(BODY, TIMESTAMP).unwrap();
        let expected = expected.get("x-port-signature").unwrap();
        assert_says_nothing_secret(&error, &[SECRET, expected, &expected[3..]]);
    }

    #[test]
    fn rejects_a_changed_timestamp() {
        let signed = PortSignature::new(SECRET).sign(BODY, TIMESTAMP).unwrap();
        let moved = with_header(&signed, "x-port-timestamp", "1700000001");
        assert_eq!(
            PortSignature::new(SECRET).verify(&moved, BODY, at(TIMESTAMP)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_missing_headers() {
        let port = PortSignature::new(SECRET);
        let signed = port.sign(BODY, TIMESTAMP).unwrap();
        for name in ["x-port-signature", "x-port-timestamp"] {
            assert_eq!(
                port.verify(&without_header(&signed, name), BODY, at(TIMESTAMP)),
                Err(SignatureError::MissingHeader(
                    if name == "x-port-signature" {
                        PortSignature::SIGNATURE_HEADER
                    } else {
                        PortSignature::TIMESTAMP_HEADER
                    }
                ))
            );
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let port = PortSignature::new(SECRET);
        let signed = port.sign(BODY, TIMESTAMP).unwrap();
        for bad in ["garbage", "v1", "sha256=abcdef", "v1,%%%%"] {
            assert_malformed(
                port.verify(
                    &with_header(&signed, "x-port-signature", bad),
                    BODY,
                    at(TIMESTAMP),
                ),
                "x-port-signature",
            );
        }
        for bad in ["soon", "2023-11-14T22:13:20Z", "-1"] {
            assert_malformed(
                port.verify(
                    &with_header(&signed, "x-port-timestamp", bad),
                    BODY,
                    at(TIMESTAMP),
                ),
                "x-port-timestamp",
            );
        }
    }

    #[test]
    fn missing_or_empty_secret_fails_closed() {
        // A signature made with the empty key is a well-formed HMAC: it must still be refused.
        let forged = {
            use base64::Engine as _;
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
            mac.update(b"1700000000.");
            mac.update(BODY);
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            )
        };
        let forged = headers(&[
            ("x-port-signature", &forged),
            ("x-port-timestamp", "1700000000"),
        ]);
        for port in [
            PortSignature::new(""),
            PortSignature::new(Secret::default()),
        ] {
            assert_eq!(port.check_secret(), Err(SignatureError::MissingSecret));
            assert_eq!(
                port.verify(&forged, BODY, at(TIMESTAMP)),
                Err(SignatureError::MissingSecret)
            );
            assert_eq!(
                port.verify(&headers(&[]), BODY, at(TIMESTAMP)),
                Err(SignatureError::MissingSecret)
            );
            assert_eq!(
                port.sign(BODY, TIMESTAMP).unwrap_err(),
                SignatureError::MissingSecret
            );
        }
    }

    #[test]
    fn rejects_timestamps_outside_tolerance_both_ways() {
        let port = PortSignature::new(SECRET).with_tolerance(Duration::from_secs(60));
        assert_eq!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP + 60)),
            Ok(())
        );
        assert_eq!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP - 60)),
            Ok(())
        );
        assert_eq!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP + 61)),
            Err(SignatureError::TimestampOutOfTolerance {
                skew: Skew::TooOld,
                tolerance: Duration::from_secs(60)
            })
        );
        assert_eq!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP - 61)),
            Err(SignatureError::TimestampOutOfTolerance {
                skew: Skew::InTheFuture,
                tolerance: Duration::from_secs(60)
            })
        );
    }

    #[test]
    fn default_tolerance_is_five_minutes() {
        let port = PortSignature::new(SECRET);
        assert_eq!(port.tolerance(), Duration::from_secs(300));
        assert!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP + 300))
                .is_ok()
        );
        assert!(
            port.verify(&vector_headers(), BODY, at(TIMESTAMP + 301))
                .is_err()
        );
    }

    #[test]
    fn accepts_a_list_with_one_valid_signature() {
        let port = PortSignature::new(SECRET);
        let other = PortSignature::new("old-secret")
            .sign(BODY, TIMESTAMP)
            .unwrap();
        let other = other.get("x-port-signature").unwrap();
        for list in [
            format!("{other} {VECTOR}"),
            format!("{other},{VECTOR}"),
            format!("{VECTOR}, {other}"),
            format!("v2,AAAA {VECTOR}"),
        ] {
            let with_list = headers(&[
                ("x-port-signature", &list),
                ("x-port-timestamp", "1700000000"),
            ]);
            assert_eq!(
                port.verify(&with_list, BODY, at(TIMESTAMP)),
                Ok(()),
                "{list}"
            );
        }
    }

    #[test]
    fn also_accept_keeps_the_previous_secret_valid_while_rotating() {
        let rotated = PortSignature::new("new-secret").also_accept(SECRET);
        assert_eq!(
            rotated.verify(&vector_headers(), BODY, at(TIMESTAMP)),
            Ok(())
        );
        // New signatures use the first secret.
        let fresh = rotated.sign(BODY, TIMESTAMP).unwrap();
        assert_eq!(
            PortSignature::new("new-secret").verify(&fresh, BODY, at(TIMESTAMP)),
            Ok(())
        );
        assert_eq!(
            PortSignature::new(SECRET).verify(&fresh, BODY, at(TIMESTAMP)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn reads_actix_and_http_header_maps() {
        use actix_web::http::header::{HeaderName, HeaderValue};
        let signed = PortSignature::new(SECRET).sign(BODY, TIMESTAMP).unwrap();
        let http_map = signed.to_header_map().unwrap();
        let mut actix_map = actix_web::http::header::HeaderMap::new();
        for (name, value) in signed.iter() {
            actix_map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let port = PortSignature::new(SECRET);
        assert_eq!(port.verify(&http_map, BODY, at(TIMESTAMP)), Ok(()));
        assert_eq!(port.verify(&actix_map, BODY, at(TIMESTAMP)), Ok(()));
    }
}

mod github {
    use super::*;

    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const VECTOR: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn vector_headers() -> HashMap<String, String> {
        headers(&[("X-Hub-Signature-256", VECTOR)])
    }

    #[test]
    fn accepts_the_documented_vector_and_signs_it() {
        let github = GitHubSignature::new(SECRET);
        assert_eq!(github.verify(&vector_headers(), BODY), Ok(()));
        assert_eq!(
            github.sign(BODY).unwrap().get("X-Hub-Signature-256"),
            Some(VECTOR)
        );
        let upper = format!("sha256={}", VECTOR[7..].to_ascii_uppercase());
        assert_eq!(
            github.verify(&headers(&[("x-hub-signature-256", &upper)]), BODY),
            Ok(())
        );
    }

    #[test]
    fn rejects_one_flipped_body_byte() {
        assert_eq!(
            GitHubSignature::new(SECRET).verify(&vector_headers(), &flip_one_byte(BODY)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_signature_made_with_another_secret() {
        let error = GitHubSignature::new("not it")
            .verify(&vector_headers(), BODY)
            .unwrap_err();
        assert_eq!(error, SignatureError::Mismatch);
        let expected = GitHubSignature::new("not it").sign(BODY).unwrap();
        let expected = expected.get("x-hub-signature-256").unwrap();
        assert_says_nothing_secret(&error, &["not it", expected, &expected[7..]]);
    }

    #[test]
    fn rejects_missing_header() {
        assert_eq!(
            GitHubSignature::new(SECRET).verify(&headers(&[("X-Hub-Signature", "sha1=00")]), BODY),
            Err(SignatureError::MissingHeader("x-hub-signature-256"))
        );
    }

    #[test]
    fn rejects_malformed_header() {
        let github = GitHubSignature::new(SECRET);
        for bad in [
            &VECTOR[7..],
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "",
        ] {
            assert_malformed(
                github.verify(&headers(&[("x-hub-signature-256", bad)]), BODY),
                "x-hub-signature-256",
            );
        }
    }

    #[test]
    fn missing_or_empty_secret_fails_closed() {
        let github = GitHubSignature::new("");
        assert_eq!(github.check_secret(), Err(SignatureError::MissingSecret));
        let empty_key_sig = "sha256=".to_owned()
            + &hex::encode({
                use hmac::{Hmac, Mac};
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
                mac.update(BODY);
                mac.finalize().into_bytes()
            });
        assert_eq!(
            github.verify(&headers(&[("x-hub-signature-256", &empty_key_sig)]), BODY),
            Err(SignatureError::MissingSecret)
        );
        assert_eq!(
            github.sign(BODY).unwrap_err(),
            SignatureError::MissingSecret
        );
    }

    #[test]
    fn also_accept_keeps_the_previous_secret_valid_while_rotating() {
        let rotated = GitHubSignature::new("new secret").also_accept(SECRET);
        assert_eq!(rotated.verify(&vector_headers(), BODY), Ok(()));
        let fresh = rotated.sign(BODY).unwrap();
        assert_eq!(
            GitHubSignature::new("new secret").verify(&fresh, BODY),
            Ok(())
        );
    }
}

mod gitlab {
    use super::*;

    const TOKEN: &str = "gitlab-hook-token-7f3a";

    #[test]
    fn accepts_the_configured_token() {
        let gitlab = GitLabToken::new(TOKEN);
        assert_eq!(
            gitlab.verify(&headers(&[("X-Gitlab-Token", TOKEN)])),
            Ok(())
        );
        assert_eq!(gitlab.verify(&gitlab.sign().unwrap()), Ok(()));
    }

    #[test]
    fn rejects_a_token_differing_in_one_byte_or_length() {
        let gitlab = GitLabToken::new(TOKEN);
        let mut flipped = TOKEN.as_bytes().to_vec();
        flipped[3] ^= 0x01;
        let flipped = String::from_utf8(flipped).unwrap();
        for wrong in [
            flipped.as_str(),
            &TOKEN[..TOKEN.len() - 1],
            "x",
            "gitlab-hook-token-7f3ab",
        ] {
            let error = gitlab
                .verify(&headers(&[("x-gitlab-token", wrong)]))
                .unwrap_err();
            assert_eq!(error, SignatureError::Mismatch, "{wrong}");
            assert_says_nothing_secret(&error, &[TOKEN, wrong]);
        }
    }

    #[test]
    fn rejects_missing_and_empty_header() {
        let gitlab = GitLabToken::new(TOKEN);
        assert_eq!(
            gitlab.verify(&headers(&[])),
            Err(SignatureError::MissingHeader("x-gitlab-token"))
        );
        assert_malformed(
            gitlab.verify(&headers(&[("x-gitlab-token", "")])),
            "x-gitlab-token",
        );
    }

    #[test]
    fn missing_or_empty_secret_fails_closed() {
        let gitlab = GitLabToken::new(Secret::default());
        assert_eq!(gitlab.check_secret(), Err(SignatureError::MissingSecret));
        for presented in ["", "anything"] {
            assert_eq!(
                gitlab.verify(&headers(&[("x-gitlab-token", presented)])),
                Err(SignatureError::MissingSecret)
            );
        }
        assert_eq!(gitlab.sign().unwrap_err(), SignatureError::MissingSecret);
    }

    #[test]
    fn also_accept_keeps_the_previous_token_valid_while_rotating() {
        let rotated = GitLabToken::new("new-token").also_accept(TOKEN);
        assert_eq!(
            rotated.verify(&headers(&[("x-gitlab-token", TOKEN)])),
            Ok(())
        );
        assert_eq!(
            rotated.verify(&headers(&[("x-gitlab-token", "new-token")])),
            Ok(())
        );
        assert_eq!(
            rotated.verify(&headers(&[("x-gitlab-token", "older-token")])),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signed_headers_debug_hides_the_token() {
        let shown = format!("{:?}", GitLabToken::new(TOKEN).sign().unwrap());
        assert!(shown.contains("x-gitlab-token"), "{shown}");
        assert!(!shown.contains(TOKEN), "{shown}");
    }
}

mod standard_webhooks {
    use super::*;

    // The example of the Standard Webhooks documentation.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: u64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    // Computed by hand with Python (see the top of this file).
    const SECRET: &str = "whsec_b2NlYW4tc3RhbmRhcmQtd2ViaG9va3Mta2V5LTAwMDE=";
    const RAW_SECRET: &str = "plain-raw-secret";
    const ID: &str = "msg_2mGZ7bYQ8kVw";
    const TIMESTAMP: u64 = 1_700_000_000;
    const BODY: &[u8] = b"{\"kind\":\"issue\",\"id\":42}\n";
    const SIGNATURE: &str = "v1,212BYCZQpF6ijnJTQ8hmlG7w5RAnfVge6LBPWMkRrZg=";
    const RAW_SIGNATURE: &str = "v1,62mKxFrXg9YcpusE9kyCk2LLrh1PWaXJ9qlnFiyC/JY=";

    fn delivery(id: &str, timestamp: &str, signature: &str) -> HashMap<String, String> {
        headers(&[
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ])
    }

    fn hand_vector() -> HashMap<String, String> {
        delivery(ID, "1700000000", SIGNATURE)
    }

    #[test]
    fn accepts_the_spec_example() {
        let verifier = StandardWebhooks::new(SPEC_SECRET);
        let delivery = delivery(SPEC_ID, "1614265330", SPEC_SIGNATURE);
        assert_eq!(
            verifier.verify(&delivery, SPEC_BODY, at(SPEC_TIMESTAMP)),
            Ok(())
        );
    }

    #[test]
    fn accepts_hand_computed_vectors_for_whsec_and_raw_secrets() {
        assert_eq!(
            StandardWebhooks::new(SECRET).verify(&hand_vector(), BODY, at(TIMESTAMP)),
            Ok(())
        );
        assert_eq!(
            StandardWebhooks::new(RAW_SECRET).verify(
                &delivery(ID, "1700000000", RAW_SIGNATURE),
                BODY,
                at(TIMESTAMP)
            ),
            Ok(())
        );
    }

    #[test]
    fn sign_produces_the_hand_computed_vector() {
        let signed = StandardWebhooks::new(SECRET)
            .sign(ID, TIMESTAMP, BODY)
            .unwrap();
        assert_eq!(signed.get("webhook-id"), Some(ID));
        assert_eq!(signed.get("webhook-timestamp"), Some("1700000000"));
        assert_eq!(signed.get("webhook-signature"), Some(SIGNATURE));
    }

    #[test]
    fn rejects_one_flipped_body_byte() {
        assert_eq!(
            StandardWebhooks::new(SECRET).verify(
                &hand_vector(),
                &flip_one_byte(BODY),
                at(TIMESTAMP)
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_changed_id() {
        let moved = delivery("msg_other", "1700000000", SIGNATURE);
        assert_eq!(
            StandardWebhooks::new(SECRET).verify(&moved, BODY, at(TIMESTAMP)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_signature_made_with_another_secret() {
        let error = StandardWebhooks::new(SPEC_SECRET)
            .verify(&hand_vector(), BODY, at(TIMESTAMP))
            .unwrap_err();
        assert_eq!(error, SignatureError::Mismatch);
        let expected = StandardWebhooks::new(SPEC_SECRET)
            .sign(ID, TIMESTAMP, BODY)
            .unwrap();
        let expected = expected.get("webhook-signature").unwrap();
        assert_says_nothing_secret(&error, &[SPEC_SECRET, &SPEC_SECRET[6..], &expected[3..]]);
    }

    #[test]
    fn rejects_missing_headers() {
        let verifier = StandardWebhooks::new(SECRET);
        let signed = verifier.sign(ID, TIMESTAMP, BODY).unwrap();
        for (name, constant) in [
            ("webhook-id", StandardWebhooks::ID_HEADER),
            ("webhook-timestamp", StandardWebhooks::TIMESTAMP_HEADER),
            ("webhook-signature", StandardWebhooks::SIGNATURE_HEADER),
        ] {
            assert_eq!(
                verifier.verify(&without_header(&signed, name), BODY, at(TIMESTAMP)),
                Err(SignatureError::MissingHeader(constant))
            );
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let verifier = StandardWebhooks::new(SECRET);
        let signed = verifier.sign(ID, TIMESTAMP, BODY).unwrap();
        for (name, bad) in [
            ("webhook-id", ""),
            ("webhook-timestamp", "1700000000.5"),
            ("webhook-timestamp", "yesterday"),
            (
                "webhook-signature",
                "212BYCZQpF6ijnJTQ8hmlG7w5RAnfVge6LBPWMkRrZg=",
            ),
            ("webhook-signature", "v1"),
            ("webhook-signature", "v1,not base64!"),
        ] {
            assert_malformed(
                verifier.verify(&with_header(&signed, name, bad), BODY, at(TIMESTAMP)),
                name,
            );
        }
    }

    #[test]
    fn missing_empty_or_undecodable_secret_fails_closed() {
        for verifier in [
            StandardWebhooks::new(""),
            StandardWebhooks::new("whsec_"),
            StandardWebhooks::new(Secret::default()),
        ] {
            assert_eq!(verifier.check_secret(), Err(SignatureError::MissingSecret));
            assert_eq!(
                verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)),
                Err(SignatureError::MissingSecret)
            );
            assert_eq!(
                verifier.sign(ID, TIMESTAMP, BODY).unwrap_err(),
                SignatureError::MissingSecret
            );
        }
        let garbled = StandardWebhooks::new("whsec_%%%not-base64%%%");
        let error = garbled
            .verify(&hand_vector(), BODY, at(TIMESTAMP))
            .unwrap_err();
        assert!(
            matches!(error, SignatureError::InvalidSecret { .. }),
            "{error:?}"
        );
        assert_says_nothing_secret(&error, &["%%%not-base64%%%"]);
        // A bad secret next to a good one still fails closed: the misconfiguration must show.
        let mixed = StandardWebhooks::new(SECRET).also_accept("whsec_%%%");
        assert!(matches!(
            mixed.verify(&hand_vector(), BODY, at(TIMESTAMP)),
            Err(SignatureError::InvalidSecret { .. })
        ));
    }

    #[test]
    fn rejects_timestamps_outside_tolerance_both_ways() {
        let verifier = StandardWebhooks::new(SECRET).with_tolerance(Duration::from_secs(120));
        let tolerance = Duration::from_secs(120);
        assert_eq!(
            verifier.verify(&hand_vector(), BODY, at(TIMESTAMP + 121)),
            Err(SignatureError::TimestampOutOfTolerance {
                skew: Skew::TooOld,
                tolerance
            })
        );
        assert_eq!(
            verifier.verify(&hand_vector(), BODY, at(TIMESTAMP - 121)),
            Err(SignatureError::TimestampOutOfTolerance {
                skew: Skew::InTheFuture,
                tolerance
            })
        );
        assert_eq!(
            verifier.verify(&hand_vector(), BODY, at(TIMESTAMP - 120)),
            Ok(())
        );
    }

    #[test]
    fn accepts_a_list_with_one_valid_signature_and_ignores_other_versions() {
        let old = StandardWebhooks::new("whsec_b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWs=")
            .sign(ID, TIMESTAMP, BODY)
            .unwrap();
        let old = old.get("webhook-signature").unwrap().to_owned();
        let list = format!("v1a,AAAAAAAA {old} {SIGNATURE}");
        assert_eq!(
            StandardWebhooks::new(SECRET).verify(
                &delivery(ID, "1700000000", &list),
                BODY,
                at(TIMESTAMP)
            ),
            Ok(())
        );
        let only_other_versions = format!("v1a,{}", &SIGNATURE[3..]);
        assert_eq!(
            StandardWebhooks::new(SECRET).verify(
                &delivery(ID, "1700000000", &only_other_versions),
                BODY,
                at(TIMESTAMP)
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn also_accept_keeps_the_previous_secret_valid_while_rotating() {
        let rotated = StandardWebhooks::new("whsec_bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWs=")
            .also_accept(SECRET);
        assert_eq!(rotated.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
    }

    #[test]
    fn rejects_a_replay_of_the_same_id() {
        let verifier = StandardWebhooks::new(SECRET);
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
        let error = verifier
            .verify(&hand_vector(), BODY, at(TIMESTAMP + 5))
            .unwrap_err();
        assert_eq!(error, SignatureError::Replayed);
        // The sender's retry: same id, fresh timestamp and signature.
        let retry = verifier.sign(ID, TIMESTAMP + 10, BODY).unwrap();
        assert_eq!(
            verifier.verify(&retry, BODY, at(TIMESTAMP + 10)),
            Err(SignatureError::Replayed)
        );
    }

    #[test]
    fn clones_share_the_replay_guard() {
        let verifier = StandardWebhooks::new(SECRET);
        let clone = verifier.clone();
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
        assert_eq!(
            clone.verify(&hand_vector(), BODY, at(TIMESTAMP)),
            Err(SignatureError::Replayed)
        );
    }

    #[test]
    fn rejected_deliveries_do_not_poison_the_replay_guard() {
        let verifier = StandardWebhooks::new(SECRET);
        let forged = delivery(
            ID,
            "1700000000",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        );
        assert_eq!(
            verifier.verify(&forged, BODY, at(TIMESTAMP)),
            Err(SignatureError::Mismatch)
        );
        assert!(verifier.replay_guard().is_empty());
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
    }

    #[test]
    fn replay_guard_stays_bounded() {
        let verifier = StandardWebhooks::new(SECRET).with_replay_capacity(8);
        for n in 0..100 {
            let signed = verifier.sign(&format!("msg_{n}"), TIMESTAMP, BODY).unwrap();
            assert_eq!(verifier.verify(&signed, BODY, at(TIMESTAMP)), Ok(()));
            assert!(verifier.replay_guard().len() <= 8);
        }
        assert_eq!(verifier.replay_guard().len(), 8);
        // The most recent ids are still protected.
        let last = verifier.sign("msg_99", TIMESTAMP, BODY).unwrap();
        assert_eq!(
            verifier.verify(&last, BODY, at(TIMESTAMP)),
            Err(SignatureError::Replayed)
        );
    }

    #[test]
    fn remembered_ids_expire_with_the_tolerance_window() {
        let verifier = StandardWebhooks::new(SECRET).with_tolerance(Duration::from_secs(60));
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
        // Once the first delivery's window has passed, its id is dropped.
        let later = verifier.sign("msg_later", TIMESTAMP + 61, BODY).unwrap();
        assert_eq!(verifier.verify(&later, BODY, at(TIMESTAMP + 61)), Ok(()));
        assert_eq!(verifier.replay_guard().len(), 1);
        let resent = verifier.sign(ID, TIMESTAMP + 61, BODY).unwrap();
        assert_eq!(verifier.verify(&resent, BODY, at(TIMESTAMP + 61)), Ok(()));
    }

    #[test]
    fn verify_signature_does_not_record_and_forget_allows_a_retry() {
        let verifier = StandardWebhooks::new(SECRET);
        for _ in 0..2 {
            assert_eq!(
                verifier.verify_signature(&hand_vector(), BODY, at(TIMESTAMP)),
                Ok(())
            );
        }
        assert!(verifier.replay_guard().is_empty());
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
        verifier.forget(ID);
        assert_eq!(verifier.verify(&hand_vector(), BODY, at(TIMESTAMP)), Ok(()));
    }
}

#[test]
fn verifiers_work_behind_one_trait_object() {
    let body = b"{}";
    let port = PortSignature::new("p");
    let github = GitHubSignature::new("g");
    let gitlab = GitLabToken::new("t");
    let standard = StandardWebhooks::new("whsec_c3RhbmRhcmQta2V5");
    let cases: Vec<(Box<dyn WebhookVerifier>, SignedHeaders)> = vec![
        (Box::new(port.clone()), port.sign(body, 100).unwrap()),
        (Box::new(github.clone()), github.sign(body).unwrap()),
        (Box::new(gitlab.clone()), gitlab.sign().unwrap()),
        (
            Box::new(standard.clone()),
            standard.sign("msg_1", 100, body).unwrap(),
        ),
    ];
    for (verifier, signed) in &cases {
        let headers: &dyn HeaderSource = signed;
        assert_eq!(verifier.verify_at(headers, body, at(100)), Ok(()));
    }
    // With the system clock, an old timestamp is refused by the timestamped schemes.
    assert!(matches!(
        cases[0].0.verify_now(&cases[0].1, body),
        Err(SignatureError::TimestampOutOfTolerance { .. })
    ));
}

#[test]
fn error_messages_say_what_was_expected() {
    let port = PortSignature::new("p");
    let error = port
        .verify(
            &headers(&[("x-port-signature", "v1,AAAA"), ("x-port-timestamp", "x")]),
            b"",
            at(0),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed header `x-port-timestamp`: expected unix time in whole seconds (digits only)"
    );
    assert_eq!(
        SignatureError::MissingHeader("webhook-id").to_string(),
        "missing header `webhook-id`"
    );
    assert_eq!(
        SignatureError::TimestampOutOfTolerance {
            skew: Skew::TooOld,
            tolerance: Duration::from_secs(300)
        }
        .to_string(),
        "timestamp is too old: outside the tolerance of 300 s"
    );
}
