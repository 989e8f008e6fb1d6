//! Live events of the fake third party: `person.updated` and `person.deleted` on
//! `/integration/webhook`, signed with Standard Webhooks when a secret is configured.
//!
//! ```json
//! {"type": "person.updated",
//!  "person": {"id": "person-0-1", "name": "Ada Lovelace", "email": "ada@fake.example",
//!             "department_id": "dept-0", "status": "WORKING", "age": 36}}
//! ```
//!
//! The event carries the fresh person, so nothing is fetched: the person becomes the raw item
//! (its `department_id` turned into the `department` object the mapping reads, as the resync
//! yields it) and its `id` the entity identifier.

use crate::FakeConfig;
use crate::source;
use ocean::live_events::{Payload, WebhookEvent, WebhookEventRawResults, WebhookProcessor};
use ocean::prelude::*;
use ocean::signature::StandardWebhooks;
use ocean::webhook_processor;
use serde_json::Value;
use std::time::SystemTime;

/// The event type of a changed or created person.
pub const PERSON_UPDATED: &str = "person.updated";
/// The event type of a deleted person.
pub const PERSON_DELETED: &str = "person.deleted";

/// How the processor authenticates senders.
enum Auth {
    /// Standard Webhooks signatures with this (one, shared) verifier and its replay guard.
    Signed(StandardWebhooks),
    /// No secret is configured: every sender is trusted (a warning is logged at startup).
    Unsigned,
}

/// Applies `person.updated` / `person.deleted` events to the `fake-person` entities; one event
/// at a time per person.
#[webhook_processor(path = "/webhook", kinds = ["fake-person"])]
pub struct PersonWebhookProcessor {
    auth: Auth,
}

/// Built by the runtime once the configuration is loaded: the webhook secret comes from the
/// integration's [`FakeConfig`].
impl FromContext for PersonWebhookProcessor {
    fn from_context(ctx: &Context) -> Result<Self> {
        Self::from_config(ctx.config::<FakeConfig>()?)
    }
}

impl PersonWebhookProcessor {
    /// A processor verifying signatures with `config.webhook_secret`, or accepting unsigned
    /// events (with a warning) when there is none. A secret that is not a Standard Webhooks
    /// secret is an error, which stops the integration at startup.
    pub fn from_config(config: &FakeConfig) -> Result<Self> {
        let Some(secret) = &config.webhook_secret else {
            tracing::warn!(
                "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET is not set: /integration/webhook accepts unsigned events"
            );
            return Ok(Self {
                auth: Auth::Unsigned,
            });
        };
        let verifier = StandardWebhooks::new(secret.clone());
        verifier.check_secret().map_err(|e| {
            Error::msg(format!(
                "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET is unusable: {e}"
            ))
        })?;
        Ok(Self {
            auth: Auth::Signed(verifier),
        })
    }
}

/// The person of an event as the `fake-person` mapping expects it: the fields as sent, plus a
/// `department` object (`{"id", "name"}`) made from `department_id` when the event has none.
pub fn person_from_event(person: &Value) -> Value {
    let mut person = person.clone();
    if let Some(fields) = person.as_object_mut()
        && !fields.contains_key("department")
        && let Some(id) = fields.get("department_id").and_then(Value::as_str)
    {
        let name = source::department_name_of(id).map_or(Value::Null, Value::String);
        let department = json!({"id": id, "name": name});
        fields.insert("department".to_owned(), department);
    }
    person
}

fn person_id(payload: &Payload) -> Option<&str> {
    payload["person"]["id"]
        .as_str()
        .filter(|id| !id.trim().is_empty())
}

impl WebhookProcessor for PersonWebhookProcessor {
    async fn should_process_event(&self, event: &WebhookEvent) -> bool {
        let payload = event.payload();
        matches!(
            payload["type"].as_str(),
            Some(PERSON_UPDATED | PERSON_DELETED)
        ) && payload["person"].is_object()
    }

    async fn authenticate(&self, event: &WebhookEvent) -> Result<bool> {
        match &self.auth {
            Auth::Signed(verifier) => verifier
                .verify(event, event.raw_body(), SystemTime::now())
                .map(|()| true)
                .map_err(|e| Error::msg(format!("bad Standard Webhooks signature: {e}"))),
            Auth::Unsigned => Ok(true),
        }
    }

