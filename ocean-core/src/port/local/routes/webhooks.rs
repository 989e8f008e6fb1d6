//! Port's webhooks service: `/v1/webhooks[/{identifier}]`.
//!
//! `security.secret` is write-only: responses carry `"[REDACTED]"` in its place, so a client can
//! see that a secret is set without ever reading it back.

use super::super::clock::format_micros;
use super::super::error::{ApiError, describe};
use super::super::schema::is_valid_blueprint_identifier;
use super::super::state::Shared;
use super::QueryParams;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

/// The events a webhook can subscribe to.
pub(crate) const WEBHOOK_EVENTS: &[&str] = &[
    "entity.created",
    "entity.updated",
    "entity.deleted",
    "action.created",
    "action.updated",
    "action.deleted",
    "run.created",
    "run.updated",
    "run.completed",
    "blueprint.created",
    "blueprint.updated",
    "blueprint.deleted",
];

/// What a redacted secret reads as.
pub(crate) const REDACTED: &str = "[REDACTED]";

const SECURITY_KEYS: &[&str] = &[
    "secret",
    "signatureHeaderName",
    "signatureAlgorithm",
    "signaturePrefix",
    "requestIdentifierPath",
];

const DEFAULT_PER_PAGE: u64 = 50;
const MAX_PER_PAGE: u64 = 1000;

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

fn optional_string(webhook: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    match webhook.get(key) {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(ApiError::invalid(format!(
            "\"{key}\" must be a string, got {}",
            describe(other)
        ))),
    }
}

/// Checks a whole webhook (after a patch is applied, too).
fn check(webhook: &Map<String, Value>) -> Result<(), ApiError> {
    match webhook.get("identifier") {
        Some(Value::String(id)) if is_valid_blueprint_identifier(id) => {}
        other => {
            return Err(ApiError::invalid(format!(
                "\"identifier\" must match ^[A-Za-z0-9@_=-]+$ (at most 100 characters), got {}",
                other.map_or("nothing".into(), describe)
            )));
        }
    }
    match webhook.get("url") {
        Some(Value::String(u)) => {
            let parsed = url::Url::parse(u).map_err(|e| {
                ApiError::invalid(format!("\"url\" is not a valid URL (\"{u}\"): {e}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(ApiError::invalid(format!(
                    "\"url\" must be an http(s) URL, got \"{u}\""
                )));
            }
        }
        other => {
            return Err(ApiError::invalid(format!(
                "\"url\" must be an http(s) URL, got {}",
                other.map_or("nothing".into(), describe)
            )));
        }
    }
    for key in ["title", "description", "icon", "integrationType"] {
        optional_string(webhook, key)?;
    }
    match webhook.get("events") {
        None | Some(Value::Null) => {}
        Some(Value::Array(events)) => {
            for event in events {
                let known = event.as_str().is_some_and(|e| WEBHOOK_EVENTS.contains(&e));
                if !known {
                    return Err(ApiError::invalid(format!(
                        "unknown webhook event {} (expected one of {})",
                        describe(event),
                        WEBHOOK_EVENTS.join(", ")
                    )));
                }
            }
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "\"events\" must be an array, got {}",
                describe(other)
            )));
        }
    }
    match webhook.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(headers)) => {
            if let Some((name, _)) = headers.iter().find(|(_, v)| !v.is_string()) {
                return Err(ApiError::invalid(format!(
                    "header \"{name}\" must have a string value"
                )));
            }
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "\"headers\" must be an object, got {}",
                describe(other)
            )));
        }
    }
    match webhook.get("security") {
        None | Some(Value::Null) => {}
        Some(Value::Object(security)) => {
            for (key, value) in security {
                if !SECURITY_KEYS.contains(&key.as_str()) {
                    return Err(ApiError::invalid(format!(
                        "unknown field \"security.{key}\" (expected {})",
                        SECURITY_KEYS.join(", ")
                    )));
                }
                if !(value.is_string() || value.is_null()) {
                    // Not `describe`: the value may be the secret.
                    return Err(ApiError::invalid(format!(
                        "\"security.{key}\" must be a string"
                    )));
                }
            }
        }
        Some(_) => return Err(ApiError::invalid("\"security\" must be an object")),
    }
    match webhook.get("enabled") {
        None | Some(Value::Bool(_)) => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "\"enabled\" must be a boolean, got {}",
                describe(other)
            )));
        }
    }
    match webhook.get("mappings") {
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "\"mappings\" must be an array, got {}",
                describe(other)
            )));
        }
    }
    const KNOWN: &[&str] = &[
        "identifier",
        "title",
        "description",
        "icon",
        "url",
        "events",
        "headers",
        "security",
        "enabled",
        "mappings",
        "integrationType",
        "createdAt",
        "updatedAt",
    ];
    if let Some(unknown) = webhook.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!(
            "unknown webhook field \"{unknown}\""
        )));
    }
    Ok(())
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("webhook \"{id}\" was not found"))
}

async fn list(shared: web::Data<Shared>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params = QueryParams::of(&req);
    let page = params.number("page")?.unwrap_or(1);
    let per_page = params.number("per_page")?.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::invalid(format!(
            "\"page\" must be at least 1 and \"per_page\" from 1 to {MAX_PER_PAGE}"
        )));
    }
    let webhooks = shared
        .webhooks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let items: Vec<Value> = webhooks
        .values()
        .skip(skip)
        .take(per_page as usize)
        .map(redacted)
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "ok": true, "webhooks": items, "page": page, "per_page": per_page, "total": webhooks.len(),
    })))
}

async fn get(shared: web::Data<Shared>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let webhooks = shared
        .webhooks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let webhook = webhooks
        .get(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "webhook": redacted(webhook)})))
}

async fn create(
    shared: web::Data<Shared>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(mut webhook) = body.into_inner() else {
        return Err(ApiError::invalid("expected a webhook object"));
    };
    webhook.remove("createdAt");
    webhook.remove("updatedAt");
    check(&webhook)?;
    webhook.entry("enabled").or_insert(Value::Bool(true));
    let now = Value::String(format_micros(shared.clock.tick()));
    webhook.insert("createdAt".into(), now.clone());
    webhook.insert("updatedAt".into(), now);
    let id = webhook
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut webhooks = shared.webhooks();
    if webhooks.contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "a webhook with identifier \"{id}\" already exists"
        )));
    }
    let webhook = Value::Object(webhook);
    let answer = redacted(&webhook);
    webhooks.insert(id, webhook);
    Ok(HttpResponse::Created().json(json!({"ok": true, "webhook": answer})))
}

async fn patch(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<Value>,
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
            ("createdAt" | "updatedAt", _) => {}
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
    check(&updated)?;
    updated.insert("updatedAt".into(), now);
    *current = updated;
    let answer = redacted(stored);
    Ok(HttpResponse::Ok().json(json!({"ok": true, "webhook": answer})))
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
