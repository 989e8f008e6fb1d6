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
    run_with(mapping, &["--kind", kind], stdin)
}

fn run_with(mapping: &str, args: &[&str], stdin: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("port-app-config.yml");
    std::fs::write(&path, mapping).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(["map", "--mapping"])
        .arg(&path)
        .args(args)
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

/// A mapping whose `status` does not compile (an unknown function), among good fields.
const BROKEN_STATUS: &str = r#"
resources:
  - kind: service
    selector:
      query: '.active'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"service"'
          properties:
            status: .state | nosuchfn
            url: .url
"#;

#[test]
fn an_expression_that_does_not_compile_is_null_on_every_item_and_reported() {
    for broken in [
        ".state | nosuchfn",
        ".state.",
        "if .state then 1",
        ".state | ascii_downcase(1)",
        "ltrimstr",
    ] {
        let mapping = BROKEN_STATUS.replace(".state | nosuchfn", &format!("'{broken}'"));
        let out = run(
            &mapping,
            "service",
            r#"[{"id": "a", "active": true, "url": "u1", "state": "up"},
                {"id": "b", "active": true, "url": "u2", "state": "down"}]"#,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "`{broken}`: {err}");
        assert_eq!(
            stdout_json(&out),
            json!([
                {"identifier": "a", "blueprint": "service", "properties": {"status": null, "url": "u1"}},
                {"identifier": "b", "blueprint": "service", "properties": {"status": null, "url": "u2"}}
            ]),
            "`{broken}`"
        );
        let expected = format!(
            "invalid jq (service): resources[0].port.entity.mappings.properties.status: invalid jq expression `{broken}`: "
        );
        assert_eq!(err.matches(&expected).count(), 1, "`{broken}`: {err}");
        assert!(err.contains("the field is null on every item"), "{err}");
        assert!(
            err.contains(&format!(
                "properties.status: {broken} (null, missing, or misconfigured)"
            )),
            "{err}"
        );
    }
}

#[test]
fn strict_exits_1_naming_the_field_and_the_compile_error() {
    let out = run_with(
        BROKEN_STATUS,
        &["--kind", "service", "--strict"],
        r#"[{"id": "a", "active": true}]"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(
            "resources[0].port.entity.mappings.properties.status: invalid jq expression `.state | nosuchfn`: "
        ),
        "{err}"
    );
    assert!(err.contains("nosuchfn"), "{err}");
    assert!(
        err.contains("1 jq expression(s) of kind `service`"),
        "{err}"
    );
    // Strict with nothing broken maps as usual.
    let out = run_with(
        MAPPING,
        &["--kind", "service", "--strict"],
        r#"[{"id": "a", "name": "A", "active": true, "url": "u", "n": 2}]"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)[0]["identifier"], json!("a"));
}

#[test]
fn strict_lists_every_broken_expression_of_the_kind_and_only_of_the_kind() {
    let mapping = r#"
resources:
  - kind: other
    selector: {query: '.x =='}
    port: {entity: {mappings: {identifier: .id, blueprint: '"o"'}}}
  - kind: service
    selector: {query: '.a | nosuchfn'}
    port:
      itemsToParse: '[.xs[]'
      entity: {mappings: {identifier: '.id.', blueprint: '"service"'}}
"#;
    let out = run_with(mapping, &["--kind", "service", "--strict"], "[]");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for path in [
        "resources[1].selector.query",
        "resources[1].port.itemsToParse",
        "resources[1].port.entity.mappings.identifier",
    ] {
        assert!(
            err.contains(&format!("{path}: invalid jq expression")),
            "{path}: {err}"
        );
    }
    assert!(!err.contains("resources[0]"), "{err}");
}

#[test]
fn a_broken_identifier_or_selector_spoils_only_its_own_resource() {
    let mapping = r#"
resources:
  - kind: service
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.id | nosuchfn', blueprint: '"service"'}}}
  - kind: service
    selector: {query: '.active =='}
    port: {entity: {mappings: {identifier: .id, blueprint: '"service"'}}}
  - kind: service
    selector: {query: 'true'}
    port: {entity: {mappings: {identifier: '.id + "-ok"', blueprint: '"service"'}}}
"#;
    let out = run(mapping, "service", r#"[{"id": "a"}, {"id": "b"}]"#);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let ids: Vec<Value> = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].clone())
        .collect();
    assert_eq!(ids, [json!("a-ok"), json!("b-ok")]);
    assert!(
        err.contains("resources[0].port.entity.mappings.identifier: invalid jq expression"),
        "{err}"
    );
    assert!(
        err.contains("skipped: resources[0] (service) 2 item(s)"),
        "{err}"
    );
    assert!(
        err.contains("resources[1].selector.query: invalid jq expression `.active ==`"),
        "{err}"
    );
    assert!(err.contains("every item fails"), "{err}");
    assert!(
        err.contains("failed: resources[1] (service) item 0:"),
        "{err}"
    );
    assert!(
        err.contains("failed: resources[1] (service) item 1:"),
        "{err}"
    );
}

#[test]
fn items_to_parse_with_a_bad_expression_or_no_path_maps_nothing_and_says_why() {
    let broken = r#"
resources:
  - kind: service
    selector: {query: 'true'}
    port:
      itemsToParse: '.children | nosuchfn'
      entity: {mappings: {identifier: .item.id, blueprint: '"service"'}}
"#;
    let out = run(broken, "service", r#"[{"children": [{"id": "c"}]}]"#);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(stdout_json(&out), json!([]));
    assert!(
        err.contains(
            "resources[0].port.itemsToParse: invalid jq expression `.children | nosuchfn`"
        ),
        "{err}"
    );
    assert!(err.contains("no item is mapped"), "{err}");
    assert!(
        err.contains("failed: resources[0] (service) item 0:"),
        "{err}"
    );

    let no_path = broken.replace(".children | nosuchfn", "[.children[] | select(.id)]");
    let out = run(&no_path, "service", r#"[{"children": [{"id": "c"}]}]"#);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(stdout_json(&out), json!([]));
    assert!(err.contains("has no simple path"), "{err}");
    assert!(
        err.contains("itemsToParseTopLevelTransform: false"),
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
