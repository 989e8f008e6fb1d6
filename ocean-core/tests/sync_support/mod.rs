//! Shared setup of the sync tests: a local Port over HTTP, a Port client writing as this
//! integration, a scripted third-party source, and an explicit registry.

#![allow(dead_code)]

use ocean::Context;
use ocean::config::Secret;
use ocean::mapping::{JqEngine, PortAppConfig};
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::local::{LocalPort, LocalPortHandle, LocalPortState};
use ocean::port::types::{Blueprint, Integration};
use ocean::port::{Datasource, Entity};
use ocean::registry::{Registry, ResyncHandler, ResyncStream};
use ocean::sync::{ResyncReport, SyncEngine, SyncOptions};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub const INTEGRATION: &str = "my-source";

/// What the fake third party serves and how it misbehaves.
#[derive(Default)]
pub struct SourceData {
    /// Items per kind.
    pub items: HashMap<String, Vec<Value>>,
    /// Items per batch.
    pub batch_size: usize,
    /// Fail the kind's stream after this many batches.
    pub fail_after: HashMap<String, usize>,
    /// After this many batches of the kind: fire the token and then never yield again.
    pub cancel_after: Option<(String, usize, CancellationToken)>,
    /// Before the first batch of the kind: upsert this entity through this client.
    pub write_during: Option<(String, PortClient, Entity)>,
    /// Before each batch: how many items were fetched but not yet stored in this Port.
    pub lag_probe: Option<(LocalPortState, Vec<usize>)>,
}

/// The third party, shared between the test and the handlers (through the context).
#[derive(Clone, Default)]
pub struct Source(pub Arc<Mutex<SourceData>>);

impl Source {
    pub fn set(&self, kind: &str, items: Vec<Value>) {
        self.0.lock().unwrap().items.insert(kind.into(), items);
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut SourceData) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

/// The handler of every kind: serves the source's items of the resource's kind in batches.
fn serve(ctx: Context) -> ResyncStream {
    let kind = ctx.resource().map(|r| r.kind.clone()).unwrap_or_default();
    let source = ctx.config::<Source>().cloned();
    Box::pin(ocean::stream! {
        let source = match source {
            Ok(source) => source,
            Err(e) => { yield Err(e); return; }
        };
        let (items, size, fail_after, cancel_after, write) = source.with(|d| {
            (
                d.items.get(&kind).cloned().unwrap_or_default(),
                d.batch_size.max(1),
                d.fail_after.get(&kind).copied(),
                d.cancel_after.clone().filter(|(k, _, _)| *k == kind),
                d.write_during.clone().filter(|(k, _, _)| *k == kind),
            )
        });
        if let Some((_, client, entity)) = write {
            client
                .upsert_entity(&entity, &Default::default())
                .await
                .expect("the concurrent write succeeds");
        }
        for (n, chunk) in items.chunks(size).enumerate() {
            if fail_after == Some(n) {
                yield Err(ocean::Error::msg(format!("the {kind} API answered 500 on page {n}")));
                return;
            }
            if let Some((_, after, token)) = &cancel_after
                && *after == n
            {
                token.cancel();
                std::future::pending::<()>().await;
            }
            source.with(|d| {
                if let Some((state, lags)) = &mut d.lag_probe {
                    lags.push((n * size).saturating_sub(state.entity_count()));
                }
            });
            yield Ok(chunk.to_vec());
        }
    })
}

fn serve_catch_all(ctx: Context) -> ResyncStream {
    serve(ctx)
}

pub struct Harness {
    pub port: LocalPortHandle,
    pub client: PortClient,
    pub source: Source,
    pub registry: Arc<Registry>,
}

pub fn client_as(port: &LocalPortHandle, identifier: &str) -> PortClient {
    let config = PortClientConfig::new(
        port.url(),
        Secret::from(port.client_id()),
        Secret::new(port.client_secret().expose()),
        Datasource::exporter("fake", "1.0.0", identifier),
    );
    PortClient::new(config).unwrap()
}

impl Harness {
    /// A local Port with `department` and `person` blueprints (person → department, optional
    /// unless `required`, and person → person `manager`), handlers for both kinds.
    pub async fn start(required: bool) -> Self {
        let port = LocalPort::builder()
            .client_id("id")
            .client_secret("secret")
            .start()
            .await
            .unwrap();
        let client = client_as(&port, INTEGRATION);
        let department: Blueprint = serde_json::from_value(json!({
            "identifier": "department",
            "title": "Department",
            "schema": {"properties": {"name": {"type": "string"}}}
        }))
        .unwrap();
        let person: Blueprint = serde_json::from_value(json!({
            "identifier": "person",
            "title": "Person",
            "schema": {"properties": {"age": {"type": "number"}, "name": {"type": "string"}}},
            "relations": {
                "department": {"target": "department", "required": required, "many": false},
                "manager": {"target": "person", "required": false, "many": false}
            }
        }))
        .unwrap();
        client.create_blueprint(&department).await.unwrap();
        client.create_blueprint(&person).await.unwrap();
        client
            .create_integration(&Integration {
                installation_id: INTEGRATION.into(),
                installation_app_type: Some("fake".into()),
                ..Integration::default()
            })
            .await
            .unwrap();
        let mut registry = Registry::new();
        for kind in ["person", "department"] {
            registry
                .register_resync(ResyncHandler {
                    kind: Some(kind),
                    name: "serve",
                    file: file!(),
                    line: line!(),
                    handler: serve,
                })
                .unwrap();
        }
        Self {
            port,
            client,
            source: Source::default(),
            registry: Arc::new(registry),
        }
    }

