//! Entity writes and reads: single and bulk upsert, single and bulk delete, get.

use super::super::error::{ApiError, describe};
use super::super::input::{EntityInput, WriteOptions};
use super::super::state::Shared;
use super::ContractJson;
use super::{QueryParams, writer};
use crate::port::types::{BulkEntityError, BulkEntityResult};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::Arc;

/// Port's limit on entities per bulk upsert.
const MAX_BULK_UPSERT: usize = 20;
/// Port's limit on identifiers per bulk delete.
const MAX_BULK_DELETE: usize = 100;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/blueprints/{bp}/entities/bulk",
        web::post().to(bulk_upsert),
    )
    .route(
        "/v1/blueprints/{bp}/bulk/entities/delete",
        web::post().to(bulk_delete),
    )
    .service(
        web::resource("/v1/blueprints/{bp}/entities")
            .route(web::post().to(upsert))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/v1/blueprints/{bp}/entities/{id}")
            .route(web::get().to(get))
            .route(web::delete().to(delete)),
    );
}

fn write_options(req: &HttpRequest) -> Result<WriteOptions, ApiError> {
    let q = QueryParams::of(req);
    q.check_event_type()?;
    Ok(WriteOptions {
        upsert: q.flag("upsert", false)?,
        merge: q.flag("merge", false)?,
        create_missing_related_entities: q.flag("create_missing_related_entities", false)?,
        validation_only: q.flag("validation_only", false)?,
    })
}

async fn upsert(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let options = write_options(&req)?;
    let blueprint = Arc::clone(shared.read().blueprint(&path)?);
    let input = EntityInput::parse(body.into_inner(), &blueprint).map_err(|f| f.error)?;
    let writer = writer(&req, &shared);
    let mut store = shared.write();
    let current = Arc::clone(store.blueprint(&path)?);
    let written = store
        .write_entity(&current, input, options, &writer, &shared.clock)
        .map_err(|f| f.error)?;
    let entity = match store.entity(&path, &written.identifier) {
        Some(e) if !options.validation_only => e.to_json(&path),
        _ => json!({"identifier": written.identifier, "blueprint": path.as_str()}),
    };
    drop(store);
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(json!({"ok": true, "entity": entity})))
}

async fn bulk_upsert(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let options = write_options(&req)?;
    let entities = match body.into_inner() {
        Value::Object(mut obj) => match obj.remove("entities") {
            Some(Value::Array(items)) => items,
            other => {
                return Err(ApiError::invalid(format!(
                    "expected {{\"entities\": [...]}}, \"entities\" is {}",
                    other.as_ref().map_or("missing".into(), describe)
                )));
            }
        },
        other => {
            return Err(ApiError::invalid(format!(
                "expected {{\"entities\": [...]}}, got {}",
                describe(&other)
            )));
        }
    };
    if entities.is_empty() || entities.len() > MAX_BULK_UPSERT {
        return Err(ApiError::invalid(format!(
            "\"entities\" must hold 1 to {MAX_BULK_UPSERT} entities, got {}",
            entities.len()
        )));
    }
    let blueprint = Arc::clone(shared.read().blueprint(&path)?);
    // The checks that need no lock run before the write lock is taken.
    let parsed: Vec<_> = entities
        .into_iter()
        .map(|e| EntityInput::parse(e, &blueprint))
        .collect();
    let writer = writer(&req, &shared);
    let mut stored = Vec::with_capacity(parsed.len());
    let mut errors = Vec::new();
    {
        let mut store = shared.write();
        let current = Arc::clone(store.blueprint(&path)?);
        for (index, input) in parsed.into_iter().enumerate() {
            let result = input.and_then(|input| {
                store.write_entity(&current, input, options, &writer, &shared.clock)
            });
            match result {
                Ok(w) => stored.push(BulkEntityResult {
                    index,
                    identifier: w.identifier,
                    created: w.created,
                }),
                Err(f) => errors.push(BulkEntityError {
                    index,
                    identifier: f.identifier,
                    status_code: f.error.status.as_u16(),
                    error: f.error.code.to_owned(),
                    message: f.error.message,
                }),
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(HttpResponse::build(status).json(json!({"ok": true, "entities": stored, "errors": errors})))
}

async fn get(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (bp, id) = path.into_inner();
    let store = shared.read();
    store.blueprint(&bp)?;
    let entity = store.entity(&bp, &id).ok_or_else(|| {
        ApiError::not_found(format!(
            "entity \"{id}\" was not found in blueprint \"{bp}\""
        ))
    })?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "entity": entity.to_json(&bp)})))
}

async fn list(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = shared.read();
    store.blueprint(&path)?;
    let entities: Vec<Value> = store
        .local_entities(&path)
        .into_iter()
        .filter_map(|e| store.entity(&path, &e.identifier).map(|s| s.to_json(&path)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"ok": true, "entities": entities})))
}

async fn delete(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (bp, id) = path.into_inner();
    let query = QueryParams::of(&req);
    query.check_event_type()?;
    let delete_dependents = query.flag("delete_dependents", false)?;
    let mut store = shared.write();
    store.blueprint(&bp)?;
    let mut outcome = store.delete_entities(&bp, std::slice::from_ref(&id), delete_dependents);
    if let Some((_, error)) = outcome.failed.pop() {
        return Err(error);
    }
    Ok(HttpResponse::Ok().json(json!({"ok": true})))
}

async fn bulk_delete(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let query = QueryParams::of(&req);
    query.check_event_type()?;
    let delete_dependents = query.flag("delete_dependents", false)?;
    let ids: Vec<String> = match body.get("entities") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "\"entities\" must list identifiers, got {}",
                        describe(v)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ApiError::invalid(format!(
                "expected {{\"entities\": [identifiers]}}, \"entities\" is {}",
                other.map_or("missing".into(), describe)
            )));
        }
    };
    if ids.is_empty() || ids.len() > MAX_BULK_DELETE {
        return Err(ApiError::invalid(format!(
            "\"entities\" must hold 1 to {MAX_BULK_DELETE} identifiers, got {}",
            ids.len()
        )));
    }
    let mut store = shared.write();
    store.blueprint(&path)?;
    let outcome = store.delete_entities(&path, &ids, delete_dependents);
    drop(store);
    // Port answers 200 or fails the whole request: identifiers already gone are no failure, any
    // other refusal (an entity others require) fails it, and then nothing was deleted.
    if let Some((_, error)) = outcome
        .failed
        .into_iter()
        .find(|(_, e)| e.status != StatusCode::NOT_FOUND)
    {
        return Err(error);
    }
    Ok(HttpResponse::Ok().json(json!({
        "ok": true,
        "deletedEntities": outcome.deleted,
    })))
}
