//! Ocean's acceptance cases for the entity processor (reference §5 A-C), ported.
#![allow(clippy::needless_pass_by_value)] // test helpers take owned `json!` literals

use super::*;
use crate::mapping::PortAppConfig;
use serde_json::json;

fn resource(mapping: Value, selector: &str) -> CompiledResource {
    resource_with(mapping, selector, json!({}))
}

fn resource_with(mapping: Value, selector: &str, port_extra: Value) -> CompiledResource {
    let mut port = json!({"entity": {"mappings": mapping}});
    for (k, v) in port_extra.as_object().unwrap() {
        port[k] = v.clone();
    }
    let config = PortAppConfig::from_value(&json!({"resources": [
        {"kind": "k", "selector": {"query": selector}, "port": port}
    ]}))
    .unwrap();
    CompiledResource::new(&config.resources[0], &JqEngine::default())
}

fn entity_json(e: &Entity) -> Value {
    serde_json::to_value(e).unwrap()
}

#[test]
fn parse_items_maps_a_passing_item() {
    // A9
    let r = resource(
        json!({"identifier": ".foo", "blueprint": ".foo", "properties": {"foo": ".foo"}}),
        r#".foo == "bar""#,
    );
    let out = r.map_batch(&[json!({"foo": "bar"})], false);
    assert_eq!(out.entities.len(), 1);
    assert_eq!(
        out.entities[0].properties.as_ref().unwrap()["foo"],
        json!("bar")
    );
    assert!(out.failures.is_empty());
    assert!(out.misconfigurations.is_empty());
}

