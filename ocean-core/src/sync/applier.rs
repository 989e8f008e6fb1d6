//! The applier: writes mapped entities to Port and deletes entities, with the port-app-config's
//! options. The one path to Port for resyncs and live events alike: upsert options,
//! relation-order retries of entities whose related entity was missing,
//! `deleteDependentEntities` ordering, and deletes restricted to what the integration owns.

use super::topo;
use crate::mapping::PortAppConfig;
use crate::port::Entity;
use crate::port::client::{
    DeleteOptions, EntityUpsert, EventInfo, PortClient, UpsertFailure, UpsertOptions, UpsertStatus,
};
use crate::port::types::{Query, QueryNode};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use tokio_util::sync::CancellationToken;

/// Failures quoted in one log line.
const LOGGED_SAMPLES: usize = 5;

/// Candidates looked up per ownership search before an owned-only delete.
const OWNERSHIP_SEARCH_CHUNK: usize = 100;

/// Blueprints deleted from concurrently when dependents go too.
const DELETE_BLUEPRINT_CONCURRENCY: usize = 4;

/// Writes entities to Port and deletes them, with fixed options.
#[derive(Debug, Clone)]
pub struct Applier {
    port: PortClient,
    upsert: UpsertOptions,
    delete: DeleteOptions,
}

/// What an upsert did, entity by entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpsertSummary {
    /// One result per entity, in input order; stored entities carry the identifier Port stored.
    pub results: Vec<EntityUpsert>,
    /// Entities Port stored.
    pub upserted: u64,
    /// Entities Port did not store.
    pub failed: u64,
}

impl UpsertSummary {
    /// The entities that failed because an entity they relate to does not exist (yet).
    pub fn missing_related(&self) -> impl Iterator<Item = &Entity> {
        self.results.iter().filter_map(|r| match &r.status {
            UpsertStatus::Failed(f) if is_missing_related(f) => Some(&r.entity),
            _ => None,
        })
    }
}

/// True when Port rejected an entity because a related entity is missing: 404 `not_found`.
pub fn is_missing_related(failure: &UpsertFailure) -> bool {
    failure.status == Some(404) && failure.error == "not_found"
}

/// An entity Port did not store or delete, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityFailure {
    /// The entity's blueprint.
    pub blueprint: String,
    /// The entity's identifier (normalized).
    pub identifier: String,
    /// What Port (or the request) said.
    pub reason: String,
}

impl EntityFailure {
    fn of(entity: &Entity, reason: impl Into<String>) -> Self {
        Self {
            blueprint: entity.blueprint.clone(),
            identifier: entity.normalized_identifier(),
            reason: reason.into(),
        }
    }
}

/// What a retry of failed upserts did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetrySummary {
    /// Entities stored on retry, as Port answered them.
    pub stored: Vec<Entity>,
    /// Entities that failed again (or were not retried because the retry was cancelled).
    pub failures: Vec<EntityFailure>,
    /// True when the relations formed a cycle and registration order was used.
    pub cyclic: bool,
}

/// What a delete did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteSummary {
    /// Entities Port reports deleted.
    pub deleted: u64,
    /// Entities that could not be deleted.
    pub failed: u64,
    /// Deleted entities per blueprint.
    pub deleted_by_blueprint: HashMap<String, u64>,
    /// The entities that could not be deleted, and why.
    pub failures: Vec<EntityFailure>,
    /// The deleted entities, as (blueprint, identifier).
    pub deleted_entities: Vec<(String, String)>,
}

impl Applier {
    /// An applier writing through `port` with these options.
    pub fn new(port: PortClient, upsert: UpsertOptions, delete: DeleteOptions) -> Self {
        Self {
            port,
            upsert,
            delete,
        }
    }

    /// An applier with the options of `config` (`enableMergeEntity`,
    /// `createMissingRelatedEntities`, `deleteDependentEntities`) and the event `event`.
    pub fn for_config(port: PortClient, config: &PortAppConfig, event: Option<EventInfo>) -> Self {
        Self::new(
            port,
            UpsertOptions {
                merge: config.enable_merge_entity,
                create_missing_related_entities: config.create_missing_related_entities,
                event: event.clone(),
            },
            DeleteOptions {
                delete_dependents: config.delete_dependent_entities,
                event,
            },
        )
    }

    /// The Port client.
    pub fn port(&self) -> &PortClient {
        &self.port
    }

    /// The upsert options.
    pub fn upsert_options(&self) -> &UpsertOptions {
        &self.upsert
    }

