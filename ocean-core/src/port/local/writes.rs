//! Port's entity write rules on top of the store: create, upsert (merge or replace) with
//! identifiers and relations given as searches, missing related entities (refused or created
//! as placeholders), and deletes that follow required relations to dependents.
//!
//! This module may use the store, the entity rows, the request inputs, search queries,
//! blueprint schemas, the clock and API errors; nothing below it uses this module.

use super::clock::Clock;
use super::entity::StoredEntity;
use super::error::ApiError;
use super::input::{
    EntityFailure, EntityInput, IdentifierInput, Patch, RelationInput, WriteOptions, Writer,
};
use super::schema::{CompiledBlueprint, is_valid_entity_identifier};
use super::store::Store;
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Outcome of a successful entity write.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub(crate) identifier: String,
    pub(crate) created: bool,
}

/// Outcome of a bulk delete.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deletion {
    pub(crate) deleted: Vec<String>,
    pub(crate) failed: Vec<(String, ApiError)>,
}

impl Store {
    /// Writes one entity with Port's rules (the body was checked by [`EntityInput::parse`]).
    pub(crate) fn write_entity(
        &mut self,
        blueprint: &CompiledBlueprint,
        input: EntityInput,
        options: WriteOptions,
        writer: &Writer,
        clock: &Clock,
    ) -> Result<Written, EntityFailure> {
        let bp = blueprint.identifier();
        let id = match input.identifier {
            IdentifierInput::Plain(id) => id,
            IdentifierInput::Search(query) => {
                let hits = self.search_in(bp, &query);
                match hits.as_slice() {
                    [one] => (*one).to_owned(),
                    [] => {
                        return Err(EntityFailure::new(
                            "unknown",
                            ApiError::not_found(format!(
                                "the search identifier matched no entity of blueprint \"{bp}\""
                            )),
                        ));
                    }
                    many => {
                        return Err(EntityFailure::new(
                            "unknown",
                            ApiError::invalid(format!(
                                "the search identifier matched {} entities of blueprint \"{bp}\"; \
                                 it must match exactly one",
                                many.len()
                            )),
                        ));
                    }
                }
            }
        };
        let fail = |error: ApiError| EntityFailure::new(&id, error);
        let existing = self.entity(bp, &id);
        if existing.is_some() && !options.upsert {
            return Err(fail(ApiError::conflict(format!(
                "an entity with identifier \"{id}\" already exists in blueprint \"{bp}\""
            ))));
        }

        // Resolve relations to identifiers and note the targets that do not exist.
        let mut relations: Vec<(String, Value)> = Vec::new();
        let mut missing: Vec<(String, String, String)> = Vec::new();
        for (name, value) in input.relations.into_iter().flatten() {
            let Some(schema) = blueprint.relations.get(&name) else {
                continue;
            };
            let target = schema.target.as_str();
            let ids: Vec<String> = match value {
                RelationInput::Null => {
                    relations.push((name, Value::Null));
                    continue;
                }
                RelationInput::One(t) => vec![t],
                RelationInput::Many(ts) => ts,
                RelationInput::Search(q) => {
                    let hits: Vec<String> = self
                        .search_in(target, &q)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    if !schema.many && hits.len() != 1 {
                        return Err(fail(ApiError::not_found(format!(
                            "the search of relation \"{name}\" matched {} entities of blueprint \
                             \"{target}\"; a single relation needs exactly one",
                            hits.len()
                        ))));
                    }
                    hits
                }
            };
            for t in &ids {
                if !is_valid_entity_identifier(t) {
                    return Err(fail(ApiError::invalid(format!(
                        "relation \"{name}\" points at \"{t}\", which is not a valid identifier"
                    ))));
                }
                let is_self = target == bp && *t == id;
                if !is_self && self.entity(target, t).is_none() {
                    missing.push((name.clone(), target.to_owned(), t.clone()));
                }
            }
            let value = if schema.many {
                Value::Array(ids.into_iter().map(Value::String).collect())
            } else {
                ids.into_iter().next().map_or(Value::Null, Value::String)
            };
            relations.push((name, value));
        }

        // The entity after this write: merged into the existing one, or replacing it.
        let now = clock.tick();
        let mut entity = match (existing, options.merge) {
            (Some(old), true) => old.clone(),
            (Some(old), false) => StoredEntity {
                title: None,
                icon: None,
                team: Vec::new(),
                properties: Map::new(),
                relations: Map::new(),
                ..old.clone()
            },
            (None, _) => StoredEntity {
                identifier: id.clone(),
                title: None,
                icon: None,
                team: Vec::new(),
                properties: Map::new(),
                relations: Map::new(),
                datasource: None,
                created_at: now,
                updated_at: now,
                created_by: writer.actor.clone(),
                updated_by: writer.actor.clone(),
            },
        };
        if let Patch::Set(title) = input.title {
            entity.title = title;
        }
        if let Patch::Set(icon) = input.icon {
            entity.icon = icon;
        }
        if let Patch::Set(team) = input.team {
            entity.team = team.unwrap_or_default();
        }
        for (name, value) in input.properties.into_iter().flatten() {
            entity.properties.insert(name, value);
        }
        for (name, value) in relations {
            entity.relations.insert(name, value);
        }
        blueprint
            .check_properties(&entity.properties, true)
            .map_err(&fail)?;
        for (name, schema) in &blueprint.relations {
            let set = entity.relations.get(name).is_some_and(|v| match v {
                Value::Array(items) => !items.is_empty(),
                other => !other.is_null(),
            });
            if schema.required && !set {
                return Err(fail(ApiError::schema_mismatch(format!(
                    "missing required relation \"{name}\" of blueprint \"{bp}\""
                ))));
            }
        }
        if !missing.is_empty() && !options.create_missing_related_entities {
            let (name, target, t) = &missing[0];
            return Err(fail(ApiError::not_found(format!(
                "related entity \"{t}\" of relation \"{name}\" was not found in blueprint \
                 \"{target}\" (set create_missing_related_entities=true to create it)"
            ))));
        }
        let created = existing.is_none();
        if options.validation_only {
            return Ok(Written {
                identifier: id,
                created,
            });
        }
        for (_, target, t) in missing {
            if self.entity(&target, &t).is_some() {
                continue;
            }
            let placeholder = StoredEntity {
                identifier: t,
                title: None,
                icon: None,
                team: Vec::new(),
                properties: Map::new(),
                relations: Map::new(),
                datasource: writer.datasource.clone(),
                created_at: now,
                updated_at: now,
                created_by: writer.actor.clone(),
                updated_by: writer.actor.clone(),
            };
            self.put(&target, placeholder);
        }
        entity.datasource = writer.datasource.clone();
        entity.updated_at = now;
        entity.updated_by = writer.actor.clone();
        self.put(bp, entity);
        Ok(Written {
            identifier: id,
            created,
        })
    }

