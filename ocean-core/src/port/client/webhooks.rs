//! Port's webhooks service (`/v1/webhooks`).

use super::{PortClient, PortError};
use crate::port::types::{Webhook, WebhookPage};
use reqwest::Method;
use serde::Deserialize;

fn what(id: &str) -> String {
    format!("webhook `{id}`")
}

#[derive(Deserialize)]
struct DeleteAnswer {
    #[serde(default = "yes")]
    ok: bool,
}

fn yes() -> bool {
    true
}

impl PortClient {
    /// One page of webhooks; `None` leaves the paging to Port's defaults.
    pub async fn list_webhooks(
        &self,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<WebhookPage, PortError> {
        let mut req = self.request(Method::GET, &["v1", "webhooks"]);
        if let Some(page) = page {
            req = req.query("page", &page.to_string());
        }
        if let Some(per_page) = per_page {
            req = req.query("per_page", &per_page.to_string());
        }
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error("the webhooks".into()));
        }
        answer.json("{ok, webhooks}")
    }

    /// One webhook; `NotFound` when it does not exist.
    pub async fn get_webhook(&self, id: &str) -> Result<Webhook, PortError> {
        let req = self.request(Method::GET, &["v1", "webhooks", id]);
        self.call_for(&req, "webhook", || what(id)).await
    }

    /// Creates a webhook; `Validation` when Port rejects it, `Conflict` when the identifier is
    /// taken. Sent once, never retried.
    pub async fn create_webhook(&self, webhook: &Webhook) -> Result<Webhook, PortError> {
        let req = self
            .request(Method::POST, &["v1", "webhooks"])
            .json(webhook)?;
        let id = webhook.identifier.clone().unwrap_or_default();
        self.call_for(&req, "webhook", || what(&id)).await
    }

    /// Changes a webhook (`PATCH`); `NotFound` or `Validation` as Port answers. Sent once.
    pub async fn update_webhook(&self, id: &str, webhook: &Webhook) -> Result<Webhook, PortError> {
        let req = self
            .request(Method::PATCH, &["v1", "webhooks", id])
            .json(webhook)?;
        self.call_for(&req, "webhook", || what(id)).await
    }

    /// Deletes a webhook; true when Port confirms, `NotFound` when it does not exist.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool, PortError> {
        let req = self.request(Method::DELETE, &["v1", "webhooks", id]);
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error(what(id)));
        }
        if answer.body.is_empty() {
            return Ok(true);
        }
        Ok(answer.json::<DeleteAnswer>("{ok}")?.ok)
    }
}
