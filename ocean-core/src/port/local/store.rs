//! The catalog held by the local Port: blueprints and entities, with Port's write rules.
//!
//! Entities live in one map per blueprint. A second index, by datasource, keeps the
//! ownership listing (`datasource-entities`) a range walk instead of a scan of everything.

use super::clock::{Clock, format_micros};
use super::entity::{LocalEntity, StoredEntity};
use super::error::ApiError;
use super::input::{
    EntityFailure, EntityInput, IdentifierInput, Patch, RelationInput, WriteOptions, Writer,
};
use super::query::Query;
use super::schema::{CompiledBlueprint, is_valid_entity_identifier};
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

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

/// Position in the datasource listing: the last entity of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor(pub(crate) String, pub(crate) String, pub(crate) String);

/// Blueprints and entities.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) blueprints: BTreeMap<String, Arc<CompiledBlueprint>>,
    /// Boxed: the table stays small, so growing it to millions of entities moves pointers,
    /// not whole entities.
    entities: HashMap<String, HashMap<String, Box<StoredEntity>>>,
    by_datasource: BTreeMap<Arc<str>, BTreeSet<(String, String)>>,
    pub(crate) migrations: BTreeMap<String, Value>,
}

impl Store {
    /// The blueprint, or 404 in Port's words.
    pub(crate) fn blueprint(&self, id: &str) -> Result<&Arc<CompiledBlueprint>, ApiError> {
        self.blueprints
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("blueprint \"{id}\" was not found")))
    }

    /// Number of entities of a blueprint.
    pub(crate) fn entity_count(&self, blueprint: &str) -> usize {
        self.entities.get(blueprint).map_or(0, HashMap::len)
    }

    /// Number of entities in all blueprints.
    pub(crate) fn total_entities(&self) -> usize {
        self.entities.values().map(HashMap::len).sum()
    }

    /// One entity.
    pub(crate) fn entity(&self, blueprint: &str, id: &str) -> Option<&StoredEntity> {
        self.entities.get(blueprint)?.get(id).map(|e| &**e)
    }

    /// Entities of a blueprint in identifier order, as tests see them.
    pub(crate) fn local_entities(&self, blueprint: &str) -> Vec<LocalEntity> {
        let mut out: Vec<LocalEntity> = self
            .entities
            .get(blueprint)
            .map(|m| {
                m.values()
                    .map(|e| LocalEntity::from_stored(blueprint, e))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        out
    }

    /// Every entity, blueprint by blueprint, in identifier order.
    pub(crate) fn all_local_entities(&self) -> Vec<LocalEntity> {
        let mut blueprints: Vec<&String> = self.entities.keys().collect();
        blueprints.sort();
        blueprints
            .into_iter()
            .flat_map(|bp| self.local_entities(bp))
            .collect()
    }

    /// The newest write time held (to keep the clock ahead of a loaded state).
    pub(crate) fn newest_write(&self) -> i64 {
        self.entities
            .values()
            .flat_map(HashMap::values)
            .map(|e| e.updated_at.max(e.created_at))
            .max()
            .unwrap_or(0)
    }

    /// Inserts an entity read from a state file.
    pub(crate) fn load_entity(&mut self, e: LocalEntity) -> Result<(), String> {
        let (blueprint, stored) = StoredEntity::from_local(e)?;
        if !self.blueprints.contains_key(&blueprint) {
            return Err(format!(
                "entity \"{}\" belongs to blueprint \"{blueprint}\", which the state does not define",
                stored.identifier
            ));
        }
        self.put(&blueprint, stored);
        Ok(())
    }

    /// Stores an entity, keeping the datasource index in step.
    fn put(&mut self, blueprint: &str, entity: StoredEntity) {
        let old_ds = self
            .entity(blueprint, &entity.identifier)
            .and_then(|e| e.datasource.clone());
        if old_ds != entity.datasource {
            if let Some(old) = old_ds {
                self.unindex(&old, blueprint, &entity.identifier);
            }
            if let Some(ds) = &entity.datasource {
                self.by_datasource
                    .entry(ds.clone())
                    .or_default()
                    .insert((blueprint.to_owned(), entity.identifier.clone()));
            }
        }
        self.entities
            .entry(blueprint.to_owned())
            .or_default()
            .insert(entity.identifier.clone(), Box::new(entity));
    }

    fn unindex(&mut self, datasource: &Arc<str>, blueprint: &str, id: &str) {
        if let Some(set) = self.by_datasource.get_mut(datasource) {
            set.remove(&(blueprint.to_owned(), id.to_owned()));
            if set.is_empty() {
                self.by_datasource.remove(datasource);
            }
        }
    }

    fn remove(&mut self, blueprint: &str, id: &str) -> Option<StoredEntity> {
        let removed = self.entities.get_mut(blueprint)?.remove(id)?;
        if let Some(ds) = &removed.datasource {
            self.unindex(ds, blueprint, id);
        }
        Some(*removed)
    }

    /// Entities of `blueprint` matching `query`, in identifier order.
    fn search_in(&self, blueprint: &str, query: &Query) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .entities
            .get(blueprint)
            .map(|m| {
                m.values()
                    .filter(|e| query.matches(blueprint, e))
                    .map(|e| e.identifier.as_str())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Entities matching a search query, in (blueprint, identifier) order.
    pub(crate) fn search(&self, query: &Query) -> Vec<(&str, &StoredEntity)> {
        let mut hits: Vec<(&str, &StoredEntity)> =
            match (query.blueprint_scope(), query.identifier_scope()) {
                (Some(bp), Some(ids)) => self
                    .entities
                    .get_key_value(bp)
                    .map(|(bp, m)| {
                        let mut seen = std::collections::HashSet::new();
                        ids.into_iter()
                            .filter(|id| seen.insert(*id))
                            .filter_map(|id| m.get(id))
                            .filter(|e| query.matches(bp, e))
                            .map(|e| (bp.as_str(), &**e))
                            .collect()
                    })
                    .unwrap_or_default(),
                (Some(bp), None) => self
                    .entities
                    .get_key_value(bp)
                    .map(|(bp, m)| {
                        m.values()
                            .filter(|e| query.matches(bp, e))
                            .map(|e| (bp.as_str(), &**e))
                            .collect()
                    })
                    .unwrap_or_default(),
                (None, _) => self
                    .entities
                    .iter()
                    .flat_map(|(bp, m)| {
                        m.values()
                            .filter(|e| query.matches(bp, e))
                            .map(move |e| (bp.as_str(), &**e))
                    })
                    .collect(),
            };
        hits.sort_unstable_by(|a, b| (a.0, &a.1.identifier).cmp(&(b.0, &b.1.identifier)));
        hits
    }

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
    /// not deleted and is reported. Optional relations to deleted entities are cleared.
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
                    let Some(map) = self.entities.get(&src_bp) else {
                        continue;
                    };
                    for e in map.values() {
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
                let Some(map) = self.entities.get_mut(&src_bp) else {
                    continue;
                };
                for e in map.values_mut() {
                    match e.relations.get_mut(&rel) {
                        Some(Value::String(t)) if gone.contains(t.as_str()) => {
                            e.relations.insert(rel.clone(), Value::Null);
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
        let ids: Vec<String> = self
            .entities
            .get(blueprint)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        self.delete_entities(blueprint, &ids, true).deleted.len()
    }

    /// One page of entities whose datasource starts with `prefix` and ends with `suffix`,
    /// last written before `before`, in (datasource, blueprint, identifier) order.
    pub(crate) fn datasource_page(
        &self,
        prefix: &str,
        suffix: &str,
        before: Option<i64>,
        limit: usize,
        from: Option<&Cursor>,
    ) -> (Vec<Value>, Option<Cursor>) {
        let start: Bound<&str> = match from {
            Some(c) if c.0.as_str() > prefix => Bound::Included(c.0.as_str()),
            _ => Bound::Included(prefix),
        };
        let mut page = Vec::with_capacity(limit.min(1024));
        let mut last: Option<Cursor> = None;
        let datasources = self
            .by_datasource
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(ds, _)| ds.starts_with(prefix))
            .filter(|(ds, _)| ds.starts_with(prefix) && ds.ends_with(suffix));
        for (ds, members) in datasources {
            let inner: Box<dyn Iterator<Item = &(String, String)>> = match from {
                Some(c) if *c.0 == **ds => Box::new(members.range((
                    Bound::Excluded((c.1.clone(), c.2.clone())),
                    Bound::Unbounded,
                ))),
                _ => Box::new(members.iter()),
            };
            for (bp, id) in inner {
                let Some(e) = self.entity(bp, id) else {
                    continue;
                };
                if before.is_some_and(|b| e.updated_at >= b) {
                    continue;
                }
                if page.len() == limit {
                    return (page, last);
                }
                page.push(e.to_json(bp));
                last = Some(Cursor(ds.to_string(), bp.clone(), id.clone()));
            }
        }
        (page, None)
    }

    /// Records a finished migration (the local Port deletes synchronously).
    pub(crate) fn record_migration(&mut self, blueprint: &str, clock: &Clock) -> String {
        let id = format!("migration_{}", uuid::Uuid::new_v4().simple());
        let at = format_micros(clock.tick());
        self.migrations.insert(
            id.clone(),
            json!({"id": id, "status": "COMPLETED", "sourceBlueprint": blueprint,
                   "actor": {}, "mapping": {}, "createdAt": at, "updatedAt": at}),
        );
        id
    }

    /// Removes a blueprint's entity map (the blueprint itself is removed by the caller).
    pub(crate) fn drop_blueprint_entities(&mut self, blueprint: &str) {
        let ids: Vec<String> = self
            .entities
            .get(blueprint)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.remove(blueprint, &id);
        }
        self.entities.remove(blueprint);
    }
}
