//! Entity write requests, parsed: a request body turned into a validated [`EntityInput`],
//! with the query flags ([`WriteOptions`]) and the writer ([`Writer`]) of the write, and the
//! per-entity failure ([`EntityFailure`]) a write reports.
//!
//! Parsing checks what needs no other entity (shape, identifier pattern, property schema), so
//! it runs before the store is locked. This module may use search queries (an identifier or a
//! relation given as a search), blueprint schemas and API errors; never the store.

use super::error::{ApiError, describe};
use super::query::Query;
use super::schema::{CompiledBlueprint, is_valid_entity_identifier};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A value that may be absent, explicitly null, or set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Patch<T> {
    /// Not sent: the write leaves the value as it is (or empty on a replace).
    Absent,
    /// Sent, as a value or as null.
    Set(Option<T>),
}

/// How an entity names itself: a plain identifier or a search resolved against the blueprint.
#[derive(Debug, Clone)]
pub(crate) enum IdentifierInput {
    /// The identifier itself.
    Plain(String),
    /// A search that must match exactly one entity of the blueprint.
    Search(Query),
}

/// A relation value as sent.
#[derive(Debug, Clone)]
pub(crate) enum RelationInput {
    /// No target.
    Null,
    /// One target identifier.
    One(String),
    /// Target identifiers of a many-relation.
    Many(Vec<String>),
    /// The targets a search finds in the relation's target blueprint.
    Search(Query),
}

/// An entity body after the checks that need no lock (shape, properties).
#[derive(Debug, Clone)]
pub(crate) struct EntityInput {
    /// Which entity is written.
    pub(crate) identifier: IdentifierInput,
    /// The title, if sent.
    pub(crate) title: Patch<String>,
    /// The icon, if sent.
    pub(crate) icon: Patch<String>,
    /// Owning teams, if sent.
    pub(crate) team: Patch<Vec<String>>,
    /// Property values sent, already checked against the blueprint's property schemas.
    pub(crate) properties: Option<Map<String, Value>>,
    /// Relations sent, each defined by the blueprint.
    pub(crate) relations: Option<Vec<(String, RelationInput)>>,
}

/// Why one entity of a write failed; `identifier` is `"unknown"` when a search did not resolve.
#[derive(Debug, Clone)]
pub(crate) struct EntityFailure {
    pub(crate) identifier: String,
    pub(crate) error: ApiError,
}

impl EntityFailure {
    /// The failure of entity `identifier`.
    pub(crate) fn new(identifier: &str, error: ApiError) -> Self {
        Self {
            identifier: identifier.to_owned(),
            error,
        }
    }
}

/// Query flags of an entity write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions {
    pub(crate) upsert: bool,
    pub(crate) merge: bool,
    pub(crate) create_missing_related_entities: bool,
    pub(crate) validation_only: bool,
}

/// Who writes: the datasource (from the user agent) and the actor (the client id).
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    pub(crate) datasource: Option<Arc<str>>,
    pub(crate) actor: Arc<str>,
}

fn optional_string(field: &str, value: Option<Value>) -> Result<Patch<String>, ApiError> {
    match value {
        None => Ok(Patch::Absent),
        Some(Value::Null) => Ok(Patch::Set(None)),
        Some(Value::String(s)) => Ok(Patch::Set(Some(s))),
        Some(other) => Err(ApiError::schema_mismatch(format!(
            "\"{field}\" must be a string or null, got {}",
            describe(&other)
        ))),
    }
}

