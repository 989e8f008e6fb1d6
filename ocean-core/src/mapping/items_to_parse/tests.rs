//! `itemsToParse` against Ocean. The expected targets and fan-outs were produced by running
//! Ocean's own `extract_jq_deletion_path_revised` and `handle_items_to_parse` logic (port-ocean
//! 0.48.12, `port_ocean/core/integrations/mixins/utils.py`) with PyPI `jq` 1.13.0 (libjq 1.8.2)
//! on these examples.
#![allow(clippy::needless_pass_by_value)] // test helpers take owned `json!` literals

use super::*;
use serde_json::json;

fn expand(expr: &str, item: Value) -> Expansion {
    ItemsToParse::new(&JqEngine::default(), expr, "item", true).expand(&item)
}

#[track_caller]
fn assert_items(expr: &str, item: Value, expected: Value) {
    match expand(expr, item.clone()) {
        Expansion::Items(items) => assert_eq!(
            Value::Array(items),
            expected,
            "itemsToParse `{expr}` on {item}"
        ),
        other => panic!("itemsToParse `{expr}` on {item}: expected items, got {other:?}"),
    }
}

#[track_caller]
fn assert_skipped(expr: &str, item: Value) {
    let got = expand(expr, item.clone());
    assert!(
        matches!(got, Expansion::Skipped(_)),
        "itemsToParse `{expr}` on {item}: expected a skip, got {got:?}"
    );
}

#[track_caller]
fn assert_failed(expr: &str, item: Value) {
    let got = expand(expr, item.clone());
    assert!(
        matches!(got, Expansion::Failed(_)),
        "itemsToParse `{expr}` on {item}: expected a failure, got {got:?}"
    );
}

