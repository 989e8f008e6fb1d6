//! `ocean validate [DIR]`: checks an integration's `.port/` folder before it reaches Port.
//!
//! ```text
//! ocean validate                 # the integration in the current folder
//! ocean validate examples/jira
//! ```
//!
//! Rules: `.port/spec.yaml` and `.port/resources/*` are well-formed; every jq expression of the
//! mapping compiles; every kind of the mapping is a kind the spec declares; every blueprint the
//! mapping writes and every relation target exists (in `blueprints.json`, or in Port when
//! `OCEAN__PORT__CLIENT_ID` / `OCEAN__PORT__CLIENT_SECRET` are set); identifiers of blueprints,
//! properties and relations are valid Port identifiers. Every problem is printed as
//! `FILE: FIELD: what is wrong`. Exit codes: 0 no problem, 1 problems, 2 the folder cannot be
//! read.

use ocean::config::{ConfigSources, IntegrationSpec, OceanSettings};
use ocean::mapping::{JqEngine, PortAppConfig};
use ocean::port::Datasource;
use ocean::port::client::{PortClient, PortClientConfig, PortError};
use ocean::port::types::Blueprint;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `ocean validate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  ocean validate examples/jira")]
pub(crate) struct Args {
    /// The integration's folder (the one holding `.port/`).
    #[arg(default_value = ".")]
    dir: PathBuf,
}

/// One problem: the file, the field in it, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    file: String,
    field: String,
    message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.message)
        }
    }
}

const SPEC: &str = ".port/spec.yaml";
const BLUEPRINTS: &str = ".port/resources/blueprints.json";
const MAPPING: &str = ".port/resources/port-app-config.yml";

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    if !args.dir.join(".port").is_dir() {
        eprintln!(
            "ocean validate: {} has no .port folder: pass the integration's folder",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    let problems = validate(&args.dir, port_lookup());
    for problem in &problems {
        println!("{problem}");
    }
    if problems.is_empty() {
        println!("{}: no problem found", args.dir.display());
        ExitCode::SUCCESS
    } else {
        eprintln!("ocean validate: {} problem(s)", problems.len());
        ExitCode::from(1)
    }
}

/// Looks up blueprints in Port when credentials are set in the environment.
type Lookup = Option<Box<dyn Fn(&str) -> Result<bool, String>>>;

fn port_lookup() -> Lookup {
    let settings = OceanSettings::load(&ConfigSources::from_process(), Some("validate")).ok()?;
    let (Some(id), Some(secret)) = (settings.port.client_id, settings.port.client_secret) else {
        return None;
    };
    let client = PortClient::new(PortClientConfig::new(
        settings.port.base_url.clone(),
        id,
        secret,
        Datasource::exporter(
            "ocean-validate",
            env!("CARGO_PKG_VERSION"),
            "ocean-validate",
        ),
    ))
    .ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    Some(Box::new(move |identifier: &str| {
        match runtime.block_on(client.get_blueprint(identifier)) {
            Ok(_) => Ok(true),
            Err(PortError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }))
}

/// Whether `id` is a valid Port identifier (of a blueprint, property or relation).
fn valid_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@_=-".contains(c))
}

/// Every problem of the integration in `dir`.
pub(crate) fn validate(dir: &Path, port: Lookup) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |file: &str, field: String, message: String| {
        problems.push(Problem {
            file: file.to_owned(),
            field,
            message,
        });
    };

    let spec = match IntegrationSpec::load(&dir.join(".port")) {
        Ok(Some(spec)) => Some(spec),
        Ok(None) => {
            problem(
                SPEC,
                String::new(),
                "missing: the integration's type, features and settings belong here".into(),
            );
            None
        }
        Err(e) => {
            problem(SPEC, String::new(), e.to_string());
            None
        }
    };

    let mut blueprints: Vec<Blueprint> = Vec::new();
    match std::fs::read_to_string(dir.join(BLUEPRINTS)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => problem(BLUEPRINTS, String::new(), format!("cannot be read: {e}")),
        Ok(text) => match serde_json::from_str::<Vec<Value>>(&text) {
            Err(e) => problem(
                BLUEPRINTS,
                String::new(),
                format!("expected a JSON array of blueprints: {e}"),
            ),
            Ok(values) => {
                for (i, value) in values.into_iter().enumerate() {
                    match serde_json::from_value::<Blueprint>(value) {
                        Ok(blueprint) => blueprints.push(blueprint),
                        Err(e) => problem(
                            BLUEPRINTS,
                            format!("[{i}]"),
                            format!("not a blueprint: {e}"),
                        ),
                    }
                }
            }
        },
    }
    let known: BTreeSet<&str> = blueprints.iter().map(|b| b.identifier.as_str()).collect();
    let exists = |identifier: &str| -> Result<bool, String> {
        if known.contains(identifier) {
            return Ok(true);
        }
        match &port {
            Some(lookup) => lookup(identifier),
            None => Ok(false),
        }
    };
    let where_else = if port.is_some() {
        "blueprints.json nor Port"
    } else {
        "blueprints.json (set Port credentials to look it up in Port)"
    };

    for (i, blueprint) in blueprints.iter().enumerate() {
        let at = format!("[{i}] ({})", blueprint.identifier);
        if !valid_identifier(&blueprint.identifier) {
            problem(
                BLUEPRINTS,
                format!("{at}.identifier"),
                "not a valid identifier: letters, digits and @_=- only".into(),
            );
        }
        for (name, schema) in &blueprint.schema.properties {
            if !valid_identifier(name) {
                problem(
                    BLUEPRINTS,
                    format!("{at}.schema.properties.{name}"),
                    "not a valid property identifier: letters, digits and @_=- only".into(),
                );
            }
            let kind = schema.get("type").and_then(Value::as_str);
            if !matches!(
                kind,
                Some("string" | "number" | "boolean" | "object" | "array")
            ) {
                problem(
                    BLUEPRINTS,
                    format!("{at}.schema.properties.{name}.type"),
                    format!(
                        "expected one of string, number, boolean, object, array, got {}",
                        kind.map_or_else(|| "nothing".to_owned(), |k| format!("`{k}`"))
                    ),
                );
            }
        }
        for required in &blueprint.schema.required {
            if !blueprint.schema.properties.contains_key(required) {
                problem(
                    BLUEPRINTS,
                    format!("{at}.schema.required"),
                    format!("`{required}` is not a property of the blueprint"),
                );
            }
        }
        for (name, relation) in &blueprint.relations {
            if !valid_identifier(name) {
                problem(
                    BLUEPRINTS,
                    format!("{at}.relations.{name}"),
                    "not a valid relation identifier: letters, digits and @_=- only".into(),
                );
            }
            match relation.get("target").and_then(Value::as_str) {
                None => problem(
                    BLUEPRINTS,
                    format!("{at}.relations.{name}.target"),
                    "missing: the blueprint the relation points to".into(),
                ),
                Some(target) => match exists(target) {
                    Ok(true) => {}
                    Ok(false) => problem(
                        BLUEPRINTS,
                        format!("{at}.relations.{name}.target"),
                        format!("blueprint `{target}` is in neither {where_else}"),
                    ),
                    Err(e) => problem(
                        BLUEPRINTS,
                        format!("{at}.relations.{name}.target"),
                        format!("could not look `{target}` up in Port: {e}"),
                    ),
                },
            }
        }
    }

    let mapping = match std::fs::read_to_string(dir.join(MAPPING)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problem(
                MAPPING,
                String::new(),
                "missing: the default mapping belongs here".into(),
            );
            None
        }
        Err(e) => {
            problem(MAPPING, String::new(), format!("cannot be read: {e}"));
            None
        }
        Ok(text) => match PortAppConfig::parse(&text) {
            Ok(mapping) => Some(mapping),
            Err(e) => {
                problem(MAPPING, String::new(), e.to_string());
                None
            }
        },
    };
    if let Some(mapping) = &mapping {
        for error in mapping.compile_errors(&JqEngine::default()) {
            problem(
                MAPPING,
                error.path,
                format!("`{}` does not compile: {}", error.expr, error.message),
            );
        }
        let declared: Option<BTreeSet<&str>> = spec.as_ref().map(|s| s.kinds().collect());
        for (i, resource) in mapping.resources.iter().enumerate() {
            if let Some(declared) = &declared
                && !declared.contains(resource.kind.as_str())
            {
                problem(
                    MAPPING,
                    format!("resources[{i}].kind"),
                    format!(
                        "`{}` is not a kind of .port/spec.yaml's features ({})",
                        resource.kind,
                        declared.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            let expr = resource.port.entity.mappings.blueprint.trim();
            if let Some(literal) = literal_string(expr) {
                let field = format!("resources[{i}].port.entity.mappings.blueprint");
                if !valid_identifier(&literal) {
                    problem(
                        MAPPING,
                        field,
                        format!("`{literal}` is not a valid blueprint identifier"),
                    );
                } else {
                    match exists(&literal) {
                        Ok(true) => {}
                        Ok(false) => problem(
                            MAPPING,
                            field,
                            format!("blueprint `{literal}` is in neither {where_else}"),
                        ),
                        Err(e) => problem(
                            MAPPING,
                            field,
                            format!("could not look `{literal}` up in Port: {e}"),
                        ),
                    }
                }
            }
        }
    }
    problems
}

/// The string a jq expression that is a string literal (`"x"` or Ocean's `'x'` style inside
/// YAML) always yields.
fn literal_string(expr: &str) -> Option<String> {
    let inner = expr.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\', '(', ')'])).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_OK: &str =
        "title: T\nfeatures:\n  - type: exporter\n    resources:\n      - kind: ticket\n";
    const BLUEPRINTS_OK: &str = r#"[{"identifier": "ticket", "schema": {"properties": {"status": {"type": "string"}}}, "relations": {"owner": {"target": "team", "many": false}}},
 {"identifier": "team", "schema": {"properties": {}}}]"#;
    const MAPPING_OK: &str = "resources:\n  - kind: ticket\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"ticket\"'\n          properties:\n            status: .status\n";

    fn integration(spec: Option<&str>, blueprints: &str, mapping: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".port/resources")).unwrap();
        if let Some(spec) = spec {
            std::fs::write(dir.path().join(SPEC), spec).unwrap();
        }
        std::fs::write(dir.path().join(BLUEPRINTS), blueprints).unwrap();
        std::fs::write(dir.path().join(MAPPING), mapping).unwrap();
        dir
    }

    fn problems(spec: Option<&str>, blueprints: &str, mapping: &str) -> Vec<String> {
        let dir = integration(spec, blueprints, mapping);
        validate(dir.path(), None)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The single problem of an integration with one broken input.
    fn only(spec: Option<&str>, blueprints: &str, mapping: &str) -> String {
        let found = problems(spec, blueprints, mapping);
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0].clone()
    }

    #[test]
    fn a_sound_integration_has_no_problem() {
        assert_eq!(
            problems(Some(SPEC_OK), BLUEPRINTS_OK, MAPPING_OK),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_missing_or_malformed_spec_is_named() {
        assert!(only(None, BLUEPRINTS_OK, MAPPING_OK).starts_with(".port/spec.yaml: missing"));
        let p = only(Some("features: [1, 2"), BLUEPRINTS_OK, MAPPING_OK);
        assert!(p.starts_with(".port/spec.yaml"), "{p}");
    }

    #[test]
    fn malformed_blueprints_are_named_with_their_index() {
        // The mapping's blueprint is then missing too: the first problem is the file's.
        let found = problems(Some(SPEC_OK), "{\"identifier\": \"ticket\"}", MAPPING_OK);
        assert!(
            found[0].starts_with(".port/resources/blueprints.json: expected a JSON array"),
            "{found:#?}"
        );
        let found = problems(Some(SPEC_OK), r#"[{"title": "no identifier"}]"#, MAPPING_OK);
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(".port/resources/blueprints.json: [0]: not a blueprint")),
            "{found:#?}"
        );
    }

    #[test]
    fn a_jq_expression_that_does_not_compile_is_named_by_its_field() {
        let p = only(
            Some(SPEC_OK),
            BLUEPRINTS_OK,
            &MAPPING_OK.replace("status: .status", "status: .status | nosuchfn"),
        );
        assert!(p.starts_with(".port/resources/port-app-config.yml: resources[0].port.entity.mappings.properties.status: `.status | nosuchfn` does not compile"), "{p}");
    }

    #[test]
    fn a_kind_the_spec_does_not_declare_is_named() {
        let spec = SPEC_OK.replace("kind: ticket", "kind: issue");
        let p = only(Some(&spec), BLUEPRINTS_OK, MAPPING_OK);
        assert!(
            p.starts_with(
                ".port/resources/port-app-config.yml: resources[0].kind: `ticket` is not a kind"
            ),
            "{p}"
        );
    }

    #[test]
    fn a_relation_to_a_missing_blueprint_is_named() {
        let blueprints = BLUEPRINTS_OK.replace("\"target\": \"team\"", "\"target\": \"squad\"");
        let p = only(Some(SPEC_OK), &blueprints, MAPPING_OK);
        assert!(p.starts_with(".port/resources/blueprints.json: [0] (ticket).relations.owner.target: blueprint `squad` is in neither"), "{p}");
    }

    #[test]
    fn a_relation_found_in_port_is_accepted() {
        let blueprints = BLUEPRINTS_OK.replace("\"target\": \"team\"", "\"target\": \"squad\"");
        let dir = integration(Some(SPEC_OK), &blueprints, MAPPING_OK);
        let in_port: Lookup = Some(Box::new(|id: &str| Ok(id == "squad")));
        assert!(validate(dir.path(), in_port).is_empty());
    }

    #[test]
    fn a_mapping_to_a_missing_blueprint_is_named() {
        let p = only(
            Some(SPEC_OK),
            BLUEPRINTS_OK,
            &MAPPING_OK.replace("'\"ticket\"'", "'\"tickets\"'"),
        );
        assert!(p.starts_with(".port/resources/port-app-config.yml: resources[0].port.entity.mappings.blueprint: blueprint `tickets` is in neither"), "{p}");
    }

    #[test]
    fn invalid_identifiers_are_named() {
        let blueprints = BLUEPRINTS_OK.replace("\"status\": {", "\"sta tus\": {");
        let p = only(
            Some(SPEC_OK),
            &blueprints,
            &MAPPING_OK.replace("status: .status", "x: .status"),
        );
        assert!(p.starts_with(".port/resources/blueprints.json: [0] (ticket).schema.properties.sta tus: not a valid property identifier"), "{p}");
        let blueprints = BLUEPRINTS_OK.replace("\"string\"", "\"text\"");
        let p = only(Some(SPEC_OK), &blueprints, MAPPING_OK);
        assert!(p.starts_with(".port/resources/blueprints.json: [0] (ticket).schema.properties.status.type: expected one of"), "{p}");
    }

    #[test]
    fn a_mapping_that_does_not_parse_is_named() {
        let p = only(
            Some(SPEC_OK),
            BLUEPRINTS_OK,
            "resources:\n  - kind: ticket\n",
        );
        assert!(
            p.starts_with(".port/resources/port-app-config.yml: "),
            "{p}"
        );
    }
}
