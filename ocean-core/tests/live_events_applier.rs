//! Live-event writes go through the resync's applier: entities of one batch that relate to each
//! other are stored in relation order, deletes without `deleteDependentEntities` go dependents
//! first, and the local Port accepts their event type as Port does (`http_request`).

mod sync_support;

use ocean::live_events::{ApplyPlan, LiveApplier};
use ocean::mapping::{FixedPortAppConfig, JqEngine, PortAppConfig};
use ocean::port::Entity;
use serde_json::{Value, json};
use std::sync::Arc;
use sync_support::Harness;

fn entity(v: Value) -> Entity {
    serde_json::from_value(v).unwrap()
}

/// A mapping with the write options under test (its resources do not matter here).
fn config(create_missing: bool, delete_dependents: bool) -> PortAppConfig {
    PortAppConfig::from_value(&json!({
        "createMissingRelatedEntities": create_missing,
        "deleteDependentEntities": delete_dependents,
        "resources": [],
    }))
    .unwrap()
}

fn applier(h: &Harness, config: &PortAppConfig) -> LiveApplier {
    LiveApplier::new(
        h.client.clone(),
        Arc::new(FixedPortAppConfig::new(config.clone())),
        Arc::new(JqEngine::default()),
    )
}

/// Stores department `d1` and person `p1`, who belongs to it.
async fn store_department_and_its_member(live: &LiveApplier, config: &PortAppConfig) {
    let stored = live
        .apply(
            config,
            ApplyPlan {
                upserts: vec![
                    entity(json!({"identifier": "d1", "blueprint": "department"})),
                    entity(json!({"identifier": "p1", "blueprint": "person",
                                  "relations": {"department": "d1"}})),
                ],
                deletions: Vec::new(),
            },
        )
        .await;
    assert!(stored.is_ok(), "{:?}", stored.failures);
}

#[tokio::test]
async fn a_batch_whose_entities_relate_to_each_other_is_stored_in_relation_order() {
    let h = Harness::start(false).await;
    let config = config(false, false);
    // `p2` is sent before its manager `p1` in the same bulk request, and `p1` before its
    // department: without createMissingRelatedEntities Port refuses `p2` and `p1` at first.
    let plan = ApplyPlan {
        upserts: vec![
            entity(json!({"identifier": "p2", "blueprint": "person",
                          "relations": {"manager": "p1", "department": "d1"}})),
            entity(json!({"identifier": "p1", "blueprint": "person",
                          "relations": {"department": "d1"}})),
            entity(json!({"identifier": "d1", "blueprint": "department"})),
        ],
        deletions: Vec::new(),
    };
    let report = applier(&h, &config).apply(&config, plan).await;
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.upserted.len(), 3);
    let state = h.port.state();
    for (blueprint, id) in [("person", "p2"), ("person", "p1"), ("department", "d1")] {
        assert!(state.entity(blueprint, id).is_some(), "{blueprint} {id}");
    }
    h.port.stop().await.unwrap();
}

#[tokio::test]
async fn a_delete_of_an_entity_and_its_dependent_goes_dependents_first() {
    let h = Harness::start(true).await;
    let config = config(false, false);
    let live = applier(&h, &config);
    store_department_and_its_member(&live, &config).await;
    // The department first, as the event listed them: `p1` requires it, so a delete of `d1`
    // before `p1` is refused by Port under deleteDependentEntities: false.
    let report = live
        .apply(
            &config,
            ApplyPlan {
                upserts: Vec::new(),
                deletions: vec![
                    entity(json!({"identifier": "d1", "blueprint": "department"})),
                    entity(json!({"identifier": "p1", "blueprint": "person",
                                  "relations": {"department": "d1"}})),
                ],
            },
        )
        .await;
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.deleted, 2);
    let state = h.port.state();
    assert!(state.entity("department", "d1").is_none());
    assert!(state.entity("person", "p1").is_none());
    h.port.stop().await.unwrap();
}

#[tokio::test]
async fn a_delete_refused_because_of_a_dependent_outside_the_event_is_reported() {
    let h = Harness::start(true).await;
    let config = config(false, false);
    let live = applier(&h, &config);
    store_department_and_its_member(&live, &config).await;
    let report = live
        .apply(
            &config,
            ApplyPlan {
                upserts: Vec::new(),
                deletions: vec![entity(
                    json!({"identifier": "d1", "blueprint": "department"}),
                )],
            },
        )
        .await;
    assert_eq!(report.deleted, 0);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("`d1` (department)"),
        "{:?}",
        report.failures
    );
    assert!(h.port.state().entity("department", "d1").is_some());
    h.port.stop().await.unwrap();
}

#[tokio::test]
async fn the_local_port_refuses_an_event_type_port_does_not_know() {
    let h = Harness::start(false).await;
    let token = reqwest::Client::new()
        .post(format!("{}/v1/auth/access_token", h.port.url()))
        .json(&json!({"clientId": "id", "clientSecret": "secret"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let upsert = |event_type: &'static str| {
        reqwest::Client::new()
            .post(format!(
                "{}/v1/blueprints/department/entities?upsert=true&ocean_info_event_type={event_type}",
                h.port.url()
            ))
            .bearer_auth(&token)
            .json(&json!({"identifier": "d1"}))
            .send()
    };
    for accepted in ["http_request", "resync", "start"] {
        let status = upsert(accepted).await.unwrap().status();
        assert!(status.is_success(), "{accepted}: {status}");
    }
    let refused = upsert("live_event").await.unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("ocean_info_event_type"), "{body}");
    h.port.stop().await.unwrap();
}
