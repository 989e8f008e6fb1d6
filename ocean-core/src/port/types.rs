//! Wire types of the Port REST API, shared by the Port client and the local Port.
//!
//! Field names follow Port's JSON (camelCase). Unknown fields are kept in `extra` maps so that
//! a value read from Port can be written back without losing anything.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Deserializes a present field (even an explicit `null`) as `Some`, so that "absent" and
/// "null" stay different: the mapping engine only emits keys that the mapping has.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// An entity as sent to Port (upsert body) or read back from it.
///
/// `identifier` is a string, or a search query object that Port resolves server side. Optional
/// fields are `None` when absent and `Some(Value::Null)` when explicitly null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity identifier, or a search query (`{combinator, rules}`) resolving to one.
    pub identifier: Value,
    /// The blueprint identifier.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blueprint: String,
    /// Display title.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Value>,
    /// Icon name.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Value>,
    /// Owning team(s): a string, a list of strings, or a search query.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Value>,
    /// Property values by property identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Relation targets by relation identifier: an identifier, a list, null, or a search query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relations: Option<Map<String, Value>>,
    /// Fields Port adds (createdAt, updatedAt, createdBy, ...), kept when reading.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Entity {
    /// A new entity with only an identifier and a blueprint.
    pub fn new(identifier: impl Into<String>, blueprint: impl Into<String>) -> Self {
        Self {
            identifier: Value::String(identifier.into()),
            blueprint: blueprint.into(),
            title: None,
            icon: None,
            team: None,
            properties: None,
            relations: None,
            extra: Map::new(),
        }
    }

    /// The identifier when it is a plain string (not a search query).
    pub fn identifier_str(&self) -> Option<&str> {
        self.identifier.as_str()
    }

    /// True when the identifier is a search query that Port resolves server side.
    pub fn uses_search_identifier(&self) -> bool {
        self.identifier.is_object()
    }

    /// True when any relation value (or the team) is a search query.
    pub fn uses_search_relation(&self) -> bool {
        let relation_search = self
            .relations
            .as_ref()
            .is_some_and(|r| r.values().any(Value::is_object));
        let team_search = match &self.team {
            Some(Value::Object(_)) => true,
            Some(Value::Array(items)) => items.iter().any(Value::is_object),
            _ => false,
        };
        relation_search || team_search
    }

    /// The identifier normalised to a string key: the string itself, or the sorted-key JSON of
    /// a search query.
    pub fn normalized_identifier(&self) -> String {
        normalize_identifier(&self.identifier)
    }
}

/// Normalises an identifier value to a string key (strings as is, anything else as JSON with
/// object keys sorted).
pub fn normalize_identifier(identifier: &Value) -> String {
    match identifier {
        Value::String(s) => s.clone(),
        other => sorted_json(other),
    }
}

