//! The resync engine against the local Port over HTTP: creating, skipping unchanged entities,
//! guarded reconciliation, failing kinds, relations, ownership and abort.

mod sync_support;

use ocean::port::Entity;
use ocean::sync::ResyncStatus;
use serde_json::json;
use sync_support::*;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn first_resync_creates_everything_and_sends_raw_examples() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set("person", persons(45, "d1"));
    h.source.with(|d| d.batch_size = 20);
    let report = h.resync(&config(false, true, 0.9)).await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    let p = kind(&report, "person");
    assert_eq!((p.fetched, p.mapped, p.upserted, p.failed), (45, 45, 45, 0));
    assert_eq!(kind(&report, "department").upserted, 2);
    assert_eq!(h.ids("person").len(), 45);
    assert_eq!(h.ids("department"), ["d1", "d2"]);
    let stored = h.port.state().entity("person", "p007").unwrap();
    assert_eq!(stored.properties["age"], json!(27));
    assert_eq!(stored.relations["department"], json!("d1"));
    assert_eq!(stored.title.as_deref(), Some("Person 7"));
    // 206: the first five raw items of each kind reach Port as examples.
    let examples = h.port.state().examples(INTEGRATION, "person");
    assert_eq!(examples, persons(5, "d1"));
    assert_eq!(h.port.state().examples(INTEGRATION, "department").len(), 2);
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(report.reconciliation.skipped, None);
}

#[tokio::test]
async fn unchanged_entities_are_not_rewritten_on_a_second_resync() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", persons(40, "d1"));
    h.source.with(|d| d.batch_size = 20);
    let cfg = config(false, true, 0.9);
    h.resync(&cfg).await;
    let before = h.updated_at("person", "p005");
    let report = h.resync(&cfg).await;
    let p = kind(&report, "person");
    // 197: batches of 20 identical entities are looked up and not written.
    assert_eq!((p.mapped, p.unchanged, p.upserted), (40, 40, 0), "{p:?}");
    assert_eq!(h.updated_at("person", "p005"), before);
    // A batch of one department (≤ 10) is written without a lookup.
    assert_eq!(kind(&report, "department").upserted, 1);
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(report.reconciliation.owned_before, 41);
    assert_eq!(h.ids("person").len(), 40);
}

#[tokio::test]
async fn only_changed_and_new_entities_are_written() {
    // 195: one modified, one new; the rest unchanged.
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", persons(30, "d1"));
    h.source.with(|d| d.batch_size = 50);
    let cfg = config(false, true, 0.9);
    h.resync(&cfg).await;
    let untouched = h.updated_at("person", "p001");
    let changed = h.updated_at("person", "p002");
    let mut items = persons(31, "d1");
    items[2]["age"] = json!(99);
    h.source.set("person", items);
    let report = h.resync(&cfg).await;
    let p = kind(&report, "person");
    assert_eq!((p.mapped, p.unchanged, p.upserted), (31, 29, 2), "{p:?}");
    assert_eq!(h.updated_at("person", "p001"), untouched);
    assert_ne!(h.updated_at("person", "p002"), changed);
    assert_eq!(
        h.port.state().entity("person", "p002").unwrap().properties["age"],
        json!(99)
    );
    assert!(h.port.state().entity("person", "p030").is_some());
}

