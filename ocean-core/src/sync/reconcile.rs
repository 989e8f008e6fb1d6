//! Reconciliation: after every kind synced, delete what this integration owns but did not see.
//!
//! Safe by construction:
//! - only entities of this integration's datasource, last updated before the resync began
//!   (Port's datasource listing with `before`), are candidates, so entities written by live
//!   events during the resync, or by anyone else, are never touched;
//! - an entity that mapped in this resync is "seen" and kept, whether it was upserted, found
//!   unchanged, or failed to upsert;
//! - nothing is deleted when the share of deletions exceeds `entityDeletionThreshold`, computed
//!   over what this integration owned **before** the resync (see [`owned_before`]).
//!
//! The seen set keeps 124-bit hashes of `(identifier, blueprint)`, not entities, and spills them
//! to temporary files in sorted runs past a bound (see [`super::seen`]), so its memory does not
//! grow with the number of entities. A hash collision can only make a stale entity look seen,
//! which keeps it: the safe direction. When the seen keys cannot be written or read back,
//! nothing is deleted.

use super::applier::Applier;
use super::diff::{EntityKey, entity_key};
use super::seen::{self, CREATED, EXISTED, RELATED, SEEN};
use crate::port::client::PortError;
use crate::port::{Entity, RelationSchema};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

pub(crate) use seen::SeenEntities;

/// Records the relation targets of `entity` (a seen entity) into `seen`, with the target
/// blueprints from `relations` (the relation schemas of the entity's blueprint, `None` when the
/// blueprint could not be read).
pub(crate) fn record_relations(
    seen: &mut SeenEntities,
    entity: &Entity,
    relations: Option<&HashMap<String, RelationSchema>>,
) {
    let Some(values) = &entity.relations else {
        return;
    };
    for (name, value) in values {
        let target = relations
            .and_then(|r| r.get(name))
            .map(|r| r.target.as_str());
        if relations.is_some() && target.is_none() {
            // Port ignores relations its blueprint does not define.
            continue;
        }
        let mut targets = Vec::new();
        collect_plain_targets(value, &mut targets);
        for identifier in targets {
            seen.relate(&identifier, target);
        }
    }
}

fn collect_plain_targets(value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_plain_targets(v, out)),
        // Search relations resolve in Port; their targets cannot be named here.
        _ => {}
    }
}

/// How many entities this integration owned before the resync:
/// `listed + rewritten_existing - overlap`.
///
/// - `listed`: entities the datasource listing returns with `before = resync start`, i.e. owned
///   and not written since the resync began (stale ones, unchanged ones, ones whose upsert
///   failed);
/// - `rewritten_existing`: entities the resync rewrote that Port reported as already existing
///   (bulk `created: false`, or a `createdAt` before the resync began); a rewrite moves their
///   `updatedAt` past the start, so the listing no longer returns them;
/// - `overlap`: entities counted in both (only possible when a clock skew lets a rewritten
///   entity still look older than the start).
///
/// Entities created by the resync are not counted: they were not owned before. This corrects
/// Python Ocean, which divides by the listing alone and so refuses to delete when most
/// entities changed.
pub fn owned_before(listed: u64, rewritten_existing: u64, overlap: u64) -> u64 {
    (listed + rewritten_existing).saturating_sub(overlap)
}

/// Whether deleting `to_delete` of `owned` entities stays within `threshold` (a fraction,
/// 0..=1). `Err` says why not, in words meant for the log and the report.
///
/// Threshold 0 blocks every deletion, 1 allows all; a share equal to the threshold is allowed.
pub fn check_deletion_threshold(to_delete: u64, owned: u64, threshold: f64) -> Result<(), String> {
    if to_delete == 0 {
        return Ok(());
    }
    // The candidates are part of what was owned, so `owned` is at least `to_delete`.
    let owned = owned.max(to_delete);
    let share = to_delete as f64 / owned as f64;
    if threshold.is_nan() || share > threshold {
        return Err(format!(
            "would delete {to_delete} of {owned} owned entities ({}), above the threshold {} \
             (entityDeletionThreshold)",
            percent(share),
            percent(threshold)
        ));
    }
    Ok(())
}