fn sorted_json(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::with_capacity(map.len());
                for k in keys {
                    out.insert(k.clone(), sort(&map[k]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// How the rules of a query group combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combinator {
    /// Every rule must match.
    And,
    /// At least one rule must match.
    Or,
}

/// A node of a Port search query tree: a group of rules or a single rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueryNode {
    /// `{combinator, rules}`.
    Group(Query),
    /// `{property, operator, value}`.
    Rule(QueryRule),
}

/// A Port search query: `{"combinator": "and", "rules": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// How the rules combine.
    pub combinator: Combinator,
    /// The rules and nested groups.
    pub rules: Vec<QueryNode>,
}

/// One rule of a search query, e.g. `{"property": "$identifier", "operator": "in", "value": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRule {
    /// The property: a blueprint property or a meta property such as `$identifier`,
    /// `$blueprint`, `$datasource`, `$updatedAt`, `$title`, `$team`.
    pub property: String,
    /// The operator: `=`, `!=`, `in`, `notIn`, `contains`, `doesNotContains`, `beginsWith`,
    /// `endsWith`, `>`, `>=`, `<`, `<=`, `isEmpty`, `isNotEmpty`, `between`.
    pub operator: String,
    /// The value to compare with (absent for `isEmpty`/`isNotEmpty`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

impl Query {
    /// A group combining `rules` with `and`.
    pub fn and(rules: Vec<QueryNode>) -> Self {
        Self {
            combinator: Combinator::And,
            rules,
        }
    }

    /// A group combining `rules` with `or`.
    pub fn or(rules: Vec<QueryNode>) -> Self {
        Self {
            combinator: Combinator::Or,
            rules,
        }
    }
}

impl QueryNode {
    /// A rule node.
    pub fn rule(property: impl Into<String>, operator: impl Into<String>, value: Value) -> Self {
        QueryNode::Rule(QueryRule {
            property: property.into(),
            operator: operator.into(),
            value,
        })
    }
}

/// Response of `POST /v1/blueprints/{bp}/entities/bulk`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkUpsertResponse {
    /// Entities that were stored, by their index in the request.
    #[serde(default)]
    pub entities: Vec<BulkEntityResult>,
    /// Entities that were rejected, by their index in the request.
    #[serde(default)]
    pub errors: Vec<BulkEntityError>,
}

/// One stored entity in a bulk upsert response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkEntityResult {
    /// Index of the entity in the request.
    pub index: usize,
    /// The identifier Port stored (a search identifier resolves to the real one here).
    pub identifier: String,
    /// True when the entity was created, false when it was updated.
    pub created: bool,
}

/// One rejected entity in a bulk upsert response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkEntityError {
    /// Index of the entity in the request.
    pub index: usize,
    /// The identifier of the entity, or `"unknown"` when a search identifier did not resolve.
    pub identifier: String,
    /// HTTP status Port would have answered for this entity alone.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Port's error code, e.g. `not_found` or `schema_mismatch`.
    pub error: String,
    /// Port's human readable message.
    pub message: String,
}

/// Port's error body: `{"ok": false, "error": "<code>", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortErrorBody {
    /// Always false.
    #[serde(default)]
    pub ok: bool,
    /// Error code, e.g. `not_found`, `schema_mismatch`, `invalid_request`, `conflict`.
    #[serde(default)]
    pub error: String,
    /// Human readable message.
    #[serde(default)]
    pub message: String,
    /// Optional details (e.g. the failing schema path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// A blueprint: the schema of one kind of entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blueprint {
    /// Blueprint identifier.
    pub identifier: String,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Property schemas.
    #[serde(default)]
    pub schema: BlueprintSchema,
    /// Relations to other blueprints.
    #[serde(default)]
    pub relations: Map<String, Value>,
    /// Everything else (calculationProperties, mirrorProperties, aggregationProperties,
    /// teamInheritance, ownership, createdAt, ...), kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Blueprint {
    /// The relation definitions that parse as [`RelationSchema`], by name.
    pub fn relation_schemas(&self) -> impl Iterator<Item = (&str, RelationSchema)> {
        self.relations.iter().filter_map(|(name, v)| {
            serde_json::from_value::<RelationSchema>(v.clone())
                .ok()
                .map(|r| (name.as_str(), r))
        })
    }
}

/// The `schema` of a blueprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlueprintSchema {
    /// Property definitions by identifier (JSON-schema like: `type`, `format`, `enum`, ...).
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Identifiers of required properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

/// A relation of a blueprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationSchema {
    /// The target blueprint identifier.
    pub target: String,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether every entity must have this relation.
    #[serde(default)]
    pub required: bool,
    /// Whether the relation holds a list of identifiers.
    #[serde(default)]
    pub many: bool,
}