    /// Blueprints with a relation to `target`: (blueprint, relation, required).
    fn relations_into(&self, target: &str) -> Vec<(String, String, bool)> {
        self.blueprints
            .values()
            .flat_map(|b| {
                b.relations
                    .iter()
                    .filter(|(_, r)| r.target == target)
                    .map(|(n, r)| (b.identifier().to_owned(), n.clone(), r.required))
            })
            .collect()
    }

    /// Deletes entities of one blueprint. With `delete_dependents`, entities whose required
    /// relation points at a deleted one go too; without it, an entity that others require is
    /// not deleted and is reported, and then nothing is deleted (Port fails the whole request).
    /// Identifiers that do not exist are reported as not found. Optional relations to deleted
    /// entities are cleared.
    pub(crate) fn delete_entities(
        &mut self,
        blueprint: &str,
        ids: &[String],
        delete_dependents: bool,
    ) -> Deletion {
        let mut out = Deletion::default();
        let mut doomed: HashSet<(String, String)> = HashSet::new();
        for id in ids {
            if self.entity(blueprint, id).is_some() {
                doomed.insert((blueprint.to_owned(), id.clone()));
            } else {
                out.failed.push((
                    id.clone(),
                    ApiError::not_found(format!(
                        "entity \"{id}\" was not found in blueprint \"{blueprint}\""
                    )),
                ));
            }
        }
        // Walk required relations until no new dependent appears.
        let mut frontier: Vec<(String, String)> = doomed.iter().cloned().collect();
        let mut blocked: HashMap<String, (String, String)> = HashMap::new();
        while !frontier.is_empty() {
            let mut targets: BTreeMap<String, HashSet<String>> = BTreeMap::new();
            for (bp, id) in frontier.drain(..) {
                targets.entry(bp).or_default().insert(id);
            }
            for (target_bp, target_ids) in &targets {
                for (src_bp, rel, required) in self.relations_into(target_bp) {
                    if !required {
                        continue;
                    }
                    for e in self.entities_of(&src_bp) {
                        let key = (src_bp.clone(), e.identifier.clone());
                        if doomed.contains(&key) {
                            continue;
                        }
                        let hit = e.relations.get(&rel).and_then(|v| {
                            StoredEntity::relation_targets(v).find(|t| target_ids.contains(*t))
                        });
                        if let Some(t) = hit {
                            if delete_dependents {
                                doomed.insert(key.clone());
                                frontier.push(key);
                            } else {
                                blocked.entry(t.to_owned()).or_insert(key);
                            }
                        }
                    }
                }
            }
        }
        for id in ids {
            if let Some((src_bp, src_id)) = blocked.get(id) {
                doomed.remove(&(blueprint.to_owned(), id.clone()));
                out.failed.push((
                    id.clone(),
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "has_dependents",
                        format!(
                            "entity \"{id}\" is required by \"{src_id}\" of blueprint \
                             \"{src_bp}\" (use delete_dependents=true to delete both)"
                        ),
                    ),
                ));
            }
        }
        // Port deletes all or nothing: one entity that cannot go keeps every other one.
        if !blocked.is_empty() && ids.iter().any(|id| blocked.contains_key(id)) {
            return out;
        }
        let mut by_bp: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (bp, id) in doomed {
            self.remove(&bp, &id);
            if bp == blueprint {
                out.deleted.push(id.clone());
            }
            by_bp.entry(bp).or_default().insert(id);
        }
        for (target_bp, gone) in &by_bp {
            for (src_bp, rel, _) in self.relations_into(target_bp) {
                for relations in self.relations_of_mut(&src_bp) {
                    match relations.get_mut(&rel) {
                        Some(Value::String(t)) if gone.contains(t.as_str()) => {
                            relations.insert(rel.clone(), Value::Null);
                        }
                        Some(Value::Array(items)) => {
                            items.retain(|v| v.as_str().is_none_or(|t| !gone.contains(t)));
                        }
                        _ => {}
                    }
                }
            }
        }
        let order: HashMap<&String, usize> =
            ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
        out.deleted
            .sort_by_key(|id| order.get(id).copied().unwrap_or(usize::MAX));
        out
    }

    /// Deletes every entity of a blueprint (and entities that require them); returns how many.
    pub(crate) fn delete_all_entities(&mut self, blueprint: &str) -> usize {
        let ids = self.identifiers_of(blueprint);
        self.delete_entities(blueprint, &ids, true).deleted.len()
    }
}
