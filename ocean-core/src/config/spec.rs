//! `.port/spec.yaml`: what the integration is (its type, version, features) and the settings it
//! takes (`configurations`: name, type, required, default, sensitive), read as Python Ocean
//! reads it. The runtime checks the integration's settings against it at startup: every
//! required setting is there (all missing ones are named at once), defaults fill what is unset,
//! each value has the declared type, and sensitive values are never shown.

use super::error::{ConfigError, SettingOrigin};
use super::integration::IntegrationConfigValues;
use heck::{ToShoutySnakeCase, ToSnakeCase};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The integration's `.port/spec.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationSpec {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// One-line description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Port icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The integration type (Ocean's `type`, e.g. `jira`), when the spec names one.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub integration_type: Option<String>,
    /// The integration's version, when the spec names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What the integration does: exporter features with their kinds.
    #[serde(default)]
    pub features: Vec<SpecFeature>,
    /// The settings it takes, each read from `OCEAN__INTEGRATION__CONFIG__<NAME>`.
    #[serde(default)]
    pub configurations: Vec<SpecConfiguration>,
    /// Keys of Ocean's spec this model does not use, kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One feature of the spec (`type: exporter`, its section and kinds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpecFeature {
    /// The feature type, e.g. `exporter`.
    #[serde(rename = "type")]
    pub feature_type: String,
    /// The section Port lists it under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The kinds it exports.
    #[serde(default)]
    pub resources: Vec<SpecResource>,
    /// Other keys, kept.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A kind a feature exports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpecResource {
    /// The kind.
    pub kind: String,
}

/// One setting of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecConfiguration {
    /// The setting's name, camelCase as in Ocean (`jiraHost` is
    /// `OCEAN__INTEGRATION__CONFIG__JIRA_HOST`).
    pub name: String,
    /// Its type: `string`, `url`, `boolean`, `integer`, `object` or `array`.
    #[serde(rename = "type", default = "string_type")]
    pub value_type: String,
    /// Whether startup needs it (unless it has a default).
    #[serde(default)]
    pub required: bool,
    /// The value used when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Whether the value is a secret: never shown in a message, a log line or `--about`.
    #[serde(default)]
    pub sensitive: bool,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn string_type() -> String {
    "string".to_owned()
}

impl SpecConfiguration {
    /// The snake_case key the value has in the integration's settings.
    pub fn key(&self) -> String {
        self.name.to_snake_case()
    }

    /// The environment variable the value is read from.
    pub fn variable(&self) -> String {
        format!(
            "OCEAN__INTEGRATION__CONFIG__{}",
            self.name.to_shouty_snake_case()
        )
    }
}

/// The types a spec setting may declare.
const TYPES: &[&str] = &["string", "url", "boolean", "integer", "object", "array"];

