//! From raw results to Port: map with the resource's mapping, upsert, and delete what this
//! integration owns. Also the ad-hoc `register_raw` / `unregister_raw` of raw route handlers.

use super::app_config::{CompiledConfig, CompiledConfigCache};
use super::error::LiveEventsError;
use super::event::WebhookEventRawResults;
use crate::RawItem;
use crate::mapping::PortAppConfigProvider;
use crate::mapping::{JqEngine, PortAppConfig};
use crate::port::client::{EventInfo, PortClient, UpsertStatus};
use crate::port::types::Entity;
use crate::sync::Applier;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What the raw results of one event (or one `register_raw` call) become.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyPlan {
    /// Entities to upsert.
    pub upserts: Vec<Entity>,
    /// Entities to delete if this integration owns them.
    pub deletions: Vec<Entity>,
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    /// Entities Port stored.
    pub upserted: Vec<Entity>,
    /// Entities deleted.
    pub deleted: usize,
    /// What failed (entities Port rejected, failed searches or deletes).
    pub failures: Vec<String>,
}

impl ApplyReport {
    /// True when nothing failed.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

fn key(entity: &Entity) -> (String, String) {
    (entity.blueprint.clone(), entity.normalized_identifier())
}

/// Maps results to a plan, with the selector rules of live events: updated items the selector
/// rejects become deletions, deleted items become deletions only when they pass it, and an
/// upsert of the same (blueprint, identifier) in the same plan wins over its deletion.
///
/// `results` pairs each result with the index of its resource in `compiled`.
pub fn plan_results(
    compiled: &CompiledConfig,
    results: &[(usize, WebhookEventRawResults)],
) -> ApplyPlan {
    let mut upserts = Vec::new();
    let mut candidates = Vec::new();
    for (index, result) in results {
        let Some(resource) = compiled.resources.get(*index) else {
            continue;
        };
        let updated = resource.map_batch(&result.updated_raw_results, true);
        updated.log_issues(resource.kind(), None);
        upserts.extend(updated.entities);
        candidates.extend(updated.filtered_out.entities);
        let deleted = resource.map_batch_for_deletion(&result.deleted_raw_results);
        deleted.log_issues(resource.kind(), None);
        candidates.extend(deleted.entities);
    }
    ApplyPlan {
        deletions: deletions_not_upserted(&upserts, candidates),
        upserts,
    }
}

fn deletions_not_upserted(upserts: &[Entity], candidates: Vec<Entity>) -> Vec<Entity> {
    let kept: HashSet<(String, String)> = upserts.iter().map(key).collect();
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|e| !e.uses_search_identifier())
        .filter(|e| !kept.contains(&key(e)) && seen.insert(key(e)))
        .collect()
}

/// Splits plans into rounds, keeping each plan's index: a plan goes into the round after the
/// last one holding a plan that touches one of its entities, so plans touching the same entity
/// are applied one after another, in input order, and plans of one round touch distinct
/// entities.
fn rounds(plans: Vec<ApplyPlan>) -> Vec<Vec<(usize, ApplyPlan)>> {
    let mut last_round: HashMap<(String, String), usize> = HashMap::new();
    let mut rounds: Vec<Vec<(usize, ApplyPlan)>> = Vec::new();
    for (index, plan) in plans.into_iter().enumerate() {
        let keys: Vec<(String, String)> = plan
            .upserts
            .iter()
            .chain(&plan.deletions)
            .map(key)
            .collect();
        let round = keys
            .iter()
            .filter_map(|k| last_round.get(k).map(|r| r + 1))
            .max()
            .unwrap_or(0);
        for k in keys {
            last_round.insert(k, round);
        }
        if rounds.len() <= round {
            rounds.resize_with(round + 1, Vec::new);
        }
        if let Some(slot) = rounds.get_mut(round) {
            slot.push((index, plan));
        }
    }
    rounds
}

/// Writes mapped live-event results to Port. Reachable from raw route handlers as
/// `web::Data<LiveApplier>`.
#[derive(Clone)]
pub struct LiveApplier {
    port: PortClient,
    configs: Arc<dyn PortAppConfigProvider>,
    compiled: Arc<CompiledConfigCache>,
}