impl EntityInput {
    /// Checks an entity body against its blueprint, without looking at other entities.
    /// On failure, returns the identifier to report with the error.
    pub(crate) fn parse(
        value: Value,
        blueprint: &CompiledBlueprint,
    ) -> Result<Self, EntityFailure> {
        let Value::Object(mut obj) = value else {
            return Err(EntityFailure::new(
                "unknown",
                ApiError::invalid(format!(
                    "expected an entity object, got {}",
                    describe(&value)
                )),
            ));
        };
        let identifier = match obj.remove("identifier") {
            Some(Value::String(id)) => {
                if !is_valid_entity_identifier(&id) {
                    return Err(EntityFailure::new(
                        &id,
                        ApiError::invalid(format!(
                            "identifier \"{}\" must match ^[A-Za-z0-9@_.+:\\/=-]+$ and have at most \
                             1000 characters",
                            id.chars().take(100).collect::<String>()
                        )),
                    ));
                }
                IdentifierInput::Plain(id)
            }
            Some(query @ Value::Object(_)) => IdentifierInput::Search(
                Query::parse(&query).map_err(|e| EntityFailure::new("unknown", e))?,
            ),
            other => {
                return Err(EntityFailure::new(
                    "unknown",
                    ApiError::invalid(format!(
                        "\"identifier\" must be a string or a search query, got {}",
                        other.as_ref().map_or("nothing".into(), describe)
                    )),
                ));
            }
        };
        let shown = match &identifier {
            IdentifierInput::Plain(id) => id.clone(),
            IdentifierInput::Search(_) => "unknown".to_owned(),
        };
        let fail = |error: ApiError| EntityFailure::new(&shown, error);
        match obj.remove("blueprint") {
            None | Some(Value::Null) => {}
            Some(Value::String(bp)) if bp == blueprint.identifier() => {}
            Some(other) => {
                return Err(fail(ApiError::invalid(format!(
                    "\"blueprint\" is {} but the request is for blueprint \"{}\"",
                    describe(&other),
                    blueprint.identifier()
                ))));
            }
        }
        let title = optional_string("title", obj.remove("title")).map_err(&fail)?;
        let icon = optional_string("icon", obj.remove("icon")).map_err(&fail)?;
        let team = match obj.remove("team") {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Set(None),
            Some(Value::String(t)) => Patch::Set(Some(vec![t])),
            Some(Value::Array(items)) => {
                let mut teams = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(t) => teams.push(t),
                        other => {
                            return Err(fail(ApiError::schema_mismatch(format!(
                                "\"team\" must list team names, got {}",
                                describe(&other)
                            ))));
                        }
                    }
                }
                Patch::Set(Some(teams))
            }
            // Team search queries resolve against Port's teams, which the local Port does not
            // hold: the entity gets no team rather than a wrong one.
            Some(Value::Object(_)) => Patch::Set(None),
            Some(other) => {
                return Err(fail(ApiError::schema_mismatch(format!(
                    "\"team\" must be a string, a list of strings or null, got {}",
                    describe(&other)
                ))));
            }
        };
        let properties = match obj.remove("properties") {
            None | Some(Value::Null) => None,
            Some(Value::Object(props)) => {
                blueprint.check_properties(&props, false).map_err(&fail)?;
                Some(props)
            }
            Some(other) => {
                return Err(fail(ApiError::schema_mismatch(format!(
                    "\"properties\" must be an object, got {}",
                    describe(&other)
                ))));
            }
        };
        let relations = match obj.remove("relations") {
            None | Some(Value::Null) => None,
            Some(Value::Object(rels)) => {
                let mut parsed = Vec::with_capacity(rels.len());
                for (name, value) in rels {
                    let Some(schema) = blueprint.relations.get(&name) else {
                        return Err(fail(ApiError::schema_mismatch(format!(
                            "relation \"{name}\" is not defined in blueprint \"{}\"",
                            blueprint.identifier()
                        ))));
                    };
                    let input = match value {
                        Value::Null => RelationInput::Null,
                        Value::Object(_) => {
                            RelationInput::Search(Query::parse(&value).map_err(&fail)?)
                        }
                        Value::String(id) if !schema.many => RelationInput::One(id),
                        Value::Array(items) if schema.many => {
                            let mut ids = Vec::with_capacity(items.len());
                            for item in items {
                                match item {
                                    Value::String(id) => ids.push(id),
                                    other => {
                                        return Err(fail(ApiError::schema_mismatch(format!(
                                            "relation \"{name}\" must list identifiers, got {}",
                                            describe(&other)
                                        ))));
                                    }
                                }
                            }
                            RelationInput::Many(ids)
                        }
                        other => {
                            let expected = if schema.many {
                                "an array of identifiers (it is a many relation)"
                            } else {
                                "a single identifier (it is not a many relation)"
                            };
                            return Err(fail(ApiError::schema_mismatch(format!(
                                "relation \"{name}\" must be {expected}, got {}",
                                describe(&other)
                            ))));
                        }
                    };
                    parsed.push((name, input));
                }
                Some(parsed)
            }
            Some(other) => {
                return Err(fail(ApiError::schema_mismatch(format!(
                    "\"relations\" must be an object, got {}",
                    describe(&other)
                ))));
            }
        };
        if let Some(unknown) = obj.keys().find(|k| !is_read_only_entity_field(k)) {
            return Err(fail(ApiError::schema_mismatch(format!(
                "unknown entity field \"{unknown}\""
            ))));
        }
        Ok(Self {
            identifier,
            title,
            icon,
            team,
            properties,
            relations,
        })
    }
}

/// Fields Port returns on an entity and ignores when they are sent back.
fn is_read_only_entity_field(name: &str) -> bool {
    matches!(
        name,
        "createdAt" | "createdBy" | "updatedAt" | "updatedBy" | "scorecards" | "scorecardsStats"
    )
}
