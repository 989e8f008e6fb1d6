//! Port's webhooks service: `/v1/webhooks[/{identifier}]`, incoming data sources.
//!
//! Bodies are checked against Port's document (identifier up to 30 characters, title, enabled,
//! mappings, security, ...; unknown fields refused) by [`ContractJson`]. A webhook is answered
//! under `integration` (a list under `integrations`) with the fields Port adds: `url`,
//! `webhookKey`, `createdAt`, `updatedAt`. `security.secret` is write-only: answers carry
//! `"[REDACTED]"` in its place, so a client can see that a secret is set without reading it.

use super::super::clock::format_micros;
use super::super::error::ApiError;
use super::super::state::Shared;
use super::ContractJson;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

/// What a redacted secret reads as.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Where the local Port says a webhook receives its payloads.
const INGEST_URL: &str = "https://ingest.getport.io";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/webhooks")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/v1/webhooks/{identifier}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    );
}

/// The webhook as answered: the secret replaced by [`REDACTED`].
pub(crate) fn redacted(webhook: &Value) -> Value {
    let mut out = webhook.clone();
    if let Some(secret) = out.get_mut("security").and_then(|s| s.get_mut("secret"))
        && !secret.is_null()
    {
        *secret = Value::String(REDACTED.to_owned());
    }
    out
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("webhook \"{id}\" was not found"))
}

async fn list(shared: web::Data<Shared>) -> HttpResponse {
    let webhooks = shared
        .webhooks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let items: Vec<Value> = webhooks.values().map(redacted).collect();
    HttpResponse::Ok().json(json!({"ok": true, "integrations": items}))
}

async fn get(shared: web::Data<Shared>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let webhooks = shared
        .webhooks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let webhook = webhooks
        .get(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "integration": redacted(webhook)})))
}

async fn create(shared: web::Data<Shared>, body: ContractJson) -> Result<HttpResponse, ApiError> {
    let Value::Object(mut webhook) = body.into_inner() else {
        return Err(ApiError::invalid("expected a webhook object"));
    };
    let stamp = shared.clock.tick();
    let now = Value::String(format_micros(stamp));
    let id = match webhook.get("identifier").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            let id = format!("webhook-{stamp}");
            webhook.insert("identifier".into(), Value::String(id.clone()));
            id
        }
    };
    let key = uuid::Uuid::new_v4().simple().to_string();
    webhook.insert("url".into(), Value::String(format!("{INGEST_URL}/{key}")));
    webhook.insert("webhookKey".into(), Value::String(key));
    webhook.insert("createdAt".into(), now.clone());
    webhook.insert("updatedAt".into(), now);
    let mut webhooks = shared.webhooks();
    if webhooks.contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "a webhook with identifier \"{id}\" already exists"
        )));
    }
    let webhook = Value::Object(webhook);
    let answer = redacted(&webhook);
    webhooks.insert(id, webhook);
    Ok(HttpResponse::Created().json(json!({"ok": true, "integration": answer})))
}

async fn patch(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(changes) = body.into_inner() else {
        return Err(ApiError::invalid(
            "expected an object with the webhook fields to change",
        ));
    };
    let now = Value::String(format_micros(shared.clock.tick()));
    let mut webhooks = shared.webhooks();
    let stored = webhooks
        .get_mut(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    let Value::Object(current) = stored else {
        return Err(not_found(&path));
    };
    let mut updated = current.clone();
    for (key, value) in changes {
        match (key.as_str(), value) {
            ("identifier", v) if v.as_str() != Some(path.as_str()) => {
                return Err(ApiError::invalid("the webhook identifier cannot change"));
            }
            // A patch of `security` changes only the keys it names; a redacted secret sent back
            // as read keeps the stored one.
            ("security", Value::Object(security)) => {
                let slot = updated.entry("security").or_insert_with(|| json!({}));
                if !slot.is_object() {
                    *slot = json!({});
                }
                if let Value::Object(target) = slot {
                    for (k, v) in security {
                        if !(k == "secret" && v.as_str() == Some(REDACTED)) {
                            target.insert(k, v);
                        }
                    }
                }
            }
            (_, value) => {
                updated.insert(key, value);
            }
        }
    }
    updated.insert("updatedAt".into(), now);
    *current = updated;
    let answer = redacted(stored);
    Ok(HttpResponse::Ok().json(json!({"ok": true, "integration": answer})))
}

async fn delete(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut webhooks = shared.webhooks();
    webhooks
        .shift_remove(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    Ok(HttpResponse::Ok().json(json!({"ok": true})))
}
