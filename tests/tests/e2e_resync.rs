//! Resync end to end: the real `fake-integration` binary against a standalone local Port
//! (`ocean port-emulator`) over HTTP, one local Port per test. Each test runs the integration
//! once or more (ONCE listener) and checks what Port holds afterwards, the exit code and what
//! the run reported.

use anyhow::{Result, ensure};
use ocean::port::{Datasource, Feature};
use ocean_e2e_tests::fake::{
    DEPARTMENT, IDENTIFIER, INTEGRATION_TYPE, PERSON, datasource, department_ids,
    example_port_app_config, expect_exit, person_ids, resources_with_config, version,
};
use ocean_e2e_tests::{FakeIntegration, PortEmulator, RunReport};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a stopped integration may take to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

async fn emulator() -> Result<PortEmulator> {
    PortEmulator::start().await
}

#[tokio::test]
async fn first_resync_creates_every_department_and_person_with_relations() -> Result<()> {
    let port = emulator().await?;
    let run = FakeIntegration::new(&port)?
        .departments(5)
        .persons_per_department(8)
        .batch_size(15)
        .run()
        .await?;
    expect_exit(&run, 0)?;
    ensure!(run.summary_status() == Some("completed"), "{run}");
    let persons = run.summary_row(PERSON);
    ensure!(
        persons
            .as_ref()
            .map(|r| (r["fetched"], r["upserted"], r["failed"]))
            == Some((40, 40, 0)),
        "persons row {persons:?}\n{run}"
    );
    let departments = run.summary_row(DEPARTMENT);
    ensure!(
        departments.as_ref().map(|r| (r["fetched"], r["upserted"])) == Some((5, 5)),
        "departments row {departments:?}\n{run}"
    );

    ensure!(port.identifiers(DEPARTMENT).await? == department_ids(0..5));
    let stored = port.entities(PERSON).await?;
    let ids: BTreeSet<String> = stored
        .iter()
        .filter_map(|e| e.identifier_str().map(str::to_owned))
        .collect();
    ensure!(ids == person_ids(0..5, 0..8), "persons in Port: {ids:?}");
    for person in &stored {
        let id = person.identifier_str().unwrap_or_default();
        let dept = id.split('-').nth(1).unwrap_or_default();
        let relation = person.relations.as_ref().and_then(|r| r.get("department"));
        ensure!(
            relation == Some(&json!(format!("dept-{dept}"))),
            "{id} relates to {relation:?}"
        );
        let email = person.properties.as_ref().and_then(|p| p.get("email"));
        ensure!(
            email == Some(&json!(format!("{id}@fake.example"))),
            "{id}: {email:?}"
        );
    }
    // Everything is written as this installation: the ownership the next resync relies on.
    ensure!(port.owned_by(datasource()).await?.len() == 45);
    ensure!(port.resync_status(IDENTIFIER).await?.as_deref() == Some("completed"));
    Ok(())
}

#[tokio::test]
async fn second_resync_deletes_exactly_the_persons_the_source_dropped() -> Result<()> {
    let port = emulator().await?;
    let first = FakeIntegration::new(&port)?
        .persons_per_department(10)
        .run()
        .await?;
    expect_exit(&first, 0)?;
    ensure!(port.identifiers(PERSON).await? == person_ids(0..5, 0..10));

    // 10% fewer persons per department: person-{d}-9 are gone from the source.
    let second = FakeIntegration::new(&port)?
        .persons_per_department(9)
        .run()
        .await?;
    expect_exit(&second, 0)?;
    ensure!(second.summary_status() == Some("completed"), "{second}");
    ensure!(port.identifiers(PERSON).await? == person_ids(0..5, 0..9));
    ensure!(port.identifiers(DEPARTMENT).await? == department_ids(0..5));
    ensure!(
        second.log_number("Resync finished", "deleted") == Some(5),
        "the resync should report 5 deletions\n{second}"
    );
    ensure!(
        second.log_number("Resync summary of kind fake-person", "deleted") == Some(5),
        "the persons summary should report 5 deletions\n{second}"
    );
    ensure!(
        second.log_number("Resync summary of kind fake-department", "deleted") == Some(0),
        "{second}"
    );
    Ok(())
}

