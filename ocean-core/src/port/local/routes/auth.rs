//! `POST /v1/auth/access_token`: client credentials for a bearer token.

use super::super::error::{ApiError, describe};
use super::super::state::Shared;
use super::ContractJson;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/auth/access_token", web::post().to(access_token));
}

async fn access_token(
    shared: web::Data<Shared>,
    body: ContractJson,
) -> Result<HttpResponse, ApiError> {
    let field = |name: &str| match body.get(name) {
        Some(Value::String(s)) => Ok(s.as_str()),
        other => Err(ApiError::invalid(format!(
            "\"{name}\" must be a string, got {}",
            other.map_or("nothing".into(), describe)
        ))),
    };
    let client_id = field("clientId")?;
    let client_secret = field("clientSecret")?;
    let settings = &shared.settings;
    let id_ok = client_id.as_bytes().ct_eq(settings.client_id.as_bytes());
    let secret_ok = client_secret
        .as_bytes()
        .ct_eq(settings.client_secret.expose().as_bytes());
    if !bool::from(id_ok & secret_ok) {
        return Err(ApiError::unauthorized("invalid client id or client secret"));
    }
    let token = shared.issue_token();
    Ok(HttpResponse::Ok().json(json!({
        "ok": true,
        "accessToken": token,
        "expiresIn": settings.token_ttl.as_secs(),
        "tokenType": "Bearer",
    })))
}
