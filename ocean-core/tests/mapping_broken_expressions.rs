//! A jq expression that does not compile, through a whole resync against the local Port: it
//! spoils only its own field (null, reported) or resource, as in Ocean; every other field and
//! kind is synced.

mod sync_support;

use ocean::mapping::{JqEngine, PortAppConfig};
use ocean::sync::ResyncStatus;
use serde_json::{Value, json};
use sync_support::*;

/// Departments, then persons with `person` as their mapping body (YAML, indented under
/// `port:`) and `selector` as their selector.
fn config_with_person(selector: &str, person_port: &str) -> PortAppConfig {
    let yaml = format!(
        r#"
entityDeletionThreshold: 1
resources:
  - kind: department
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"department"'
          properties:
            name: .name
  - kind: person
    selector:
      query: '{selector}'
    port:
{person_port}
"#
    );
    PortAppConfig::parse(&yaml).unwrap()
}

fn person_mapping(identifier: &str, age: &str, name: &str) -> String {
    format!(
        r#"      entity:
        mappings:
          identifier: '{identifier}'
          title: .name
          blueprint: '"person"'
          properties:
            age: '{age}'
            name: '{name}'
          relations:
            department: .dept"#
    )
}

async fn seeded() -> Harness {
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1", "d2"]));
    h.source.set("person", persons(12, "d1"));
    h.source.with(|d| d.batch_size = 5);
    h
}

#[tokio::test]
async fn a_property_that_does_not_compile_is_null_and_the_rest_is_synced() {
    // Syntax errors, a function jq 1.8 does not define, a wrong arity.
    for broken in [
        ".age +",
        ".age | nosuchfn",
        ".age | ascii_downcase(1)",
        "ltrimstr",
    ] {
        let h = seeded().await;
        let cfg = config_with_person("true", &person_mapping(".id", broken, ".name"));
        assert_eq!(cfg.compile_errors(&JqEngine::default()).len(), 1);
        let report = h.resync(&cfg).await;
        assert_eq!(
            report.status,
            ResyncStatus::Completed,
            "`{broken}`: {report:?}"
        );
        let p = kind(&report, "person");
        assert_eq!(
            (p.fetched, p.mapped, p.upserted),
            (12, 12, 12),
            "`{broken}`"
        );
        assert!(p.errors.is_empty(), "`{broken}`: {:?}", p.errors);
        assert_eq!(h.ids("department"), ["d1", "d2"]);
        let stored = h.port.state().entity("person", "p003").unwrap();
        assert_eq!(
            stored.properties.get("age").cloned().unwrap_or(Value::Null),
            Value::Null,
            "`{broken}`"
        );
        assert_eq!(stored.properties["name"], json!("Person 3"));
        assert_eq!(stored.relations["department"], json!("d1"));
        assert_eq!(report.reconciliation.skipped, None);
    }
}

