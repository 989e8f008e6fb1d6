//! The runtime in-process: Port client choice, default resources, listeners, HTTP routes and
//! shutdown, against real local Ports over real HTTP.

use ocean::config::{ApplicationSettings, ConfigSources, OceanSettings};
use ocean::port::local::{LocalPort, LocalPortHandle};
use ocean::registry::{Registry, ResyncHandler, ResyncStream, one_batch};
use ocean::runtime::{IntegrationInfo, Launch, NoConfig, RunningIntegration, Trigger, launch};
use ocean::sync::ResyncStatus;
use ocean::{Context, RawItem};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tempfile::TempDir;

mod polling;
use polling::eventually;

const IDENTIFIER: &str = "runtime-test";

const INFO: IntegrationInfo = IntegrationInfo {
    name: "runtime-test-integration",
    version: "1.2.3",
    manifest_dir: env!("CARGO_MANIFEST_DIR"),
};

const MAPPING: &str = r#"
resources:
  - kind: thing
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"thing"'
          properties:
            size: .size
          relations:
            owner: .owner
"#;

const BLUEPRINTS: &str = r#"[
  {"identifier": "owner", "title": "Owner", "schema": {"properties": {}}},
  {"identifier": "thing", "title": "Thing",
   "schema": {"properties": {"size": {"type": "number"}}},
   "relations": {"owner": {"target": "owner", "required": false, "many": false}}}
]"#;

fn things(_ctx: Context) -> ResyncStream {
    one_batch(async {
        Ok::<Vec<RawItem>, ocean::Error>(vec![
            json!({"id": "t1", "name": "One", "size": 1}),
            json!({"id": "t2", "name": "Two", "size": 2}),
            json!({"id": "t3", "name": "Three", "size": 3}),
        ])
    })
}

fn failing(_ctx: Context) -> ResyncStream {
    one_batch(async { Err::<Vec<RawItem>, _>(ocean::Error::msg("the third party is down")) })
}

fn endless(_ctx: Context) -> ResyncStream {
    Box::pin(futures::stream::pending())
}

fn registry(handler: fn(Context) -> ResyncStream) -> Registry {
    let mut registry = Registry::new();
    registry
        .register_resync(ResyncHandler {
            kind: Some("thing"),
            name: "things",
            file: file!(),
            line: line!(),
            handler,
        })
        .expect("one handler registers");
    registry
}

fn resources() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("port-app-config.yml"), MAPPING).expect("write mapping");
    std::fs::write(dir.path().join("blueprints.json"), BLUEPRINTS).expect("write blueprints");
    dir
}

fn settings(resources: &TempDir, extra: &[(&str, &str)]) -> (OceanSettings, ApplicationSettings) {
    let mut sources = ConfigSources::new()
        .with_env_var("OCEAN__INTEGRATION__IDENTIFIER", IDENTIFIER)
        .with_env_var(
            "OCEAN__RESOURCES_PATH",
            resources.path().display().to_string(),
        )
        .with_env_var("OCEAN__SEND_RAW_DATA_EXAMPLES", "false")
        .with_env_var("OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN", "2")
        .with_env_var("APPLICATION__PORT", "0");
    for (name, value) in extra {
        sources = sources.with_env_var(*name, *value);
    }
    let settings = OceanSettings::load(&sources, Some("runtime-test")).expect("valid settings");
    let application = ApplicationSettings::load(&sources).expect("valid application settings");
    (settings, application)
}

async fn start(
    resources: &TempDir,
    extra: &[(&str, &str)],
    handler: fn(Context) -> ResyncStream,
) -> RunningIntegration {
    let (settings, application) = settings(resources, extra);
    let mut args = Launch::new(
        INFO,
        settings,
        application,
        registry(handler),
        Arc::new(NoConfig {}),
    );
    args.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    launch(args).await.expect("the integration starts")
}

async fn standalone_port() -> LocalPortHandle {
    LocalPort::builder()
        .client_id("standalone-id")
        .client_secret("standalone-secret")
        .start()
        .await
        .expect("local Port starts")
}

fn standalone_env(port: &LocalPortHandle) -> Vec<(&'static str, String)> {
    vec![
        ("OCEAN__PORT__BASE_URL", port.url().to_owned()),
        ("OCEAN__PORT__CLIENT_ID", "standalone-id".to_owned()),
        ("OCEAN__PORT__CLIENT_SECRET", "standalone-secret".to_owned()),
    ]
}

fn with<'a>(
    owned: &'a [(&'static str, String)],
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    owned
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(more.iter().copied())
        .collect()
}

