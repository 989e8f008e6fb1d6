//! Integrations (`/v1/integration...`) and the organization.

use super::super::clock::format_micros;
use super::super::error::{ApiError, describe};
use super::super::schema::is_valid_entity_identifier;
use super::super::state::Shared;
use super::ContractJson;
use crate::port::types::ResyncState;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

/// How many raw examples are kept per kind.
const MAX_EXAMPLES: usize = 100;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/integration/provision-enabled",
        web::get().to(provision_enabled),
    )
    .route("/v1/integration", web::post().to(create))
    .service(
        web::resource("/v1/integration/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .route("/v1/integration/{id}/config", web::patch().to(patch_config))
    .route(
        "/v1/integration/{id}/resync-state",
        web::patch().to(resync_state),
    )
    .route(
        "/v1/integration/{id}/resync-request",
        web::get().to(resync_request),
    )
    .route(
        "/v1/integration/{id}/kinds/{kind}/examples",
        web::post().to(examples),
    )
    .route("/v1/organization", web::get().to(organization));
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("integration \"{id}\" was not found"))
}

fn object(body: Value, what: &str) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(format!(
            "expected {what}, got {}",
            describe(&other)
        ))),
    }
}

async fn provision_enabled() -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true, "integrations": []}))
}

async fn organization(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "ok": true,
        "organization": {"id": shared.settings.organization_id, "featureFlags": []}
    }))
}

async fn get(shared: web::Data<Shared>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let integrations = shared.integrations();
    let integration = integrations
        .items
        .get(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "integration": integration})))
}

async fn create(shared: web::Data<Shared>, body: ContractJson) -> Result<HttpResponse, ApiError> {
    let mut integration = object(body.into_inner(), "an integration object")?;
    let id = match integration.get("installationId") {
        Some(Value::String(id)) if is_valid_entity_identifier(id) => id.clone(),
        other => {
            return Err(ApiError::invalid(format!(
                "\"installationId\" must be an identifier matching ^[A-Za-z0-9@_.+:\\/=-]+$, got {}",
                other.map_or("nothing".into(), describe)
            )));
        }
    };
    let now = Value::String(format_micros(shared.clock.tick()));
    integration.entry("config").or_insert_with(|| json!({}));
    integration.insert("createdAt".into(), now.clone());
    integration.insert("updatedAt".into(), now);
    let mut integrations = shared.integrations();
    if integrations.items.contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "integration \"{id}\" already exists"
        )));
    }
    let integration = Value::Object(integration);
    integrations.items.insert(id, integration.clone());
    Ok(HttpResponse::Created().json(json!({"ok": true, "integration": integration})))
}

/// Applies `change` to a stored integration and answers it.
fn update(
    shared: &Shared,
    id: &str,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<(), ApiError>,
) -> Result<HttpResponse, ApiError> {
    let now = Value::String(format_micros(shared.clock.tick()));
    let mut integrations = shared.integrations();
    let stored = integrations
        .items
        .get_mut(id)
        .ok_or_else(|| not_found(id))?;
    let Value::Object(map) = stored else {
        return Err(ApiError::invalid(format!(
            "integration \"{id}\" is not an object"
        )));
    };
    let mut updated = map.clone();
    change(&mut updated)?;
    updated.insert("updatedAt".into(), now);
    *map = updated;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "integration": stored})))
}

async fn patch(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let changes = object(body.into_inner(), "an object with the fields to change")?;
    update(&shared, &path, |map| {
        for (key, value) in changes {
            if key == "installationId" && value.as_str() != Some(path.as_str()) {
                return Err(ApiError::invalid("\"installationId\" cannot change"));
            }
            if key == "config" && !value.is_object() {
                return Err(ApiError::invalid(format!(
                    "\"config\" must be an object, got {}",
                    describe(&value)
                )));
            }
            map.insert(key, value);
        }
        Ok(())
    })
}

async fn patch_config(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let config = match body.into_inner() {
        Value::Object(mut map) => match map.remove("config") {
            Some(config @ Value::Object(_)) => config,
            other => {
                return Err(ApiError::invalid(format!(
                    "expected {{\"config\": {{...}}}}, \"config\" is {}",
                    other.as_ref().map_or("missing".into(), describe)
                )));
            }
        },
        other => {
            return Err(ApiError::invalid(format!(
                "expected {{\"config\": {{...}}}}, got {}",
                describe(&other)
            )));
        }
    };
    update(&shared, &path, |map| {
        map.insert("config".into(), config);
        Ok(())
    })
}

async fn resync_state(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let mut state: ResyncState = serde_json::from_value(body.into_inner()).map_err(|e| {
        ApiError::invalid(format!("the resync state does not have Port's shape: {e}"))
    })?;
    if let Some(status) = &state.status
        && !matches!(
            status.as_str(),
            "running" | "completed" | "failed" | "aborted"
        )
    {
        return Err(ApiError::invalid(format!(
            "\"status\" must be running, completed, failed or aborted, got \"{status}\""
        )));
    }
    state.updated_at = Some(format_micros(shared.clock.tick()));
    let state = serde_json::to_value(&state).map_err(|e| ApiError::invalid(e.to_string()))?;
    update(&shared, &path, |map| {
        map.insert("resyncState".into(), state);
        Ok(())
    })
}

async fn resync_request(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let integrations = shared.integrations();
    if !integrations.items.contains_key(path.as_str()) {
        return Err(not_found(&path));
    }
    let body = match integrations.resync_requests.get(path.as_str()) {
        Some(request) => json!({"request": request}),
        None => json!({}),
    };
    Ok(HttpResponse::Ok().json(body))
}

async fn examples(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let mut examples = match body.into_inner() {
        Value::Object(mut map) => match map.remove("examples") {
            Some(Value::Array(items)) => items,
            other => {
                return Err(ApiError::invalid(format!(
                    "expected {{\"examples\": [...]}}, \"examples\" is {}",
                    other.as_ref().map_or("missing".into(), describe)
                )));
            }
        },
        other => {
            return Err(ApiError::invalid(format!(
                "expected {{\"examples\": [...]}}, got {}",
                describe(&other)
            )));
        }
    };
    examples.truncate(MAX_EXAMPLES);
    let mut integrations = shared.integrations();
    if !integrations.items.contains_key(&id) {
        return Err(not_found(&id));
    }
    integrations
        .examples
        .entry(id)
        .or_default()
        .insert(kind, examples);
    Ok(HttpResponse::Ok().json(json!({"ok": true})))
}

async fn delete(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut integrations = shared.integrations();
    integrations
        .items
        .remove(path.as_str())
        .ok_or_else(|| not_found(&path))?;
    integrations.resync_requests.remove(path.as_str());
    integrations.examples.remove(path.as_str());
    Ok(HttpResponse::Ok().json(json!({"ok": true})))
}