/// `0.95` → `95%`, `1/3` → `33.3%`.
fn percent(fraction: f64) -> String {
    let p = (fraction * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Why reconciliation is skipped because some kinds failed; `None` when none did.
pub fn failed_kinds_reason<'a>(
    failed: impl IntoIterator<Item = (&'a str, usize)>,
) -> Option<String> {
    let failed: Vec<String> = failed
        .into_iter()
        .filter(|(_, errors)| *errors > 0)
        .map(|(kind, errors)| format!("{kind} ({errors} errors)"))
        .collect();
    if failed.is_empty() {
        return None;
    }
    Some(format!(
        "{} of the resources failed ({}), so the state is incomplete; nothing was deleted",
        failed.len(),
        failed.join(", ")
    ))
}

/// Most stale candidates held for deletion. The listing is streamed, but deciding the
/// threshold needs the full count before deleting; past this many, reconciliation refuses.
pub(crate) const MAX_STALE_CANDIDATES: usize = 1_000_000;

/// What reconciliation found and did (the engine copies it into the report).
#[derive(Debug, Default)]
pub(crate) struct Reconciliation {
    pub(crate) owned_before: u64,
    pub(crate) stale: u64,
    pub(crate) kept_related: u64,
    pub(crate) deleted: u64,
    pub(crate) delete_failed: u64,
    pub(crate) deleted_by_blueprint: HashMap<String, u64>,
    pub(crate) skipped: Option<String>,
    pub(crate) error: Option<String>,
    /// Distinct entities seen in the resync, once the seen keys were merged.
    pub(crate) seen: Option<u64>,
}

/// The settings of one reconciliation.
pub(crate) struct ReconcileSettings {
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) threshold: f64,
    pub(crate) create_missing_related_entities: bool,
}

/// Streams this integration's entities last updated before the resync began, keeps those seen
/// (and, with `createMissingRelatedEntities`, those a seen entity relates to), and deletes the
/// rest through `applier` unless the threshold forbids it.
pub(crate) async fn reconcile(
    applier: &Applier,
    seen: SeenEntities,
    settings: &ReconcileSettings,
    cancel: &CancellationToken,
) -> Reconciliation {
    let mut out = Reconciliation::default();
    let finished = tokio::select! {
        () = cancel.cancelled() => {
            out.skipped = Some("the resync was aborted; nothing was deleted".into());
            return out;
        }
        finished = seen.finish() => finished,
    };
    let seen = match finished {
        Ok(seen) => seen,
        Err(error) => {
            let reason = format!("{error}; nothing was deleted");
            out.error = Some(reason.clone());
            out.skipped = Some(reason);
            return out;
        }
    };
    let counts = seen.counts();
    out.seen = Some(counts.seen);
    let check_related_any = settings.create_missing_related_entities && seen.has_related_any();
    let mut listed = 0u64;
    let mut overlap = 0u64;
    let mut candidates: Vec<Entity> = Vec::new();
    let mut pages = std::pin::pin!(
        applier
            .port()
            .datasource_entities(Some(settings.started_at))
    );
    loop {
        let page = tokio::select! {
            () = cancel.cancelled() => {
                out.skipped = Some("the resync was aborted; nothing was deleted".into());
                return out;
            }
            page = pages.next() => page,
        };
        let entities = match page {
            None => break,
            Some(Ok(entities)) => entities,
            Some(Err(error)) => {
                let reason = listing_failed(&error);
                out.error = Some(reason.clone());
                out.skipped = Some(reason);
                return out;
            }
        };
        let keys: Vec<EntityKey> = entities.iter().map(entity_key).collect();
        let mut hashes: Vec<u128> = keys
            .iter()
            .map(|(identifier, blueprint)| seen::key_hash(&[identifier, blueprint]))
            .collect();
        if check_related_any {
            hashes.extend(
                keys.iter()
                    .map(|(identifier, _)| seen::key_hash(&[identifier])),
            );
        }
        drop(keys);
        let looked_up = tokio::select! {
            () = cancel.cancelled() => {
                out.skipped = Some("the resync was aborted; nothing was deleted".into());
                return out;
            }
            looked_up = seen.lookup(hashes) => looked_up,
        };
        let flags = match looked_up {
            Ok(flags) => flags,
            Err(error) => {
                let reason = format!("{error}; nothing was deleted");
                out.error = Some(reason.clone());
                out.skipped = Some(reason);
                return out;
            }
        };
        let (by_key, by_identifier) = flags.split_at(entities.len());
        for (i, entity) in entities.into_iter().enumerate() {
            listed += 1;
            let flags = by_key.get(i).copied().unwrap_or(0);
            if flags & EXISTED != 0 && flags & CREATED == 0 {
                overlap += 1;
            }
            if flags & SEEN != 0 {
                continue;
            }
            let related =
                flags & RELATED != 0 || by_identifier.get(i).is_some_and(|f| f & RELATED != 0);
            if settings.create_missing_related_entities && related {
                out.kept_related += 1;
                continue;
            }
            if candidates.len() >= MAX_STALE_CANDIDATES {
                out.skipped = Some(format!(
                    "more than {MAX_STALE_CANDIDATES} stale entities; refusing to delete that many \
                     in one resync"
                ));
                return out;
            }
            candidates.push(reduce(entity));
        }
    }
    out.stale = candidates.len() as u64;
    out.owned_before = owned_before(listed, counts.rewritten_existing, overlap);
    if out.kept_related > 0 {
        tracing::info!(
            kept = out.kept_related,
            "Keeping stale entities that are related to entities of this resync"
        );
    }
    if candidates.is_empty() {
        tracing::info!(
            owned_before = out.owned_before,
            "No stale entities to delete"
        );
        return out;
    }
    if let Err(reason) = check_deletion_threshold(out.stale, out.owned_before, settings.threshold) {
        tracing::warn!(
            stale = out.stale,
            owned_before = out.owned_before,
            threshold = settings.threshold,
            "Skipping deletion of entities: {reason}"
        );
        out.skipped = Some(reason);
        return out;
    }
    let deletion = tokio::select! {
        () = cancel.cancelled() => {
            out.skipped = Some("the resync was aborted; nothing was deleted".into());
            return out;
        }
        deletion = applier.delete(candidates) => deletion,
    };
    out.deleted = deletion.deleted;
    out.delete_failed = deletion.failed;
    out.deleted_by_blueprint = deletion.deleted_by_blueprint;
    out
}

fn listing_failed(error: &PortError) -> String {
    format!("the entities this integration owns could not be listed ({error}); nothing was deleted")
}

/// Keeps what deleting needs: identifier, blueprint and relations (for the dependency order).
fn reduce(entity: Entity) -> Entity {
    Entity {
        identifier: entity.identifier,
        blueprint: entity.blueprint,
        title: None,
        icon: None,
        team: None,
        properties: None,
        relations: entity.relations,
        extra: serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(id: &str, bp: &str) -> EntityKey {
        (id.to_owned(), bp.to_owned())
    }

    #[test]
    fn threshold_allows_a_share_at_or_below_it() {
        // 170: nothing to delete.
        assert!(check_deletion_threshold(0, 3, 0.9).is_ok());
        // 171: 1 of 3 below 0.9.
        assert!(check_deletion_threshold(1, 3, 0.9).is_ok());
        assert!(check_deletion_threshold(9, 10, 0.9).is_ok());
        assert!(check_deletion_threshold(10, 10, 1.0).is_ok());
    }

    #[test]
    fn threshold_blocks_a_share_above_it() {
        // 172: all 3 owned would go, above 0.9.
        assert!(check_deletion_threshold(3, 3, 0.9).is_err());
        // 173: 2 of 2 with threshold 0.5.
        assert!(check_deletion_threshold(2, 2, 0.5).is_err());
        assert!(check_deletion_threshold(10, 11, 0.9).is_err());
    }

    #[test]
    fn threshold_zero_blocks_any_deletion() {
        // 174: one of two owned, threshold 0.
        assert!(check_deletion_threshold(1, 2, 0.0).is_err());
        assert!(check_deletion_threshold(1, 1_000_000, 0.0).is_err());
        assert!(check_deletion_threshold(0, 2, 0.0).is_ok());
    }

    #[test]
    fn threshold_reason_names_counts_share_and_threshold() {
        let reason = check_deletion_threshold(95, 100, 0.9).unwrap_err();
        assert!(
            reason.starts_with(
                "would delete 95 of 100 owned entities (95%), above the threshold 90%"
            ),
            "{reason}"
        );
        let reason = check_deletion_threshold(1, 3, 0.25).unwrap_err();
        assert!(reason.contains("(33.3%)"), "{reason}");
    }

    #[test]
    fn owned_before_counts_listed_and_rewritten_existing_once() {
        // 95 of 100 changed and were rewritten, 5 are stale: Ocean's ratio is 5/5, ours 5/100.
        let owned = owned_before(5, 95, 0);
        assert_eq!(owned, 100);
        assert!(check_deletion_threshold(5, owned, 0.9).is_ok());
        assert_eq!(owned_before(10, 5, 2), 13);
        assert_eq!(owned_before(0, 0, 0), 0);
    }

    /// The flags of `key` and of its identifier alone, as reconciliation looks them up.
    async fn flags(index: &seen::SeenIndex, key: &EntityKey) -> (u8, u8) {
        let found = index
            .lookup(vec![
                seen::key_hash(&[&key.0, &key.1]),
                seen::key_hash(&[&key.0]),
            ])
            .await
            .unwrap();
        (found[0], found[1])
    }

    async fn is_related(index: &seen::SeenIndex, key: &EntityKey) -> bool {
        let (by_key, by_identifier) = flags(index, key).await;
        (by_key | by_identifier) & RELATED != 0
    }

    #[tokio::test]
    async fn created_entities_are_not_counted_as_owned_before() {
        let mut seen = SeenEntities::default();
        seen.stored(&key("a", "s"), true);
        seen.stored(&key("a", "s"), false); // written again by a later kind
        seen.stored(&key("b", "s"), false);
        seen.stored(&key("c", "s"), false);
        seen.stored(&key("c", "s"), false);
        let index = seen.finish().await.unwrap();
        assert_eq!(index.counts().rewritten_existing, 2);
    }

    #[tokio::test]
    async fn seen_keys_are_per_blueprint() {
        let mut seen = SeenEntities::default();
        seen.see(&key("x", "a"));
        let index = seen.finish().await.unwrap();
        assert_eq!(flags(&index, &key("x", "a")).await.0, SEEN);
        assert_eq!(flags(&index, &key("x", "b")).await, (0, 0));
        assert_eq!(flags(&index, &key("xa", "")).await, (0, 0));
        assert_eq!(index.counts().seen, 1);
    }

    #[tokio::test]
    async fn relations_protect_their_target_blueprint_or_any_when_unknown() {
        let entity: Entity = serde_json::from_value(json!({
            "identifier": "p1", "blueprint": "person",
            "relations": {"department": "d1", "projects": ["x", "y"], "undefined": "z",
                          "search": {"combinator": "and", "rules": []}}
        }))
        .unwrap();
        let schemas: HashMap<String, RelationSchema> = [
            ("department", "department"),
            ("projects", "project"),
            ("search", "project"),
        ]
        .into_iter()
        .map(|(n, t)| {
            let schema: RelationSchema = serde_json::from_value(json!({"target": t})).unwrap();
            (n.to_owned(), schema)
        })
        .collect();
        let mut seen = SeenEntities::default();
        record_relations(&mut seen, &entity, Some(&schemas));
        let index = seen.finish().await.unwrap();
        assert!(!index.has_related_any());
        assert!(is_related(&index, &key("d1", "department")).await);
        assert!(!is_related(&index, &key("d1", "person")).await);
        assert!(is_related(&index, &key("y", "project")).await);
        assert!(!is_related(&index, &key("z", "department")).await);
        assert_eq!(index.counts().seen, 0);

        let mut unknown = SeenEntities::default();
        record_relations(&mut unknown, &entity, None);
        let index = unknown.finish().await.unwrap();
        assert!(index.has_related_any());
        assert!(is_related(&index, &key("d1", "anything")).await);
        assert!(is_related(&index, &key("z", "anything")).await);
    }

    #[test]
    fn failed_kinds_reason_lists_only_failed_kinds() {
        assert_eq!(failed_kinds_reason([("a", 0), ("b", 0)]), None);
        let reason = failed_kinds_reason([("a", 0), ("person", 2)]).unwrap();
        assert!(reason.contains("person (2 errors)"), "{reason}");
        assert!(reason.contains("nothing was deleted"), "{reason}");
    }
}
