//! The catalog held by the local Port: blueprints and entity rows, with the reads Port
//! answers (one entity, searches, the datasource listing) and the bookkeeping of writes
//! (storing and removing a row, migrations). Port's write rules are in `writes`.
//!
//! Entities live in one map per blueprint. A second index, by datasource, keeps the
//! ownership listing (`datasource-entities`) a range walk instead of a scan of everything.
//! Every change to a row goes through [`Store::put`] or [`Store::remove`], which keep that
//! index in step.
//!
//! This module may use the entity rows, search queries, blueprint schemas, the clock and API
//! errors; never the request inputs or the write rules built on top of it.

use super::clock::{Clock, format_micros};
use super::entity::{LocalEntity, StoredEntity};
use super::error::ApiError;
use super::query::Query;
use super::schema::CompiledBlueprint;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

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

    /// Every entity of a blueprint, in no particular order.
    pub(super) fn entities_of(&self, blueprint: &str) -> impl Iterator<Item = &StoredEntity> {
        self.entities
            .get(blueprint)
            .into_iter()
            .flat_map(|m| m.values().map(|e| &**e))
    }

    /// The relations of every entity of a blueprint, to edit in place. Only relations: the
    /// identifier and datasource, which the index depends on, stay out of reach.
    pub(super) fn relations_of_mut(
        &mut self,
        blueprint: &str,
    ) -> impl Iterator<Item = &mut Map<String, Value>> {
        self.entities
            .get_mut(blueprint)
            .into_iter()
            .flat_map(|m| m.values_mut().map(|e| &mut e.relations))
    }

    /// Identifiers of every entity of a blueprint, in no particular order.
    pub(super) fn identifiers_of(&self, blueprint: &str) -> Vec<String> {
        self.entities
            .get(blueprint)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
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
    pub(super) fn put(&mut self, blueprint: &str, entity: StoredEntity) {
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

    /// Drops one entity from the datasource index.
    fn unindex(&mut self, datasource: &Arc<str>, blueprint: &str, id: &str) {
        if let Some(set) = self.by_datasource.get_mut(datasource) {
            set.remove(&(blueprint.to_owned(), id.to_owned()));
            if set.is_empty() {
                self.by_datasource.remove(datasource);
            }
        }
    }

    /// Removes an entity, keeping the datasource index in step.
    pub(super) fn remove(&mut self, blueprint: &str, id: &str) -> Option<StoredEntity> {
        let removed = self.entities.get_mut(blueprint)?.remove(id)?;
        if let Some(ds) = &removed.datasource {
            self.unindex(ds, blueprint, id);
        }
        Some(*removed)
    }

    /// Entities of `blueprint` matching `query`, in identifier order.
    pub(super) fn search_in(&self, blueprint: &str, query: &Query) -> Vec<&str> {
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
        for id in self.identifiers_of(blueprint) {
            self.remove(blueprint, &id);
        }
        self.entities.remove(blueprint);
    }
}
