//! Every real Ocean default mapping must load, and all its jq must compile.
//!
//! The corpus lives outside the repository, in `../shared/corpus/ocean-mappings` next to the
//! checkout. When it is missing the test **fails**, so that a run without it cannot pass while
//! checking nothing. Set `OCEAN_SKIP_MAPPING_CORPUS=1` to skip it on purpose (for a checkout
//! without the shared folder); any other value, or none, keeps the test strict.

use ocean::mapping::{JqEngine, PortAppConfig};
use std::path::Path;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/ocean-mappings"
);

/// The variable that, set to `1`, skips the test when the corpus is absent.
const SKIP_ENV: &str = "OCEAN_SKIP_MAPPING_CORPUS";

/// The one leaf in the corpus that is not jq (GitLab resolves it itself).
const NOT_JQ: &[(&str, &str)] = &[("gitlab", "file://README.md")];

#[test]
fn every_corpus_mapping_parses_and_its_jq_compiles() {
    let dir = Path::new(CORPUS);
    if !dir.is_dir() {
        let skip = std::env::var(SKIP_ENV).is_ok_and(|v| v == "1");
        assert!(
            skip,
            "the mapping corpus is missing at {CORPUS}; set {SKIP_ENV}=1 to skip this test on purpose"
        );
        println!("skipping on request ({SKIP_ENV}=1): mapping corpus not found at {CORPUS}");
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
