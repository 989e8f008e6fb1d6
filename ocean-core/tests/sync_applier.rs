//! The applier against the local Port: upserts grouped by blueprint, per-entity failures, and
//! deletes with and without dependents (Ocean's applier cases 175-187).

mod sync_support;

use ocean::port::Entity;
use ocean::port::client::{DeleteOptions, UpsertOptions};
use ocean::sync::Applier;
use serde_json::json;
use sync_support::*;
use tokio_util::sync::CancellationToken;

fn entity(v: serde_json::Value) -> Entity {
    serde_json::from_value(v).unwrap()
}

fn applier(h: &Harness, create_missing: bool, delete_dependents: bool) -> Applier {
    Applier::new(
        h.client.clone(),
        UpsertOptions {
            merge: true,
            create_missing_related_entities: create_missing,
            event: None,
        },
        DeleteOptions {
            delete_dependents,
            event: None,
        },
    )
}

#[tokio::test]
async fn upsert_stores_entities_of_several_blueprints() {
    // 175/179: entities over two blueprints, one call, every one stored.
    let h = Harness::start(false).await;
    let summary = applier(&h, true, true)
        .upsert(vec![
            entity(json!({"identifier": "p1", "blueprint": "person", "properties": {"age": 3}})),
            entity(json!({"identifier": "d1", "blueprint": "department"})),
            entity(json!({"identifier": "p2", "blueprint": "person"})),
            entity(json!({"identifier": "d2", "blueprint": "department"})),
        ])
        .await;
    assert_eq!((summary.upserted, summary.failed), (4, 0));
    assert_eq!(summary.results.len(), 4);
    assert_eq!(h.ids("person"), ["p1", "p2"]);
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn upsert_reports_entities_missing_a_related_entity() {
    // 176/177: a failed entity is reported, not stored, and marked for the retry.
    let h = Harness::start(false).await;
    let summary = applier(&h, false, true)
        .upsert(vec![
            entity(json!({"identifier": "p1", "blueprint": "person", "relations": {"department": "nope"}})),
            entity(json!({"identifier": "p2", "blueprint": "person"})),
            entity(json!({"identifier": "p3", "blueprint": "person", "properties": {"age": "old"}})),
        ])
        .await;
    assert_eq!((summary.upserted, summary.failed), (1, 2));
    let missing: Vec<String> = summary
        .missing_related()
        .map(Entity::normalized_identifier)
        .collect();
    assert_eq!(missing, ["p1"]);
    assert_eq!(h.ids("person"), ["p2"]);
}

#[tokio::test]
async fn retry_in_relation_order_stores_targets_first() {
    let h = Harness::start(false).await;
    let summary = applier(&h, false, true)
        .retry_in_relation_order(
            vec![
                entity(json!({"identifier": "c", "blueprint": "person", "relations": {"manager": "b"}})),
                entity(json!({"identifier": "a", "blueprint": "person"})),
                entity(json!({"identifier": "b", "blueprint": "person", "relations": {"manager": "a"}})),
            ],
            &CancellationToken::new(),
        )
        .await;
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert!(!summary.cyclic);
    let order: Vec<String> = summary
        .stored
        .iter()
        .map(Entity::normalized_identifier)
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
}

#[tokio::test]
async fn deleting_an_empty_list_does_nothing() {
    // 180.
    let h = Harness::start(false).await;
    let summary = applier(&h, true, true).delete(vec![]).await;
    assert_eq!((summary.deleted, summary.failed), (0, 0));
    assert!(summary.deleted_by_blueprint.is_empty());
}

#[tokio::test]
async fn delete_with_dependents_groups_by_blueprint() {
    // 181/182: service → person here, deployment → department.
    let h = Harness::start(true).await;
    let a = applier(&h, true, true);
    a.upsert(vec![
        entity(json!({"identifier": "dep_1", "blueprint": "department"})),
        entity(json!({"identifier": "svc_1", "blueprint": "person", "relations": {"department": "dep_1"}})),
        entity(json!({"identifier": "svc_2", "blueprint": "person", "relations": {"department": "dep_1"}})),
        entity(json!({"identifier": "svc_3", "blueprint": "person", "relations": {"department": "dep_1"}})),
    ])
    .await;
    let summary = a
        .delete(vec![
            Entity::new("svc_1", "person"),
            Entity::new("dep_1", "department"),
            Entity::new("svc_2", "person"),
        ])
        .await;
    assert_eq!(summary.deleted, 3);
    assert_eq!(summary.deleted_by_blueprint["person"], 2);
    assert_eq!(summary.deleted_by_blueprint["department"], 1);
    // svc_3 required dep_1: Port deleted it with its dependency.
    assert!(h.ids("person").is_empty());
}

#[tokio::test]
async fn delete_without_dependents_deletes_one_at_a_time_dependents_first() {
    // 183: two entities, each deleted on its own, the dependent before its required target.
    let h = Harness::start(true).await;
    let a = applier(&h, true, false);
    a.upsert(vec![
        entity(json!({"identifier": "dep_1", "blueprint": "department"})),
        entity(json!({"identifier": "svc_1", "blueprint": "person", "relations": {"department": "dep_1"}})),
    ])
    .await;
    let summary = a
        .delete(vec![
            entity(json!({"identifier": "dep_1", "blueprint": "department"})),
            entity(json!({"identifier": "svc_1", "blueprint": "person", "relations": {"department": "dep_1"}})),
        ])
        .await;
    assert_eq!((summary.deleted, summary.failed), (2, 0));
    assert!(h.ids("person").is_empty() && h.ids("department").is_empty());
}

#[tokio::test]
async fn delete_without_dependents_leaves_a_required_target_others_still_use() {
    let h = Harness::start(true).await;
    let a = applier(&h, true, false);
    a.upsert(vec![
        entity(json!({"identifier": "dep_1", "blueprint": "department"})),
        entity(json!({"identifier": "svc_1", "blueprint": "person", "relations": {"department": "dep_1"}})),
    ])
    .await;
    let summary = a.delete(vec![Entity::new("dep_1", "department")]).await;
    assert_eq!((summary.deleted, summary.failed), (0, 1));
    assert_eq!(h.ids("department"), ["dep_1"]);
}
