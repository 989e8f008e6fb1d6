//! Where settings come from, and how the sources are layered into one tree.
//!
//! Precedence, highest first: programmatic overrides > process environment > `.env` file >
//! `config.yaml`. The `.env` file is read, never exported into the process environment.

use super::error::{ConfigError, SettingOrigin};
use super::tree::SettingsTree;
use heck::ToSnakeCase;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The inputs configuration is loaded from. Tests build one by hand so they never touch the
/// real process environment; binaries use [`ConfigSources::from_process`].
#[derive(Clone, Default)]
pub struct ConfigSources {
    /// Environment variables (names are matched case-insensitively).
    pub env: BTreeMap<String, String>,
    /// A `.env` file to read; a missing file is skipped.
    pub dotenv_path: Option<PathBuf>,
    /// A `config.yaml` file to read; a missing file is skipped.
    pub config_yaml_path: Option<PathBuf>,
    /// Programmatic overrides by variable name (`OCEAN__EVENT_LISTENER__TYPE`), highest
    /// precedence; later entries win over earlier ones.
    pub overrides: Vec<(String, Value)>,
}

impl fmt::Debug for ConfigSources {
    // Values may be secrets: only names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSources")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("dotenv_path", &self.dotenv_path)
            .field("config_yaml_path", &self.config_yaml_path)
            .field(
                "overrides",
                &self.overrides.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ConfigSources {
    /// No sources at all: every setting takes its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process environment, `./.env` and `./config.yaml` (the files are optional).
    /// Variables whose name or value is not valid UTF-8 are skipped.
    pub fn from_process() -> Self {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self {
            env,
            dotenv_path: Some(PathBuf::from(".env")),
            config_yaml_path: Some(PathBuf::from("config.yaml")),
            overrides: Vec::new(),
        }
    }

    /// Adds environment variables.
    pub fn with_env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds one environment variable.
    pub fn with_env_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Reads this `.env` file.
    pub fn with_dotenv(mut self, path: impl Into<PathBuf>) -> Self {
        self.dotenv_path = Some(path.into());
        self
    }

    /// Reads this `config.yaml` file.
    pub fn with_config_yaml(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_yaml_path = Some(path.into());
        self
    }

    /// Overrides a setting by its variable name, e.g. `("OCEAN__EVENT_LISTENER__TYPE", "ONCE")`
    /// for `--once`. A JSON object value sets a whole section.
    pub fn with_override(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.overrides.push((name.into(), value.into()));
        self
    }

    /// Layers every source for settings named with `prefix` into one tree, on top of
    /// `defaults` (key paths with their default values).
    pub(crate) fn layer(
        &self,
        prefix: &str,
        read_config_yaml: bool,
        defaults: Vec<(Vec<String>, Value)>,
    ) -> Result<SettingsTree, ConfigError> {
        let mut tree = SettingsTree::new(prefix);
        for (path, value) in defaults {
            tree.set(&path, value, &SettingOrigin::Unset);
        }
        if let Some(path) = self.config_yaml_path.as_ref().filter(|_| read_config_yaml) {
            for (keys, value, origin) in self.config_yaml_entries(path)? {
                tree.set(&keys, value, &origin);
            }
        }
        if let Some(path) = &self.dotenv_path {
            let vars = read_dotenv(path)?;
            let entries = by_depth(
                prefix,
                vars.into_iter().map(|(name, value)| {
                    let origin = SettingOrigin::DotEnv {
                        path: path.clone(),
                        name: name.clone(),
                    };
                    (name, Value::String(value), origin)
                }),
            );
            apply(&mut tree, entries);
        }
        let entries = by_depth(
            prefix,
            self.env.iter().map(|(name, value)| {
                let origin = SettingOrigin::Environment { name: name.clone() };
                (name.clone(), Value::String(value.clone()), origin)
            }),
        );
        apply(&mut tree, entries);
        let entries = by_depth(
            prefix,
            self.overrides.iter().map(|(name, value)| {
                let origin = SettingOrigin::Override { name: name.clone() };
                (name.clone(), value.clone(), origin)
            }),
        );
        apply(&mut tree, entries);
        Ok(tree)
    }

    /// The settings of `config.yaml` as (key path, value, origin), keys in snake_case and
    /// `{{ from env VAR }}` resolved; a provider that cannot be resolved leaves the key unset.
    fn config_yaml_entries(
        &self,
        path: &Path,
    ) -> Result<Vec<(Vec<String>, Value, SettingOrigin)>, ConfigError> {
        let Some(text) = read_optional(path)? else {
            tracing::debug!(path = %path.display(), "no config.yaml; skipping");
            return Ok(Vec::new());
        };
        let yaml: serde_norway::Value =
            serde_norway::from_str(&text).map_err(|e| ConfigError::Yaml {
                path: path.to_owned(),
                problem: format!("invalid YAML ({})", yaml_location(&e)),
            })?;
        let root = yaml_to_json(yaml).map_err(|problem| ConfigError::Yaml {
            path: path.to_owned(),
            problem,
        })?;
        let map = match root {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            Value::Array(_) => return Err(yaml_shape_error(path, "a list")),
            _ => return Err(yaml_shape_error(path, "a single value")),
        };
        let mut entries = Vec::new();
        let mut walk = YamlWalk {
            file: path,
            env: &self.env,
            entries: &mut entries,
        };
        walk.object(map, &mut Vec::new(), &mut Vec::new());
        Ok(entries)
    }
}

fn yaml_shape_error(path: &Path, got: &str) -> ConfigError {
    ConfigError::Yaml {
        path: path.to_owned(),
        problem: got.to_owned(),
    }
}

/// Where a YAML error is, without the error's own text (which may quote a value).
fn yaml_location(error: &serde_norway::Error) -> String {
    match error.location() {
        Some(at) => format!("at line {}, column {}", at.line(), at.column()),
        None => "at an unknown position".to_owned(),
    }
}

/// Walks `config.yaml`, collecting one entry per setting.
struct YamlWalk<'a> {
    file: &'a Path,
    env: &'a BTreeMap<String, String>,
    entries: &'a mut Vec<(Vec<String>, Value, SettingOrigin)>,
}

impl YamlWalk<'_> {
    fn object(&mut self, map: Map<String, Value>, keys: &mut Vec<String>, raw: &mut Vec<String>) {
        if map.is_empty() && !keys.is_empty() {
            self.push(keys, raw, Value::Object(Map::new()));
        }
        // The author's integration config keys are decamelized, but their values (objects
        // included) are the author's data and are taken as they are.
        let values_are_data = keys.len() == 2 && keys[0] == "integration" && keys[1] == "config";
        for (key, value) in map {
            keys.push(key.to_snake_case());
            raw.push(key);
            match value {
                Value::Object(nested) if !values_are_data => self.object(nested, keys, raw),
                Value::String(text) => match provider_reference(&text) {
                    Some(Provider::Env(var)) => match self.env.get(var) {
                        Some(resolved) => self.push(keys, raw, Value::String(resolved.clone())),
                        None => tracing::debug!(
                            key = %raw.join("."),
                            variable = var,
                            "config.yaml refers to an unset environment variable; key left unset"
                        ),
                    },
                    Some(Provider::Unknown(kind)) => tracing::debug!(
                        key = %raw.join("."),
                        provider = kind,
                        "config.yaml uses an unknown provider; key left unset"
                    ),
                    None => self.push(keys, raw, Value::String(text)),
                },
                other => self.push(keys, raw, other),
            }
            keys.pop();
            raw.pop();
        }
    }

