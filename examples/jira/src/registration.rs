//! At start: register Jira's webhook when the integration knows its public URL
//! (`OCEAN__BASE_URL`).

use crate::client::{JiraClient, JiraError};
use crate::config::JiraConfig;
use crate::webhooks::{ISSUE_EVENTS, PROJECT_EVENTS};
use ocean::config::Secret;
use ocean::{Context, Result, on_start};
use serde_json::{Value, json};

/// The name the webhook is registered under in Jira.
pub const WEBHOOK_NAME: &str = "Port-Ocean-Events-Webhook";

/// What [`ensure_webhook`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRegistration {
    /// A webhook with this URL was already registered; nothing was changed.
    AlreadyRegistered,
    /// The webhook was created.
    Created,
}

/// The URL Jira posts to: `{base_url}[/{path_prefix}]/integration/webhook`.
pub fn webhook_url(base_url: &str, path_prefix: Option<&str>) -> String {
    let base = base_url.trim_end_matches('/');
    match path_prefix.map(|p| p.trim_matches('/')) {
        Some(prefix) if !prefix.is_empty() => format!("{base}/{prefix}/integration/webhook"),
        _ => format!("{base}/integration/webhook"),
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Registers a webhook posting every issue and project event to `url`, unless one with that
/// URL exists. With a `secret`, Jira signs each delivery with it.
pub async fn ensure_webhook(
    client: &JiraClient,
    url: &str,
    secret: Option<&Secret>,
) -> Result<WebhookRegistration, JiraError> {
    let existing = client.webhooks().await?;
    if existing
        .iter()
        .filter_map(|hook| hook.get("url").and_then(Value::as_str))
        .any(|registered| same_url(registered, url))
    {
        tracing::info!(url, "the Jira webhook is already registered");
        return Ok(WebhookRegistration::AlreadyRegistered);
    }
    let events: Vec<&str> = ISSUE_EVENTS
        .iter()
        .chain(&PROJECT_EVENTS)
        .copied()
        .collect();
    let mut body = json!({
        "name": WEBHOOK_NAME,
        "url": url,
        "events": events,
        "filters": {},
        "excludeBody": false,
    });
    if let (Some(secret), Value::Object(map)) = (secret, &mut body) {
        map.insert("secret".into(), Value::String(secret.expose().to_owned()));
    }
    client.create_webhook(&body).await?;
    tracing::info!(url, "the Jira webhook was registered");
    Ok(WebhookRegistration::Created)
}

/// Registers the webhook in Jira when `OCEAN__BASE_URL` is set.
#[on_start]
pub async fn setup_live_events(ctx: Context) -> Result<()> {
    let config = ctx.config::<JiraConfig>()?;
    let Some(settings) = ctx.settings() else {
        return Ok(());
    };
    let Some(base_url) = settings.base_url.as_deref() else {
        tracing::info!(
            "OCEAN__BASE_URL is not set: register the Jira webhook by hand to get live events"
        );
        return Ok(());
    };
    let url = webhook_url(base_url, settings.path_prefix.as_deref());
    let client = JiraClient::from_context(&ctx)?;
    ensure_webhook(&client, &url, config.webhook_secret.as_ref())
        .await
        .map_err(JiraError::into_ocean)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_url_honours_the_path_prefix() {
        assert_eq!(
            webhook_url("https://ocean.example.com/", None),
            "https://ocean.example.com/integration/webhook"
        );
        assert_eq!(
            webhook_url("https://ocean.example.com", Some("/jira/")),
            "https://ocean.example.com/jira/integration/webhook"
        );
        assert!(same_url(
            "https://a/integration/webhook/",
            "https://a/integration/webhook"
        ));
    }
}
