//! Blueprints: `/v1/blueprints[/{id}]`, delete-all-entities and its migration.

use super::super::clock::format_micros;
use super::super::error::{ApiError, describe};
use super::super::schema::CompiledBlueprint;
use super::super::state::Shared;
use super::super::store::Store;
use super::ContractJson;
use super::QueryParams;
use crate::port::types::Blueprint;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/blueprints")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/v1/blueprints/{bp}/all-entities").route(web::delete().to(delete_all)))
    .service(
        web::resource("/v1/blueprints/{bp}")
            .route(web::get().to(get))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete)),
    )
    .route("/v1/migrations/{id}", web::get().to(migration));
}

/// Parses and checks a blueprint body, including that its relation targets exist.
fn compile(store: &Store, body: Value) -> Result<CompiledBlueprint, ApiError> {
    if !body.is_object() {
        return Err(ApiError::invalid(format!(
            "expected a blueprint object, got {}",
            describe(&body)
        )));
    }
    let raw: Blueprint = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("the blueprint does not have Port's shape: {e}")))?;
    let compiled = CompiledBlueprint::compile(raw)?;
    for (name, relation) in &compiled.relations {
        let is_self = relation.target == compiled.identifier();
        if !is_self && !store.blueprints.contains_key(&relation.target) {
            return Err(ApiError::not_found(format!(
                "relation \"{name}\" targets blueprint \"{}\", which was not found",
                relation.target
            )));
        }
    }
    Ok(compiled)
}

fn to_json(bp: &CompiledBlueprint) -> Value {
    serde_json::to_value(&bp.raw).unwrap_or(Value::Null)
}

async fn list(shared: web::Data<Shared>) -> HttpResponse {
    let blueprints: Vec<Value> = shared
        .read()
        .blueprints
        .values()
        .map(|b| to_json(b))
        .collect();
    HttpResponse::Ok().json(json!({"ok": true, "blueprints": blueprints}))
}

async fn get(shared: web::Data<Shared>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let store = shared.read();
    let bp = store.blueprint(&path)?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "blueprint": to_json(bp)})))
}

async fn create(shared: web::Data<Shared>, body: ContractJson) -> Result<HttpResponse, ApiError> {
    let mut store = shared.write();
    let mut compiled = compile(&store, body.into_inner())?;
    let id = compiled.identifier().to_owned();
    if store.blueprints.contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "a blueprint with identifier \"{id}\" already exists"
        )));
    }
    let now = Value::String(format_micros(shared.clock.tick()));
    let actor = Value::String(shared.settings.client_id.clone());
    let extra = &mut compiled.raw.extra;
    extra.insert("createdAt".into(), now.clone());
    extra.insert("updatedAt".into(), now);
    extra.insert("createdBy".into(), actor.clone());
    extra.insert("updatedBy".into(), actor);
    let json = to_json(&compiled);
    store.blueprints.insert(id, Arc::new(compiled));
    Ok(HttpResponse::Created().json(json!({"ok": true, "blueprint": json})))
}

async fn patch(
    shared: web::Data<Shared>,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(changes) = body.into_inner() else {
        return Err(ApiError::invalid(
            "expected a blueprint object with the fields to change",
        ));
    };
    let mut store = shared.write();
    let current = store.blueprint(&path)?;
    let Value::Object(mut merged) = to_json(current) else {
        return Err(ApiError::invalid("the stored blueprint could not be read"));
    };
    for (key, value) in changes {
        if key == "identifier" && value.as_str() != Some(path.as_str()) {
            return Err(ApiError::invalid(format!(
                "the identifier cannot change (\"{}\" to {})",
                path.as_str(),
                describe(&value)
            )));
        }
        merged.insert(key, value);
    }
    merged.insert(
        "updatedAt".into(),
        Value::String(format_micros(shared.clock.tick())),
    );
    merged.insert(
        "updatedBy".into(),
        Value::String(shared.settings.client_id.clone()),
    );
    let compiled = compile(&store, Value::Object(merged))?;
    let json = to_json(&compiled);
    store
        .blueprints
        .insert(path.into_inner(), Arc::new(compiled));
    Ok(HttpResponse::Ok().json(json!({"ok": true, "blueprint": json})))
}

/// Blueprints other than `id` with a relation to it.
fn referrers(store: &Store, id: &str) -> Vec<String> {
    store
        .blueprints
        .values()
        .filter(|b| b.identifier() != id && b.relations.values().any(|r| r.target == id))
        .map(|b| b.identifier().to_owned())
        .collect()
}

fn remove_blueprint(store: &mut Store, id: &str) -> Result<(), ApiError> {
    let users = referrers(store, id);
    if !users.is_empty() {
        return Err(ApiError::invalid(format!(
            "blueprint \"{id}\" is the target of relations of {}; remove those relations first",
            users.join(", ")
        )));
    }
    store.drop_blueprint_entities(id);
    store.blueprints.remove(id);
    Ok(())
}

async fn delete(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut store = shared.write();
    store.blueprint(&path)?;
    let count = store.entity_count(&path);
    if count > 0 {
        return Err(ApiError::invalid(format!(
            "blueprint \"{}\" still has {count} entities; delete them first",
            path.as_str()
        )));
    }
    remove_blueprint(&mut store, &path)?;
    Ok(HttpResponse::Ok().json(json!({"ok": true})))
}

async fn delete_all(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let delete_blueprint = QueryParams::of(&req).flag("delete_blueprint", false)?;
    let mut store = shared.write();
    store.blueprint(&path)?;
    if delete_blueprint {
        let users = referrers(&store, &path);
        if !users.is_empty() {
            return Err(ApiError::invalid(format!(
                "blueprint \"{}\" is the target of relations of {}; remove those relations first",
                path.as_str(),
                users.join(", ")
            )));
        }
    }
    store.delete_all_entities(&path);
    if delete_blueprint {
        remove_blueprint(&mut store, &path)?;
    }
    let migration_id = store.record_migration(&path, &shared.clock);
    Ok(HttpResponse::Ok().json(json!({"ok": true, "migrationId": migration_id})))
}

async fn migration(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = shared.read();
    let migration = store
        .migrations
        .get(path.as_str())
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(format!("migration \"{}\" was not found", path.as_str()))
        })?;
    Ok(HttpResponse::Ok().json(json!({"ok": true, "migration": migration})))
}
