//! The HTTP surface: Port's routes, the auth and fault gate, and Port-shaped errors for bad
//! requests.

mod auth;
mod blueprints;
mod entities;
mod integrations;
mod search;
mod webhooks;

pub(crate) use webhooks::redacted as redacted_webhook;

use super::error::ApiError;
use super::faults::Fault;
use super::input::Writer;
use super::state::Shared;
use crate::port::Datasource;
use crate::port::openapi::{self, Lookup};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, error::JsonPayloadError, web};
use futures::future::LocalBoxFuture;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Registers every route, the JSON limits and the catch-all 404.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .content_type_required(false)
            .error_handler(json_error),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::bad_request(format!("invalid path: {e}")).into()),
    );
    auth::configure(cfg);
    // Search before entities: `/entities/search` must not be taken for an entity identifier.
    search::configure(cfg);
    blueprints::configure(cfg);
    entities::configure(cfg);
    integrations::configure(cfg);
    webhooks::configure(cfg);
    cfg.route(STATS_PATH, web::get().to(stats));
    cfg.default_service(web::to(unknown_route));
}

/// The local Port's own counters, outside Port's API (and so outside its auth): what a load
/// test polls to know when every event reached Port, without listing every entity.
pub const STATS_PATH: &str = "/_local/stats";

async fn stats(shared: web::Data<Shared>) -> HttpResponse {
    let store = shared.read();
    let entities: serde_json::Map<String, serde_json::Value> = store
        .blueprints
        .keys()
        .map(|bp| (bp.clone(), store.entity_count(bp).into()))
        .collect();
    let body = serde_json::json!({
        "ok": true,
        "entities": entities,
        "totalEntities": store.total_entities(),
        "writes": shared.writes.load(Ordering::Relaxed),
        "requests": shared.received.load(Ordering::Relaxed),
    });
    drop(store);
    HttpResponse::Ok().json(body)
}

/// Turns body errors into Port's errors: 413 over the limit, 400 for JSON that does not parse.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the signature JsonConfig::error_handler takes"
)]
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        ),
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request(format!("the request body is not valid JSON: {e}"))
        }
        other => ApiError::bad_request(format!("could not read the request body: {other}")),
    };
    api.into()
}

async fn unknown_route(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "route {} {} was not found",
        req.method(),
        req.path()
    )))
}

/// Fault injection and bearer-token checks, before any handler runs.
pub(crate) async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(shared) = req.app_data::<web::Data<Shared>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    shared.received.fetch_add(1, Ordering::Relaxed);
    let is_auth = req.path() == "/v1/auth/access_token";
    let faults = &shared.settings.faults;
    if faults.is_active() && (!is_auth || faults.include_auth) {
        if !faults.latency.is_zero() {
            tokio::time::sleep(faults.latency).await;
        }
        let n = shared.requests.fetch_add(1, Ordering::Relaxed);
        let response = match faults.draw(n) {
            Fault::RateLimited => Some(
                HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, faults.retry_after_secs.to_string()))
                    .json(
                        ApiError::new(
                            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                            "rate_limit_exceeded",
                            "too many requests (injected by the local Port)",
                        )
                        .body(),
                    ),
            ),
            Fault::Unavailable => Some(
                HttpResponse::ServiceUnavailable().json(
                    ApiError::new(
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                        "service_unavailable",
                        "the service is unavailable (injected by the local Port)",
                    )
                    .body(),
                ),
            ),
            Fault::None => None,
        };
        if let Some(response) = response {
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    if req.path().starts_with("/v1/") && !is_auth {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let error = match token {
            None => Some("missing Authorization: Bearer <token> header"),
            Some(t) if !shared.token_is_valid(t.trim()) => {
                Some("the access token is invalid or expired")
            }
            Some(_) => None,
        };
        if let Some(message) = error {
            let response =
                HttpResponse::Unauthorized().json(ApiError::unauthorized(message).body());
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    if let Err(error) = check_path_and_query(req.request()) {
        let response = HttpResponse::build(error.status).json(error.body());
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The operation of Port's document a request is for, if it is documented.
fn documented(req: &HttpRequest) -> Option<&'static openapi::Operation> {
    let contract = openapi::contract().ok()?;
    match contract.find(req.method().as_str(), req.path()) {
        Lookup::Documented(op) => Some(op),
        Lookup::NotInDocument | Lookup::Unknown => None,
    }
}

/// Refuses, as Port does, path and query parameters its document does not accept: unknown
/// parameters, missing required ones, values of the wrong type or outside their enum.
fn check_path_and_query(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(op) = documented(req) else {
        return Ok(());
    };
    let query = QueryParams::of(req);
    op.check_path(req.path())
        .and_then(|()| op.check_query(query.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        .map_err(|v| ApiError::invalid(v.to_string()))
}

/// A JSON request body that Port's document accepts for the request's operation (bodies of
/// operations the document does not describe are taken as they are).
pub(crate) struct ContractJson(pub(crate) Value);

impl ContractJson {
    /// The body.
    pub(crate) fn into_inner(self) -> Value {
        self.0
    }
}

impl std::ops::Deref for ContractJson {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl FromRequest for ContractJson {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        let op = documented(req);
        Box::pin(async move {
            let body = json.await?.into_inner();
            if let Some(op) = op {
                op.check_body(Some(&body))
                    .map_err(|v| ApiError::invalid(v.to_string()))?;
            }
            Ok(ContractJson(body))
        })
    }
}

/// The writer of a request: its Ocean datasource (from the user agent) and the client id.
fn writer(req: &HttpRequest, shared: &Shared) -> Writer {
    let datasource = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .filter(|ua| Datasource::parse(ua).is_some())
        .map(Arc::from);
    Writer {
        datasource,
        actor: Arc::from(shared.settings.client_id.as_str()),
    }
}

/// Query parameters of a request, decoded.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn of(req: &HttpRequest) -> Self {
        Self(
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.all(key).last() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "query parameter \"{key}\" must be true or false, got \"{other}\""
            ))),
        }
    }

    /// Checks `ocean_info_event_type` as Port's schema does: absent, or one of
    /// `http_request`, `resync` and `start` (anything else is refused with 422).
    fn check_event_type(&self) -> Result<(), ApiError> {
        const ALLOWED: [&str; 3] = ["http_request", "resync", "start"];
        match self.all("ocean_info_event_type").last() {
            Some(value) if !ALLOWED.contains(&value) => Err(ApiError::invalid(format!(
                "query parameter \"ocean_info_event_type\" must be one of http_request, resync, start, got \"{value}\""
            ))),
            _ => Ok(()),
        }
    }
}
