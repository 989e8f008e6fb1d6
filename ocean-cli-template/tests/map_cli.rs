//! `ocean map` end to end, through the built binary.

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Output, Stdio};

const MAPPING: &str = r#"
resources:
  - kind: service
    selector:
      query: '.active'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"service"'
          properties:
            url: .url
            half: .n / 2
"#;

fn run(mapping: &str, kind: &str, stdin: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("port-app-config.yml");
    std::fs::write(&path, mapping).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(["map", "--mapping"])
        .arg(&path)
        .args(["--kind", kind])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading (unknown kind), closing the pipe early.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn maps_items_to_the_entities_port_would_get() {
    let out = run(
        MAPPING,
        "service",
        r#"[{"id": "a", "name": "A", "active": true, "url": "https://a", "n": 10}]"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout_json(&out),
        json!([{"identifier": "a", "title": "A", "blueprint": "service",
                "properties": {"url": "https://a", "half": 5}}])
    );
}

#[test]
fn reads_ndjson_and_concatenates_resources_of_the_same_kind() {
    let mapping = format!(
        "{MAPPING}  - kind: service\n    selector: {{query: 'true'}}\n    port: {{entity: {{mappings: {{identifier: '.id + \"-copy\"', blueprint: '\"service\"'}}}}}}\n"
    );
    let out = run(
        &mapping,
        "service",
        "{\"id\": \"a\", \"active\": true}\n{\"id\": \"b\", \"active\": false}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<Value> = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].clone())
        .collect();
    assert_eq!(ids, vec![json!("a"), json!("a-copy"), json!("b-copy")]);
}

#[test]
fn misconfigured_field_is_reported_but_still_maps() {
    let out = run(
        MAPPING,
        "service",
        r#"[{"id": "a", "active": true, "n": 1}]"#,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out)[0]["properties"]["url"], Value::Null);
    let err = stderr(&out);
    assert!(
        err.contains("properties.url: .url (null, missing, or misconfigured)"),
        "{err}"
    );
    assert!(err.contains("title: .name"), "{err}");
}

#[test]
fn non_boolean_selector_is_reported_as_a_failed_item() {
    let out = run(MAPPING, "service", r#"[{"id": "a", "active": "yes"}]"#);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out), json!([]));
    assert!(
        stderr(&out).contains(
            "item 0: Expected boolean value for pattern '.active', got value:\"yes\" of type: string instead"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_yaml_exits_2() {
    let out = run("resources: [\n  - kind: x\n", "x", "[]");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid port-app-config"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_jq_exits_2_naming_field_and_expression() {
    let out = run(&MAPPING.replace("url: .url", "url: .url."), "service", "[]");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "resources[0].port.entity.mappings.properties.url: invalid jq expression `.url.`"
        ),
        "{err}"
    );
}

#[test]
fn unknown_kind_and_bad_input_exit_2() {
    let out = run(MAPPING, "nope", "[]");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("kind `nope` is not in"),
        "{}",
        stderr(&out)
    );
    let out = run(MAPPING, "service", "[{not json");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a JSON array or NDJSON"),
        "{}",
        stderr(&out)
    );
}
