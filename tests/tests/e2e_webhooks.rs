//! Live events end to end: the real `fake-integration` binary with a Standard Webhooks secret
//! and the `WEBHOOKS_ONLY` listener, against a standalone local Port (`ocean port-emulator`),
//! one of each per test. Webhooks are posted over HTTP, signed as the third party would, and
//! the tests check the answers, what the local Port holds and what `/metrics` counted.
//!
//! A rejected event is never checked by waiting a while and finding nothing: a later event,
//! sent after it, is waited for until processed, and only then is the rejected one's absence
//! asserted (the workers take events in arrival order, and a rejected one was never queued).

use anyhow::{Result, ensure};
use ocean_e2e_tests::fake::{PERSON, expect_exit, person_ids};
use ocean_e2e_tests::webhooks::{
    OTHER_SECRET, SECRET, eventually, person_deleted, person_updated, signed_headers,
};
use ocean_e2e_tests::{FakeIntegration, LiveIntegration, PortEmulator};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// Upper bound of any wait for an effect in Port.
const WAIT: Duration = Duration::from_secs(30);

const UNAUTHORIZED: &str = r#"live_events_rejected_total{reason="unauthorized"}"#;

async fn live(port: &PortEmulator) -> Result<LiveIntegration> {
    FakeIntegration::new(port)?
        .config("WEBHOOK_SECRET", SECRET)
        .serve_webhooks()
        .await
}

async fn wait_for_person(port: &PortEmulator, live: &LiveIntegration, id: &str) -> Result<()> {
    eventually(&format!("{id} in the local Port"), WAIT, || async {
        Ok(port.identifiers(PERSON).await?.contains(id))
    })
    .await
    .map_err(|e| e.context(live.log()))
}