    fn push(&mut self, keys: &[String], raw: &[String], value: Value) {
        let origin = SettingOrigin::ConfigYaml {
            path: self.file.to_owned(),
            key: raw.join("."),
        };
        self.entries.push((keys.to_vec(), value, origin));
    }
}

/// A `{{ from <provider> <value> }}` reference in `config.yaml`.
#[derive(Debug, PartialEq, Eq)]
enum Provider<'a> {
    Env(&'a str),
    Unknown(&'a str),
}

fn provider_reference(text: &str) -> Option<Provider<'_>> {
    let inner = text
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim()
        .strip_prefix("from ")?
        .trim();
    let (kind, value) = inner.split_once(char::is_whitespace)?;
    match kind {
        "env" => Some(Provider::Env(value.trim())),
        other => Some(Provider::Unknown(other)),
    }
}

/// YAML allows keys that are not strings; settings keys are names, so scalars are written out.
fn yaml_to_json(value: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| "a number that is not finite".to_owned())?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    _ => return Err("a mapping key that is not a plain name".to_owned()),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

/// A file's text, or `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::Read {
            path: path.to_owned(),
            error,
        }),
    }
}

/// The `NAME=value` pairs of a `.env` file, in file order; nothing when it does not exist.
fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => {
            tracing::debug!(path = %path.display(), "no .env file; skipping");
            return Ok(Vec::new());
        }
        Err(e) => return Err(dotenv_error(path, e, 0)),
    };
    iter.enumerate()
        .map(|(index, item)| item.map_err(|e| dotenv_error(path, e, index + 1)))
        .collect()
}

fn dotenv_error(path: &Path, error: dotenvy::Error, entry: usize) -> ConfigError {
    match error {
        dotenvy::Error::Io(error) => ConfigError::Read {
            path: path.to_owned(),
            error,
        },
        // The line's text is left out on purpose: it may hold a secret.
        dotenvy::Error::LineParse(_, column) => ConfigError::DotEnv {
            path: path.to_owned(),
            problem: format!("a malformed entry (entry {entry}, character {column})"),
        },
        _ => ConfigError::DotEnv {
            path: path.to_owned(),
            problem: format!("an unreadable entry (entry {entry})"),
        },
    }
}

/// The key path of a variable under `prefix` (`OCEAN__PORT__CLIENT_ID` -> `port.client_id`),
/// or `None` when it is not one of ours.
pub(crate) fn variable_path(name: &str, prefix: &str) -> Option<Vec<String>> {
    let head = name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = name.get(prefix.len()..)?;
    let keys: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if keys.iter().any(String::is_empty) {
        return None;
    }
    Some(keys)
}

