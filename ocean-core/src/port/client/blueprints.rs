//! Blueprints: the schemas of entities.

use super::{PortClient, PortError};
use crate::port::types::Blueprint;
use reqwest::Method;
use serde_json::Value;

fn what(id: &str) -> String {
    format!("blueprint `{id}`")
}

impl PortClient {
    /// Every blueprint of the organization.
    pub async fn list_blueprints(&self) -> Result<Vec<Blueprint>, PortError> {
        let req = self.request(Method::GET, &["v1", "blueprints"]);
        self.call_for(&req, "blueprints", || "the blueprints".into())
            .await
    }

    /// One blueprint; `NotFound` when it does not exist.
    pub async fn get_blueprint(&self, id: &str) -> Result<Blueprint, PortError> {
        let req = self.request(Method::GET, &["v1", "blueprints", id]);
        self.call_for(&req, "blueprint", || what(id)).await
    }

    /// Creates a blueprint; sent once, never retried.
    pub async fn create_blueprint(&self, blueprint: &Blueprint) -> Result<Blueprint, PortError> {
        let req = self
            .request(Method::POST, &["v1", "blueprints"])
            .json(blueprint)?;
        self.call_for(&req, "blueprint", || what(&blueprint.identifier))
            .await
    }

    /// Changes a blueprint; `patch` holds the fields to change. Sent once, never retried.
    pub async fn patch_blueprint(&self, id: &str, patch: &Value) -> Result<Blueprint, PortError> {
        let req = self
            .request(Method::PATCH, &["v1", "blueprints", id])
            .json(patch)?;
        self.call_for(&req, "blueprint", || what(id)).await
    }

    /// Deletes a blueprint; `NotFound` when it does not exist.
    pub async fn delete_blueprint(&self, id: &str) -> Result<(), PortError> {
        let req = self.request(Method::DELETE, &["v1", "blueprints", id]);
        let answer = self.execute(&req).await?;
        if !answer.is_success() {
            return Err(answer.error(what(id)));
        }
        Ok(())
    }
}
