//! The integration's own settings (`OCEAN__INTEGRATION__CONFIG__<KEY>`), kept raw until the
//! author reads them into a typed struct.

use super::de::from_tree;
use super::error::ConfigError;
use super::tree::{Provenance, Segment};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// The raw integration-specific values from every source. They may hold secrets, so `Debug`
/// lists the keys only; read them with [`IntegrationConfigValues::parse`] (or
/// `OceanSettings::integration_config`).
#[derive(Clone, Default)]
pub struct IntegrationConfigValues {
    values: Value,
    provenance: Provenance,
}

impl IntegrationConfigValues {
    pub(crate) fn new(values: Value) -> Self {
        Self {
            values,
            provenance: Provenance::default(),
        }
    }

    pub(crate) fn set_provenance(&mut self, provenance: Provenance) {
        self.provenance = provenance;
    }

    /// The values read into the author's type. Keys are snake_case field names; strings are
    /// coerced to each field's type (integers, floats, bools, JSON lists and objects, `Secret`,
    /// `Option`); `#[serde(default)]` is honoured; a missing required field is reported as
    /// `OCEAN__INTEGRATION__CONFIG__<KEY>: required setting is missing`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let path = vec![
            Segment::Key("integration".to_owned()),
            Segment::Key("config".to_owned()),
        ];
        from_tree(&self.values, path, &self.provenance)
    }

    /// Sets `key` to `value` (a default from `.port/spec.yaml`) when no source set it.
    pub(crate) fn set_default(&mut self, key: &str, value: Value) {
        if self.values.is_null() {
            self.values = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(map) = &mut self.values {
            map.entry(key.to_owned()).or_insert(value);
        }
    }

    /// One raw value by its snake_case key. May be a secret: never log it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.as_object()?.get(key)
    }

    /// The keys that have a value.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values
            .as_object()
            .into_iter()
            .flat_map(|map| map.keys().map(String::as_str))
    }
}

