//! The baseline of the live-event intake benchmark: the least an HTTP route can do with a
//! webhook and still hand it to a worker. `POST /integration/webhook` parses the body as JSON,
//! puts it on a bounded channel (capacity 10,000, as the runtime's default live-event queue)
//! and answers 202; a full channel answers 503 with `Retry-After`, bad JSON 400. One task
//! drains the channel and counts the events. `GET /health/live` answers 200, `GET /stats`
//! gives the counts.
//!
//! Settings (environment): `APPLICATION__PORT` (default 8000), `BARE_ROUTE_WORKERS` (actix
//! workers, default 2 like the runtime's server), `BARE_ROUTE_QUEUE` (channel capacity).

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Counters shared by the route and the draining task.
#[derive(Default)]
struct Counts {
    accepted: AtomicU64,
    rejected_full: AtomicU64,
    drained: AtomicU64,
}

struct State {
    tx: mpsc::Sender<Value>,
    counts: Arc<Counts>,
}

async fn webhook(state: web::Data<State>, body: web::Bytes) -> HttpResponse {
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => {
            return HttpResponse::BadRequest()
                .json(json!({"error": format!("the request body must be JSON: {e}")}));
        }
    };
    match state.tx.try_send(event) {
        Ok(()) => {
            let n = state.counts.accepted.fetch_add(1, Ordering::Relaxed) + 1;
            HttpResponse::Accepted().json(json!({"eventId": n}))
        }
        Err(_) => {
            state.counts.rejected_full.fetch_add(1, Ordering::Relaxed);
            HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "1"))
                .json(json!({"error": "the event queue is full, retry later"}))
        }
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn stats(state: web::Data<State>) -> HttpResponse {
    let c = &state.counts;
    HttpResponse::Ok().json(json!({
        "accepted": c.accepted.load(Ordering::Relaxed),
        "rejected_full": c.rejected_full.load(Ordering::Relaxed),
        "drained": c.drained.load(Ordering::Relaxed),
    }))
}

fn env_usize(name: &str, default: usize) -> std::io::Result<usize> {
    match std::env::var(name) {
        Ok(text) => text.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name} must be a whole number, got \"{text}\""),
            )
        }),
        Err(_) => Ok(default),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = u16::try_from(env_usize("APPLICATION__PORT", 8000)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let workers = env_usize("BARE_ROUTE_WORKERS", 2)?.max(1);
    let capacity = env_usize("BARE_ROUTE_QUEUE", 10_000)?.max(1);
    let (tx, mut rx) = mpsc::channel::<Value>(capacity);
    let counts = Arc::new(Counts::default());
    let drained = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            // Touch the event so the drain is not optimised into nothing.
            if event.get("person").is_some() {
                drained.drained.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let state = web::Data::new(State { tx, counts });
    println!("bare route listening on 0.0.0.0:{port} ({workers} workers, queue {capacity})");
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/integration/webhook", web::post().to(webhook))
            .route("/health/live", web::get().to(live))
            .route("/stats", web::get().to(stats))
    })
    .workers(workers)
    .bind(("0.0.0.0", port))?
    .run()
    .await
}
