//! Why configuration could not be loaded, always naming the variable at fault.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from. Shown after an error so an operator knows what to fix when
/// the value did not come from the variable the error names (a JSON object, `.env`, `config.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingOrigin {
    /// Not set anywhere: a built-in default, or nothing at all.
    Unset,
    /// A programmatic override (for example `--once`).
    Override {
        /// The override's name as given.
        name: String,
    },
    /// The process environment.
    Environment {
        /// The variable's name as it appears in the environment.
        name: String,
    },
    /// A `.env` file.
    DotEnv {
        /// The file.
        path: PathBuf,
        /// The variable's name as written in the file.
        name: String,
    },
    /// A `config.yaml` file.
    ConfigYaml {
        /// The file.
        path: PathBuf,
        /// The dotted key path as written in the file (camelCase allowed).
        key: String,
    },
}

impl SettingOrigin {
    /// Where a value came from, in words; `None` when it needs no mention (unset, or set by
    /// `variable` itself in the environment).
    pub(crate) fn place(&self, variable: &str) -> Option<String> {
        match self {
            SettingOrigin::Unset => None,
            SettingOrigin::Environment { name } if name == variable => None,
            SettingOrigin::Environment { name } => Some(format!("environment variable {name}")),
            SettingOrigin::Override { name } => Some(format!("override {name}")),
            SettingOrigin::DotEnv { path, name } => Some(format!("{name} in {}", path.display())),
            SettingOrigin::ConfigYaml { path, key } => {
                Some(format!("key `{key}` in {}", path.display()))
            }
        }
    }

    /// Suffix for an error about a value of `variable`: where that value was set.
    pub(crate) fn describe_for(&self, variable: &str) -> String {
        self.place(variable)
            .map(|place| format!(" (set by {place})"))
            .unwrap_or_default()
    }

    /// Suffix for an error about a key missing from an object that came from here.
    pub(crate) fn describe_missing_from(&self, variable: &str) -> String {
        self.place(variable)
            .map(|place| format!(" (not given in {place})"))
            .unwrap_or_default()
    }
}

/// A configuration problem that stops startup. Messages name the variable and say what was
/// expected and what came; a sensitive setting's value is never part of a message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting has a value of the wrong shape.
    #[error("{variable}: expected {expected}, got {got}{}", origin.describe_for(variable))]
    Invalid {
        /// The environment-variable name of the setting (`OCEAN__EVENT_LISTENER__TYPE`).
        variable: String,
        /// What the setting accepts.
        expected: String,
        /// What came instead (a sensitive value is described, never shown).
        got: String,
        /// Where the value came from.
        origin: Box<SettingOrigin>,
    },
    /// A required setting has no value in any source.
    #[error("{variable}: required setting is missing{}", origin.describe_missing_from(variable))]
    Missing {
        /// The environment-variable name of the missing setting.
        variable: String,
        /// Where the enclosing object came from, when not from individual variables.
        origin: Box<SettingOrigin>,
    },
    /// Several required settings have no value in any source; all of them are listed.
    #[error("required settings are missing: {}", variables.join(", "))]
    MissingSeveral {
        /// The environment-variable names of the missing settings, in the order they were found.
        variables: Vec<String>,
    },
    /// A setting is required because a related one is set (one Port credential without the
    /// other).
    #[error("{variable}: required setting is missing, because {reason}")]
    MissingCompanion {
        /// The environment-variable name of the missing setting.
        variable: String,
        /// Which setting requires it, where that one was set, and what to do.
        reason: String,
    },
    /// A setting has a well-formed value that this implementation refuses.
    #[error("{variable}: {reason}{}", origin.describe_for(variable))]
    Rejected {
        /// The environment-variable name of the setting.
        variable: String,
        /// Why the value is refused and what to use instead.
        reason: String,
        /// Where the value came from.
        origin: Box<SettingOrigin>,
    },
    /// A configuration file exists but could not be read.
    #[error("could not read configuration file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        error: std::io::Error,
    },
    /// `config.yaml` is not a YAML mapping of settings.
    #[error("{}: expected a YAML mapping of settings, got {problem}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never the file's values).
        problem: String,
    },
    /// `.port/spec.yaml` cannot be used.
    #[error("{}: {problem}", path.display())]
    Spec {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A `.env` file has a line that is not `NAME=value`.
    #[error("{}: expected NAME=value lines, got {problem}", path.display())]
    DotEnv {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never the line's text, which may hold a secret).
        problem: String,
    },
}

