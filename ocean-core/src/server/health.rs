//! `/health/live` and `/health/ready`.

use actix_web::{HttpResponse, web};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Liveness and readiness of the integration. Cheap to clone; clones share the flag.
#[derive(Debug, Clone)]
pub struct Health {
    ready: Arc<AtomicBool>,
    core_version: &'static str,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// Live, not ready yet.
    pub fn new() -> Self {
        Self {
            ready: Arc::new(AtomicBool::new(false)),
            core_version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Marks startup as finished (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether startup finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn body(&self, check: &str) -> serde_json::Value {
        json!({"status": "healthy", "check": check, "core_version": self.core_version})
    }
}

pub(super) async fn live(health: web::Data<Health>) -> HttpResponse {
    HttpResponse::Ok().json(health.body("live"))
}

pub(super) async fn ready(health: web::Data<Health>) -> HttpResponse {
    if health.is_ready() {
        HttpResponse::Ok().json(health.body("ready"))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "status": "starting",
            "check": "ready",
            "core_version": health.core_version,
        }))
    }
}