fn resync_status(port: &LocalPortHandle) -> Option<String> {
    port.state()
        .integration(IDENTIFIER)
        .and_then(|i| i["resyncState"]["status"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn without_credentials_the_runtime_embeds_a_local_port() {
    let dir = resources();
    let running = start(
        &dir,
        &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")],
        things,
    )
    .await;
    let local = running.local_port().expect("an embedded local Port");
    assert_eq!(running.port().config().base_url, local.url());
    assert!(local.state().integration(IDENTIFIER).is_some());
    running.shutdown().await;
}

#[tokio::test]
async fn with_credentials_the_runtime_uses_the_configured_port() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")]),
        things,
    )
    .await;
    assert!(running.local_port().is_none());
    assert_eq!(running.port().config().base_url, port.url());
    let integration = port
        .state()
        .integration(IDENTIFIER)
        .expect("integration created");
    assert_eq!(integration["installationAppType"], "runtime-test");
    assert_eq!(integration["version"], "1.2.3");
    assert_eq!(integration["config"]["resources"][0]["kind"], "thing");
    running.shutdown().await;
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn defaults_are_created_once_and_not_recreated_when_present() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let webhooks_only = with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")]);

    let first = start(&dir, &webhooks_only, things).await;
    first.shutdown().await;
    let thing = port
        .state()
        .blueprint("thing")
        .expect("thing blueprint created");
    assert!(
        thing.relations.contains_key("owner"),
        "relations patched in after creation"
    );
    assert!(port.state().blueprint("owner").is_some());
    let created_at = thing.extra.get("createdAt").cloned();
    let integration_created = port
        .state()
        .integration(IDENTIFIER)
        .map(|i| i["createdAt"].clone());

    let second = start(&dir, &webhooks_only, things).await;
    second.shutdown().await;
    let again = port.state().blueprint("thing").expect("still there");
    assert_eq!(
        again.extra.get("createdAt").cloned(),
        created_at,
        "not recreated"
    );
    assert_eq!(
        port.state()
            .integration(IDENTIFIER)
            .map(|i| i["createdAt"].clone()),
        integration_created,
        "the integration is not recreated"
    );
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn an_existing_integration_with_an_empty_mapping_gets_the_default_one() {
    let port = standalone_port().await;
    let env = standalone_env(&port);
    let client = {
        let dir = tempfile::tempdir().expect("temp dir");
        let (settings, _) = settings(&dir, &with(&env, &[]));
        ocean::runtime::connect(&settings, &INFO)
            .await
            .expect("client")
            .client
    };
    client
        .create_integration(&ocean::port::Integration {
            installation_id: IDENTIFIER.into(),
            installation_app_type: Some("runtime-test".into()),
            config: Some(json!({})),
            ..Default::default()
        })
        .await
        .expect("integration created by hand");
    let dir = resources();
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")]),
        things,
    )
    .await;
    running.shutdown().await;
    let integration = port.state().integration(IDENTIFIER).expect("exists");
    assert_eq!(integration["config"]["resources"][0]["kind"], "thing");
    assert_eq!(
        integration["version"], "1.2.3",
        "the version is brought up to date"
    );
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn initialize_port_resources_false_creates_no_blueprints() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(
            &env,
            &[
                ("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY"),
                ("OCEAN__INITIALIZE_PORT_RESOURCES", "false"),
            ],
        ),
        things,
    )
    .await;
    running.shutdown().await;
    assert!(port.state().blueprint("thing").is_none());
    assert!(port.state().integration(IDENTIFIER).is_some());
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn once_exits_zero_after_a_completed_resync_and_reports_it() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")]),
        things,
    )
    .await;
    let exit = running.run_until(std::future::pending()).await;
    assert_eq!(exit.code(), 0, "{exit:?}");
    assert_eq!(port.state().entities("thing").len(), 3);
    assert_eq!(resync_status(&port).as_deref(), Some("completed"));
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn once_exits_one_when_the_resync_fails() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")]),
        failing,
    )
    .await;
    let exit = running.run_until(std::future::pending()).await;
    assert_eq!(exit.code(), 1, "{exit:?}");
    assert_eq!(resync_status(&port).as_deref(), Some("failed"));
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn once_interrupted_by_a_signal_reports_aborted_and_exits_one() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")]),
        endless,
    )
    .await;
    let state_port = &port;
    let signal = async move {
        eventually("the resync runs", || {
            resync_status(state_port).as_deref() == Some("running")
        })
        .await;
    };
    let exit = running.run_until(signal).await;
    assert_eq!(exit.code(), 1, "{exit:?}");
    assert_eq!(resync_status(&port).as_deref(), Some("aborted"));
    port.stop().await.expect("stops");
}

