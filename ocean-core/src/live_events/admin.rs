//! Admin routes over the dead letters, behind a bearer token (no token configured: 404).

use super::error::LiveEventsError;
use super::intake::error_response;
use super::state::LiveEvents;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

impl LiveEvents {
    /// Mounts `GET /admin/dead-letters`, `GET|DELETE /admin/dead-letters/{id}` and
    /// `POST /admin/dead-letters/{id}/replay`.
    pub fn configure_admin(&self, cfg: &mut web::ServiceConfig) {
        let list = self.clone();
        let get = self.clone();
        let delete = self.clone();
        let replay = self.clone();
        cfg.route(
            "/admin/dead-letters",
            web::get().to(move |req: HttpRequest| {
                let live = list.clone();
                async move {
                    if let Some(denied) = live.deny(&req) {
                        return denied;
                    }
                    HttpResponse::Ok().json(json!({"deadLetters": live.dead_letters().list()}))
                }
            }),
        )
        .route(
            "/admin/dead-letters/{id}",
            web::get().to(move |req: HttpRequest, id: web::Path<String>| {
                let live = get.clone();
                async move {
                    if let Some(denied) = live.deny(&req) {
                        return denied;
                    }
                    match live.dead_letters().get(&id) {
                        Some(letter) => HttpResponse::Ok().json(letter),
                        None => not_found(&id),
                    }
                }
            }),
        )
        .route(
            "/admin/dead-letters/{id}",
            web::delete().to(move |req: HttpRequest, id: web::Path<String>| {
                let live = delete.clone();
                async move {
                    if let Some(denied) = live.deny(&req) {
                        return denied;
                    }
                    match live.dead_letters().remove(&id).await {
                        Ok(_) => HttpResponse::Ok().json(json!({"deleted": id.as_str()})),
                        Err(e) => admin_error(e),
                    }
                }
            }),
        )
        .route(
            "/admin/dead-letters/{id}/replay",
            web::post().to(move |req: HttpRequest, id: web::Path<String>| {
                let live = replay.clone();
                async move {
                    if let Some(denied) = live.deny(&req) {
                        return denied;
                    }
                    match live.replay(&id).await {
                        Ok(event_id) => HttpResponse::Accepted().json(json!({"eventId": event_id})),
                        Err(e) => admin_error(e),
                    }
                }
            }),
        );
    }

    /// `Some(response)` when the request may not use the admin routes.
    fn deny(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let Some(token) = &self.options().admin_token else {
            return Some(error_response(StatusCode::NOT_FOUND, "not found"));
        };
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Hashing first makes the comparison independent of both lengths.
        let expected = Sha256::digest(token.expose().as_bytes());
        let given_hash = Sha256::digest(given.as_bytes());
        let ok = !token.expose().is_empty() && bool::from(expected.ct_eq(&given_hash));
        if ok {
            return None;
        }
        let mut resp = error_response(
            StatusCode::UNAUTHORIZED,
            "a valid admin bearer token is required",
        );
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Bearer"),
        );
        Some(resp)
    }
}

fn not_found(id: &str) -> HttpResponse {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no dead letter with id `{id}`"),
    )
}

fn admin_error(e: LiveEventsError) -> HttpResponse {
    match e {
        LiveEventsError::DeadLetterNotFound(id) => not_found(&id),
        LiveEventsError::QueueFull { .. } | LiveEventsError::QueueClosed => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        other => error_response(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}
