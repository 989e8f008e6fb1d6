//! The HTTP side: `POST /integration{path}` for every registered path, plus the raw routes.

use super::door::IntakeOutcome;
use super::state::LiveEvents;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::BytesMut;
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;

pub(super) fn error_response(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"status": "error", "message": message.into()}))
}

impl LiveEvents {
    /// Mounts `/integration` with `POST {path}` for every registered path, the raw routes, and
    /// the [`LiveApplier`](super::LiveApplier) as `web::Data` for raw route handlers.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let mut scope = web::scope("/integration").app_data(web::Data::new(self.applier().clone()));
        for path in self.paths() {
            let live = self.clone();
            let path: Arc<str> = Arc::from(path);
            // A resource (not a bare route) so other methods get 405, not 404.
            scope = scope.service(web::resource(path.to_string()).route(web::post().to(
                move |req: HttpRequest, body: web::Payload| {
                    let live = live.clone();
                    let path = Arc::clone(&path);
                    async move { live.receive_http(&path, req, body).await }
                },
            )));
        }
        for raw in &self.inner.raw_routes {
            scope = scope.configure(raw.configure);
        }
        cfg.service(scope);
    }

    async fn receive_http(
        &self,
        path: &str,
        req: HttpRequest,
        mut body: web::Payload,
    ) -> HttpResponse {
        let limit = self.options().body_limit;
        let too_large = || {
            super::stats::bump(&self.inner.stats.rejected_too_large);
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body exceeds the limit of {limit} bytes"),
            )
        };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return too_large();
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                // 500, not 400: nothing was queued, and a provider retries a 5xx but gives
                // up on a 4xx (a body cut short by a proxy is not the event's fault).
                Err(e) => {
                    return error_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("the request body could not be read, retry: {e}"),
                    );
                }
            };
            if buf.len() + chunk.len() > limit {
                return too_large();
            }
            buf.extend_from_slice(&chunk);
        }
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let retry_after = self.options().retry_after_seconds.to_string();
        match self.receive(path, headers, buf.freeze()).await {
            IntakeOutcome::Accepted(id) => HttpResponse::Accepted().json(json!({"eventId": id})),
            IntakeOutcome::Ignored => HttpResponse::Ok().json(json!({"status": "ignored"})),
            IntakeOutcome::TooLarge { limit } => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body exceeds the limit of {limit} bytes"),
            ),
            IntakeOutcome::BadJson(e) => error_response(
                StatusCode::BAD_REQUEST,
                format!("the request body must be JSON: {e}"),
            ),
            IntakeOutcome::Unauthorized { .. } => {
                error_response(StatusCode::UNAUTHORIZED, "webhook authentication failed")
            }
            IntakeOutcome::Invalid { processor, reason } => error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                match reason {
                    Some(reason) => format!("invalid payload for `{processor}`: {reason}"),
                    None => format!("invalid payload for `{processor}`"),
                },
            ),
            IntakeOutcome::Busy => {
                let mut resp = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the event queue is full, retry later",
                );
                insert_retry_after(&mut resp, &retry_after);
                resp
            }
            IntakeOutcome::ShuttingDown => {
                let mut resp = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting down, retry later",
                );
                insert_retry_after(&mut resp, &retry_after);
                resp
            }
            IntakeOutcome::UnknownPath => error_response(
                StatusCode::NOT_FOUND,
                format!("no webhook processor on `{path}`"),
            ),
        }
    }
}

fn insert_retry_after(resp: &mut HttpResponse, seconds: &str) {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(seconds) {
        resp.headers_mut().insert(RETRY_AFTER, value);
    }
}
