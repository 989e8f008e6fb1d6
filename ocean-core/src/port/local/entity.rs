//! The entity rows of the local Port: the entity as stored, the entity as tests and state
//! files see it, and the JSON Port returns for one.
//!
//! This is the bottom layer of the catalog: it may use the clock (time formats) and nothing
//! else of the local Port.

use super::clock::{format_micros, parse_time};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// An entity as the local Port stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredEntity {
    pub(crate) identifier: String,
    pub(crate) title: Option<String>,
    pub(crate) icon: Option<String>,
    pub(crate) team: Vec<String>,
    pub(crate) properties: Map<String, Value>,
    pub(crate) relations: Map<String, Value>,
    pub(crate) datasource: Option<Arc<str>>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) created_by: Arc<str>,
    pub(crate) updated_by: Arc<str>,
}

impl StoredEntity {
    /// The entity as Port returns it.
    pub(crate) fn to_json(&self, blueprint: &str) -> Value {
        let mut out = Map::with_capacity(11);
        out.insert("identifier".into(), Value::String(self.identifier.clone()));
        out.insert(
            "title".into(),
            self.title.clone().map_or(Value::Null, Value::String),
        );
        if let Some(icon) = &self.icon {
            out.insert("icon".into(), Value::String(icon.clone()));
        }
        out.insert("blueprint".into(), Value::String(blueprint.to_owned()));
        out.insert(
            "team".into(),
            Value::Array(self.team.iter().cloned().map(Value::String).collect()),
        );
        out.insert("properties".into(), Value::Object(self.properties.clone()));
        out.insert("relations".into(), Value::Object(self.relations.clone()));
        out.insert(
            "createdAt".into(),
            Value::String(format_micros(self.created_at)),
        );
        out.insert(
            "createdBy".into(),
            Value::String(self.created_by.to_string()),
        );
        out.insert(
            "updatedAt".into(),
            Value::String(format_micros(self.updated_at)),
        );
        out.insert(
            "updatedBy".into(),
            Value::String(self.updated_by.to_string()),
        );
        Value::Object(out)
    }

    /// The row for an entity read from a state file, with its blueprint identifier.
    /// Fails, naming the entity, when a write time is not an RFC 3339 time.
    pub(crate) fn from_local(e: LocalEntity) -> Result<(String, Self), String> {
        let time = |label: &str, text: &str| {
            parse_time(text).ok_or_else(|| {
                format!(
                    "entity \"{}\" of blueprint \"{}\": {label} \"{text}\" is not an RFC 3339 time",
                    e.identifier, e.blueprint
                )
            })
        };
        let stored = Self {
            identifier: e.identifier.clone(),
            title: e.title,
            icon: e.icon,
            team: e.team,
            properties: e.properties,
            relations: e.relations,
            datasource: e.datasource.map(Arc::from),
            created_at: time("createdAt", &e.created_at)?,
            updated_at: time("updatedAt", &e.updated_at)?,
            created_by: Arc::from(e.created_by),
            updated_by: Arc::from(e.updated_by),
        };
        Ok((e.blueprint, stored))
    }

    /// The identifiers a relation value points at.
    pub(crate) fn relation_targets(value: &Value) -> impl Iterator<Item = &str> {
        let (single, many) = match value {
            Value::String(s) => (Some(s.as_str()), None),
            Value::Array(items) => (None, Some(items.iter().filter_map(Value::as_str))),
            _ => (None, None),
        };
        single.into_iter().chain(many.into_iter().flatten())
    }
}

/// An entity of the local Port as seen by tests and in the state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalEntity {
    /// The identifier.
    pub identifier: String,
    /// The blueprint identifier.
    pub blueprint: String,
    /// The title, if any.
    #[serde(default)]
    pub title: Option<String>,
    /// The icon, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Owning teams.
    #[serde(default)]
    pub team: Vec<String>,
    /// Property values.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Relation targets.
    #[serde(default)]
    pub relations: Map<String, Value>,
    /// The datasource (the writer's Ocean user agent), if the writer was an Ocean integration.
    #[serde(default)]
    pub datasource: Option<String>,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Last write time, RFC 3339 UTC.
    pub updated_at: String,
    /// Who created it (the client id).
    #[serde(default)]
    pub created_by: String,
    /// Who last wrote it (the client id).
    #[serde(default)]
    pub updated_by: String,
}

impl LocalEntity {
    /// The stored row of blueprint `blueprint`, as tests and state files see it.
    pub(crate) fn from_stored(blueprint: &str, e: &StoredEntity) -> Self {
        Self {
            identifier: e.identifier.clone(),
            blueprint: blueprint.to_owned(),
            title: e.title.clone(),
            icon: e.icon.clone(),
            team: e.team.clone(),
            properties: e.properties.clone(),
            relations: e.relations.clone(),
            datasource: e.datasource.as_deref().map(str::to_owned),
            created_at: format_micros(e.created_at),
            updated_at: format_micros(e.updated_at),
            created_by: e.created_by.to_string(),
            updated_by: e.updated_by.to_string(),
        }
    }
}