#[tokio::test]
async fn second_resync_after_the_source_dropped_ten_percent_deletes_exactly_those() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set("person", persons(50, "d1"));
    h.source.with(|d| d.batch_size = 25);
    let cfg = config(false, true, 0.9);
    h.resync(&cfg).await;
    let mut remaining = persons(50, "d1");
    let dropped: Vec<String> = remaining
        .drain(10..15)
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    h.source.set("person", remaining);
    let report = h.resync(&cfg).await;
    assert_eq!(report.status, ResyncStatus::Completed);
    assert_eq!(
        report.reconciliation.deleted, 5,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(report.reconciliation.stale, 5);
    assert_eq!(report.reconciliation.owned_before, 52);
    assert_eq!(kind(&report, "person").deleted, 5);
    let ids = h.ids("person");
    assert_eq!(ids.len(), 45);
    for id in &dropped {
        assert!(!ids.contains(id), "{id} should be deleted");
    }
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn an_entity_whose_upsert_port_rejects_in_a_later_resync_is_not_deleted_as_stale() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", persons(10, "d1"));
    let cfg = config(false, true, 0.9);
    let first = h.resync(&cfg).await;
    assert_eq!(kind(&first, "person").upserted, 10, "{first:?}");

    // The source still has p003, but with an age Port's schema refuses (`age` is a number);
    // p009 is gone from the source, so reconciliation has something to delete.
    let mut items = persons(9, "d1");
    items[3]["age"] = json!("twenty-three");
    h.source.set("person", items);
    let report = h.resync(&cfg).await;
    let p = kind(&report, "person");
    assert_eq!((p.mapped, p.failed), (9, 1), "{p:?}");
    assert!(
        report.reconciliation.skipped.is_none(),
        "reconciliation must run: {:?}",
        report.reconciliation
    );
    assert_eq!(
        report.reconciliation.deleted, 1,
        "only p009 is stale: {:?}",
        report.reconciliation
    );
    let ids = h.ids("person");
    assert!(!ids.contains(&"p009".to_owned()), "{ids:?}");
    let kept = h
        .port
        .state()
        .entity("person", "p003")
        .expect("p003 was seen in the resync; only its write failed");
    assert_eq!(
        kept.properties["age"],
        json!(23),
        "Port keeps what it had before the rejected write"
    );
    assert_eq!(ids.len(), 9);
}

#[tokio::test]
async fn a_source_that_dropped_95_percent_deletes_nothing_and_says_why() {
    let h = Harness::start(false).await;
    let without_department = |n| {
        let mut items = persons(n, "");
        for item in &mut items {
            item.as_object_mut().unwrap().remove("dept");
        }
        items
    };
    h.source.set("person", without_department(100));
    h.source.with(|d| d.batch_size = 50);
    let cfg = config(true, true, 0.9);
    h.resync(&cfg).await;
    h.source.set("person", without_department(5));
    let report = h.resync(&cfg).await;
    let reason = report.reconciliation.skipped.clone().unwrap_or_default();
    // The share is over the 100 owned before, not over the 95 stale ones (Ocean's 100%).
    assert!(
        reason.contains("would delete 95 of 100 owned entities (95%), above the threshold 90%"),
        "{reason}"
    );
    assert_eq!(report.reconciliation.owned_before, 100);
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(report.status, ResyncStatus::Completed);
    assert_eq!(h.ids("person").len(), 100);
    // The same drop with threshold 1 deletes all of them.
    let report = h.resync(&config(true, true, 1.0)).await;
    assert_eq!(
        report.reconciliation.deleted, 95,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(h.ids("person").len(), 5);
}

#[tokio::test]
async fn threshold_zero_blocks_any_deletion() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    let cfg = config(false, true, 0.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d2", "d3"]));
    let report = h.resync(&cfg).await;
    assert_eq!(report.reconciliation.deleted, 0);
    assert!(
        report
            .reconciliation
            .skipped
            .unwrap()
            .contains("threshold 0%")
    );
    assert_eq!(h.ids("department"), ["d1", "d2", "d3"]);
}

#[tokio::test]
async fn a_handler_error_mid_stream_fails_the_kind_keeps_its_batches_and_deletes_nothing() {
    // 204 and 216: the extract fails; nothing is deleted and the resync is failed.
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set("person", persons(30, "d1"));
    h.source.with(|d| d.batch_size = 10);
    let cfg = config(false, true, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d1"]));
    // New persons first, then known ones; the API fails on the third page.
    let mut items = persons(40, "d1")[30..].to_vec();
    items.extend(persons(30, "d1"));
    h.source.set("person", items);
    h.source.with(|d| d.fail_after.insert("person".into(), 2));
    let report = h.resync(&cfg).await;
    assert_eq!(report.status, ResyncStatus::Failed);
    let p = kind(&report, "person");
    assert_eq!(p.fetched, 20);
    assert_eq!(p.errors.len(), 1);
    assert!(
        p.errors[0].contains("answered 500 on page 2"),
        "{:?}",
        p.errors
    );
    assert!(
        report
            .reconciliation
            .skipped
            .as_deref()
            .unwrap()
            .contains("person (1 errors)")
    );
    assert_eq!(report.reconciliation.deleted, 0);
    // The upserted batches stay (p030..p039 are new), nothing stale was deleted.
    assert_eq!(h.ids("person").len(), 40);
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn a_non_boolean_selector_fails_the_kind_but_other_items_are_upserted() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d9"]));
    h.resync(&config(false, true, 1.0)).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", persons(4, "d1"));
    let cfg = config_with(
        false,
        true,
        1.0,
        r#"if .id == "p002" then "yes" else true end"#,
        false,
    );
    let report = h.resync(&cfg).await;
    assert_eq!(report.status, ResyncStatus::Failed);
    let p = kind(&report, "person");
    assert_eq!((p.fetched, p.mapped, p.upserted), (4, 3, 3));
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(h.ids("person"), ["p000", "p001", "p003"]);
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(h.ids("department"), ["d1", "d9"]);
}

#[tokio::test]
async fn a_kind_without_handlers_fails_with_the_available_kinds() {
    let h = Harness::start(false).await;
    let cfg = ocean::mapping::PortAppConfig::parse(
        r#"
resources:
  - kind: project
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: .id, blueprint: '"department"'}}}
"#,
    )
    .unwrap();
    let report = h.resync(&cfg).await;
    assert_eq!(report.status, ResyncStatus::Failed);
    assert_eq!(
        kind(&report, "project").errors,
        [r#"Kind project is not implemented. Available kinds: ["department", "person"]"#]
    );
}