    async fn validate_payload(&self, payload: &Payload) -> Result<bool> {
        Ok(person_id(payload).is_some())
    }

    async fn handle_event(
        &self,
        payload: &Payload,
        _resource: &ResourceConfig,
        _ctx: &Context,
    ) -> Result<WebhookEventRawResults> {
        let person = person_from_event(&payload["person"]);
        Ok(match payload["type"].as_str() {
            Some(PERSON_DELETED) => WebhookEventRawResults::deleted(vec![person]),
            _ => WebhookEventRawResults::updated(vec![person]),
        })
    }

    fn group_id(&self, event: &WebhookEvent) -> Option<String> {
        person_id(event.payload()).map(str::to_owned)
    }

    /// Verified but answered 503 (queue full) or refused later: the sender retries with the
    /// same `webhook-id`, which must not count as a replay.
    fn not_accepted(&self, event: &WebhookEvent) {
        if let Auth::Signed(verifier) = &self.auth {
            verifier.forget_delivery(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ocean::config::Secret;
    use ocean::mapping::PortAppConfig;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn config(secret: Option<&str>) -> FakeConfig {
        FakeConfig {
            webhook_secret: secret.map(Secret::new),
            ..FakeConfig::default()
        }
    }

    fn body(kind: &str, id: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "person": {"id": id, "name": "Ada Lovelace", "email": "ada@fake.example", "department_id": "dept-1"},
        }))
        .unwrap()
    }

    fn event(body: &[u8], headers: Vec<(String, String)>) -> WebhookEvent {
        WebhookEvent::new(
            "trace",
            "/webhook",
            serde_json::from_slice(body).unwrap(),
            headers,
            Bytes::copy_from_slice(body),
            chrono::Utc::now(),
        )
    }

    fn signed(body: &[u8], id: &str, secret: &str) -> WebhookEvent {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let headers = StandardWebhooks::new(secret)
            .sign(id, now, body)
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        event(body, headers)
    }

    fn resource() -> ResourceConfig {
        let config =
            PortAppConfig::parse(include_str!("../.port/resources/port-app-config.yml")).unwrap();
        config
            .resources
            .into_iter()
            .find(|r| r.kind == "fake-person")
            .unwrap()
    }

    fn ctx() -> Context {
        Context::new(config(None), reqwest::Client::new())
    }

    #[tokio::test]
    async fn a_correctly_signed_event_is_accepted_once() {
        let processor = PersonWebhookProcessor::from_config(&config(Some(SECRET))).unwrap();
        let body = body(PERSON_UPDATED, "person-1-2");
        let event = signed(&body, "msg_1", SECRET);
        assert!(processor.should_process_event(&event).await);
        assert!(processor.authenticate(&event).await.unwrap());
        let replayed = processor.authenticate(&event).await;
        assert!(replayed.is_err(), "the same delivery again is a replay");
    }

    #[tokio::test]
    async fn a_delivery_not_accepted_can_be_retried_with_the_same_id() {
        let processor = PersonWebhookProcessor::from_config(&config(Some(SECRET))).unwrap();
        let body = body(PERSON_UPDATED, "person-1-2");
        let event = signed(&body, "msg_503", SECRET);
        assert!(processor.authenticate(&event).await.unwrap());
        processor.not_accepted(&event);
        assert!(
            processor.authenticate(&event).await.unwrap(),
            "the sender's retry after a 503 is not a replay"
        );
    }

    #[tokio::test]
    async fn wrong_missing_or_tampered_signatures_are_rejected() {
        let processor = PersonWebhookProcessor::from_config(&config(Some(SECRET))).unwrap();
        let body = body(PERSON_UPDATED, "person-1-2");
        let other_key = signed(&body, "msg_2", "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==");
        assert!(processor.authenticate(&other_key).await.is_err());
        let unsigned = event(&body, Vec::new());
        let err = processor.authenticate(&unsigned).await.unwrap_err();
        assert!(err.to_string().contains("webhook-id"), "{err}");
        let good = signed(&body, "msg_3", SECRET);
        let tampered_body = body_with_name(&body, "Mallory");
        let tampered = event(&tampered_body, good.headers().clone().into_iter().collect());
        assert!(processor.authenticate(&tampered).await.is_err());
    }

