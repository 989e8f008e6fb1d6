//! Access tokens: fetched lazily, cached until shortly before they expire, fetched by one caller
//! while the others wait, and refreshed when Port answers 401.

use super::{PortClient, PortError};
use crate::config::Secret;
use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// Longest safety margin before a token's expiry; shorter-lived tokens use a tenth of their life.
const MAX_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A token and the moment it stops being used.
pub(super) struct CachedToken {
    /// `"{tokenType} {accessToken}"`, ready for the `Authorization` header.
    authorization: Secret,
    use_until: Instant,
}

impl CachedToken {
    fn is_fresh(&self) -> bool {
        Instant::now() < self.use_until
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest<'a> {
    client_id: &'a str,
    client_secret: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    access_token: Secret,
    expires_in: u64,
    #[serde(default)]
    token_type: Option<String>,
}

impl PortClient {
    /// The `Authorization` header value, fetching a token when none is cached or it is about to
    /// expire.
    pub(super) async fn authorization(&self) -> Result<Secret, PortError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(token.authorization.clone());
        }
        let token = self.fetch_token().await?;
        let authorization = token.authorization.clone();
        *cached = Some(token);
        Ok(authorization)
    }

    /// A new `Authorization` value after Port rejected `stale`. When another caller already
    /// replaced it, that newer token is used instead of fetching again.
    pub(super) async fn refresh_authorization(&self, stale: &Secret) -> Result<Secret, PortError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.authorization != *stale && t.is_fresh())
        {
            return Ok(token.authorization.clone());
        }
        *cached = None;
        let token = self.fetch_token().await?;
        let authorization = token.authorization.clone();
        *cached = Some(token);
        Ok(authorization)
    }

    /// Boxed because the token request itself goes through `execute`, which calls back here.
    fn fetch_token(&self) -> BoxFuture<'_, Result<CachedToken, PortError>> {
        async move {
            let config = &self.inner.config;
            let mut req = self
                .request(Method::POST, &["v1", "auth", "access_token"])
                .retryable()
                .json(&TokenRequest {
                    client_id: config.client_id.expose(),
                    client_secret: config.client_secret.expose(),
                })?;
            req.authenticated = false;
            req.base_user_agent = true;
            let requested_at = Instant::now();
            let answer = self.execute(&req).await?;
            if matches!(answer.status, 400 | 401 | 403 | 422) {
                return Err(PortError::Authentication {
                    status: answer.status,
                    message: answer.detail().message,
                });
            }
            if !answer.is_success() {
                return Err(answer.error("the access token endpoint".into()));
            }
            let body: TokenResponse = answer.json("{accessToken, expiresIn, tokenType}")?;
            let lifetime = Duration::from_secs(body.expires_in);
            let margin = (lifetime / 10).min(MAX_EXPIRY_MARGIN);
            let token_type = body.token_type.unwrap_or_else(|| "Bearer".to_owned());
            tracing::debug!(
                expires_in_s = body.expires_in,
                "fetched a Port access token"
            );
            Ok(CachedToken {
                authorization: Secret::new(format!("{token_type} {}", body.access_token.expose())),
                use_until: requested_at + (lifetime - margin),
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_hides_the_token_in_debug_output() {
        let body: TokenResponse = serde_json::from_str(
            r#"{"accessToken":"tok-123","expiresIn":3600,"tokenType":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(format!("{:?}", body.access_token), "[REDACTED]");
        assert_eq!(body.access_token.expose(), "tok-123");
    }
}