#[test]
fn delete_target_follows_ocean_text_rules_for_every_form() {
    let cases: &[(&str, Option<&str>)] = &[
        (".a.b", Some(".a.b")),
        (r#".["a"].b"#, Some(r#".["a"].b"#)),
        (r#"."a-b""#, None),
        (r#"."a""#, None),
        (".a[]?", Some(".a")),
        (".a[]", Some(".a")),
        (".a.b[]", Some(".a.b")),
        (".a | map(.)", Some(".a")),
        (".a // []", Some(".a")),
        ("[.a[] | select(.x)]", None),
        ("[.a[]]", None),
        (".a[0:2]", Some(".a[0:2]")),
        (".[1:]", Some(".[1:]")),
        ("(.a)", Some(".a")),
        ("(.a) // .b", Some(".a")),
        ("(.a | map(.)) | .b", Some(".a")),
        ("(.a", None),
        (".a? // .b", Some(".a")),
        (".a | .b", Some(".a")),
        ("$x | .a", Some(".a")),
        (". as $r | .a.b", Some(".a.b")),
        (".  as  $x|.c", Some(".c")),
        (".as $x | .b", Some(".as")),
        (".a as $x | $x", Some(".a")),
        ("(. as $all | .file.content // {})", Some(".file.content")),
        (".", None),
        ("..", None),
        (".[]", None),
        ("$items", None),
        (".[0].k", Some(".[0].k")),
        (".a-b", Some(".a")),
        (".a + .b", Some(".a")),
        (".a,.b", Some(".a")),
        (".a[1].c", Some(".a[1].c")),
        (r#".["x y"][0]"#, Some(r#".["x y"][0]"#)),
        (r#".a["b"]"#, Some(r#".a["b"]"#)),
        (r#".a.["b"]"#, Some(r#".a.["b"]"#)),
        (".a[.k]", Some(".a[.k]")),
        (".a[-1]", Some(".a[-1]")),
        (".a[1,2]", Some(".a[1,2]")),
        (".a[ 0 ]", Some(".a[ 0 ]")),
        (".a[]|.b", Some(".a")),
        (r#".a["x]y"]"#, Some(r#".a["x]"#)),
        (".名前", Some(".名前")),
        (".1a", Some(".1a")),
        (".and", Some(".and")),
        ("  .a  ", Some(".a")),
        ("map(.x) | .y", Some(".y")),
        ("if .a then .b else .c end", None),
        ("$__loc__ | [.line]", None),
        ("empty", None),
    ];
    for (expr, expected) in cases {
        assert_eq!(delete_target_text(expr), *expected, "`{expr}`");
    }
}

#[test]
fn plain_targets_are_deleted_natively_and_others_by_jq() {
    assert_eq!(
        simple_steps(r#".a["b c"][0].d[-1]"#),
        Some(vec![
            PathStep::Key("a".into()),
            PathStep::Key("b c".into()),
            PathStep::Index(0),
            PathStep::Key("d".into()),
            PathStep::Index(-1),
        ])
    );
    assert_eq!(
        simple_steps(".a[ 2 ]"),
        Some(vec![PathStep::Key("a".into()), PathStep::Index(2)])
    );
    for other in [
        ".a[0:2]",
        ".a[.k]",
        ".a[1,2]",
        ".1a",
        ".and",
        ".名前",
        r#".a["x]"#,
        r#".a["\u0041"]"#,
        ".a[1.5]",
    ] {
        assert_eq!(simple_steps(other), None, "`{other}`");
    }
}

#[test]
fn the_parent_loses_exactly_the_first_simple_path() {
    assert_items(
        ".a.b",
        json!({"a": {"b": [1, 2], "c": 3}, "d": 4}),
        json!([{"a": {"c": 3}, "d": 4, "item": 1}, {"a": {"c": 3}, "d": 4, "item": 2}]),
    );
    assert_items(
        r#".["a"].b"#,
        json!({"a": {"b": [1], "c": 3}, "d": 4}),
        json!([{"a": {"c": 3}, "d": 4, "item": 1}]),
    );
    assert_items(
        ".a | map(.id)",
        json!({"a": [{"id": 1}], "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
    assert_items(
        "(.a)",
        json!({"a": [1], "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
    assert_items(
        ".a | .b",
        json!({"a": {"b": [1]}, "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
    assert_items(
        ". as $r | .a.b",
        json!({"a": {"b": [1], "c": 2}, "z": 0}),
        json!([{"a": {"c": 2}, "z": 0, "item": 1}]),
    );
    assert_items(
        "(. as $all | .file.content // {})",
        json!({"file": {"content": [1], "name": "f"}}),
        json!([{"file": {"name": "f"}, "item": 1}]),
    );
    assert_items(
        ".a as $x | $x",
        json!({"a": [1], "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
    assert_items(
        ".and",
        json!({"and": [1], "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
}

#[test]
fn the_target_is_the_first_path_even_when_the_list_comes_from_elsewhere() {
    // `.b` is the list, `.a` (absent) is what is deleted: the parent keeps `.b`.
    assert_items(
        ".a? // .b",
        json!({"b": [1, 2], "z": 0}),
        json!([{"b": [1, 2], "z": 0, "item": 1}, {"b": [1, 2], "z": 0, "item": 2}]),
    );
    assert_items(
        ".a? // .b",
        json!({"a": [1], "b": [2], "z": 0}),
        json!([{"b": [2], "z": 0, "item": 1}]),
    );
    assert_items(
        ".a + .b",
        json!({"a": [1], "b": [2], "z": 0}),
        json!([{"b": [2], "z": 0, "item": 1}, {"b": [2], "z": 0, "item": 2}]),
    );
    // Only the first output of a stream counts.
    assert_items(
        ".a,.b",
        json!({"a": [1], "b": [2], "z": 0}),
        json!([{"b": [2], "z": 0, "item": 1}]),
    );
}

#[test]
fn indexed_and_sliced_targets_delete_what_jq_deletes() {
    assert_items(
        ".a[0:2]",
        json!({"a": [[1], [2], [3]], "z": 0}),
        json!([{"a": [[3]], "z": 0, "item": [1]}, {"a": [[3]], "z": 0, "item": [2]}]),
    );
    assert_items(
        ".a[0:2]",
        json!({"a": [1, 2, 3], "z": 0}),
        json!([{"a": [3], "z": 0, "item": 1}, {"a": [3], "z": 0, "item": 2}]),
    );
    assert_items(
        ".a[1].c",
        json!({"a": [{"c": 0}, {"c": [5, 6], "d": 1}], "z": 0}),
        json!([{"a": [{"c": 0}, {"d": 1}], "z": 0, "item": 5},
               {"a": [{"c": 0}, {"d": 1}], "z": 0, "item": 6}]),
    );
    assert_items(
        ".a[-1]",
        json!({"a": [[1], [2, 3]], "z": 0}),
        json!([{"a": [[1]], "z": 0, "item": 2}, {"a": [[1]], "z": 0, "item": 3}]),
    );
    assert_items(
        ".a[ 0 ]",
        json!({"a": [[7]], "z": 0}),
        json!([{"a": [], "z": 0, "item": 7}]),
    );
    assert_items(
        ".a[.k]",
        json!({"a": {"x": [1, 2], "y": 0}, "k": "x"}),
        json!([{"a": {"y": 0}, "k": "x", "item": 1}, {"a": {"y": 0}, "k": "x", "item": 2}]),
    );
    assert_items(
        ".a[1,2]",
        json!({"a": [[9], [1], [2], [3]], "z": 0}),
        json!([{"a": [[9], [3]], "z": 0, "item": 1}]),
    );
}

#[test]
fn a_stream_fans_out_only_its_first_output() {
    // `.a[]?` / `.a.b[]`: the first element, fanned out when it is a list.
    assert_items(
        ".a[]?",
        json!({"a": [[1, 2], [3]], "z": 0}),
        json!([{"z": 0, "item": 1}, {"z": 0, "item": 2}]),
    );
    assert_items(
        ".a.b[]",
        json!({"a": {"b": [[1], [2]]}, "z": 0}),
        json!([{"a": {}, "z": 0, "item": 1}]),
    );
    // A first output that is not a list fans nothing out.
    assert_failed(".a[]?", json!({"a": [{"id": 1}], "z": 0}));
    assert_failed(".a[]", json!({"a": [1, 2], "z": 0}));
}

#[test]
fn without_a_simple_path_every_parent_is_skipped_as_in_ocean() {
    for (expr, item) in [
        (r#"."a-b""#, json!({"a-b": [1, 2], "z": 0})),
        ("[.a[] | select(.x)]", json!({"a": [{"x": 1}, {"x": null}]})),
        ("if .a then .a else [] end", json!({"a": [1]})),
        ("$__loc__ | [.line]", json!({"z": 0})),
        ("empty", json!({"z": 0})),
        (".", json!([1, 2])),
    ] {
        assert_skipped(expr, item);
        let r = ItemsToParse::new(&JqEngine::default(), expr, "item", true);
        assert!(r.skips_every_item().is_some(), "`{expr}`");
    }
    assert!(
        ItemsToParse::new(&JqEngine::default(), ".a", "item", true)
            .skips_every_item()
            .is_none()
    );
}

#[test]
fn without_the_top_level_transform_the_parent_is_kept_whole() {
    let r = ItemsToParse::new(&JqEngine::default(), "[.a[] | select(.x)]", "el", false);
    assert!(r.skips_every_item().is_none());
    assert_eq!(
        r.expand(&json!({"a": [{"x": 1}, {"x": null}], "z": 0})),
        Expansion::Items(vec![
            json!({"a": [{"x": 1}, {"x": null}], "z": 0, "el": {"x": 1}})
        ])
    );
    let r = ItemsToParse::new(&JqEngine::default(), ".a.b", "item", false);
    assert_eq!(
        r.expand(&json!({"a": {"b": [1]}})),
        Expansion::Items(vec![json!({"a": {"b": [1]}, "item": 1})])
    );
}

#[test]
fn a_transform_that_does_not_fit_the_parent_skips_it() {
    assert_skipped(".a.b", json!({"a": "text", "z": 0}));
    assert_skipped(".a.b", json!(null));
    assert_skipped(r#".a["x]y"]"#, json!({"a": {"x]y": [1]}, "z": 0}));
    assert_skipped(".a.名前", json!({"a": {"名前": [1]}, "z": 0}));
}

#[test]
fn a_missing_list_is_skipped_and_a_wrong_one_fails_the_item() {
    assert_skipped(".a.b", json!({"a": null, "z": 0}));
    assert_skipped(".a", json!({"z": 0}));
    assert_skipped(".a[-5]", json!({"a": [[1]], "z": 0}));
    assert_failed(".a", json!({"a": {"k": 1}, "z": 0}));
    assert_failed(".a", json!({"a": "s", "z": 0}));
    assert_failed(r#".a | error("x")"#, json!({"a": [1], "z": 0}));
    assert_failed(".a | map(", json!({"a": [1], "z": 0}));
    assert_failed(".a | nosuchfn", json!({"a": [1], "z": 0}));
    assert_failed(".a | ltrimstr", json!({"a": [1], "z": 0}));
    assert_failed("map(.x) | .y", json!({"y": 1, "z": 0}));
    // A parent that is not an object cannot take the element.
    assert_failed(".[0].k", json!([{"k": [1]}]));
    assert_failed(".[1:]", json!([[1], [2], [3]]));
}

#[test]
fn an_empty_list_yields_nothing_and_no_warning() {
    assert_eq!(
        expand(".a // []", json!({"z": 0})),
        Expansion::Items(vec![])
    );
    assert_eq!(
        expand(".a", json!({"a": [], "z": 0})),
        Expansion::Items(vec![])
    );
    assert_items(
        ".a // []",
        json!({"a": [1], "z": 0}),
        json!([{"z": 0, "item": 1}]),
    );
}

#[test]
fn the_element_replaces_a_key_of_the_same_name_in_place() {
    assert_items(
        ".item",
        json!({"item": [1, 2], "z": 0}),
        json!([{"z": 0, "item": 1}, {"z": 0, "item": 2}]),
    );
    assert_items(
        ".xs",
        json!({"item": "old", "xs": [1], "z": 0}),
        json!([{"item": 1, "z": 0}]),
    );
    let r = ItemsToParse::new(&JqEngine::default(), ".a.b", "z", true);
    assert_eq!(
        r.expand(&json!({"a": {"b": [1]}, "z": 0, "y": 1})),
        Expansion::Items(vec![json!({"a": {}, "z": 1, "y": 1})])
    );
}

#[test]
fn native_deletion_agrees_with_jq_del() {
    let engine = JqEngine::default();
    let paths = [
        ".a",
        ".a.b",
        ".a[0]",
        ".a[-1]",
        ".a[-3]",
        ".a[5]",
        ".a[0].b",
        ".a[-3].b",
        ".[0]",
        ".[0].b",
        ".[-1]",
        r#".["a"]["b"]"#,
        ".a.b.c",
    ];
    let values = [
        json!(null),
        json!({"a": 1}),
        json!({"a": "s"}),
        json!({"a": true}),
        json!({"a": null}),
        json!({"a": {}}),
        json!({"a": {"b": 1, "c": 2}}),
        json!({"a": {"b": {"c": 1, "d": 2}}}),
        json!({"a": [1, 2]}),
        json!({"a": [{"b": 1, "c": 2}, 3]}),
        json!({"a": []}),
        json!({}),
        json!([]),
        json!([1, 2]),
        json!([{"b": 1}, 2]),
        json!("s"),
        json!(3),
    ];
    let mut mismatches = Vec::new();
    let deletes_before_the_start = |value: &Value, steps: &[PathStep]| {
        let Some((PathStep::Index(i), parents)) = steps.split_last() else {
            return false;
        };
        let mut current = Some(value);
        for step in parents {
            current = match (step, current) {
                (PathStep::Key(k), Some(Value::Object(m))) => m.get(k),
                (PathStep::Index(j), Some(Value::Array(a))) => {
                    resolve_index(*j, a.len()).and_then(|j| a.get(j))
                }
                _ => None,
            };
        }
        matches!(current, Some(Value::Array(a)) if *i < 0 && i.unsigned_abs() as usize > a.len())
    };
    for path in paths {
        let steps = simple_steps(path).unwrap();
        let program = engine.compile(&format!(". | del({path})")).unwrap();
        for value in &values {
            let mut native = value.clone();
            let native = delete_path(&mut native, &steps).map(|()| native);
            let jq = program.first(value).map(|v| v.unwrap_or(Value::Null));
            if deletes_before_the_start(value, &steps) {
                // Checked against libjq 1.8.2 below; the engine errors there for now.
                continue;
            }
            match (&native, &jq) {
                (Ok(a), Ok(b)) if a == b => {}
                (Err(_), Err(_)) => {}
                _ => mismatches.push(format!(
                    "del({path}) on {value}: native {native:?}, jq {jq:?}"
                )),
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn deleting_before_the_start_of_an_array_is_a_no_op_as_in_jq_1_8() {
    // libjq 1.8.2: `{"a": []} | del(.a[-1])` is `{"a": []}`, not an error.
    for (path, value) in [
        (".a[-1]", json!({"a": []})),
        (".a[-3]", json!({"a": [1, 2]})),
        (".[-2]", json!([1])),
        (".a[-1].b", json!({"a": []})),
    ] {
        let mut deleted = value.clone();
        delete_path(&mut deleted, &simple_steps(path).unwrap()).unwrap();
        assert_eq!(deleted, value, "del({path})");
    }
    assert_items(
        ".a[-3] // .b",
        json!({"a": [1, 2], "b": [5]}),
        json!([{"a": [1, 2], "b": [5], "item": 5}]),
    );
}