#[test]
fn in_operator_selects_matching_keys() {
    // A10
    let r = resource(
        json!({"identifier": r#".subViews | map(select((.qualifier | IN("VW", "SVW"))) | .key) | join(",")"#, "blueprint": "\"b\"",
               "properties": {"keys": r#".subViews | map(select((.qualifier | IN("VW", "SVW"))) | .key)"#}}),
        "true",
    );
    let item = json!({"subViews": [
        {"qualifier": "VW", "key": "GetPort_SelfService_Second"},
        {"qualifier": "TRK", "key": "x"},
        {"qualifier": "SVW", "key": "Python"}
    ]});
    let out = r.map_batch(&[item], false);
    assert_eq!(
        out.entities[0].properties.as_ref().unwrap()["keys"],
        json!(["GetPort_SelfService_Second", "Python"])
    );
}

#[test]
fn failing_expression_gives_null_and_a_misconfiguration() {
    // A11, A12, A15, A82
    let r = resource(
        json!({"identifier": ".id", "blueprint": "\"b\"", "properties": {"tier": ".foo.bar."}}),
        "true",
    );
    let out = r.map_batch(&[json!({"id": "1", "foo": {"bar": "baz"}})], false);
    assert_eq!(
        out.entities[0].properties.as_ref().unwrap()["tier"],
        Value::Null
    );
    assert_eq!(out.misconfigurations["properties.tier"], ".foo.bar.");
}

#[test]
fn double_quoted_literal_and_single_quote_rewrite() {
    // A3-A5, A13
    let r = resource(
        json!({"identifier": ".organization + '/' + .repository", "blueprint": "\"shalom\"",
               "properties": {"end": ".organization + '/'", "start": "'/' + .organization"}}),
        "true",
    );
    let out = r.map_batch(
        &[json!({"organization": "port", "repository": "ocean"})],
        false,
    );
    let e = entity_json(&out.entities[0]);
    assert_eq!(e["identifier"], json!("port/ocean"));
    assert_eq!(e["blueprint"], json!("shalom"));
    assert_eq!(e["properties"], json!({"end": "port/", "start": "/port"}));
}

#[test]
fn non_boolean_selector_is_a_per_item_failure() {
    // A14, A17, C76
    let r = resource(json!({"identifier": ".foo", "blueprint": "\"b\""}), ".foo");
    let out = r.map_batch(&[json!({"foo": "bar"}), json!({"foo": true})], false);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].index, 0);
    assert_eq!(
        out.failures[0].message,
        "Expected boolean value for pattern '.foo', got value:\"bar\" of type: string instead"
    );
    // The other item is still mapped.
    assert_eq!(out.entities.len(), 1);
}

#[test]
fn invalid_or_empty_selector_is_a_per_item_failure() {
    // A16, C77
    let r = resource(json!({"identifier": ".foo", "blueprint": "\"b\""}), ".foo.");
    let out = r.map_batch(&[json!({"foo": "bar"})], false);
    assert_eq!(out.failures.len(), 1);
    assert!(
        out.failures[0].message.contains(".foo."),
        "{}",
        out.failures[0].message
    );
    let r = resource(json!({"identifier": ".foo", "blueprint": "\"b\""}), "empty");
    let out = r.map_batch(&[json!({"foo": "bar"})], false);
    assert!(
        out.failures[0]
            .message
            .contains("got value:null of type: null")
    );
}

#[test]
fn first_output_wins_and_no_match_is_null() {
    // A18, A19, C74
    let expr = r#".parameters[] | select(.name == "x") | .value"#;
    let r = resource(
        json!({"identifier": "\"i\"", "blueprint": "\"b\"", "properties": {"v": expr}}),
        "true",
    );
    let items = [
        json!({"parameters": [{"name": "x", "value": "parameter_value"}]}),
        json!({"parameters": [{"name": "x", "value": "another_value"}, {"name": "x", "value": "second"}]}),
        json!({"parameters": [{"name": "y", "value": "nope"}]}),
    ];
    let out = r.map_batch(&items, false);
    let values: Vec<_> = out
        .entities
        .iter()
        .map(|e| e.properties.as_ref().unwrap()["v"].clone())
        .collect();
    assert_eq!(
        values,
        vec![
            json!("parameter_value"),
            json!("another_value"),
            Value::Null
        ]
    );
    assert_eq!(out.misconfigurations["properties.v"], expr);
}

#[test]
fn a_list_is_returned_whole() {
    // A20, C73, B60
    let r = resource(
        json!({"identifier": "\"i\"", "blueprint": "\"b\"", "properties": {
            "tags": ".tags", "owner": r#".contributors[] | select(.role == "owner") | .name"#}}),
        "true",
    );
    let out = r.map_batch(&[json!({"tags": ["a", "b"], "contributors": [{"role": "dev", "name": "Bob"}, {"role": "owner", "name": "Alice"}]})], false);
    assert_eq!(
        entity_json(&out.entities[0])["properties"],
        json!({"tags": ["a", "b"], "owner": "Alice"})
    );
}

#[test]
fn misconfigurations_are_the_union_over_items() {
    // A23
    let r = resource(
        json!({"identifier": ".ark", "blueprint": "\"b\"", "properties": {
            "description": ".bazbar", "url": ".foobar", "defaultBranch": ".bar.baz"}}),
        "true",
    );
    let out = r.map_batch(
        &[
            json!({"ark": "a", "bazbar": "d"}),
            json!({"foobar": "u", "bar": {"baz": "main"}}),
        ],
        false,
    );
    assert_eq!(
        out.misconfigurations,
        BTreeMap::from([
            ("identifier".to_owned(), ".ark".to_owned()),
            ("properties.description".to_owned(), ".bazbar".to_owned()),
            ("properties.url".to_owned(), ".foobar".to_owned()),
            ("properties.defaultBranch".to_owned(), ".bar.baz".to_owned()),
        ])
    );
    assert_eq!(out.entities.len(), 1);
    assert_eq!(out.skipped, 1);
}

#[test]
fn empty_identifier_skips_without_misconfiguration_but_null_records_it() {
    // A24, A27
    let r = resource(json!({"identifier": ".foo", "blueprint": ".bar"}), "true");
    let out = r.map_batch(
        &[
            json!({"foo": "", "bar": "b"}),
            json!({"foo": "x", "bar": ""}),
        ],
        false,
    );
    assert!(out.entities.is_empty());
    assert_eq!(out.skipped, 2);
    assert!(out.misconfigurations.is_empty());
    let out = r.map_batch(&[json!({})], false);
    assert_eq!(
        out.misconfigurations,
        BTreeMap::from([
            ("identifier".to_owned(), ".foo".to_owned()),
            ("blueprint".to_owned(), ".bar".to_owned()),
        ])
    );
}

#[test]
fn falsy_values_other_than_null_are_not_misconfigurations() {
    let r = resource(
        json!({"identifier": "\"i\"", "blueprint": "\"b\"", "properties": {"f": ".f", "z": ".z", "s": ".s", "a": ".a"}}),
        "true",
    );
    let out = r.map_batch(&[json!({"f": false, "z": 0, "s": "", "a": []})], false);
    assert!(out.misconfigurations.is_empty());
    assert_eq!(
        entity_json(&out.entities[0])["properties"],
        json!({"f": false, "z": 0, "s": "", "a": []})
    );
}

#[test]
fn selector_false_skips_mapping_unless_parse_all() {
    // B52, B54, C84, C85, A33, A34
    let r = resource(
        json!({"identifier": ".id", "blueprint": "\"b\""}),
        r#".status == "active""#,
    );
    let items = [
        json!({"id": "1", "status": "active"}),
        json!({"id": "2", "status": "off"}),
    ];
    let out = r.map_batch(&items, false);
    assert_eq!(out.entities.len(), 1);
    assert_eq!(out.filtered_out.count, 1);
    assert!(out.filtered_out.entities.is_empty());
    assert!(out.failures.is_empty());

    let out = r.map_batch(&items, true);
    assert_eq!(out.entities.len(), 1);
    assert_eq!(out.filtered_out.count, 1);
    assert_eq!(
        entity_json(&out.filtered_out.entities[0]),
        json!({"identifier": "2", "blueprint": "b"})
    );
}

#[test]
fn only_keys_in_the_mapping_are_emitted() {
    // B51, §1.3
    let r = resource(
        json!({"identifier": ".foo", "blueprint": "\"b\"", "properties": {}}),
        "true",
    );
    let out = r.map_batch(&[json!({"foo": "bar"})], false);
    assert_eq!(
        entity_json(&out.entities[0]),
        json!({"identifier": "bar", "blueprint": "b", "properties": {}})
    );
}

#[test]
fn nested_mapping_with_search_identifier_and_relation() {
    let r = resource(
        json!({
            "identifier": {"combinator": "\"and\"", "rules": [
                {"property": "\"$title\"", "operator": "\"=\"", "value": ".name"}]},
            "blueprint": "\"svc\"",
            "relations": {"team": {"combinator": "\"or\"", "rules": [
                {"property": "\"$identifier\"", "operator": "\"=\"", "value": ".team"}]}}
        }),
        "true",
    );
    let out = r.map_batch(&[json!({"name": "api"})], false);
    let e = &out.entities[0];
    assert!(e.uses_search_identifier());
    assert_eq!(
        e.identifier,
        json!({"combinator": "and", "rules": [{"property": "$title", "operator": "=", "value": "api"}]})
    );
    assert_eq!(out.misconfigurations["relations.team.rules.value"], ".team");
}

#[test]
fn items_to_parse_fans_out_and_removes_the_list_from_parents() {
    // H345, §1.4 itemsToParse example
    let r = resource_with(
        json!({"identifier": ".item.id", "blueprint": "\"comment\"",
               "properties": {"text": ".item.text", "parentHasComments": ".fields.comments != null"},
               "relations": {"issue": ".key"}}),
        r#".item.name != 'test-item' and .issueType == 'Bug'"#,
        json!({"itemsToParse": ".fields.comments"}),
    );
    let item = json!({"key": "I-1", "issueType": "Bug", "fields": {"comments": [
        {"id": "c1", "text": "one", "name": "x"}, {"id": "c2", "text": "two", "name": "test-item"}]}});
    let out = r.map_batch(&[item], false);
    assert_eq!(out.entities.len(), 1);
    assert_eq!(
        entity_json(&out.entities[0]),
        json!({"identifier": "c1", "blueprint": "comment",
               "properties": {"text": "one", "parentHasComments": false}, "relations": {"issue": "I-1"}})
    );
    assert_eq!(out.filtered_out.count, 1);
}

#[test]
fn items_to_parse_without_a_path_skips_every_parent_unless_the_transform_is_off() {
    // Ocean deletes `.` from the parent when the expression has no simple path: `null`, so
    // the parent is skipped, without failing the item.
    let mapping = json!({"identifier": ".el", "blueprint": "\"b\"", "properties": {"n": ".name"}});
    let item = json!({"a": "x", "b": "y", "name": "p"});
    let r = resource_with(
        mapping.clone(),
        "true",
        json!({"itemsToParse": "[.a, .b]", "itemsToParseName": "el"}),
    );
    let out = r.map_batch(std::slice::from_ref(&item), false);
    assert!(out.entities.is_empty());
    assert!(out.failures.is_empty());
    let r = resource_with(
        mapping,
        "true",
        json!({"itemsToParse": "[.a, .b]", "itemsToParseName": "el",
               "itemsToParseTopLevelTransform": false}),
    );
    let out = r.map_batch(&[item], false);
    let ids: Vec<_> = out.entities.iter().map(|e| e.identifier.clone()).collect();
    assert_eq!(ids, vec![json!("x"), json!("y")]);
    assert_eq!(
        out.entities[0].properties.as_ref().unwrap()["n"],
        json!("p")
    );
}

#[test]
fn items_to_parse_that_is_not_a_list_fails_the_item() {
    let r = resource_with(
        json!({"identifier": ".item", "blueprint": "\"b\""}),
        "true",
        json!({"itemsToParse": ".a"}),
    );
    let out = r.map_batch(&[json!({"a": "text"}), json!({"a": [1]}), json!({})], false);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].index, 0);
    assert!(
        out.failures[0]
            .message
            .contains("must yield a list, got string")
    );
    assert_eq!(out.entities.len(), 1);
}

#[test]
fn parallel_mapping_keeps_input_order() {
    let r = resource(
        json!({"identifier": ".id | tostring", "blueprint": "\"b\""}),
        ".id % 3 != 0",
    );
    let items: Vec<Value> = (0..500).map(|i| json!({"id": i})).collect();
    let seq = r.map_batch(&items, false);
    let par = r.map_batch_parallel(&items, false);
    assert_eq!(seq, par);
    assert_eq!(par.entities[0].identifier, json!("1"));
    assert_eq!(par.filtered_out.count, 167);
}

#[test]
fn parallel_mapping_matches_sequential_with_failures_misconfigurations_and_filtered() {
    let r = resource(
        json!({"identifier": ".id | tostring", "blueprint": "\"b\"", "title": ".missing"}),
        "if .id % 7 == 0 then \"no\" else .id % 3 != 0 end",
    );
    let items: Vec<Value> = (0..500).map(|i| json!({"id": i})).collect();
    let seq = r.map_batch(&items, true);
    let par = r.map_batch_parallel(&items, true);
    assert_eq!(seq, par);
    // Multiples of 7 fail the selector, in input order across chunks.
    assert_eq!(par.failures.len(), 72);
    assert!(par.failures.windows(2).all(|w| w[0].index < w[1].index));
    assert_eq!(par.failures[1].index, 7);
    assert_eq!(
        par.misconfigurations,
        BTreeMap::from([("title".to_owned(), ".missing".to_owned())])
    );
    assert_eq!(par.filtered_out.count, par.filtered_out.entities.len());
    assert_eq!(par.filtered_out.entities[0].identifier, json!("3"));
    assert_eq!(par.entities.len() + par.filtered_out.count + 72, 500);
}

#[test]
fn required_fields_come_from_the_blueprint() {
    let bp: Blueprint = serde_json::from_value(json!({
        "identifier": "svc",
        "schema": {"properties": {}, "required": ["url"]},
        "relations": {"team": {"target": "team", "required": true, "many": false},
                      "project": {"target": "p", "required": false, "many": false}}
    }))
    .unwrap();
    assert_eq!(
        required_fields(&bp),
        BTreeSet::from(["properties.url".to_owned(), "relations.team".to_owned()])
    );
}

#[test]
fn mapping_recursion_fails_the_field_not_the_process() {
    let r = resource(
        json!({"identifier": "def f: 1 + f; f", "blueprint": "\"b\""}),
        "true",
    );
    let out = r.map_batch_parallel(&[json!({})], false);
    assert_eq!(out.misconfigurations["identifier"], "def f: 1 + f; f");
}

#[test]
fn a_deletion_maps_only_the_identity_and_reports_no_missing_property() {
    let r = resource(
        json!({
            "identifier": ".key", "blueprint": "\"issue\"", "title": ".fields.summary",
            "properties": {"status": ".fields.status.name", "url": "\"https://x/\" + .key"},
            "relations": {"project": ".fields.project.key"},
        }),
        ".key != \"SKIP-1\"",
    );
    // A "deleted" webhook often carries little more than the key.
    let out = r.map_batch_for_deletion(&[
        json!({"key": "A-1"}),
        json!({"key": "B-2", "fields": {"project": {"key": "B"}}}),
        json!({"key": "SKIP-1"}),
    ]);
    let entities: Vec<Value> = out.entities.iter().map(entity_json).collect();
    assert_eq!(
        entities,
        [
            json!({"identifier": "A-1", "blueprint": "issue", "relations": {}}),
            json!({"identifier": "B-2", "blueprint": "issue", "relations": {"project": "B"}}),
        ]
    );
    assert!(
        out.misconfigurations.is_empty(),
        "{:?}",
        out.misconfigurations
    );
    assert_eq!(out.filtered_out.count, 1, "the selector still applies");
}

#[test]
fn a_deletion_without_an_identifier_is_skipped_and_reported() {
    let r = resource(
        json!({"identifier": ".id", "blueprint": "\"issue\""}),
        "true",
    );
    let out = r.map_batch_for_deletion(&[json!({"key": "A-1"})]);
    assert!(out.entities.is_empty());
    assert_eq!(out.skipped, 1);
}

/// Expressions jq 1.8 rejects at compile time (checked with libjq 1.8.2).
const BROKEN: &[&str] = &[
    ".fields.status.",
    "if .a then 1",
    "{",
    ".a | nosuchfn",
    "ltrimstr",
    "ascii_downcase(1)",
    "map(.x; .y)",
    "$undefined",
];

#[test]
fn a_field_that_does_not_compile_is_null_on_every_item_and_nothing_else_changes() {
    for broken in BROKEN {
        let r = resource(
            json!({"identifier": ".id", "blueprint": "\"svc\"", "title": ".name",
                   "properties": {"status": broken, "url": ".url"},
                   "relations": {"owner": broken, "team": ".team"}}),
            "true",
        );
        let items = [
            json!({"id": "a", "name": "A", "url": "u1", "team": "t1"}),
            json!({"id": "b", "name": "B", "url": "u2", "team": "t2"}),
        ];
        let out = r.map_batch(&items, false);
        assert!(out.failures.is_empty(), "`{broken}`: {:?}", out.failures);
        assert_eq!(
            out.entities.iter().map(entity_json).collect::<Vec<_>>(),
            vec![
                json!({"identifier": "a", "title": "A", "blueprint": "svc",
                       "properties": {"status": null, "url": "u1"},
                       "relations": {"owner": null, "team": "t1"}}),
                json!({"identifier": "b", "title": "B", "blueprint": "svc",
                       "properties": {"status": null, "url": "u2"},
                       "relations": {"owner": null, "team": "t2"}}),
            ],
            "`{broken}`"
        );
        assert_eq!(
            out.misconfigurations,
            BTreeMap::from([
                ("properties.status".to_owned(), (*broken).to_owned()),
                ("relations.owner".to_owned(), (*broken).to_owned()),
            ]),
            "`{broken}`"
        );
    }
}

#[test]
fn an_identifier_or_blueprint_that_does_not_compile_skips_every_item() {
    for (identifier, blueprint, field) in [
        (".id | nosuchfn", "\"svc\"", "identifier"),
        (".id", "service", "blueprint"),
        (".id", "'svc' +", "blueprint"),
    ] {
        let r = resource(
            json!({"identifier": identifier, "blueprint": blueprint, "properties": {"n": ".n"}}),
            "true",
        );
        let out = r.map_batch(
            &[json!({"id": "a", "n": 1}), json!({"id": "b", "n": 2})],
            false,
        );
        assert!(out.entities.is_empty());
        assert_eq!(out.skipped, 2);
        assert!(out.failures.is_empty());
        assert!(out.misconfigurations.contains_key(field), "{field}");
    }
}

#[test]
fn a_search_query_leaf_that_does_not_compile_is_null_in_place() {
    let r = resource(
        json!({"identifier": ".id", "blueprint": "\"svc\"",
               "relations": {"owner": {"combinator": "\"and\"", "rules": [
                   {"property": "\"$title\"", "operator": "\"=\"", "value": ".owner | nosuchfn"}]}}}),
        "true",
    );
    let out = r.map_batch(&[json!({"id": "a", "owner": "o"})], false);
    assert_eq!(
        out.entities[0].relations.as_ref().unwrap()["owner"],
        json!({"combinator": "and", "rules": [{"property": "$title", "operator": "=", "value": null}]})
    );
    assert_eq!(
        out.misconfigurations["relations.owner.rules.value"],
        ".owner | nosuchfn"
    );
}

#[test]
fn a_selector_that_does_not_compile_fails_every_item_of_its_resource_only() {
    let broken = resource(
        json!({"identifier": ".id", "blueprint": "\"svc\""}),
        ".a ==",
    );
    let out = broken.map_batch(&[json!({"id": "a"}), json!({"id": "b"})], true);
    assert!(out.entities.is_empty());
    assert_eq!(
        out.failures.iter().map(|f| f.index).collect::<Vec<_>>(),
        [0, 1]
    );
    assert!(
        out.failures[0].message.contains(".a =="),
        "{:?}",
        out.failures
    );
    // The same engine compiles the next resource as if nothing happened.
    let fine = resource(json!({"identifier": ".id", "blueprint": "\"svc\""}), "true");
    assert_eq!(
        fine.map_batch(&[json!({"id": "a"})], false).entities.len(),
        1
    );
}

#[test]
fn an_items_to_parse_that_does_not_compile_maps_no_item_and_fails_them() {
    let r = resource_with(
        json!({"identifier": ".item.id", "blueprint": "\"svc\""}),
        "true",
        json!({"itemsToParse": ".children | nosuchfn"}),
    );
    let out = r.map_batch(&[json!({"children": [{"id": "c"}]})], false);
    assert!(out.entities.is_empty());
    assert_eq!(out.failures.len(), 1);
    assert!(out.failures[0].message.contains("nosuchfn"));
}