    fn body_with_name(body: &[u8], name: &str) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(body).unwrap();
        value["person"]["name"] = json!(name);
        serde_json::to_vec(&value).unwrap()
    }

    #[tokio::test]
    async fn without_a_secret_unsigned_events_are_accepted() {
        let processor = PersonWebhookProcessor::from_config(&config(None)).unwrap();
        let event = event(&body(PERSON_UPDATED, "person-0-0"), Vec::new());
        assert!(processor.authenticate(&event).await.unwrap());
    }

    #[test]
    fn an_unusable_secret_or_a_missing_configuration_cannot_build_the_processor() {
        let Err(bad) = PersonWebhookProcessor::from_config(&config(Some("whsec_not base64!")))
        else {
            panic!("a secret that is not base64 was accepted");
        };
        assert!(
            bad.to_string().contains("WEBHOOK_SECRET is unusable"),
            "{bad}"
        );
        let ctx = Context::new((), reqwest::Client::new());
        let Err(missing) = PersonWebhookProcessor::from_context(&ctx) else {
            panic!("a context without the FakeConfig built a processor");
        };
        assert!(missing.to_string().contains("FakeConfig"), "{missing}");
    }

    #[tokio::test]
    async fn an_update_upserts_the_person_with_its_department_object() {
        let processor = PersonWebhookProcessor::from_config(&config(None)).unwrap();
        let payload: Value = serde_json::from_slice(&body(PERSON_UPDATED, "person-1-2")).unwrap();
        let results = processor
            .handle_event(&payload, &resource(), &ctx())
            .await
            .unwrap();
        assert!(results.deleted_raw_results.is_empty());
        let person = &results.updated_raw_results[0];
        assert_eq!(person["id"], "person-1-2");
        assert_eq!(
            person["department"],
            json!({"id": "dept-1", "name": source::department_name(1)})
        );
        assert_eq!(person["email"], "ada@fake.example");
    }

    #[tokio::test]
    async fn a_deletion_deletes_the_person() {
        let processor = PersonWebhookProcessor::from_config(&config(None)).unwrap();
        let payload: Value = serde_json::from_slice(&body(PERSON_DELETED, "person-1-2")).unwrap();
        let results = processor
            .handle_event(&payload, &resource(), &ctx())
            .await
            .unwrap();
        assert!(results.updated_raw_results.is_empty());
        assert_eq!(results.deleted_raw_results[0]["id"], "person-1-2");
    }

    #[tokio::test]
    async fn the_person_id_is_required_and_orders_the_events() {
        let processor = PersonWebhookProcessor::from_config(&config(None)).unwrap();
        assert!(
            !processor
                .validate_payload(&json!({"type": PERSON_UPDATED, "person": {"name": "x"}}))
                .await
                .unwrap()
        );
        assert!(
            !processor
                .validate_payload(&json!({"type": PERSON_UPDATED, "person": {"id": " "}}))
                .await
                .unwrap()
        );
        let event = event(&body(PERSON_DELETED, "person-3-4"), Vec::new());
        assert!(processor.validate_payload(event.payload()).await.unwrap());
        assert_eq!(processor.group_id(&event).as_deref(), Some("person-3-4"));
    }

    #[tokio::test]
    async fn other_events_are_not_for_this_processor() {
        let processor = PersonWebhookProcessor::from_config(&config(None)).unwrap();
        for payload in [
            json!({"type": "department.updated", "person": {"id": "p"}}),
            json!({"type": PERSON_UPDATED}),
            json!({"person": {"id": "p"}}),
        ] {
            let body = serde_json::to_vec(&payload).unwrap();
            assert!(
                !processor
                    .should_process_event(&event(&body, Vec::new()))
                    .await
            );
        }
    }

    #[test]
    fn a_department_object_sent_with_the_person_is_kept() {
        let person = json!({"id": "p", "department": {"id": "d", "name": "Custom"}, "department_id": "dept-0"});
        assert_eq!(person_from_event(&person)["department"]["name"], "Custom");
        let unknown = person_from_event(&json!({"id": "p", "department_id": "hr"}));
        assert_eq!(unknown["department"], json!({"id": "hr", "name": null}));
    }
}