impl fmt::Debug for IntegrationConfigValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_set();
        match &self.values {
            Value::Object(map) => {
                list.entries(map.keys());
            }
            Value::Null => {}
            // The whole config given as one (JSON) string: its content is not shown.
            _ => {
                list.entry(&"<one value>");
            }
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, ConfigSources, OceanSettings, Secret};
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    struct DemoConfig {
        department_count: u64,
        verbose: bool,
        projects: Vec<String>,
        api_token: Secret,
        region: Option<String>,
        weight: f64,
        #[serde(default = "default_page_size")]
        page_size: u32,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    fn default_page_size() -> u32 {
        100
    }

    fn settings(vars: &[(&str, &str)]) -> OceanSettings {
        let sources = ConfigSources::new().with_env(vars.iter().copied());
        OceanSettings::load(&sources, Some("demo")).unwrap()
    }

    const REQUIRED: &[(&str, &str)] = &[
        ("OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT", "10"),
        ("OCEAN__INTEGRATION__CONFIG__VERBOSE", "true"),
        ("OCEAN__INTEGRATION__CONFIG__PROJECTS", r#"["OPS","DEV"]"#),
        ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "tok-123"),
        ("OCEAN__INTEGRATION__CONFIG__WEIGHT", "1.5"),
    ];

    #[test]
    fn typed_config_reads_ints_bools_lists_secrets_options_and_defaults() {
        let config: DemoConfig = settings(REQUIRED).integration_config().unwrap();
        assert_eq!(config.department_count, 10);
        assert!(config.verbose);
        assert_eq!(config.projects, ["OPS", "DEV"]);
        assert_eq!(config.api_token.expose(), "tok-123");
        assert_eq!(config.region, None);
        assert_eq!(config.weight, 1.5);
        assert_eq!(config.page_size, 100);
        assert!(config.labels.is_empty());
    }

    #[test]
    fn optional_and_defaulted_fields_take_given_values() {
        let mut vars = REQUIRED.to_vec();
        vars.push(("OCEAN__INTEGRATION__CONFIG__REGION", "eu"));
        vars.push(("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "25"));
        vars.push(("OCEAN__INTEGRATION__CONFIG__LABELS", r#"{"team":"core"}"#));
        let config: DemoConfig = settings(&vars).integration_config().unwrap();
        assert_eq!(config.region.as_deref(), Some("eu"));
        assert_eq!(config.page_size, 25);
        assert_eq!(config.labels.get("team").map(String::as_str), Some("core"));
    }

    #[test]
    fn whole_config_may_be_one_json_value() {
        let s = settings(&[(
            "OCEAN__INTEGRATION__CONFIG",
            r#"{"department_count": 3, "verbose": false, "projects": [], "api_token": "t", "weight": 2}"#,
        )]);
        let config: DemoConfig = s.integration_config().unwrap();
        assert_eq!(config.department_count, 3);
        assert!(!config.verbose);
        assert_eq!(config.weight, 2.0);
    }

    #[test]
    fn bad_number_names_the_integration_variable() {
        let mut vars = REQUIRED.to_vec();
        vars[0] = ("OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT", "ten");
        let err = settings(&vars)
            .integration_config::<DemoConfig>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT: expected an unsigned integer, got \"ten\""
        );
    }

    #[test]
    fn missing_required_field_names_the_integration_variable() {
        let vars: Vec<_> = REQUIRED[1..].to_vec();
        let err = settings(&vars)
            .integration_config::<DemoConfig>()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT: required setting is missing"
        );
    }

    #[test]
    fn secret_values_are_not_shown_in_errors_or_debug() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct NeedsNumber {
            api_token: u64,
        }
        let s = settings(&[("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "tok-secret-value")]);
        let err = s.integration_config::<NeedsNumber>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("OCEAN__INTEGRATION__CONFIG__API_TOKEN: expected")
        );
        assert!(!err.to_string().contains("tok-secret-value"), "{err}");
        assert!(!format!("{err:?}").contains("tok-secret-value"));
        assert!(!format!("{s:?}").contains("tok-secret-value"));
        let config: DemoConfig = settings(REQUIRED).integration_config().unwrap();
        assert!(!format!("{config:?}").contains("tok-123"));
    }

    #[test]
    fn raw_values_are_reachable_by_key() {
        let s = settings(REQUIRED);
        assert_eq!(
            s.integration.config.get("department_count"),
            Some(&serde_json::json!("10"))
        );
        let mut keys: Vec<_> = s.integration.config.keys().collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "api_token",
                "department_count",
                "projects",
                "verbose",
                "weight"
            ]
        );
    }

    #[test]
    fn every_missing_required_field_is_listed_at_once() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct ThreeRequired {
            jira_host: String,
            api_token: Secret,
            #[serde(default)]
            page_size: Option<u32>,
            project_count: u64,
        }
        let err = settings(&[])
            .integration_config::<ThreeRequired>()
            .unwrap_err();
        assert!(matches!(err, ConfigError::MissingSeveral { .. }), "{err:?}");
        assert_eq!(
            err.variables(),
            [
                "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
                "OCEAN__INTEGRATION__CONFIG__API_TOKEN",
                "OCEAN__INTEGRATION__CONFIG__PROJECT_COUNT",
            ]
        );
        assert_eq!(
            err.to_string(),
            "required settings are missing: OCEAN__INTEGRATION__CONFIG__JIRA_HOST, \
             OCEAN__INTEGRATION__CONFIG__API_TOKEN, OCEAN__INTEGRATION__CONFIG__PROJECT_COUNT"
        );

        let err = settings(&[("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "t")])
            .integration_config::<ThreeRequired>()
            .unwrap_err();
        assert_eq!(
            err.variables(),
            [
                "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
                "OCEAN__INTEGRATION__CONFIG__PROJECT_COUNT",
            ]
        );
    }

    #[test]
    fn missing_fields_of_nested_sections_are_listed_with_the_others() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Auth {
            user: String,
            password: Secret,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct WithSection {
            auth: Auth,
            host: String,
        }
        let err = settings(&[("OCEAN__INTEGRATION__CONFIG__AUTH__USER", "me")])
            .integration_config::<WithSection>()
            .unwrap_err();
        assert_eq!(
            err.variables(),
            [
                "OCEAN__INTEGRATION__CONFIG__AUTH__PASSWORD",
                "OCEAN__INTEGRATION__CONFIG__HOST",
            ]
        );
        let err = settings(&[])
            .integration_config::<WithSection>()
            .unwrap_err();
        assert_eq!(
            err.variables(),
            [
                "OCEAN__INTEGRATION__CONFIG__AUTH",
                "OCEAN__INTEGRATION__CONFIG__HOST",
            ]
        );
    }

    #[test]
    fn a_bad_value_is_reported_before_missing_ones() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct S {
            count: u64,
            host: String,
            region: String,
        }
        let err = settings(&[("OCEAN__INTEGRATION__CONFIG__COUNT", "many")])
            .integration_config::<S>()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{err:?}");
    }
}
