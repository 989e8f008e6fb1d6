//! Every real Ocean default mapping must load, and all its jq must compile.

use ocean::mapping::{JqEngine, PortAppConfig};
use std::path::Path;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/ocean-mappings"
);

/// The one leaf in the corpus that is not jq (GitLab resolves it itself).
const NOT_JQ: &[(&str, &str)] = &[("gitlab", "file://README.md")];

#[test]
fn every_corpus_mapping_parses_and_its_jq_compiles() {
    let dir = Path::new(CORPUS);
    if !dir.is_dir() {
        println!("skipping: mapping corpus not found at {CORPUS}");
        return;
    }
    let engine = JqEngine::default();
    let mut files = 0;
    let mut expressions = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let integration = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path().join("port-app-config.yml");
        if !path.is_file() {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let config = match PortAppConfig::parse(&text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{integration}: does not parse: {e}"));
                continue;
            }
        };
        for (i, resource) in config.resources.iter().enumerate() {
            for (field, expr) in resource.jq_fields() {
                expressions += 1;
                if NOT_JQ.contains(&(integration.as_str(), expr.as_str())) {
                    assert!(engine.compile(&expr).is_err(), "{expr} should not compile");
                    continue;
                }
                if let Err(e) = engine.compile(&expr) {
                    failures.push(format!("{integration} resources[{i}].{field}: {e}"));
                }
            }
        }
    }
    assert!(files >= 49, "expected the 49 corpus files, found {files}");
    assert!(
        expressions > 2000,
        "expected over 2000 jq leaves, found {expressions}"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
