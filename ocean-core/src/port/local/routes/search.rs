//! Search: `POST /v1/entities/search` with Port's query rules, and the datasource listing
//! `POST /v1/blueprints/entities/datasource-entities` that reconciliation pages through.

use super::super::clock::parse_time;
use super::super::error::{ApiError, describe};
use super::super::query::Query;
use super::super::state::Shared;
use super::super::store::Cursor;
use super::ContractJson;
use super::QueryParams;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// The largest page of the datasource listing.
const MAX_PAGE: u64 = 10_000;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/entities/search", web::post().to(search))
        .route(
            "/v1/blueprints/{bp}/entities/search",
            web::post().to(search_blueprint),
        )
        .route(
            "/v1/blueprints/entities/datasource-entities",
            web::post().to(datasource_entities),
        );
}

/// Keeps only the `include`d fields (`identifier`, `properties.lang`, ...) of an entity.
fn project(entity: Value, include: &[&str]) -> Value {
    if include.is_empty() {
        return entity;
    }
    let Value::Object(full) = entity else {
        return entity;
    };
    let mut out = Map::new();
    for field in include {
        match field.split_once('.') {
            Some((top @ ("properties" | "relations"), name)) => {
                if let Some(v) = full.get(top).and_then(|m| m.get(name)) {
                    let slot = out.entry(top).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = slot {
                        m.insert(name.to_owned(), v.clone());
                    }
                }
            }
            _ => {
                if let Some(v) = full.get(*field) {
                    out.insert((*field).to_owned(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

fn run_search(
    shared: &Shared,
    req: &HttpRequest,
    query: &Query,
    blueprint: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let params = QueryParams::of(req);
    let include: Vec<&str> = params.all("include").collect();
    let store = shared.read();
    if let Some(bp) = blueprint {
        store.blueprint(bp)?;
    }
    let entities: Vec<Value> = store
        .search(query)
        .into_iter()
        .filter(|(bp, _)| blueprint.is_none_or(|only| only == *bp))
        .map(|(bp, e)| project(e.to_json(bp), &include))
        .collect();
    drop(store);
    Ok(HttpResponse::Ok().json(json!({"ok": true, "entities": entities})))
}

async fn search(
    shared: web::Data<Shared>,
    req: HttpRequest,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&body)?;
    run_search(&shared, &req, &query, None)
}

async fn search_blueprint(
    shared: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<String>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let query = match body.get("query") {
        Some(q) => Query::parse(q)?,
        None => Query::parse(&body)?,
    };
    run_search(&shared, &req, &query, Some(&path))
}

fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor(text: &str) -> Result<Cursor, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "\"from\" is not a cursor this server gave: \"{text}\""
            ))
        })
}

async fn datasource_entities(
    shared: web::Data<Shared>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let text = |name: &str, required: bool| -> Result<Option<&str>, ApiError> {
        match body.get(name) {
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            None | Some(Value::Null) if !required => Ok(None),
            other => Err(ApiError::invalid(format!(
                "\"{name}\" must be a string, got {}",
                other.map_or("nothing".into(), describe)
            ))),
        }
    };
    let prefix = text("datasource_prefix", true)?.unwrap_or_default();
    let suffix = text("datasource_suffix", false)?.unwrap_or_default();
    let limit = match body.get("limit") {
        None | Some(Value::Null) => 5000,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "\"limit\" must be an integer from 1 to {MAX_PAGE}, got {}",
                    describe(v)
                ))
            })?,
    };
    let before = text("before", false)?
        .map(|b| {
            parse_time(b).ok_or_else(|| {
                ApiError::invalid(format!(
                    "\"before\" must be an ISO 8601 date-time, got \"{b}\""
                ))
            })
        })
        .transpose()?;
    let from = text("from", false)?.map(decode_cursor).transpose()?;
    let (entities, next) = {
        let store = shared.read();
        store.datasource_page(prefix, suffix, before, limit as usize, from.as_ref())
    };
    let next = next.as_ref().map(encode_cursor);
    Ok(HttpResponse::Ok().json(json!({"ok": true, "entities": entities, "next": next})))
}