impl std::fmt::Debug for LiveApplier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveApplier")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl LiveApplier {
    /// An applier writing through `port`, with mappings from `configs` compiled by `jq`.
    pub fn new(
        port: PortClient,
        configs: Arc<dyn PortAppConfigProvider>,
        jq: Arc<JqEngine>,
    ) -> Self {
        Self {
            port,
            configs,
            compiled: Arc::new(CompiledConfigCache::new(jq)),
        }
    }

    /// The Port client.
    pub fn port(&self) -> &PortClient {
        &self.port
    }

    /// The current config, compiled (compiled once per config version).
    pub async fn current(&self) -> Result<Arc<CompiledConfig>, LiveEventsError> {
        let config = self.configs.current().await?;
        Ok(self.compiled.get(&config))
    }

    /// Maps `results` (off the async runtime) and applies them.
    pub async fn apply_results(
        &self,
        compiled: Arc<CompiledConfig>,
        results: Vec<(usize, WebhookEventRawResults)>,
    ) -> Result<ApplyReport, LiveEventsError> {
        let mut reports = self.apply_results_batch(compiled, vec![results]).await?;
        Ok(reports.pop().unwrap_or_default())
    }

    /// Maps the results of several events (one mapping task off the async runtime) and
    /// applies them together: their entities go to Port in shared bulk requests, and each
    /// event gets its own report, in input order.
    pub async fn apply_results_batch(
        &self,
        compiled: Arc<CompiledConfig>,
        events: Vec<Vec<(usize, WebhookEventRawResults)>>,
    ) -> Result<Vec<ApplyReport>, LiveEventsError> {
        let config = Arc::clone(&compiled.config);
        let plans = tokio::task::spawn_blocking(move || {
            events
                .iter()
                .map(|results| plan_results(&compiled, results))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| LiveEventsError::Apply(format!("mapping task failed: {e}")))?;
        Ok(self.apply_many(&config, plans).await)
    }

    /// Upserts the plan's entities, then deletes those of its deletions this integration owns
    /// (one ownership search per chunk of candidates, one bulk delete per blueprint).
    pub async fn apply(&self, config: &PortAppConfig, plan: ApplyPlan) -> ApplyReport {
        self.apply_many(config, vec![plan])
            .await
            .pop()
            .unwrap_or_default()
    }

    /// Applies several plans (one per event) with as few Port requests as possible, and
    /// reports per plan. Plans touching the same entity are applied in rounds, in order, so an
    /// earlier event's write never lands after a later one's; within a round every plan's
    /// upserts share the bulk requests, then their deletions share the ownership searches and
    /// deletes. The writes go through the resync's [`Applier`]: the same upsert options,
    /// relation-order retries of entities whose related entity was missing,
    /// `deleteDependentEntities` ordering and owned-only deletes.
    pub async fn apply_many(
        &self,
        config: &PortAppConfig,
        plans: Vec<ApplyPlan>,
    ) -> Vec<ApplyReport> {
        let applier = Applier::for_config(self.port.clone(), config, Some(EventInfo::live_event()));
        let never = CancellationToken::new();
        let mut reports = vec![ApplyReport::default(); plans.len()];
        for round in rounds(plans) {
            let mut owners = Vec::new();
            let mut upserts = Vec::new();
            let mut deletions = Vec::new();
            let mut deletion_owner: HashMap<(String, String), usize> = HashMap::new();
            for (owner, plan) in round {
                owners.extend(std::iter::repeat_n(owner, plan.upserts.len()));
                upserts.extend(plan.upserts);
                for entity in plan.deletions {
                    deletion_owner.insert(key(&entity), owner);
                    deletions.push(entity);
                }
            }
            if !upserts.is_empty() {
                let results = applier.upsert_resolving_relations(upserts, &never).await;
                for (result, owner) in results.into_iter().zip(owners) {
                    let Some(report) = reports.get_mut(owner) else {
                        continue;
                    };
                    match result.status {
                        UpsertStatus::Stored { .. } => report.upserted.push(result.entity),
                        UpsertStatus::Failed(f) | UpsertStatus::Unresolved(f) => {
                            report.failures.push(format!(
                                "upsert of `{}` ({}) failed: {} {}",
                                result.entity.normalized_identifier(),
                                result.entity.blueprint,
                                f.error,
                                f.message
                            ));
                        }
                    }
                }
            }
            if !deletions.is_empty() {
                let summary = applier.delete_owned(deletions).await;
                for deleted in &summary.deleted_entities {
                    if let Some(report) = deletion_owner
                        .get(deleted)
                        .and_then(|o| reports.get_mut(*o))
                    {
                        report.deleted += 1;
                    }
                }
                for failure in summary.failures {
                    let owner = deletion_owner
                        .get(&(failure.blueprint.clone(), failure.identifier.clone()))
                        .and_then(|o| reports.get_mut(*o));
                    if let Some(report) = owner {
                        report.failures.push(format!(
                            "delete of `{}` ({}) failed: {}",
                            failure.identifier, failure.blueprint, failure.reason
                        ));
                    }
                }
            }
        }
        let upserted: usize = reports.iter().map(|r| r.upserted.len()).sum();
        let deleted: usize = reports.iter().map(|r| r.deleted).sum();
        let failures: usize = reports.iter().map(|r| r.failures.len()).sum();
        if failures > 0 {
            tracing::warn!(
                events = reports.len(),
                upserted,
                deleted,
                failures,
                "live-event results applied with failures"
            );
        } else {
            tracing::debug!(
                events = reports.len(),
                upserted,
                deleted,
                "live-event results applied"
            );
        }
        reports
    }

    /// Maps `items` with every resource of `kind` in the current config and upserts them; then
    /// deletes the entities (owned by this integration) of items the selector now rejects,
    /// unless some resource registered them. Deletes nothing if any upsert failed.
    pub async fn register_raw(
        &self,
        kind: &str,
        items: Vec<RawItem>,
    ) -> Result<Vec<Entity>, LiveEventsError> {
        let compiled = self.current().await?;
        let config = Arc::clone(&compiled.config);
        let kind_owned = kind.to_owned();
        let plan = tokio::task::spawn_blocking(move || {
            let mut upserts = Vec::new();
            let mut candidates = Vec::new();
            for (index, _) in compiled.config.resources_of_kind(&kind_owned) {
                if let Some(resource) = compiled.resources.get(index) {
                    let outcome = resource.map_batch(&items, true);
                    outcome.log_issues(resource.kind(), None);
                    upserts.extend(outcome.entities);
                    candidates.extend(outcome.filtered_out.entities);
                }
            }
            ApplyPlan {
                deletions: deletions_not_upserted(&upserts, candidates),
                upserts,
            }
        })
        .await
        .map_err(|e| LiveEventsError::Apply(format!("mapping task failed: {e}")))?;
        let deletions = plan.deletions.clone();
        let mut report = self
            .apply(
                &config,
                ApplyPlan {
                    upserts: plan.upserts,
                    deletions: Vec::new(),
                },
            )
            .await;
        if !report.is_ok() {
            return Err(LiveEventsError::Apply(format!(
                "failed to register {} entities of kind `{kind}`, skipping the delete phase: {}",
                report.failures.len(),
                report.failures.join("; ")
            )));
        }
        if !deletions.is_empty() {
            let deleted = self
                .apply(
                    &config,
                    ApplyPlan {
                        upserts: Vec::new(),
                        deletions,
                    },
                )
                .await;
            report.failures.extend(deleted.failures);
            if !report.is_ok() {
                return Err(LiveEventsError::Apply(report.failures.join("; ")));
            }
        }
        Ok(report.upserted)
    }

    /// Maps `items` with every resource of `kind` (selector applied) and deletes the entities
    /// this integration owns. Returns the entities asked to be deleted.
    pub async fn unregister_raw(
        &self,
        kind: &str,
        items: Vec<RawItem>,
    ) -> Result<Vec<Entity>, LiveEventsError> {
        let compiled = self.current().await?;
        let config = Arc::clone(&compiled.config);
        let kind_owned = kind.to_owned();
        let deletions = tokio::task::spawn_blocking(move || {
            let mut deletions = Vec::new();
            for (index, _) in compiled.config.resources_of_kind(&kind_owned) {
                if let Some(resource) = compiled.resources.get(index) {
                    let outcome = resource.map_batch_for_deletion(&items);
                    outcome.log_issues(resource.kind(), None);
                    deletions.extend(outcome.entities);
                }
            }
            deletions_not_upserted(&[], deletions)
        })
        .await
        .map_err(|e| LiveEventsError::Apply(format!("mapping task failed: {e}")))?;
        let report = self
            .apply(
                &config,
                ApplyPlan {
                    upserts: Vec::new(),
                    deletions: deletions.clone(),
                },
            )
            .await;
        if !report.is_ok() {
            return Err(LiveEventsError::Apply(format!(
                "failed to unregister entities of kind `{kind}`: {}",
                report.failures.join("; ")
            )));
        }
        Ok(deletions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(yaml: &str) -> CompiledConfig {
        let config = Arc::new(PortAppConfig::parse(yaml).unwrap());
        CompiledConfigCache::new(Arc::new(JqEngine::default()))
            .get(&config)
            .as_ref()
            .clone_parts()
    }

    impl CompiledConfig {
        fn clone_parts(&self) -> CompiledConfig {
            CompiledConfig {
                config: Arc::clone(&self.config),
                resources: self.resources.clone(),
                resource_configs: self.resource_configs.clone(),
            }
        }
    }

    const OPEN_ONLY: &str = r#"
resources:
  - kind: repository
    selector: {query: '.state == "open"'}
    port:
      entity:
        mappings: {identifier: .id, blueprint: '"service"', properties: {state: .state}}
"#;

    fn ids(entities: &[Entity]) -> Vec<String> {
        entities.iter().map(Entity::normalized_identifier).collect()
    }

    #[test]
    fn a_creation_result_becomes_an_upsert() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::updated(vec![json!({"id": "r1", "state": "open"})]),
            )],
        );
        assert_eq!(ids(&plan.upserts), ["r1"]);
        assert!(plan.deletions.is_empty());
    }

    #[test]
    fn a_deletion_result_passing_the_selector_becomes_a_deletion() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::deleted(vec![json!({"id": "r1", "state": "open"})]),
            )],
        );
        assert!(plan.upserts.is_empty());
        assert_eq!(ids(&plan.deletions), ["r1"]);
    }

    #[test]
    fn an_updated_item_failing_the_selector_is_deleted() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::updated(vec![json!({"id": "r1", "state": "closed"})]),
            )],
        );
        assert!(plan.upserts.is_empty());
        assert_eq!(ids(&plan.deletions), ["r1"]);
    }

    #[test]
    fn a_deleted_item_failing_the_selector_is_not_deleted() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::deleted(vec![json!({"id": "r1", "state": "closed"})]),
            )],
        );
        assert!(plan.upserts.is_empty() && plan.deletions.is_empty());
    }

    #[test]
    fn an_upsert_in_the_same_event_wins_over_a_deletion() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[
                (
                    0,
                    WebhookEventRawResults::deleted(vec![json!({"id": "r1", "state": "open"})]),
                ),
                (
                    0,
                    WebhookEventRawResults::updated(vec![json!({"id": "r1", "state": "open"})]),
                ),
            ],
        );
        assert_eq!(ids(&plan.upserts), ["r1"]);
        assert!(plan.deletions.is_empty());
    }

    #[test]
    fn empty_results_plan_nothing() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(&c, &[(0, WebhookEventRawResults::default())]);
        assert_eq!(plan, ApplyPlan::default());
    }

    #[test]
    fn items_to_parse_fans_out_updated_items() {
        let c = compiled(
            r#"
resources:
  - kind: file
    selector: {query: "true"}
    port:
      itemsToParse: .file.content
      entity:
        mappings: {identifier: .item.name, blueprint: '"service"', properties: {repo: .repo}}
"#,
        );
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::updated(vec![json!({
                    "repo": "r", "file": {"content": [{"name": "a"}, {"name": "b"}]}
                })]),
            )],
        );
        assert_eq!(ids(&plan.upserts), ["a", "b"]);
        assert_eq!(plan.upserts[0].properties.as_ref().unwrap()["repo"], "r");
    }

    fn entity(id: &str) -> Entity {
        serde_json::from_value(json!({"identifier": id, "blueprint": "service"})).unwrap()
    }

    fn plan(upserts: &[&str], deletions: &[&str]) -> ApplyPlan {
        ApplyPlan {
            upserts: upserts.iter().map(|id| entity(id)).collect(),
            deletions: deletions.iter().map(|id| entity(id)).collect(),
        }
    }

    #[test]
    fn plans_touching_the_same_entity_go_to_later_rounds_in_order() {
        let plans = vec![
            plan(&["a"], &[]),
            plan(&["b"], &[]),
            plan(&[], &["a"]),
            plan(&["c"], &[]),
            plan(&["a", "d"], &[]),
            plan(&["d"], &[]),
        ];
        let rounds: Vec<Vec<usize>> = rounds(plans)
            .into_iter()
            .map(|round| round.into_iter().map(|(index, _)| index).collect())
            .collect();
        assert_eq!(rounds, [vec![0, 1, 3], vec![2], vec![4], vec![5]]);
    }

    #[test]
    fn plans_on_distinct_entities_share_one_round() {
        let plans = (0..50).map(|i| plan(&[&format!("e{i}")], &[])).collect();
        let rounds = rounds(plans);
        assert_eq!(rounds.len(), 1);
        assert_eq!(rounds[0].len(), 50);
    }

    #[test]
    fn results_for_an_unknown_resource_index_are_skipped() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                7,
                WebhookEventRawResults::updated(vec![json!({"id": "r1", "state": "open"})]),
            )],
        );
        assert_eq!(plan, ApplyPlan::default());
    }

    // Reference §4.4 case 41: the results of every processor that handled an event make one
    // plan, so they reach Port in one bulk upsert rather than one per processor.
    #[test]
    fn results_of_two_processors_make_one_plan() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[
                (
                    0,
                    WebhookEventRawResults::updated(vec![
                        json!({"id": "repo-one", "state": "open"}),
                    ]),
                ),
                (
                    0,
                    WebhookEventRawResults::updated(vec![
                        json!({"id": "repo-two", "state": "open"}),
                    ]),
                ),
            ],
        );
        assert_eq!(ids(&plan.upserts), ["repo-one", "repo-two"]);
        assert!(plan.deletions.is_empty());
    }

    // Reference §4.7 case 76: a result with both updated and deleted items plans both the
    // upserts and the deletions.
    #[test]
    fn a_result_with_updates_and_deletions_plans_both() {
        let c = compiled(OPEN_ONLY);
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults {
                    updated_raw_results: vec![json!({"id": "kept", "state": "open"})],
                    deleted_raw_results: vec![json!({"id": "gone", "state": "open"})],
                },
            )],
        );
        assert_eq!(ids(&plan.upserts), ["kept"]);
        assert_eq!(ids(&plan.deletions), ["gone"]);
    }

    // Reference §4.7 cases 72 and 73: with `itemsToParse` each array element becomes an item
    // (under `item`), the parsed array is dropped from the copies, other fields are kept, and
    // entities come out in the order of the raw items and their elements.
    #[test]
    fn items_to_parse_drops_the_parsed_array_and_keeps_the_order() {
        let c = compiled(
            r#"
resources:
  - kind: file
    selector: {query: "true"}
    port:
      itemsToParse: .file.content
      entity:
        mappings:
          identifier: .item.name
          blueprint: '"service"'
          properties: {repo: .repo, content: .file.content}
"#,
        );
        let plan = plan_results(
            &c,
            &[(
                0,
                WebhookEventRawResults::updated(vec![
                    json!({"repo": "r1", "file": {"content": [{"name": "svc-one"}]}}),
                    json!({"repo": "r2", "file": {"content": [{"name": "svc-two"}, {"name": "svc-three"}]}}),
                ]),
            )],
        );
        assert_eq!(ids(&plan.upserts), ["svc-one", "svc-two", "svc-three"]);
        let props = plan.upserts[1].properties.as_ref().unwrap();
        assert_eq!(props["repo"], "r2");
        assert!(
            props.get("content").is_none_or(serde_json::Value::is_null),
            "the parsed array is not kept in each copy: {props:?}"
        );
    }
}