#[tokio::test]
async fn health_and_metrics_are_served_under_the_path_prefix() {
    let dir = resources();
    let running = start(
        &dir,
        &[
            ("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY"),
            ("OCEAN__PATH_PREFIX", "ocean"),
        ],
        things,
    )
    .await;
    let base = format!(
        "http://{}/ocean",
        running.server_addr().expect("server runs")
    );
    let http = reqwest::Client::new();
    for check in ["live", "ready"] {
        let answer = http
            .get(format!("{base}/health/{check}"))
            .send()
            .await
            .expect("health answers");
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["check"], check);
        assert!(body["core_version"].is_string());
    }
    let outcome = running
        .coordinator()
        .start(Trigger::Manual)
        .await
        .expect("coordinator open")
        .outcome()
        .await;
    assert_eq!(outcome.status, ResyncStatus::Completed);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            r#"object_count{kind="thing-0",phase="extract",object_count_type="raw_extracted"} 3"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"last_resync_status{status="completed"} 1"#),
        "{metrics}"
    );
    let unprefixed = http
        .get(format!(
            "http://{}/health/live",
            running.server_addr().expect("addr")
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(unprefixed.status(), 404);
    running.shutdown().await;
}

#[tokio::test]
async fn polling_resyncs_when_a_new_resync_request_appears() {
    let dir = resources();
    let running = start(
        &dir,
        &[
            ("OCEAN__EVENT_LISTENER__TYPE", "POLLING"),
            ("OCEAN__EVENT_LISTENER__INTERVAL", "0.05"),
            ("OCEAN__EVENT_LISTENER__RESYNC_ON_START", "false"),
        ],
        things,
    )
    .await;
    let local = running.local_port().expect("embedded");
    // Several ticks pass without a request (the poller reads the integration each tick): nothing
    // is synced.
    let before = local.state().requests_received();
    eventually("the poller to read Port several times", || {
        local.state().requests_received() >= before + 5
    })
    .await;
    assert_eq!(local.state().entities("thing").len(), 0);
    assert_eq!(
        local
            .state()
            .integration(IDENTIFIER)
            .map(|i| i.get("resyncState").is_some()),
        Some(false)
    );
    local.request_resync(IDENTIFIER).expect("request set");
    eventually("the requested resync completes", || {
        local
            .state()
            .integration(IDENTIFIER)
            .and_then(|i| i["resyncState"]["status"].as_str().map(str::to_owned))
            == Some("completed".into())
    })
    .await;
    assert_eq!(local.state().entities("thing").len(), 3);
    running.shutdown().await;
}

#[tokio::test]
async fn polling_with_resync_on_start_resyncs_without_a_request() {
    let dir = resources();
    let running = start(
        &dir,
        &[
            ("OCEAN__EVENT_LISTENER__TYPE", "POLLING"),
            ("OCEAN__EVENT_LISTENER__INTERVAL", "0.05"),
        ],
        things,
    )
    .await;
    let local = running.local_port().expect("embedded");
    eventually("the start resync completes", || {
        local.state().entities("thing").len() == 3
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn a_newer_resync_aborts_the_running_one() {
    let port = standalone_port().await;
    let dir = resources();
    let env = standalone_env(&port);
    let running = start(
        &dir,
        &with(&env, &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")]),
        endless,
    )
    .await;
    let first = running
        .coordinator()
        .start(Trigger::Manual)
        .await
        .expect("open");
    let _second = running
        .coordinator()
        .start(Trigger::Manual)
        .await
        .expect("open");
    assert_eq!(first.outcome().await.status, ResyncStatus::Aborted);
    running.shutdown().await;
    assert_eq!(
        resync_status(&port).as_deref(),
        Some("aborted"),
        "shutdown aborts the second"
    );
    port.stop().await.expect("stops");
}

static HOOK_SAW_SETTINGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn start_hook(ctx: Context) -> futures::future::BoxFuture<'static, ocean::Result<()>> {
    Box::pin(async move {
        let identifier = ctx.settings().map(|s| s.integration.identifier.clone());
        if identifier.as_deref() == Some(IDENTIFIER) && ctx.port().is_some() {
            HOOK_SAW_SETTINGS.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Err(ocean::Error::msg("a failing start hook is only logged"))
    })
}

#[tokio::test]
async fn start_hooks_run_with_the_full_context_and_their_errors_are_not_fatal() {
    let dir = resources();
    let (settings, application) =
        settings(&dir, &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")]);
    let mut registry = registry(things);
    registry
        .register_start(ocean::registry::StartHook {
            name: "start_hook",
            file: file!(),
            line: line!(),
            hook: start_hook,
        })
        .expect("hook registers");
    let mut args = Launch::new(INFO, settings, application, registry, Arc::new(NoConfig {}));
    args.bind_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let running = launch(args).await.expect("starts despite the failing hook");
    eventually("the start hook ran", || {
        HOOK_SAW_SETTINGS.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    assert!(running.health().is_ready());
    running.shutdown().await;
}

#[tokio::test]
async fn a_listener_that_resyncs_needs_a_resync_handler() {
    let dir = resources();
    let (settings, application) = settings(&dir, &[("OCEAN__EVENT_LISTENER__TYPE", "ONCE")]);
    let args = Launch::new(
        INFO,
        settings,
        application,
        Registry::new(),
        Arc::new(NoConfig {}),
    );
    let error = launch(args).await.expect_err("no handler");
    assert!(
        error
            .to_string()
            .contains("no resync handler is registered"),
        "{error}"
    );
}
