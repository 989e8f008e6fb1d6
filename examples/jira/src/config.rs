//! The integration's settings, read from `OCEAN__INTEGRATION__CONFIG__<FIELD>`.

use ocean::config::Secret;
use serde::{Deserialize, Deserializer};
use url::Url;

/// Retries of one Jira request when nothing says otherwise (429 for any request; 5xx and
/// transport errors for reads).
pub const DEFAULT_REQUEST_RETRIES: u32 = 3;

/// How to reach Jira and verify its webhooks.
#[derive(Debug, Clone, Deserialize)]
pub struct JiraConfig {
    /// The Jira site, e.g. `https://example.atlassian.net` (`JIRA_HOST`).
    #[serde(deserialize_with = "http_url")]
    pub jira_host: Url,
    /// The Atlassian account the API token belongs to (`ATLASSIAN_USER_EMAIL`).
    pub atlassian_user_email: String,
    /// The Atlassian API token (`ATLASSIAN_USER_TOKEN`).
    #[serde(deserialize_with = "non_empty_secret")]
    pub atlassian_user_token: Secret,
    /// The secret Jira signs webhooks with (`WEBHOOK_SECRET`); when set, unsigned or wrongly
    /// signed webhooks are rejected.
    #[serde(default, deserialize_with = "optional_non_empty_secret")]
    pub webhook_secret: Option<Secret>,
    /// Retries of one Jira request (`REQUEST_RETRIES`): 429 for any request; 5xx and transport
    /// errors for reads.
    #[serde(default = "default_request_retries")]
    pub request_retries: u32,
}

fn default_request_retries() -> u32 {
    DEFAULT_REQUEST_RETRIES
}

impl JiraConfig {
    /// Settings for `jira_host` with the given credentials and no webhook secret.
    pub fn new(jira_host: Url, email: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            jira_host,
            atlassian_user_email: email.into(),
            atlassian_user_token: token.into(),
            webhook_secret: None,
            request_retries: DEFAULT_REQUEST_RETRIES,
        }
    }
}

fn http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let text = String::deserialize(deserializer)?;
    let url = Url::parse(text.trim()).map_err(|e| {
        serde::de::Error::custom(format!(
            "expected the Jira site URL such as https://example.atlassian.net, got {text:?} ({e})"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(serde::de::Error::custom(format!(
            "expected an http(s) URL with a host such as https://example.atlassian.net, got {text:?}"
        )));
    }
    Ok(url)
}

fn non_empty_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    let secret = Secret::deserialize(deserializer)?;
    if secret.expose().trim().is_empty() {
        return Err(serde::de::Error::custom(
            "expected a non-empty secret, got an empty string",
        ));
    }
    Ok(secret)
}

/// An empty webhook secret is refused rather than read as "none": a blank value is far more
/// likely a deployment mistake than a wish to accept unsigned webhooks.
fn optional_non_empty_secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Secret>, D::Error> {
    match Option::<Secret>::deserialize(deserializer)? {
        Some(secret) if secret.expose().trim().is_empty() => Err(serde::de::Error::custom(
            "expected a non-empty webhook secret (or none at all), got an empty string",
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_field_and_defaults_the_optional_ones() {
        let config: JiraConfig = serde_json::from_value(json!({
            "jira_host": "https://example.atlassian.net",
            "atlassian_user_email": "bot@example.com",
            "atlassian_user_token": "t0ken",
        }))
        .unwrap();
        assert_eq!(config.jira_host.as_str(), "https://example.atlassian.net/");
        assert_eq!(config.atlassian_user_token.expose(), "t0ken");
        assert!(config.webhook_secret.is_none());
        assert_eq!(config.request_retries, DEFAULT_REQUEST_RETRIES);
    }

    #[test]
    fn debug_never_shows_the_token_or_the_webhook_secret() {
        let config: JiraConfig = serde_json::from_value(json!({
            "jira_host": "https://example.atlassian.net",
            "atlassian_user_email": "bot@example.com",
            "atlassian_user_token": "t0ken-value",
            "webhook_secret": "hook-value",
        }))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("t0ken-value") && !debug.contains("hook-value"));
        assert!(debug.contains("bot@example.com"));
    }

    #[test]
    fn rejects_a_host_that_is_not_an_http_url() {
        for host in ["example.atlassian.net", "ftp://example.atlassian.net"] {
            let err = serde_json::from_value::<JiraConfig>(json!({
                "jira_host": host,
                "atlassian_user_email": "bot@example.com",
                "atlassian_user_token": "t",
            }))
            .unwrap_err()
            .to_string();
            assert!(err.contains("https://example.atlassian.net"), "{err}");
            assert!(err.contains(host), "{err}");
        }
    }

    #[test]
    fn rejects_empty_token_and_empty_webhook_secret() {
        let empty_token = serde_json::from_value::<JiraConfig>(json!({
            "jira_host": "https://x.atlassian.net",
            "atlassian_user_email": "bot@example.com",
            "atlassian_user_token": " ",
        }))
        .unwrap_err();
        assert!(empty_token.to_string().contains("non-empty secret"));
        let empty_hook = serde_json::from_value::<JiraConfig>(json!({
            "jira_host": "https://x.atlassian.net",
            "atlassian_user_email": "bot@example.com",
            "atlassian_user_token": "t",
            "webhook_secret": "",
        }))
        .unwrap_err();
        assert!(empty_hook.to_string().contains("non-empty webhook secret"));
    }
}