    /// The delete options.
    pub fn delete_options(&self) -> &DeleteOptions {
        &self.delete
    }

    /// Upserts `entities` with Port's bulk endpoint (grouped by blueprint, chunked, concurrent).
    /// Never fails as a whole: per-entity failures are counted and logged with samples.
    pub async fn upsert(&self, entities: Vec<Entity>) -> UpsertSummary {
        if entities.is_empty() {
            return UpsertSummary::default();
        }
        tracing::info!(
            count = entities.len(),
            "Upserting {} entities",
            entities.len()
        );
        let outcome = self.port.upsert_entities_bulk(entities, &self.upsert).await;
        let mut summary = UpsertSummary::default();
        let mut samples = Vec::new();
        for result in &outcome.results {
            match &result.status {
                UpsertStatus::Stored { .. } => summary.upserted += 1,
                UpsertStatus::Failed(f) | UpsertStatus::Unresolved(f) => {
                    summary.failed += 1;
                    if samples.len() < LOGGED_SAMPLES {
                        samples.push(failure_sample(&result.entity, f));
                    }
                }
            }
        }
        if summary.failed > 0 {
            tracing::error!(
                failed = summary.failed,
                upserted = summary.upserted,
                samples = ?samples,
                "Failed to upsert {} entities",
                summary.failed
            );
        }
        summary.results = outcome.results;
        summary
    }

    /// Upserts `entities` one at a time, relation targets first (`topo::order_by_relations`),
    /// or in the given order when their relations form a cycle. Stops early when `cancel`
    /// fires. Used for entities that failed because a related entity was missing.
    pub async fn retry_in_relation_order(
        &self,
        entities: Vec<Entity>,
        cancel: &CancellationToken,
    ) -> RetrySummary {
        let mut summary = RetrySummary::default();
        if entities.is_empty() {
            return summary;
        }
        let ordered = match topo::order_by_relations(entities.clone()) {
            Ok(ordered) => ordered,
            Err(cycle) => {
                tracing::warn!(error = %cycle, "Retrying failed entities in registration order");
                summary.cyclic = true;
                entities
            }
        };
        tracing::info!(
            count = ordered.len(),
            "Upserting {} entities that failed because a related entity was missing",
            ordered.len()
        );
        let mut pending = ordered.into_iter();
        for entity in pending.by_ref() {
            let result = tokio::select! {
                () = cancel.cancelled() => {
                    summary.failures.push(EntityFailure::of(&entity, "not retried: cancelled"));
                    break;
                }
                result = self.port.upsert_entity(&entity, &self.upsert) => result,
            };
            match result {
                Ok(stored) => summary.stored.push(stored),
                Err(error) => summary
                    .failures
                    .push(EntityFailure::of(&entity, error.to_string())),
            }
        }
        summary
            .failures
            .extend(pending.map(|entity| EntityFailure::of(&entity, "not retried: cancelled")));
        if !summary.failures.is_empty() {
            let samples: Vec<String> = summary
                .failures
                .iter()
                .take(LOGGED_SAMPLES)
                .map(|f| format!("{} ({}): {}", f.identifier, f.blueprint, f.reason))
                .collect();
            tracing::error!(
                failed = summary.failures.len(),
                samples = ?samples,
                "Failed to upsert {} entities on retry",
                summary.failures.len()
            );
        }
        summary
    }

    /// Upserts `entities` in bulk and, without `createMissingRelatedEntities`, retries those
    /// Port refused because a related entity was missing one at a time in relation order
    /// ([`Applier::retry_in_relation_order`]), so entities of one batch that relate to each
    /// other all end up stored. One result per entity, in input order.
    pub async fn upsert_resolving_relations(
        &self,
        entities: Vec<Entity>,
        cancel: &CancellationToken,
    ) -> Vec<EntityUpsert> {
        let mut results = self.upsert(entities).await.results;
        if self.upsert.create_missing_related_entities {
            return results;
        }
        let awaiting: Vec<(usize, Entity)> = results
            .iter()
            .enumerate()
            .filter_map(|(at, r)| match &r.status {
                UpsertStatus::Failed(f) if is_missing_related(f) => Some((at, r.entity.clone())),
                _ => None,
            })
            .collect();
        if awaiting.is_empty() {
            return results;
        }
        let position: HashMap<(String, String), usize> = awaiting
            .iter()
            .map(|(at, e)| ((e.blueprint.clone(), e.normalized_identifier()), *at))
            .collect();
        let retry = self
            .retry_in_relation_order(awaiting.into_iter().map(|(_, e)| e).collect(), cancel)
            .await;
        for stored in retry.stored {
            let key = (stored.blueprint.clone(), stored.normalized_identifier());
            if let Some(result) = position.get(&key).and_then(|at| results.get_mut(*at)) {
                result.status = UpsertStatus::Stored { created: None };
                result.entity = stored;
            }
        }
        for failure in retry.failures {
            let key = (failure.blueprint.clone(), failure.identifier.clone());
            if let Some(result) = position.get(&key).and_then(|at| results.get_mut(*at)) {
                result.status = UpsertStatus::Failed(UpsertFailure {
                    status: None,
                    error: "retry_failed".into(),
                    message: failure.reason,
                });
            }
        }
        results
    }

