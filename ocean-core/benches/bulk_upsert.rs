//! Bulk upsert throughput of the Port client against the local Port on loopback: 10,000 entities
//! of about 1 KB, 20 per request, into a fresh local Port for every iteration.
//!
//! Only the upsert is timed: starting the local Port, creating the blueprint and fetching the
//! token happen before the clock starts, stopping the server after it stops.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocean::config::Secret;
use ocean::port::client::{PortClient, PortClientConfig, UpsertOptions};
use ocean::port::datasource::Datasource;
use ocean::port::local::LocalPort;
use ocean::port::types::{Blueprint, Entity};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

const ENTITIES: usize = 10_000;
const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-secret";

/// A service catalog blueprint of the kind integrations write: a few typed properties.
fn blueprint() -> Blueprint {
    serde_json::from_value(json!({
        "identifier": "service",
        "title": "Service",
        "schema": {
            "properties": {
                "language": {"type": "string", "enum": ["rust", "go", "python", "java"]},
                "stars": {"type": "number"},
                "archived": {"type": "boolean"},
                "url": {"type": "string", "format": "url"},
                "lastPush": {"type": "string", "format": "date-time"},
                "topics": {"type": "array", "items": {"type": "string"}},
                "readme": {"type": "string"}
            },
            "required": ["language"]
        },
        "relations": {}
    }))
    .unwrap_or_else(|e| panic!("the benchmark blueprint is valid: {e}"))
}

/// Entity `i`, about 1 KB once serialized.
fn entity(i: usize) -> Entity {
    let languages = ["rust", "go", "python", "java"];
    let mut entity = Entity::new(format!("service-{i:05}"), "service");
    entity.title = Some(Value::String(format!("Service number {i}")));
    let mut properties = Map::new();
    properties.insert("language".into(), json!(languages[i % languages.len()]));
    properties.insert("stars".into(), json!(i * 7 % 5000));
    properties.insert("archived".into(), json!(i.is_multiple_of(10)));
    properties.insert(
        "url".into(),
        json!(format!("https://git.example.com/acme/service-{i:05}")),
    );
    properties.insert(
        "lastPush".into(),
        json!(format!("2026-11-{:02}T10:{:02}:00Z", 1 + i % 28, i % 60)),
    );
    properties.insert("topics".into(), json!(["backend", "payments", "tier-1"]));
    let readme = format!("Service {i} handles part of the payment flow. ").repeat(16);
    properties.insert("readme".into(), json!(readme));
    entity.properties = Some(properties);
    entity
}

/// Starts a local Port with the blueprint, and a client that already holds a token.
async fn fresh_port() -> (ocean::port::local::LocalPortHandle, PortClient) {
    let port = LocalPort::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .start()
        .await
        .unwrap_or_else(|e| panic!("the local Port starts: {e}"));
    let config = PortClientConfig::new(
        port.url(),
        Secret::new(CLIENT_ID),
        Secret::new(CLIENT_SECRET),
        Datasource::exporter("github", "1.0.0", "bench"),
    );
    let client = PortClient::new(config).unwrap_or_else(|e| panic!("valid config: {e}"));
    client
        .create_blueprint(&blueprint())
        .await
        .unwrap_or_else(|e| panic!("the blueprint is created: {e}"));
    (port, client)
}

fn bulk_upsert(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a tokio runtime: {e}"));
    let entities: Vec<Entity> = (0..ENTITIES).map(entity).collect();
    let bytes: usize = entities
        .iter()
        .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len()))
        .sum();
    println!(
        "bulk_upsert: {ENTITIES} entities, {} bytes each on average",
        bytes / ENTITIES
    );

    let mut group = c.benchmark_group("port_client_local_port");
    group.throughput(Throughput::Elements(ENTITIES as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("bulk_upsert_10k_x_1KB_20_per_request", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let entities = entities.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (port, client) = fresh_port().await;
                    let batch = entities.clone();
                    let started = Instant::now();
                    let outcome = client
                        .upsert_entities_bulk(batch, &UpsertOptions::default())
                        .await;
                    total += started.elapsed();
                    assert!(outcome.all_stored(), "every entity is stored");
                    assert_eq!(port.state().entity_count(), ENTITIES);
                    port.stop()
                        .await
                        .unwrap_or_else(|e| panic!("the local Port stops: {e}"));
                }
                total
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bulk_upsert);
criterion_main!(benches);
