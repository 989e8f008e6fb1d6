//! Port's webhooks service (`/v1/webhooks`): incoming data sources, answered under `integration`
//! (one) and `integrations` (a page).

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
    /// One page of webhooks (`get_webhooks(page, per_page)`, pages counted from 1). Port's
    /// `GET /v1/webhooks` takes no paging parameters and answers every webhook, so the page is
    /// cut here; `None` for both gives them all. The page keeps Port's other fields and adds
    /// `page`, `per_page` and `total`.
    pub async fn get_webhooks(
        &self,
        page: Option<u32>,
        per_page: Option<u32>,
    ) -> Result<WebhookPage, PortError> {
        let req = self.request(Method::GET, &["v1", "webhooks"]);
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error("the webhooks".into()));
        }
        let mut all: WebhookPage = answer.json("{ok, integrations}")?;
        if page.is_none() && per_page.is_none() {
            return Ok(all);
        }
        let total = all.webhooks.len();
        let per_page = per_page.map_or(total, |n| n as usize);
        let page = page.unwrap_or(1).max(1);
        let skip = (page as usize - 1).saturating_mul(per_page);
        all.webhooks = all.webhooks.into_iter().skip(skip).take(per_page).collect();
        all.extra.insert("page".into(), page.into());
        all.extra.insert("per_page".into(), per_page.into());
        all.extra.insert("total".into(), total.into());
        Ok(all)
    }

    /// One webhook; `NotFound` when it does not exist.
    pub async fn get_webhook(&self, id: &str) -> Result<Webhook, PortError> {
        let req = self.request(Method::GET, &["v1", "webhooks", id]);
        self.call_for(&req, "integration", || what(id)).await
    }

    /// Creates a webhook (`title` and `enabled` are required, an `identifier` has at most 30
    /// characters); `Validation` when Port rejects it, `Conflict` when the identifier is taken.
    /// Sent once, never retried.
    pub async fn create_webhook(&self, webhook: &Webhook) -> Result<Webhook, PortError> {
        let req = self
            .request(Method::POST, &["v1", "webhooks"])
            .json(&writable(webhook))?;
        let id = webhook.identifier.clone().unwrap_or_default();
        self.call_for(&req, "integration", || what(&id)).await
    }

    /// Changes the fields a webhook sets (`PATCH`); `NotFound` or `Validation` as Port answers.
    /// Sent once.
    pub async fn update_webhook(&self, id: &str, webhook: &Webhook) -> Result<Webhook, PortError> {
        let req = self
            .request(Method::PATCH, &["v1", "webhooks", id])
            .json(&writable(webhook))?;
        self.call_for(&req, "integration", || what(id)).await
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

/// Fields Port answers on a webhook that its write schema refuses: a webhook read back can be
/// written again without them.
const READ_ONLY: &[&str] = &[
    "url",
    "webhookKey",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "orgId",
    "id",
];

/// The webhook as written: Port's read-only fields left out, other unmodelled fields passed on
/// (Port refuses those it does not know, and says which).
fn writable(webhook: &Webhook) -> Webhook {
    let mut out = webhook.clone();
    out.extra.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
    out
}
