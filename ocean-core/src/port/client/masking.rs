//! Masking of sensitive values in raw examples before they go to Port, with Python Ocean's rule:
//! every string anywhere in the examples (object keys excepted) has each match of Ocean's list
//! of secret patterns replaced by `[REDACTED]`, pattern after pattern.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// What a masked match is replaced by.
pub const MASK: &str = "[REDACTED]";

/// Ocean's secret patterns (`port_ocean/log/sensetive.py`), in its order, with its quirks kept
/// (e.g. `\\s` inside a class is a backslash and an `s`, as in Ocean's raw strings).
const PATTERNS: &[&str] = &[
    // Password in URL
    r#"[a-zA-Z]{3,10}:\/\/[^\/\\s:@]{3,20}:[^\/\\s:@]{3,20}@.{1,100}[\"'\\s]"#,
    // Generic API key
    r#"[a|A][p|P][i|I][_]?[k|K][e|E][y|Y].*['|\"][0-9a-zA-Z]{32,45}['|\"]"#,
    // Generic secret
    r#"[s|S][e|E][c|C][r|R][e|E][t|T].*['|\"][0-9a-zA-Z]{32,45}['|\"]"#,
    // Google API key
    r"AIza[0-9A-Za-z\\-_]{35}",
    // Firebase URL
    r".*firebaseio\.com",
    r"-----BEGIN RSA PRIVATE KEY-----",
    r"-----BEGIN DSA PRIVATE KEY-----",
    r"-----BEGIN EC PRIVATE KEY-----",
    r"-----BEGIN PGP PRIVATE KEY BLOCK-----",
    // Amazon AWS access key id
    r"AKIA[0-9A-Z]{16}",
    // Amazon MWS auth token
    r"amzn\\.mws\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    // AWS API key
    r"AKIA[0-9A-Z]{16}",
    // GitHub
    r#"[g|G][i|I][t|T][h|H][u|U][b|B].*['|\"][0-9a-zA-Z]{35,40}['|\"]"#,
    // Google Cloud Platform API key
    r"AIza[0-9A-Za-z\\-_]{35}",
    // Google Cloud Platform OAuth
    r"[0-9]+-[0-9A-Za-z_]{32}\\.apps\\.googleusercontent\\.com",
    // Google (GCP) service account
    r#""type": "service_account""#,
    // Google OAuth access token
    r"ya29\\.[0-9A-Za-z\\-_]+",
    // Connection string
    r"[a-zA-Z]+:\/\/[^/\s]+:[^/\s]+@[^/\s]+\/[^/\s]+",
];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .filter_map(|p| match Regex::new(p) {
            Ok(re) => Some(re),
            Err(error) => {
                tracing::error!(pattern = p, %error, "a masking pattern does not compile");
                None
            }
        })
        .collect()
});

/// A string with every match of Ocean's secret patterns replaced by [`MASK`].
pub fn mask_string(text: &str) -> String {
    let mut out = text.to_owned();
    for re in COMPILED.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, MASK).into_owned();
        }
    }
    out
}

/// A JSON value with every string masked (object keys are kept as they are, as in Ocean).
pub fn mask_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask_string(s)),
        Value::Array(items) => Value::Array(items.iter().map(mask_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(COMPILED.len(), PATTERNS.len());
    }

    #[test]
    fn masks_strings_at_any_depth_but_not_keys_or_other_values() {
        let masked = mask_value(&json!({
            "AKIA0000000000000000": ["ok", {"k": "id AKIA1111111111111111!"}],
            "n": 7, "b": false, "z": null
        }));
        assert_eq!(
            masked,
            json!({
                "AKIA0000000000000000": ["ok", {"k": "id [REDACTED]!"}],
                "n": 7, "b": false, "z": null
            })
        );
    }
}