impl IntegrationSpec {
    /// Parses a spec from its YAML text; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ConfigError> {
        let spec: Self = serde_norway::from_str(text).map_err(|e| ConfigError::Spec {
            path: source.to_owned(),
            problem: format!("not a valid .port/spec.yaml: {e}"),
        })?;
        for configuration in &spec.configurations {
            if !TYPES.contains(&configuration.value_type.as_str()) {
                return Err(ConfigError::Spec {
                    path: source.to_owned(),
                    problem: format!(
                        "configuration `{}` has type `{}`; expected one of {}",
                        configuration.name,
                        configuration.value_type,
                        TYPES.join(", ")
                    ),
                });
            }
        }
        Ok(spec)
    }

    /// The spec in `dir` (`spec.yaml` or `spec.yml`), or `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Self>, ConfigError> {
        for name in ["spec.yaml", "spec.yml"] {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => return Self::parse(&text, &path).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(ConfigError::Read { path, error }),
            }
        }
        Ok(None)
    }

    /// Where the runtime looks for the spec: `.port/` in the working directory, else `.port/`
    /// beside the integration's `Cargo.toml`.
    pub fn locate(manifest_dir: &str) -> PathBuf {
        let here = PathBuf::from(".port");
        if here.join("spec.yaml").is_file() || here.join("spec.yml").is_file() {
            return here;
        }
        Path::new(manifest_dir).join(".port")
    }

    /// The kinds the spec's features export.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.features
            .iter()
            .flat_map(|f| f.resources.iter().map(|r| r.kind.as_str()))
    }

    /// The settings checked against the spec: defaults fill what is unset, every required
    /// setting must be there (all missing ones are named in one error), and each value must
    /// have its declared type. Values of sensitive settings never appear in an error.
    pub fn apply(
        &self,
        values: &IntegrationConfigValues,
    ) -> Result<IntegrationConfigValues, ConfigError> {
        let mut filled = values.clone();
        let mut missing = Vec::new();
        for configuration in &self.configurations {
            let key = configuration.key();
            match values.get(&key) {
                Some(value) => check_type(configuration, value)?,
                None => match &configuration.default {
                    Some(default) => filled.set_default(&key, default.clone()),
                    None if configuration.required => missing.push(configuration.variable()),
                    None => {}
                },
            }
        }
        match missing.len() {
            0 => Ok(filled),
            1 => Err(ConfigError::Missing {
                variable: missing.remove(0),
                origin: Box::new(SettingOrigin::Unset),
            }),
            _ => Err(ConfigError::MissingSeveral { variables: missing }),
        }
    }

    /// The spec as JSON for `--about`, with the defaults of sensitive settings masked.
    pub fn about(&self) -> Value {
        let mut spec = self.clone();
        for configuration in &mut spec.configurations {
            if configuration.sensitive && configuration.default.is_some() {
                configuration.default = Some(Value::String("[REDACTED]".into()));
            }
        }
        serde_json::to_value(spec).unwrap_or(Value::Null)
    }
}

