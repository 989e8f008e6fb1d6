//! The integration installation: its record, mapping config, resync state and raw examples.

use super::{PortClient, PortError};
use crate::port::types::{Integration, ResyncState};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A resync asked for in Port's UI (`GET /v1/integration/{id}/resync-request` → `request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResyncRequest {
    /// The request id.
    #[serde(default)]
    pub id: String,
    /// When it was last updated (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Any other field Port returns.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The header that asks Port not to resync after a mapping change.
pub const SKIP_RESYNC_HEADER: &str = "x-skip-resync";

fn what(id: &str) -> String {
    format!("integration `{id}`")
}

impl PortClient {
    /// The integration installation, or `None` when it does not exist yet.
    pub async fn get_integration(&self, id: &str) -> Result<Option<Integration>, PortError> {
        let req = self.request(Method::GET, &["v1", "integration", id]);
        let answer = self.execute(&req).await?;
        match answer.status {
            404 => Ok(None),
            _ if answer.is_success() => answer.field("integration").map(Some),
            _ => Err(answer.error(what(id))),
        }
    }

    /// Creates the integration installation (`POST /v1/integration`); sent once, never retried.
    pub async fn create_integration(
        &self,
        integration: &Integration,
    ) -> Result<Integration, PortError> {
        let req = self
            .request(Method::POST, &["v1", "integration"])
            .json(integration)?;
        self.call_for(&req, "integration", || what(&integration.installation_id))
            .await
    }

    /// Changes some fields of the installation (`PATCH /v1/integration/{id}`); `patch` holds only
    /// the fields to change, with Port's names.
    pub async fn patch_integration(
        &self,
        id: &str,
        patch: &Value,
    ) -> Result<Integration, PortError> {
        let req = self
            .request(Method::PATCH, &["v1", "integration", id])
            .json(patch)?;
        self.call_for(&req, "integration", || what(id)).await
    }

    /// Replaces the installation's port-app-config (`PATCH /v1/integration/{id}/config`). Port
    /// answers a changed mapping with a resync of the integration.
    pub async fn patch_integration_config(
        &self,
        id: &str,
        config: &Value,
    ) -> Result<Integration, PortError> {
        self.send_integration_config(id, config, false).await
    }

    /// Like [`patch_integration_config`](Self::patch_integration_config), with the
    /// `x-skip-resync: true` header that asks Port not to trigger a resync for this change, as
    /// Python Ocean sends it when the integration resyncs by itself right after.
    pub async fn patch_integration_config_without_resync(
        &self,
        id: &str,
        config: &Value,
    ) -> Result<Integration, PortError> {
        self.send_integration_config(id, config, true).await
    }

    async fn send_integration_config(
        &self,
        id: &str,
        config: &Value,
        skip_resync: bool,
    ) -> Result<Integration, PortError> {
        let mut req = self
            .request(Method::PATCH, &["v1", "integration", id, "config"])
            .json(&json!({ "config": config }))?;
        if skip_resync {
            req = req.header(SKIP_RESYNC_HEADER, "true");
        }
        self.call_for(&req, "integration", || what(id)).await
    }

    /// Reports the resync state (`PATCH /v1/integration/{id}/resync-state`).
    pub async fn patch_resync_state(
        &self,
        id: &str,
        state: &ResyncState,
    ) -> Result<Integration, PortError> {
        let req = self
            .request(Method::PATCH, &["v1", "integration", id, "resync-state"])
            .json(state)?;
        self.call_for(&req, "integration", || what(id)).await
    }

    /// The pending resync request of the installation, if any.
    pub async fn get_resync_request(&self, id: &str) -> Result<Option<ResyncRequest>, PortError> {
        let req = self.request(Method::GET, &["v1", "integration", id, "resync-request"]);
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error(what(id)));
        }
        let body: Value = answer.json("{request}")?;
        match body.get("request") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) if o.is_empty() => Ok(None),
            Some(request) => serde_json::from_value(request.clone())
                .map(Some)
                .map_err(|e| PortError::Decode {
                    endpoint: answer.endpoint.clone(),
                    expected: "{request: {id, updatedAt}}",
                    message: e.to_string(),
                }),
        }
    }

    /// Sends sample raw items of a kind, shown in Port's mapping editor; sent once, never retried.
    /// Sensitive values are masked first, as Python Ocean masks them
    /// ([`masking`](super::masking)).
    pub async fn post_raw_examples(
        &self,
        id: &str,
        kind: &str,
        items: &[Value],
    ) -> Result<(), PortError> {
        let req = self
            .request(
                Method::POST,
                &["v1", "integration", id, "kinds", kind, "examples"],
            )
            .json(&json!({ "examples": items.iter().map(super::masking::mask_value).collect::<Vec<_>>() }))?;
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error(what(id)));
        }
        Ok(())
    }
}
