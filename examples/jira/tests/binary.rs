//! The `jira` binary links the library's `#[on_resync]` and `#[on_start]` registrations.

use serde_json::Value;

#[test]
fn the_binary_registers_both_kinds_and_the_start_hook() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jira"))
        .arg("--about")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let about: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(about["name"], "jira");
    assert_eq!(about["config"], "jira::config::JiraConfig");
    assert_eq!(about["kinds"], serde_json::json!(["issue", "project"]));
    let hooks: Vec<&str> = about["startHooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(hooks, ["setup_live_events"]);
}

/// The `jira` binary with no `OCEAN__*` setting from the test's environment.
fn jira() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_jira"));
    for (name, _) in std::env::vars() {
        if name.starts_with("OCEAN__") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn about_prints_the_spec_with_its_kinds_and_settings() {
    let output = jira().arg("--about").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let about: Value = serde_json::from_slice(&output.stdout).unwrap();
    let spec = &about["spec"];
    assert_eq!(spec["title"], "Jira");
    assert_eq!(spec["features"][0]["resources"][1]["kind"], "issue");
    let token = spec["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "atlassianUserToken")
        .unwrap();
    assert_eq!(token["sensitive"], true);
}

#[test]
fn startup_names_every_required_setting_of_the_spec_that_is_missing() {
    let output = jira().arg("--once").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for variable in ["JIRA_HOST", "ATLASSIAN_USER_EMAIL", "ATLASSIAN_USER_TOKEN"] {
        assert!(
            stderr.contains(&format!("OCEAN__INTEGRATION__CONFIG__{variable}")),
            "{variable} in {stderr}"
        );
    }
}

#[test]
fn a_setting_of_the_wrong_type_for_the_spec_stops_startup_without_showing_secrets() {
    let output = jira()
        .arg("--once")
        .env("OCEAN__INTEGRATION__CONFIG__JIRA_HOST", "not-a-url")
        .env(
            "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_EMAIL",
            "a@b.example",
        )
        .env(
            "OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN",
            "t0ps3cret",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("OCEAN__INTEGRATION__CONFIG__JIRA_HOST"),
        "{stderr}"
    );
    assert!(!stderr.contains("t0ps3cret"), "{stderr}");
}