    /// Deletes those of `candidates` this integration owns (Port's search, restricted to the
    /// integration's datasource, one search per chunk of candidates), with [`Applier::delete`]'s
    /// ordering. Candidates it does not own are left alone and are neither deleted nor failed;
    /// a failed ownership search fails its chunk's candidates.
    pub async fn delete_owned(&self, candidates: Vec<Entity>) -> DeleteSummary {
        let mut summary = DeleteSummary::default();
        let mut owned_keys: HashSet<(String, String)> = HashSet::new();
        let (candidates, searches): (Vec<Entity>, Vec<Entity>) = candidates
            .into_iter()
            .partition(|e| e.identifier.is_string());
        for entity in &searches {
            summary.failed += 1;
            summary.failures.push(EntityFailure::of(
                entity,
                "an entity identified by a search query cannot be deleted",
            ));
        }
        for chunk in candidates.chunks(OWNERSHIP_SEARCH_CHUNK) {
            let query = Query::or(
                chunk
                    .iter()
                    .map(|e| {
                        QueryNode::Group(Query::and(vec![
                            QueryNode::rule("$identifier", "=", e.identifier.clone()),
                            QueryNode::rule("$blueprint", "=", Value::String(e.blueprint.clone())),
                        ]))
                    })
                    .collect(),
            );
            match self
                .port
                .search_owned_entities(&query, &["identifier", "blueprint"])
                .await
            {
                Ok(found) => owned_keys.extend(
                    found
                        .into_iter()
                        .map(|e| (e.blueprint.clone(), e.normalized_identifier())),
                ),
                Err(error) => {
                    let reason = format!("ownership search before deleting failed: {error}");
                    summary.failed += chunk.len() as u64;
                    summary
                        .failures
                        .extend(chunk.iter().map(|e| EntityFailure::of(e, reason.clone())));
                }
            }
        }
        let owned: Vec<Entity> = candidates
            .into_iter()
            .filter(|e| owned_keys.contains(&(e.blueprint.clone(), e.normalized_identifier())))
            .collect();
        if owned.is_empty() {
            return summary;
        }
        let deleted = self.delete(owned).await;
        summary.deleted += deleted.deleted;
        summary.failed += deleted.failed;
        summary.failures.extend(deleted.failures);
        summary.deleted_entities.extend(deleted.deleted_entities);
        for (blueprint, count) in deleted.deleted_by_blueprint {
            *summary.deleted_by_blueprint.entry(blueprint).or_default() += count;
        }
        summary
    }

    /// Deletes `entities`. With `deleteDependentEntities`, per blueprint with Port's bulk
    /// delete (blueprints concurrently) and Port removes what depends on them; without it, one
    /// at a time, dependents before the entities they relate to, so a required relation never
    /// blocks a delete. An entity with a search identifier cannot be deleted and is skipped.
    pub async fn delete(&self, entities: Vec<Entity>) -> DeleteSummary {
        let mut summary = DeleteSummary::default();
        let (entities, searches): (Vec<Entity>, Vec<Entity>) =
            entities.into_iter().partition(|e| e.identifier.is_string());
        if !searches.is_empty() {
            tracing::warn!(
                count = searches.len(),
                "Skipping deletion of entities identified by a search query"
            );
            summary.failed += searches.len() as u64;
            summary.failures.extend(searches.iter().map(|e| {
                EntityFailure::of(
                    e,
                    "an entity identified by a search query cannot be deleted",
                )
            }));
        }
        if entities.is_empty() {
            return summary;
        }
        tracing::info!(
            count = entities.len(),
            "Deleting {} entities",
            entities.len()
        );
        if self.delete.delete_dependents {
            self.delete_by_blueprint(entities, &mut summary).await;
        } else {
            self.delete_dependents_first(entities, &mut summary).await;
        }
        if summary.failed > 0 {
            tracing::error!(
                failed = summary.failed,
                deleted = summary.deleted,
                "Failed to delete {} entities",
                summary.failed
            );
        }
        summary
    }

