//! A jq expression that does not compile is logged once, when its resource is compiled, not
//! once per item. (Alone in its test binary: a log capture races with other tests' events.)

use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use ocean::testing::CapturedLogs;
use serde_json::{Value, json};

#[test]
fn a_compile_error_is_logged_once_not_per_item() {
    let logs = CapturedLogs::new();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::WARN));
    let config = PortAppConfig::from_value(&json!({"resources": [
        {"kind": "svc", "selector": {"query": "true"}, "port": {"entity": {"mappings": {
            "identifier": ".id", "blueprint": "\"svc\"",
            "properties": {"s": ".a | nosuchfn", "t": ".t"}}}}}
    ]}))
    .unwrap();
    let compiled = CompiledResource::new(&config.resources[0], &JqEngine::default());
    let items: Vec<Value> = (0..50).map(|i| json!({"id": format!("i{i}")})).collect();
    let outcome = compiled.map_batch(&items, false);
    assert_eq!(outcome.entities.len(), 50);
    let text = logs.text();
    assert_eq!(
        text.matches(
            "Invalid jq for field 'port.entity.mappings.properties.s' - pattern: .a | nosuchfn"
        )
        .count(),
        1,
        "{text}"
    );
    assert!(text.contains("the field is null on every item"), "{text}");
    assert!(text.contains("kind=svc"), "{text}");
    assert!(!text.contains("Search failed"), "{text}");
}