#[tokio::test]
async fn an_identifier_that_does_not_compile_maps_no_entity_of_its_kind_only() {
    let h = seeded().await;
    let cfg = config_with_person("true", &person_mapping(".id | nosuchfn", ".age", ".name"));
    let report = h.resync(&cfg).await;
    let p = kind(&report, "person");
    assert_eq!((p.fetched, p.mapped, p.upserted), (12, 0, 0));
    // As in Ocean, entities without an identifier are skipped, not errors.
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(report.status, ResyncStatus::Completed);
    assert!(h.ids("person").is_empty());
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn a_selector_that_does_not_compile_fails_its_kind_and_deletes_nothing() {
    let h = seeded().await;
    let good = config_with_person("true", &person_mapping(".id", ".age", ".name"));
    h.resync(&good).await;
    assert_eq!(h.ids("person").len(), 12);
    // The departments shrink: only a failed kind keeps d2 from being deleted.
    h.source.set("department", departments(&["d1"]));
    let broken = config_with_person(".age >", &person_mapping(".id", ".age", ".name"));
    let report = h.resync(&broken).await;
    let p = kind(&report, "person");
    assert_eq!((p.fetched, p.mapped), (12, 0));
    assert_eq!(p.errors.len(), 12, "{:?}", p.errors);
    assert!(p.errors[0].contains(".age >"), "{:?}", p.errors);
    assert_eq!(report.status, ResyncStatus::Failed);
    assert!(report.reconciliation.skipped.is_some(), "{report:?}");
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(h.ids("person").len(), 12);
    assert_eq!(h.ids("department"), ["d1", "d2"]);
}

#[tokio::test]
async fn items_to_parse_that_does_not_compile_fails_its_kind_and_a_good_one_fans_out() {
    let groups = json!([
        {"group": "g1", "members": [
            {"id": "p1", "name": "One", "age": 30},
            {"id": "p2", "name": "Two", "age": 31}]},
        {"group": "g2", "members": [{"id": "p3", "name": "Three", "age": 32}]}
    ]);
    let port = |items_to_parse: &str| {
        format!(
            r#"      itemsToParse: '{items_to_parse}'
      entity:
        mappings:
          identifier: .item.id
          title: .item.name
          blueprint: '"person"'
          properties:
            age: .item.age
            name: '.group + "/" + .item.name + "/" + (.members | length | tostring)'"#
        )
    };
    let h = Harness::start(false).await;
    h.source.set("department", departments(&["d1"]));
    h.source.set("person", groups.as_array().unwrap().clone());
    let report = h
        .resync(&config_with_person("true", &port(".members")))
        .await;
    assert_eq!(report.status, ResyncStatus::Completed, "{report:?}");
    assert_eq!(h.ids("person"), ["p1", "p2", "p3"]);
    // The parent each member sees has lost `.members` (Ocean's top-level transform).
    let stored = h.port.state().entity("person", "p2").unwrap();
    assert_eq!(stored.properties["name"], json!("g1/Two/0"));

    let report = h
        .resync(&config_with_person("true", &port(".members | nosuchfn")))
        .await;
    let p = kind(&report, "person");
    assert_eq!((p.fetched, p.mapped), (2, 0));
    assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
    assert!(p.errors[0].contains("nosuchfn"), "{:?}", p.errors);
    assert_eq!(report.status, ResyncStatus::Failed);
    assert_eq!(report.reconciliation.deleted, 0);
    assert_eq!(h.ids("person"), ["p1", "p2", "p3"]);
    assert_eq!(kind(&report, "department").fetched, 1);
}

#[tokio::test]
async fn a_live_event_maps_around_expressions_that_do_not_compile() {
    use ocean::live_events::{LiveApplier, WebhookEventRawResults};
    use ocean::mapping::FixedPortAppConfig;
    use std::sync::Arc;

    let h = Harness::start(false).await;
    let mut cfg = config_with_person("true", &person_mapping(".id", ".age | nosuchfn", ".name"));
    // A second person resource whose selector does not compile: its items fail, alone.
    let mut broken_selector = cfg.resources[1].clone();
    broken_selector.selector.query = ".age >".into();
    cfg.resources.push(broken_selector);
    let live = LiveApplier::new(
        h.client.clone(),
        Arc::new(FixedPortAppConfig::new(cfg)),
        Arc::new(JqEngine::default()),
    );
    let compiled = live.current().await.unwrap();
    let person = json!({"id": "p9", "name": "Nine", "age": 40, "dept": "d1"});
    let report = live
        .apply_results(
            compiled,
            vec![
                (1, WebhookEventRawResults::updated(vec![person.clone()])),
                (2, WebhookEventRawResults::updated(vec![person])),
            ],
        )
        .await
        .unwrap();
    assert_eq!(report.upserted.len(), 1, "{report:?}");
    let stored = h.port.state().entity("person", "p9").unwrap();
    assert_eq!(
        stored.properties.get("age").cloned().unwrap_or(Value::Null),
        Value::Null
    );
    assert_eq!(stored.properties["name"], json!("Nine"));
}