/// Whether a set value fits its declared type (values from the environment are strings).
fn check_type(configuration: &SpecConfiguration, value: &Value) -> Result<(), ConfigError> {
    let text = value.as_str();
    let (fits, expected) = match configuration.value_type.as_str() {
        "url" => (
            text.and_then(|t| url::Url::parse(t.trim()).ok())
                .is_some_and(|u| u.has_host()),
            "a URL with a host, e.g. https://api.example.com",
        ),
        "boolean" => (
            value.is_boolean()
                || text.is_some_and(|t| {
                    matches!(
                        t.trim().to_ascii_lowercase().as_str(),
                        "true" | "false" | "1" | "0"
                    )
                }),
            "true or false",
        ),
        "integer" => (
            value.is_i64()
                || value.is_u64()
                || text.is_some_and(|t| t.trim().parse::<i64>().is_ok()),
            "an integer",
        ),
        "object" => (
            value.is_object()
                || text.is_some_and(|t| serde_json::from_str::<Map<String, Value>>(t).is_ok()),
            "a JSON object",
        ),
        "array" => (
            value.is_array() || text.is_some_and(|t| serde_json::from_str::<Vec<Value>>(t).is_ok()),
            "a JSON array",
        ),
        _ => (true, "a string"),
    };
    if fits {
        return Ok(());
    }
    let got = if configuration.sensitive {
        "a value that is not".to_owned()
    } else {
        match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        }
    };
    Err(ConfigError::Invalid {
        variable: configuration.variable(),
        expected: format!(
            "{expected} (.port/spec.yaml declares `{}`)",
            configuration.value_type
        ),
        got,
        origin: Box::new(SettingOrigin::Unset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigSources, OceanSettings};

    const SPEC: &str = r#"
title: Acme
type: acme
features:
  - type: exporter
    section: Other
    resources:
      - kind: ticket
      - kind: project
configurations:
  - name: apiUrl
    type: url
    required: true
  - name: apiToken
    type: string
    required: true
    sensitive: true
  - name: pageSize
    type: integer
    default: 50
  - name: verbose
    type: boolean
deploymentMethodRequirements: []
"#;

    fn spec() -> IntegrationSpec {
        IntegrationSpec::parse(SPEC, Path::new(".port/spec.yaml")).unwrap()
    }

    fn values(vars: &[(&str, &str)]) -> IntegrationConfigValues {
        let sources = ConfigSources::new().with_env(vars.iter().copied());
        OceanSettings::load(&sources, Some("acme"))
            .unwrap()
            .integration
            .config
    }

    #[test]
    fn the_spec_names_kinds_and_settings_and_keeps_what_it_does_not_model() {
        let spec = spec();
        assert_eq!(spec.kinds().collect::<Vec<_>>(), ["ticket", "project"]);
        assert_eq!(
            spec.configurations[0].variable(),
            "OCEAN__INTEGRATION__CONFIG__API_URL"
        );
        assert_eq!(spec.configurations[2].key(), "page_size");
        assert!(spec.other.contains_key("deploymentMethodRequirements"));
    }

    #[test]
    fn every_missing_required_setting_is_named_at_once() {
        let error = spec().apply(&values(&[])).unwrap_err().to_string();
        assert!(
            error.contains("OCEAN__INTEGRATION__CONFIG__API_URL"),
            "{error}"
        );
        assert!(
            error.contains("OCEAN__INTEGRATION__CONFIG__API_TOKEN"),
            "{error}"
        );
        assert!(!error.contains("PAGE_SIZE"), "a default fills it: {error}");
    }

    #[test]
    fn defaults_fill_unset_settings_and_set_ones_win() {
        #[derive(Deserialize)]
        struct Config {
            page_size: u32,
        }
        let spec = spec();
        let filled = spec
            .apply(&values(&[
                (
                    "OCEAN__INTEGRATION__CONFIG__API_URL",
                    "https://api.acme.example",
                ),
                ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "t0ken"),
            ]))
            .unwrap();
        assert_eq!(filled.parse::<Config>().unwrap().page_size, 50);
        let set = spec
            .apply(&values(&[
                (
                    "OCEAN__INTEGRATION__CONFIG__API_URL",
                    "https://api.acme.example",
                ),
                ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "t0ken"),
                ("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "7"),
            ]))
            .unwrap();
        assert_eq!(set.parse::<Config>().unwrap().page_size, 7);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused_and_a_sensitive_one_is_not_shown() {
        let error = spec()
            .apply(&values(&[
                ("OCEAN__INTEGRATION__CONFIG__API_URL", "not a url"),
                ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "t0ken"),
            ]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("OCEAN__INTEGRATION__CONFIG__API_URL"),
            "{error}"
        );
        assert!(error.contains("a URL with a host"), "{error}");

        let sensitive: IntegrationSpec = IntegrationSpec::parse(
            "configurations:\n  - name: secretNumber\n    type: integer\n    sensitive: true\n",
            Path::new("spec.yaml"),
        )
        .unwrap();
        let error = sensitive
            .apply(&values(&[(
                "OCEAN__INTEGRATION__CONFIG__SECRET_NUMBER",
                "hunter2",
            )]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("SECRET_NUMBER"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn an_unknown_type_or_a_malformed_spec_is_an_error_naming_the_file() {
        let error = IntegrationSpec::parse(
            "configurations:\n  - name: x\n    type: float\n",
            Path::new(".port/spec.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(".port/spec.yaml") && error.contains("float"),
            "{error}"
        );
        let error = IntegrationSpec::parse("features: 3\n", Path::new(".port/spec.yaml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(".port/spec.yaml"), "{error}");
    }

    #[test]
    fn about_masks_sensitive_defaults() {
        let spec = IntegrationSpec::parse(
            "configurations:\n  - name: token\n    sensitive: true\n    default: s3cret\n",
            Path::new("spec.yaml"),
        )
        .unwrap();
        let about = spec.about().to_string();
        assert!(!about.contains("s3cret"), "{about}");
        assert!(about.contains("[REDACTED]"), "{about}");
    }
}
