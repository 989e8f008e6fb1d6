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