#[tokio::test]
async fn a_source_that_lost_most_items_deletes_nothing_and_says_it_is_the_threshold() -> Result<()>
{
    let port = emulator().await?;
    let first = FakeIntegration::new(&port)?
        .persons_per_department(20)
        .run()
        .await?;
    expect_exit(&first, 0)?;

    // 95% of the persons vanish: 95 of the 105 owned entities would go, above 90%.
    let second = FakeIntegration::new(&port)?
        .persons_per_department(1)
        .run()
        .await?;
    expect_exit(&second, 0)?;
    ensure!(port.identifiers(PERSON).await? == person_ids(0..5, 0..20));
    ensure!(port.identifiers(DEPARTMENT).await? == department_ids(0..5));
    ensure!(
        second.log_number("Resync finished", "deleted") == Some(0),
        "{second}"
    );
    let reason = second.log_lines("Skipping deletion of entities");
    ensure!(
        reason
            .iter()
            .any(|l| l.contains("would delete 95 of 105") && l.contains("entityDeletionThreshold")),
        "the log should say the threshold blocked the deletion\n{second}"
    );
    Ok(())
}

#[tokio::test]
async fn a_failing_kind_deletes_nothing_and_exits_with_1() -> Result<()> {
    let port = emulator().await?;
    let first = FakeIntegration::new(&port)?
        .persons_per_department(10)
        .batch_size(10)
        .run()
        .await?;
    expect_exit(&first, 0)?;
    let everything = (
        port.identifiers(DEPARTMENT).await?,
        port.identifiers(PERSON).await?,
    );

    // Each run drops a person per department, which a complete resync would delete.
    for failing in [PERSON, DEPARTMENT] {
        let run = FakeIntegration::new(&port)?
            .persons_per_department(9)
            .batch_size(10)
            .fail_kind(failing)
            .run()
            .await?;
        expect_exit(&run, 1)?;
        ensure!(run.summary_status() == Some("failed"), "{run}");
        let row = run.summary_row(failing);
        ensure!(
            row.as_ref().is_some_and(|r| r["errors"] > 0),
            "{failing} should report its error: {row:?}\n{run}"
        );
        ensure!(
            run.log_lines("Skipping the delete phase")
                .iter()
                .any(|l| l.contains(failing) && l.contains("nothing was deleted")),
            "the log should say why nothing was deleted\n{run}"
        );
        ensure!(
            run.log_number("Resync finished", "deleted") == Some(0),
            "{run}"
        );
        let now = (
            port.identifiers(DEPARTMENT).await?,
            port.identifiers(PERSON).await?,
        );
        ensure!(
            now == everything,
            "entities changed after {failing} failed: {now:?}"
        );
        ensure!(port.resync_status(IDENTIFIER).await?.as_deref() == Some("failed"));
    }
    Ok(())
}