    /// Also registers a catch-all handler (so every kind gets the source's items twice).
    pub fn with_catch_all(mut self) -> Self {
        let mut registry = (*self.registry).clone();
        registry
            .register_resync(ResyncHandler {
                kind: None,
                name: "serve_catch_all",
                file: file!(),
                line: line!(),
                handler: serve_catch_all,
            })
            .unwrap();
        self.registry = Arc::new(registry);
        self
    }

    pub fn engine(&self) -> SyncEngine {
        let context = Context::new(self.source.clone(), reqwest::Client::new())
            .with_port(self.client.clone());
        SyncEngine::new(
            self.client.clone(),
            self.registry.clone(),
            Arc::new(JqEngine::default()),
            context,
            SyncOptions {
                integration_identifier: INTEGRATION.into(),
                send_raw_data_examples: true,
                pipeline_depth: 2,
            },
        )
    }

    pub async fn resync(&self, config: &PortAppConfig) -> ResyncReport {
        self.engine()
            .resync(config, &CancellationToken::new())
            .await
    }

    /// Identifiers stored in a blueprint, sorted.
    pub fn ids(&self, blueprint: &str) -> Vec<String> {
        self.port
            .state()
            .entities(blueprint)
            .into_iter()
            .map(|e| e.identifier)
            .collect()
    }

    pub fn updated_at(&self, blueprint: &str, id: &str) -> String {
        self.port.state().entity(blueprint, id).unwrap().updated_at
    }
}

/// The usual config: departments, then persons.
pub fn config(create_missing: bool, delete_dependents: bool, threshold: f64) -> PortAppConfig {
    config_with(create_missing, delete_dependents, threshold, "true", false)
}

/// A config with the person selector `selector`; `persons_first` puts persons before
/// departments.
pub fn config_with(
    create_missing: bool,
    delete_dependents: bool,
    threshold: f64,
    selector: &str,
    persons_first: bool,
) -> PortAppConfig {
    let department = r#"
  - kind: department
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"department"'
          properties:
            name: .name
"#;
    let person = format!(
        r#"
  - kind: person
    selector:
      query: '{selector}'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"person"'
          properties:
            age: .age
          relations:
            department: .dept
            manager: .manager
"#
    );
    let resources = if persons_first {
        format!("{person}{department}")
    } else {
        format!("{department}{person}")
    };
    let yaml = format!(
        "createMissingRelatedEntities: {create_missing}\ndeleteDependentEntities: {delete_dependents}\nentityDeletionThreshold: {threshold}\nresources:{resources}"
    );
    PortAppConfig::parse(&yaml).unwrap()
}

pub fn persons(n: usize, dept: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": format!("p{i:03}"), "name": format!("Person {i}"), "age": 20 + i, "dept": dept}))
        .collect()
}

pub fn departments(ids: &[&str]) -> Vec<Value> {
    ids.iter()
        .map(|id| json!({"id": id, "name": format!("Department {id}")}))
        .collect()
}

pub fn kind<'a>(report: &'a ResyncReport, kind: &str) -> &'a ocean::sync::KindReport {
    report.kinds.iter().find(|k| k.kind == kind).unwrap()
}
