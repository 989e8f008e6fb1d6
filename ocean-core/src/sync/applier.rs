//! The applier: writes mapped entities to Port and deletes entities, with the port-app-config's
//! options. Used by resyncs and by live events.

use super::topo;
use crate::mapping::PortAppConfig;
use crate::port::Entity;
use crate::port::client::{
    DeleteOptions, EntityUpsert, EventInfo, PortClient, UpsertFailure, UpsertOptions, UpsertStatus,
};
use futures::StreamExt;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// Failures quoted in one log line.
const LOGGED_SAMPLES: usize = 5;

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

/// What a retry of failed upserts did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetrySummary {
    /// Entities stored on retry, as Port answered them.
    pub stored: Vec<Entity>,
    /// Entities that failed again.
    pub failed: u64,
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
        let mut samples = Vec::new();
        for entity in ordered {
            let result = tokio::select! {
                () = cancel.cancelled() => break,
                result = self.port.upsert_entity(&entity, &self.upsert) => result,
            };
            match result {
                Ok(stored) => summary.stored.push(stored),
                Err(error) => {
                    summary.failed += 1;
                    if samples.len() < LOGGED_SAMPLES {
                        samples.push(format!(
                            "{} ({}): {error}",
                            entity.normalized_identifier(),
                            entity.blueprint
                        ));
                    }
                }
            }
        }
        if summary.failed > 0 {
            tracing::error!(
                failed = summary.failed,
                samples = ?samples,
                "Failed to upsert {} entities on retry",
                summary.failed
            );
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
                (blueprint, ids.len(), outcome)
            })
            .buffer_unordered(DELETE_BLUEPRINT_CONCURRENCY);
        while let Some((blueprint, asked, outcome)) = outcomes.next().await {
            let deleted = outcome.deleted.len() as u64;
            summary.deleted += deleted;
            summary.failed += (asked as u64).saturating_sub(deleted);
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
            } else {
                summary.failed += 1;
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