/// Entries of one layer that belong to `prefix`, shallow paths first so that
/// `OCEAN__EVENT_LISTENER__TYPE` refines a JSON-valued `OCEAN__EVENT_LISTENER`.
fn by_depth(
    prefix: &str,
    vars: impl Iterator<Item = (String, Value, SettingOrigin)>,
) -> Vec<(Vec<String>, Value, SettingOrigin)> {
    let mut entries: Vec<_> = vars
        .filter_map(|(name, value, origin)| Some((variable_path(&name, prefix)?, value, origin)))
        .collect();
    entries.sort_by_key(|(keys, _, _)| keys.len());
    entries
}

fn apply(tree: &mut SettingsTree, entries: Vec<(Vec<String>, Value, SettingOrigin)>) {
    for (keys, value, origin) in entries {
        tree.set(&keys, value, &origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variable_path_is_case_insensitive_and_split_on_double_underscore() {
        assert_eq!(
            variable_path("ocean__Port__CLIENT_ID", "OCEAN__"),
            Some(vec!["port".to_owned(), "client_id".to_owned()])
        );
        assert_eq!(variable_path("OCEANX__PORT", "OCEAN__"), None);
        assert_eq!(variable_path("OCEAN__", "OCEAN__"), None);
        assert_eq!(variable_path("OCEAN__A____B", "OCEAN__"), None);
        assert_eq!(variable_path("OC", "OCEAN__"), None);
    }

    #[test]
    fn provider_reference_recognises_env_and_unknown_kinds() {
        assert_eq!(
            provider_reference("{{ from env JIRA_HOST }}"),
            Some(Provider::Env("JIRA_HOST"))
        );
        assert_eq!(
            provider_reference("{{ from vault x }}"),
            Some(Provider::Unknown("vault"))
        );
        assert_eq!(provider_reference("plain"), None);
        assert_eq!(provider_reference("{{ env X }}"), None);
    }

    #[test]
    fn yaml_keys_are_decamelized_and_providers_resolved_from_the_env_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "eventListener:\n  type: ONCE\nintegration:\n  identifier: \"{{ from env ID }}\"\n  \
             config:\n    jiraHost: \"{{ from env JIRA_HOST }}\"\n    missing: \"{{ from env NOPE }}\"\n    \
             labelMap:\n      someKey: 1\n",
        )
        .unwrap();
        let sources = ConfigSources::new()
            .with_env_var("ID", "my-jira")
            .with_env_var("JIRA_HOST", "https://jira.example.com")
            .with_config_yaml(&path);
        let tree = sources.layer("OCEAN__", true, Vec::new()).unwrap();
        assert_eq!(tree.get(&["event_listener", "type"]), Some(&json!("ONCE")));
        assert_eq!(
            tree.get(&["integration", "identifier"]),
            Some(&json!("my-jira"))
        );
        assert_eq!(
            tree.get(&["integration", "config"]),
            Some(&json!({
                "jira_host": "https://jira.example.com",
                "label_map": {"someKey": 1}
            }))
        );
    }

    #[test]
    fn dotenv_is_read_but_never_exported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "OCEAN__TEST_ONLY_DOTENV_MARKER=from-file\n").unwrap();
        let tree = ConfigSources::new()
            .with_dotenv(&path)
            .layer("OCEAN__", false, Vec::new())
            .unwrap();
        assert_eq!(
            tree.get(&["test_only_dotenv_marker"]),
            Some(&json!("from-file"))
        );
        assert!(std::env::var_os("OCEAN__TEST_ONLY_DOTENV_MARKER").is_none());
    }

    #[test]
    fn malformed_dotenv_error_does_not_quote_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "OCEAN__PORT__CLIENT_SECRET='hunter2\n").unwrap();
        let err = ConfigSources::new()
            .with_dotenv(&path)
            .layer("OCEAN__", false, Vec::new())
            .unwrap_err();
        assert!(matches!(err, ConfigError::DotEnv { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn missing_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let tree = ConfigSources::new()
            .with_dotenv(dir.path().join(".env"))
            .with_config_yaml(dir.path().join("config.yaml"))
            .layer("OCEAN__", true, Vec::new())
            .unwrap();
        assert_eq!(tree.root(), &json!({}));
    }

    #[test]
    fn yaml_that_is_not_a_mapping_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "- a\n- b\n").unwrap();
        let err = ConfigSources::new()
            .with_config_yaml(&path)
            .layer("OCEAN__", true, Vec::new())
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("expected a YAML mapping of settings, got a list"),
            "{err}"
        );
    }

    #[test]
    fn debug_of_sources_shows_names_not_values() {
        let sources = ConfigSources::new()
            .with_env_var("OCEAN__PORT__CLIENT_SECRET", "hunter2")
            .with_override("OCEAN__X", "hunter3");
        let shown = format!("{sources:?}");
        assert!(shown.contains("OCEAN__PORT__CLIENT_SECRET"));
        assert!(!shown.contains("hunter2") && !shown.contains("hunter3"));
    }
}