    async fn delete_by_blueprint(&self, entities: Vec<Entity>, summary: &mut DeleteSummary) {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for entity in entities {
            let id = entity.normalized_identifier();
            let at = *index.entry(entity.blueprint.clone()).or_insert_with(|| {
                groups.push((entity.blueprint.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(id);
        }
        let mut outcomes = futures::stream::iter(groups)
            .map(|(blueprint, ids)| async move {
                let outcome = self
                    .port
                    .delete_entities_bulk(&blueprint, &ids, &self.delete)
                    .await;
                (blueprint, ids, outcome)
            })
            .buffer_unordered(DELETE_BLUEPRINT_CONCURRENCY);
        while let Some((blueprint, ids, outcome)) = outcomes.next().await {
            let deleted = outcome.deleted.len() as u64;
            summary.deleted += deleted;
            summary.failed += (ids.len() as u64).saturating_sub(deleted);
            let gone: HashSet<&String> = outcome.deleted.iter().collect();
            let reasons: HashMap<&String, &str> = outcome
                .failures
                .iter()
                .flat_map(|f| f.identifiers.iter().map(|id| (id, f.reason.as_str())))
                .collect();
            summary
                .failures
                .extend(
                    ids.iter()
                        .filter(|id| !gone.contains(id))
                        .map(|id| EntityFailure {
                            blueprint: blueprint.clone(),
                            identifier: id.clone(),
                            reason: reasons.get(id).copied().unwrap_or("not deleted").to_owned(),
                        }),
                );
            summary.deleted_entities.extend(
                outcome
                    .deleted
                    .iter()
                    .map(|id| (blueprint.clone(), id.clone())),
            );
            *summary.deleted_by_blueprint.entry(blueprint).or_default() += deleted;
        }
    }

    async fn delete_dependents_first(&self, entities: Vec<Entity>, summary: &mut DeleteSummary) {
        let mut ordered = match topo::order_by_relations(entities.clone()) {
            Ok(ordered) => ordered,
            Err(cycle) => {
                tracing::warn!(error = %cycle, "Deleting entities in listing order");
                entities
            }
        };
        // The topological order puts relation targets first; dependents must go first.
        ordered.reverse();
        for entity in ordered {
            let id = entity.normalized_identifier();
            let outcome = self
                .port
                .delete_entities_bulk(&entity.blueprint, std::slice::from_ref(&id), &self.delete)
                .await;
            if outcome.deleted.contains(&id) {
                summary.deleted += 1;
                *summary
                    .deleted_by_blueprint
                    .entry(entity.blueprint.clone())
                    .or_default() += 1;
                summary
                    .deleted_entities
                    .push((entity.blueprint.clone(), id));
            } else {
                summary.failed += 1;
                let reason = outcome
                    .failures
                    .first()
                    .map_or_else(|| "not deleted".to_owned(), |f| f.reason.clone());
                summary.failures.push(EntityFailure::of(&entity, reason));
            }
        }
    }
}

fn failure_sample(entity: &Entity, failure: &UpsertFailure) -> String {
    format!(
        "{} ({}): {} {}: {}",
        entity.normalized_identifier(),
        entity.blueprint,
        failure
            .status
            .map_or_else(|| "-".to_owned(), |s| s.to_string()),
        failure.error,
        failure.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_404_not_found_means_a_missing_related_entity() {
        let failure = |status, error: &str| UpsertFailure {
            status,
            error: error.into(),
            message: String::new(),
        };
        assert!(is_missing_related(&failure(Some(404), "not_found")));
        assert!(!is_missing_related(&failure(Some(422), "schema_mismatch")));
        assert!(!is_missing_related(&failure(Some(404), "other")));
        assert!(!is_missing_related(&failure(None, "not_found")));
    }

    #[test]
    fn failure_samples_quote_port_message() {
        let entity = Entity::new("a", "svc");
        let sample = failure_sample(
            &entity,
            &UpsertFailure {
                status: Some(422),
                error: "schema_mismatch".into(),
                message: "bad lang".into(),
            },
        );
        assert_eq!(sample, "a (svc): 422 schema_mismatch: bad lang");
    }
}
