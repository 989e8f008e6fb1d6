//! `ocean defaults dock|clean` and `ocean version` against a local Port.

use ocean::port::local::LocalPort;
use std::path::Path;
use std::process::{Command, Output};

fn ocean(port_url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocean"));
    for (name, _) in std::env::vars() {
        if name.starts_with("OCEAN__") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("OCEAN__PORT__BASE_URL", port_url)
        .env("OCEAN__PORT__CLIENT_ID", "dock-id")
        .env("OCEAN__PORT__CLIENT_SECRET", "dock-secret")
        .env("OCEAN__INTEGRATION__IDENTIFIER", "docked")
        .output()
        .expect("ocean runs")
}

fn text(output: &Output) -> String {
    format!(
        "{:?}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

// The local Port serves on the runtime's other thread while the test waits for `ocean`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dock_creates_the_blueprints_and_the_mapping_and_clean_removes_them() {
    let port = LocalPort::builder()
        .client_id("dock-id")
        .client_secret("dock-secret")
        .start()
        .await
        .unwrap();
    let jira = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jira");
    let jira = jira.to_str().unwrap();

    let docked = ocean(port.url(), &["defaults", "dock", jira]);

    assert!(docked.status.success(), "{}", text(&docked));
    let state = port.state();
    for blueprint in ["jiraProject", "jiraIssue", "jiraUser"] {
        assert!(
            state.blueprint(blueprint).is_some(),
            "{blueprint}: {}",
            text(&docked)
        );
    }
    let integration = state.integration("docked").expect("the integration record");
    assert_eq!(integration["config"]["resources"][0]["kind"], "project");

    // `ocean validate` looks a relation target up in Port when it is not in blueprints.json.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".port/resources")).unwrap();
    std::fs::write(
        dir.path().join(".port/spec.yaml"),
        "features:\n  - type: exporter\n    resources:\n      - kind: epic\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".port/resources/port-app-config.yml"),
        "resources:\n  - kind: epic\n    selector: {query: 'true'}\n    port:\n      entity:\n        mappings: {identifier: .id, blueprint: '\"epic\"'}\n",
    )
    .unwrap();
    let blueprints = |target: &str| {
        format!(
            r#"[{{"identifier": "epic", "title": "Epic", "schema": {{"properties": {{}}}}, "relations": {{"project": {{"target": "{target}", "many": false}}}}}}]"#
        )
    };
    let epic = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join(".port/resources/blueprints.json"),
        blueprints("jiraProject"),
    )
    .unwrap();
    let found = ocean(port.url(), &["validate", epic]);
    assert!(found.status.success(), "{}", text(&found));
    std::fs::write(
        dir.path().join(".port/resources/blueprints.json"),
        blueprints("jiraNothing"),
    )
    .unwrap();
    let missing = ocean(port.url(), &["validate", epic]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stdout)
            .contains("blueprint `jiraNothing` is in neither blueprints.json nor Port"),
        "{}",
        text(&missing)
    );

    // An entity keeps its blueprint until --force.
    let client = ocean::port::client::PortClient::new(ocean::port::client::PortClientConfig::new(
        port.url(),
        ocean::config::Secret::from("dock-id"),
        ocean::config::Secret::from("dock-secret"),
        ocean::port::Datasource::exporter("jira", "0", "docked"),
    ))
    .unwrap();
    client
        .upsert_entity(
            &ocean::port::Entity::new("PAY", "jiraProject"),
            &Default::default(),
        )
        .await
        .unwrap();
    let refused = ocean(port.url(), &["defaults", "clean", jira]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--force"),
        "{}",
        text(&refused)
    );

    let cleaned = ocean(port.url(), &["defaults", "clean", jira, "--force"]);
    assert!(cleaned.status.success(), "{}", text(&cleaned));
    for blueprint in ["jiraProject", "jiraIssue", "jiraUser"] {
        assert!(
            port.state().blueprint(blueprint).is_none(),
            "{blueprint}: {}",
            text(&cleaned)
        );
    }
    port.stop().await.unwrap();
}

#[test]
fn dock_without_port_credentials_says_which_settings_to_set() {
    let output = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(["defaults", "dock"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/jira"))
        .env_remove("OCEAN__PORT__CLIENT_ID")
        .env_remove("OCEAN__PORT__CLIENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("OCEAN__PORT__CLIENT_ID"));
}

#[test]
fn version_names_the_tool_and_the_framework() {
    let output = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .arg("version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        out.contains(&format!("ocean {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("framework ocean-core"), "{out}");
}