#[tokio::test]
async fn entities_owned_by_another_datasource_are_never_deleted() {
    let h = Harness::start(false).await;
    let other = client_as(&h.port, "another-installation");
    other
        .upsert_entity(&Entity::new("theirs", "department"), &Default::default())
        .await
        .unwrap();
    h.source.set("department", departments(&["d1", "d2"]));
    let cfg = config(false, true, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", vec![]);
    let report = h.resync(&cfg).await;
    assert_eq!(
        report.reconciliation.deleted, 2,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(report.reconciliation.owned_before, 2);
    assert_eq!(h.ids("department"), ["theirs"]);
}

#[tokio::test]
async fn entities_written_after_the_resync_began_are_not_deleted() {
    // 208: the listing uses the resync start time.
    let h = Harness::start(false).await;
    h.source
        .set("department", departments(&["d1", "d2", "live"]));
    let cfg = config(false, true, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d1"]));
    // A live event rewrites "live" while the resync runs.
    let live_writer = client_as(&h.port, INTEGRATION);
    h.source.with(|d| {
        d.write_during = Some((
            "department".into(),
            live_writer,
            Entity::new("live", "department"),
        ));
    });
    let report = h.resync(&cfg).await;
    assert_eq!(
        report.reconciliation.deleted, 1,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(h.ids("department"), ["d1", "live"]);
}

#[tokio::test]
async fn persons_missing_their_department_are_retried_after_departments_exist() {
    // Without createMissingRelatedEntities and persons before departments, every person
    // fails first (404) and is stored by the retry in relation order.
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set("person", persons(12, "d2"));
    h.source.with(|d| d.batch_size = 5);
    let cfg = config_with(false, true, 0.9, "true", true);
    let report = h.resync(&cfg).await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    let p = kind(&report, "person");
    assert_eq!((p.mapped, p.upserted, p.failed), (12, 0, 12));
    assert_eq!(report.reconciliation.retried, 12);
    assert_eq!(report.reconciliation.retry_failed, 0);
    assert_eq!(h.ids("person").len(), 12);
    let stored = h.port.state().entity("person", "p011").unwrap();
    assert_eq!(stored.relations["department"], json!("d2"));
    assert_eq!(stored.properties["age"], json!(31));
}

#[tokio::test]
async fn dependency_chains_are_retried_in_topological_order() {
    // 190: 1→3, 2→4, 3→none, 4→3, 5→1 through `manager`; 3 and 4 store in the bulk, the
    // others are retried with their targets first.
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    let managers = [
        ("1", json!("3")),
        ("2", json!("4")),
        ("3", json!(null)),
        ("4", json!("3")),
        ("5", json!("1")),
    ];
    h.source.set(
        "person",
        managers
            .iter()
            .map(|(id, m)| json!({"id": id, "name": id, "age": 1, "dept": "d1", "manager": m}))
            .collect(),
    );
    let report = h.resync(&config(false, true, 0.9)).await;
    let p = kind(&report, "person");
    assert_eq!((p.upserted, p.failed), (2, 3), "{p:?}");
    assert_eq!(report.reconciliation.retried, 3);
    assert_eq!(h.ids("person"), ["1", "2", "3", "4", "5"]);
    assert_eq!(
        h.port.state().entity("person", "5").unwrap().relations["manager"],
        json!("1")
    );
}

#[tokio::test]
async fn a_relation_cycle_is_retried_in_registration_order_without_failing_the_resync() {
    // 189: a↔b cannot be ordered; both are retried in registration order.
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set(
        "person",
        vec![
            json!({"id": "a", "name": "a", "age": 1, "dept": "d1", "manager": "b"}),
            json!({"id": "b", "name": "b", "age": 1, "dept": "d1", "manager": "a"}),
        ],
    );
    let report = h.resync(&config(false, true, 0.9)).await;
    assert_eq!(report.status, ResyncStatus::Completed);
    assert_eq!(kind(&report, "person").failed, 2);
    // Port cannot store either without the other; the retry reports both.
    assert_eq!(
        report.reconciliation.retried + report.reconciliation.retry_failed,
        2
    );
}

#[tokio::test]
async fn create_missing_keeps_stale_entities_that_seen_entities_relate_to() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d9"]));
    h.source.set("person", persons(3, "d9"));
    let cfg = config(true, true, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d1"]));
    let report = h.resync(&cfg).await;
    assert_eq!(
        report.reconciliation.kept_related, 1,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(h.ids("department"), ["d1", "d9"]);
}

#[tokio::test]
async fn without_delete_dependents_dependents_are_deleted_before_what_they_require() {
    let h = Harness::start(true).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set(
        "person",
        vec![json!({"id": "p1", "name": "p", "age": 1, "dept": "d2"})],
    );
    let cfg = config(false, false, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", vec![]);
    let report = h.resync(&cfg).await;
    assert_eq!(
        report.reconciliation.deleted, 2,
        "{:?}",
        report.reconciliation
    );
    assert_eq!(report.reconciliation.delete_failed, 0);
    assert!(h.ids("person").is_empty());
    assert_eq!(h.ids("department"), ["d1"]);
}

#[tokio::test]
async fn catch_all_handlers_add_their_batches_to_every_kind() {
    let h = Harness::start(false).await.with_catch_all();
    h.source.set("department", departments(&["d1", "d2"]));
    let report = h.resync(&config(false, true, 0.9)).await;
    let d = kind(&report, "department");
    assert_eq!((d.fetched, d.mapped, d.upserted), (4, 4, 4));
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn abort_mid_stream_returns_aborted_and_deletes_nothing() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2", "d3"]));
    h.source.set("person", persons(30, "d1"));
    h.source.with(|d| d.batch_size = 10);
    let cfg = config(false, true, 1.0);
    h.resync(&cfg).await;
    h.source.set("department", departments(&["d1"]));
    let cancel = CancellationToken::new();
    h.source
        .with(|d| d.cancel_after = Some(("person".into(), 1, cancel.clone())));
    // The handler fires the token and then hangs: only honouring cancellation inside waits
    // lets the resync return.
    let report = h.engine().resync(&cfg, &cancel).await;
    assert_eq!(report.status, ResyncStatus::Aborted);
    assert_eq!(report.reconciliation.deleted, 0);
    assert!(report.reconciliation.skipped.unwrap().contains("aborted"));
    assert_eq!(h.ids("department"), ["d1", "d2", "d3"]);
    assert_eq!(h.ids("person").len(), 30);
}

#[tokio::test]
async fn a_cancelled_token_before_the_start_syncs_nothing() {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = h.engine().resync(&config(false, true, 1.0), &cancel).await;
    assert_eq!(report.status, ResyncStatus::Aborted);
    assert!(report.kinds.is_empty());
    assert!(h.ids("department").is_empty());
}

#[tokio::test]
async fn the_pipeline_never_runs_more_than_a_few_batches_ahead_of_port() {
    // Memory stays flat: fetching waits for the writes once the bounded channels are full.
    let h = Harness::start(false).await;
    let mut items = persons(300, "");
    for item in &mut items {
        item.as_object_mut().unwrap().remove("dept");
    }
    h.source.set("person", items);
    let state = h.port.state();
    h.source.with(|d| {
        d.batch_size = 10;
        d.lag_probe = Some((state, Vec::new()));
    });
    let report = h.resync(&config(true, true, 0.9)).await;
    assert_eq!(kind(&report, "person").upserted, 300);
    let lags = h.source.with(|d| d.lag_probe.take().unwrap().1);
    assert_eq!(lags.len(), 30);
    // Batches in the raw and mapped channels (2 each), one being mapped, one being written,
    // one being handed over.
    let bound = (2 * 2 + 3) * 10;
    assert!(lags.iter().all(|lag| *lag <= bound), "{lags:?}");
}