#[tokio::test]
async fn persons_before_departments_without_creating_missing_related_entities_all_end_up_stored()
-> Result<()> {
    let port = emulator().await?;
    let mut config = example_port_app_config()?;
    config["createMissingRelatedEntities"] = json!(false);
    let resources = config
        .get_mut("resources")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| anyhow::anyhow!("the example's mapping has no resources"))?;
    resources.reverse();
    ensure!(
        resources[0]["kind"] == json!(PERSON),
        "persons must come first"
    );
    let dir = resources_with_config(&config)?;

    let run = FakeIntegration::new(&port)?
        .persons_per_department(6)
        .resources_path(dir.path())
        .run()
        .await?;
    expect_exit(&run, 0)?;
    // Port refused every person (its department did not exist yet); after all kinds they were
    // upserted again in relation order.
    ensure!(
        run.log_number("Resync finished", "retried") == Some(30),
        "the 30 persons should have been retried after the departments\n{run}"
    );
    let mapping = port.integration(IDENTIFIER).await?.config;
    ensure!(
        mapping
            .as_ref()
            .and_then(|c| c.get("createMissingRelatedEntities"))
            == Some(&json!(false)),
        "the run must use the patched mapping: {mapping:?}"
    );

    ensure!(port.identifiers(PERSON).await? == person_ids(0..5, 0..6));
    let departments = port.entities(DEPARTMENT).await?;
    let ids: BTreeSet<String> = departments
        .iter()
        .filter_map(|e| e.identifier_str().map(str::to_owned))
        .collect();
    ensure!(ids == department_ids(0..5), "departments in Port: {ids:?}");
    // A placeholder Port creates for a missing related entity has no title and no properties.
    for department in &departments {
        let name = department.properties.as_ref().and_then(|p| p.get("name"));
        ensure!(
            name.is_some_and(Value::is_string) && department.title.as_ref() == name,
            "{:?} looks like a placeholder: title {:?}, name {name:?}",
            department.identifier,
            department.title
        );
    }
    for person in port.entities(PERSON).await? {
        let relation = person.relations.as_ref().and_then(|r| r.get("department"));
        ensure!(
            relation
                .and_then(Value::as_str)
                .is_some_and(|d| ids.contains(d)),
            "{:?} relates to {relation:?}",
            person.identifier
        );
    }
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_mid_resync_exits_promptly_reports_aborted_and_deletes_nothing() -> Result<()> {
    let port = emulator().await?;
    // A sixth department the next source no longer has: a complete resync would delete it.
    let first = FakeIntegration::new(&port)?
        .departments(6)
        .persons_per_department(2)
        .run()
        .await?;
    expect_exit(&first, 0)?;
    let before = (
        port.identifiers(DEPARTMENT).await?,
        port.identifiers(PERSON).await?,
    );

    // 200 pages of 5 persons, 100 ms each: the resync runs for 20 s unless stopped.
    let process = FakeIntegration::new(&port)?
        .departments(5)
        .persons_per_department(200)
        .batch_size(5)
        .latency_ms(100)
        .spawn()
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !port.identifiers(PERSON).await?.contains("person-0-4") {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the first page of persons never reached Port\n{}",
            process.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ensure!(port.resync_status(IDENTIFIER).await?.as_deref() == Some("running"));

    process.terminate()?;
    let run = process.wait(STOP_TIMEOUT).await?;
    // An aborted ONCE resync is a failed run (exit code 1).
    expect_exit(&run, 1)?;
    ensure!(run.summary_status() == Some("aborted"), "{run}");
    ensure!(!run.log_lines("SIGTERM received").is_empty(), "{run}");
    ensure!(
        port.resync_status(IDENTIFIER).await?.as_deref() == Some("aborted"),
        "the resync state in Port should be aborted\n{run}"
    );
    let (departments, persons) = (
        port.identifiers(DEPARTMENT).await?,
        port.identifiers(PERSON).await?,
    );
    ensure!(
        departments == before.0,
        "departments changed: {departments:?}"
    );
    ensure!(
        persons.is_superset(&before.1),
        "persons were deleted: {persons:?}"
    );
    ensure!(
        persons.len() < 1000,
        "the resync ran to the end instead of stopping\n{run}"
    );
    Ok(())
}

#[tokio::test]
async fn entities_of_other_datasources_are_never_deleted() -> Result<()> {
    let port = emulator().await?;
    let first = FakeIntegration::new(&port)?
        .persons_per_department(10)
        .run()
        .await?;
    expect_exit(&first, 0)?;

    let gitops = Datasource {
        feature: Feature::Gitops,
        ..datasource()
    };
    let foreign = [
        (
            "person-other-type",
            Datasource::exporter("other-integration", version(), IDENTIFIER).user_agent(),
        ),
        (
            "person-other-installation",
            Datasource::exporter(INTEGRATION_TYPE, version(), "another-installation").user_agent(),
        ),
        ("person-gitops", gitops.user_agent()),
        ("person-by-hand", "e2e-console/1.0".to_owned()),
    ];
    // The same installation at an older version is the same owner: its entity goes.
    let old_version = Datasource::exporter(INTEGRATION_TYPE, "0.0.1", IDENTIFIER).user_agent();
    let writes = foreign
        .iter()
        .map(|(id, ua)| (*id, ua.as_str()))
        .chain([("person-old-version", old_version.as_str())]);
    for (id, user_agent) in writes {
        let entity = json!({
            "identifier": id,
            "title": id,
            "properties": {"name": id},
            "relations": {"department": "dept-0"},
        });
        port.upsert_as(user_agent, PERSON, &entity).await?;
    }

    let second = FakeIntegration::new(&port)?
        .persons_per_department(9)
        .run()
        .await?;
    expect_exit(&second, 0)?;
    let persons = port.identifiers(PERSON).await?;
    for (id, user_agent) in &foreign {
        ensure!(
            persons.contains(*id),
            "{id} written by `{user_agent}` was deleted\n{second}"
        );
    }
    ensure!(
        !persons.contains("person-old-version"),
        "the entity of an older version of this installation should have been deleted\n{second}"
    );
    let mut expected = person_ids(0..5, 0..9);
    expected.extend(foreign.iter().map(|(id, _)| (*id).to_owned()));
    ensure!(persons == expected, "persons in Port: {persons:?}");
    ensure!(
        second.log_number("Resync finished", "deleted") == Some(6),
        "{second}"
    );
    Ok(())
}

#[tokio::test]
async fn about_prints_the_kinds_as_json() -> Result<()> {
    // Fully configured, yet --about answers before connecting to Port.
    let port = emulator().await?;
    let run = FakeIntegration::new(&port)?.arg("--about").run().await?;
    expect_exit(&run, 0)?;
    let about: Value = serde_json::from_str(run.stdout.trim())
        .map_err(|e| anyhow::anyhow!("--about is not JSON ({e})\n{run}"))?;
    ensure!(about["name"] == json!(INTEGRATION_TYPE), "{about}");
    ensure!(about["version"] == json!(version()), "{about}");
    ensure!(about["kinds"] == json!([DEPARTMENT, PERSON]), "{about}");
    let handlers: Vec<&str> = about["resyncHandlers"]
        .as_array()
        .map(|h| h.iter().filter_map(|h| h["kind"].as_str()).collect())
        .unwrap_or_default();
    ensure!(handlers == [DEPARTMENT, PERSON], "{about}");
    ensure!(
        port.integration(IDENTIFIER).await.is_err(),
        "--about must not touch Port"
    );
    Ok(())
}

#[tokio::test]
async fn a_port_answering_half_its_calls_429_is_waited_out_posts_included() -> Result<()> {
    // Half of every call after the token, blueprint and integration creation (POSTs) included,
    // is answered 429 with `Retry-After: 0`: a rate-limited request was not processed, so it
    // is sent again whatever its method.
    let port = PortEmulator::start_with(&["--fault-rate-limit", "0.5", "--fault-retry-after", "0"])
        .await?;
    let run = FakeIntegration::new(&port)?
        .departments(3)
        .persons_per_department(4)
        .batch_size(5)
        .run()
        .await?;
    expect_exit(&run, 0)?;
    ensure!(run.summary_status() == Some("completed"), "{run}");
    ensure!(port.identifiers(DEPARTMENT).await? == department_ids(0..3));
    ensure!(port.identifiers(PERSON).await? == person_ids(0..3, 0..4));
    Ok(())
}