#[tokio::test]
async fn a_signed_person_update_is_answered_202_and_the_person_appears_in_port() -> Result<()> {
    let port = PortEmulator::start().await?;
    let live = live(&port).await?;
    let answer = live
        .post_signed(
            "msg_update",
            &person_updated("person-1-7", "Ada Lovelace", "dept-1"),
        )
        .await?;
    ensure!(answer.status == 202, "{answer:?}\n{}", live.log());
    ensure!(
        answer.body["eventId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{answer:?}"
    );
    wait_for_person(&port, &live, "person-1-7").await?;

    let stored = port.entities(PERSON).await?;
    let person = stored
        .iter()
        .find(|e| e.identifier_str() == Some("person-1-7"))
        .ok_or_else(|| anyhow::anyhow!("person-1-7 vanished"))?;
    ensure!(
        person.title == Some(json!("Ada Lovelace")),
        "{:?}",
        person.title
    );
    let properties = person.properties.clone().unwrap_or_default();
    ensure!(
        properties.get("email") == Some(&json!("person-1-7@fake.example"))
            && properties.get("age") == Some(&json!(36)),
        "{properties:?}"
    );
    let relations = person.relations.clone().unwrap_or_default();
    ensure!(
        relations.get("department") == Some(&json!("dept-1")),
        "{relations:?}"
    );
    ensure!(live.metric("live_events_accepted_total").await? == 1);
    Ok(())
}

#[tokio::test]
async fn a_replayed_delivery_is_refused_with_401_and_cannot_bring_a_deleted_person_back()
-> Result<()> {
    let port = PortEmulator::start().await?;
    let live = live(&port).await?;
    let update = person_updated("person-2-3", "Grace Hopper", "dept-2");
    let first_delivery = signed_headers(SECRET, "msg_replayed", &update)?;
    let answer = live.post(&update, &first_delivery).await?;
    ensure!(answer.status == 202, "{answer:?}\n{}", live.log());
    wait_for_person(&port, &live, "person-2-3").await?;

    let answer = live
        .post_signed("msg_delete", &person_deleted("person-2-3"))
        .await?;
    ensure!(answer.status == 202, "{answer:?}");
    live.wait_processed(2).await?;
    ensure!(!port.identifiers(PERSON).await?.contains("person-2-3"));

    // The very same request again: same body, same `webhook-id`, still within the timestamp
    // tolerance, correctly signed. Only the replay guard can refuse it.
    let replay = live.post(&update, &first_delivery).await?;
    ensure!(
        replay.status == 401,
        "a replayed delivery must be refused: {replay:?}"
    );
    ensure!(live.metric(UNAUTHORIZED).await? == 1);

    let later = person_updated("person-2-4", "Katherine Johnson", "dept-2");
    ensure!(live.post_signed("msg_later", &later).await?.status == 202);
    live.wait_processed(3).await?;
    let persons = port.identifiers(PERSON).await?;
    ensure!(
        persons.contains("person-2-4") && !persons.contains("person-2-3"),
        "the replay must not have brought person-2-3 back: {persons:?}"
    );
    ensure!(live.metric("live_events_accepted_total").await? == 3);
    Ok(())
}

#[tokio::test]
async fn wrongly_signed_unsigned_and_tampered_events_are_answered_401_and_change_nothing()
-> Result<()> {
    let port = PortEmulator::start().await?;
    let live = live(&port).await?;

    let forged = person_updated("person-3-1", "Mallory", "dept-3");
    let other_key = live
        .post(
            &forged,
            &signed_headers(OTHER_SECRET, "msg_forged", &forged)?,
        )
        .await?;
    ensure!(other_key.status == 401, "another key: {other_key:?}");
    ensure!(
        other_key.body["message"] == json!("webhook authentication failed"),
        "{other_key:?}"
    );

    let unsigned = live
        .post(&person_updated("person-3-2", "Nobody", "dept-3"), &[])
        .await?;
    ensure!(unsigned.status == 401, "unsigned: {unsigned:?}");

    // Signed for one body, sent with another.
    let genuine = person_updated("person-3-3", "Alice", "dept-3");
    let tampered_body = person_updated("person-3-3", "Eve", "dept-3");
    let tampered = live
        .post(
            &tampered_body,
            &signed_headers(SECRET, "msg_tampered", &genuine)?,
        )
        .await?;
    ensure!(tampered.status == 401, "tampered: {tampered:?}");

    // A deletion signed with the wrong key is refused too, and the person stays.
    let answer = live
        .post_signed("msg_keep", &person_updated("person-3-4", "Keep", "dept-3"))
        .await?;
    ensure!(answer.status == 202, "{answer:?}\n{}", live.log());
    live.wait_processed(1).await?;
    let delete = person_deleted("person-3-4");
    let forged_delete = live
        .post(&delete, &signed_headers(OTHER_SECRET, "msg_del", &delete)?)
        .await?;
    ensure!(forged_delete.status == 401, "{forged_delete:?}");

    let later = person_updated("person-3-5", "Later", "dept-3");
    ensure!(live.post_signed("msg_later", &later).await?.status == 202);
    live.wait_processed(2).await?;
    let persons = port.identifiers(PERSON).await?;
    ensure!(
        persons == BTreeSet::from(["person-3-4", "person-3-5"].map(String::from)),
        "only the two correctly signed updates may have reached Port: {persons:?}"
    );
    ensure!(live.metric(UNAUTHORIZED).await? == 4);
    ensure!(live.metric("live_events_accepted_total").await? == 2);
    Ok(())
}

#[tokio::test]
async fn a_person_deleted_event_removes_exactly_that_person_after_a_resync() -> Result<()> {
    let port = PortEmulator::start().await?;
    let resync = FakeIntegration::new(&port)?
        .departments(3)
        .persons_per_department(3)
        .run()
        .await?;
    expect_exit(&resync, 0)?;
    ensure!(port.identifiers(PERSON).await? == person_ids(0..3, 0..3));

    let live = live(&port).await?;
    let answer = live
        .post_signed("msg_delete", &person_deleted("person-1-2"))
        .await?;
    ensure!(answer.status == 202, "{answer:?}\n{}", live.log());
    live.wait_processed(1).await?;
    let mut expected = person_ids(0..3, 0..3);
    expected.remove("person-1-2");
    let persons = port.identifiers(PERSON).await?;
    ensure!(
        persons == expected,
        "persons after the deletion: {persons:?}\n{}",
        live.log()
    );
    Ok(())
}