impl ConfigError {
    /// The environment-variable name of the setting at fault, when the error is about one.
    /// For [`ConfigError::MissingSeveral`], the first of them; see [`ConfigError::variables`].
    pub fn variable(&self) -> Option<&str> {
        self.variables().into_iter().next()
    }

    /// Every environment-variable name the error is about (empty for file errors).
    pub fn variables(&self) -> Vec<&str> {
        match self {
            ConfigError::Invalid { variable, .. }
            | ConfigError::Missing { variable, .. }
            | ConfigError::MissingCompanion { variable, .. }
            | ConfigError::Rejected { variable, .. } => vec![variable.as_str()],
            ConfigError::MissingSeveral { variables } => {
                variables.iter().map(String::as_str).collect()
            }
            ConfigError::Read { .. }
            | ConfigError::Yaml { .. }
            | ConfigError::Spec { .. }
            | ConfigError::DotEnv { .. } => Vec::new(),
        }
    }
}

/// Describes a value for an error message without revealing sensitive content.
pub(crate) struct Shown<'a> {
    pub(crate) value: &'a serde_json::Value,
    pub(crate) sensitive: bool,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use serde_json::Value;
        match self.value {
            Value::Null => f.write_str("null"),
            Value::Array(_) => f.write_str("a list"),
            Value::Object(_) => f.write_str("an object"),
            _ if self.sensitive => f.write_str("a value that is not shown (sensitive setting)"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => match url_without_password(s) {
                Some(redacted) => write!(f, "{redacted:?}"),
                None => write!(f, "{s:?}"),
            },
        }
    }
}

/// A URL with its password masked, when `text` is a URL that carries one
/// (`redis://:pw@host` must not reach a log or an error).
pub(crate) fn url_without_password(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    url.password()?;
    url.set_password(Some("REDACTED")).ok()?;
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_the_variable_and_omits_origin_when_it_is_that_variable() {
        let err = ConfigError::Invalid {
            variable: "OCEAN__EVENT_LISTENER__TYPE".into(),
            expected: "one of POLLING, ONCE, WEBHOOKS_ONLY".into(),
            got: "\"FOO\"".into(),
            origin: Box::new(SettingOrigin::Environment {
                name: "OCEAN__EVENT_LISTENER__TYPE".into(),
            }),
        };
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_LISTENER__TYPE: expected one of POLLING, ONCE, WEBHOOKS_ONLY, got \"FOO\""
        );
        assert_eq!(err.variable(), Some("OCEAN__EVENT_LISTENER__TYPE"));
    }

    #[test]
    fn invalid_from_config_yaml_says_which_key() {
        let err = ConfigError::Invalid {
            variable: "OCEAN__EVENT_WORKERS_COUNT".into(),
            expected: "an unsigned integer".into(),
            got: "\"two\"".into(),
            origin: Box::new(SettingOrigin::ConfigYaml {
                path: "config.yaml".into(),
                key: "eventWorkersCount".into(),
            }),
        };
        assert_eq!(
            err.to_string(),
            "OCEAN__EVENT_WORKERS_COUNT: expected an unsigned integer, got \"two\" \
             (set by key `eventWorkersCount` in config.yaml)"
        );
    }

    #[test]
    fn shown_hides_sensitive_scalars() {
        let v = serde_json::json!("hunter2");
        let shown = Shown {
            value: &v,
            sensitive: true,
        }
        .to_string();
        assert!(!shown.contains("hunter2"));
        let plain = Shown {
            value: &v,
            sensitive: false,
        }
        .to_string();
        assert_eq!(plain, "\"hunter2\"");
    }

    #[test]
    fn shown_masks_passwords_inside_urls() {
        let v = serde_json::json!("redis://user:hunter2@cache:6379");
        let shown = Shown {
            value: &v,
            sensitive: false,
        }
        .to_string();
        assert_eq!(shown, "\"redis://user:REDACTED@cache:6379\"");
    }
}