/// The resync state Ocean reports on its integration (`PATCH /v1/integration/{id}/resync-state`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResyncState {
    /// `running`, `completed`, `failed` or `aborted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When the last resync started (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resync_start: Option<String>,
    /// When the last resync ended (ISO 8601), null while running.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_resync_end: Option<Value>,
    /// When the next scheduled resync is due (ISO 8601) or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_resync: Option<Value>,
    /// The scheduled interval in minutes. The wire name is misspelt on purpose: it is Port's.
    #[serde(
        rename = "intervalInMinuets",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval_in_minutes: Option<Value>,
    /// Set by Port when the state was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// An integration installation in Port (`GET /v1/integration/{id}` → `integration`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// The installation identifier (`OCEAN__INTEGRATION__IDENTIFIER`).
    #[serde(default)]
    pub installation_id: String,
    /// The integration type (`installationAppType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_app_type: Option<String>,
    /// The integration version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The port-app-config (resource mapping), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// The last reported resync state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_state: Option<ResyncState>,
    /// Everything else Port returns (installationType, logAttributes, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A webhook of Port's webhooks service (`/v1/webhooks`): an incoming data source that turns
/// the payloads sent to its URL into entities with its `mappings`.
///
/// The fields are those of Port's schema; Port refuses any other on write, and answers more on
/// read (`url`, `webhookKey`, `createdAt`, ...), which are kept in `extra` so that a webhook read
/// back loses nothing. `security.secret` is write-only: Port never returns it in clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Unique identifier (at most 30 characters); Port makes one up when it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Display title (at most 30 characters); required on creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Mappings of incoming payloads to entities (`blueprint`, `filter`, `itemsToParse`,
    /// `entity`, `operation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<Value>>,
    /// Whether payloads are processed; required on creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How deliveries are verified (`secret`, `signatureHeaderName`, `signatureAlgorithm`,
    /// `signaturePrefix`, `requestIdentifierPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Map<String, Value>>,
    /// The integration type tag, e.g. `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<String>,
    /// Fields Port answers that are not part of the write schema (`url`, `webhookKey`,
    /// `createdAt`, `updatedAt`, ...), or fields of a newer Port this type does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of `GET /v1/webhooks` (Port answers the webhooks under `integrations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookPage {
    /// The webhooks of this page.
    #[serde(default, rename = "integrations")]
    pub webhooks: Vec<Webhook>,
    /// Everything else Port answers (`ok`, paging fields).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entity_keeps_explicit_null_and_omits_absent_fields() {
        let e: Entity = serde_json::from_value(json!({
            "identifier": "a", "blueprint": "svc", "title": null, "properties": {"url": null}
        }))
        .unwrap();
        assert_eq!(e.title, Some(Value::Null));
        assert_eq!(e.icon, None);
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(
            back,
            json!({"identifier": "a", "blueprint": "svc", "title": null, "properties": {"url": null}})
        );
    }

    #[test]
    fn search_identifier_and_relation_are_detected() {
        let e: Entity = serde_json::from_value(json!({
            "identifier": {"combinator": "and", "rules": []}, "blueprint": "svc",
            "relations": {"owner": {"combinator": "and", "rules": []}}
        }))
        .unwrap();
        assert!(e.uses_search_identifier());
        assert!(e.uses_search_relation());
        assert_eq!(
            e.normalized_identifier(),
            r#"{"combinator":"and","rules":[]}"#
        );
    }

    #[test]
    fn query_tree_round_trips() {
        let q: Query = serde_json::from_value(json!({
            "combinator": "and",
            "rules": [
                {"property": "$identifier", "operator": "in", "value": ["a", "b"]},
                {"combinator": "or", "rules": [{"property": "$blueprint", "operator": "=", "value": "svc"}]}
            ]
        }))
        .unwrap();
        assert!(matches!(q.rules[1], QueryNode::Group(_)));
        let back = serde_json::to_value(&q).unwrap();
        assert_eq!(back["rules"][0]["value"], json!(["a", "b"]));
    }

    #[test]
    fn resync_state_uses_port_wire_names() {
        let s = ResyncState {
            status: Some("running".into()),
            interval_in_minutes: Some(Value::Null),
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v, json!({"status": "running", "intervalInMinuets": null}));
    }
}
