//! Process-level settings (`APPLICATION__*`): log level and HTTP port.

use super::de::from_tree;
use super::error::ConfigError;
use super::sources::ConfigSources;
use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// Prefix of the process-level variables.
pub const APPLICATION_PREFIX: &str = "APPLICATION__";

/// Settings of the process rather than the integration. Read from overrides, the environment
/// and `.env` (not `config.yaml`). Unlike Python Ocean, where the environment beats the CLI,
/// an override (a CLI flag) wins here as it does for every other setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ApplicationSettings {
    /// Minimum level of log lines (`APPLICATION__LOG_LEVEL`, default INFO).
    pub log_level: LogLevel,
    /// Port the HTTP server listens on (`APPLICATION__PORT`, default 8000).
    pub port: u16,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        Self {
            log_level: LogLevel::Info,
            port: 8000,
        }
    }
}

impl ApplicationSettings {
    /// Loads the settings from `sources`.
    pub fn load(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let tree = sources.layer(APPLICATION_PREFIX, false, Vec::new())?;
        from_tree(tree.root(), Vec::new(), tree.provenance())
    }
}

/// Ocean's log levels (case-insensitive; `WARN` and `TRACE` are accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Everything, including per-item detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Something unexpected that did not stop work.
    Warning,
    /// Failures.
    Error,
    /// Failures that stop the process; logged as errors.
    Critical,
}

const LOG_LEVEL_CHOICES: &str = "one of DEBUG, INFO, WARNING, ERROR, CRITICAL";

impl LogLevel {
    /// The matching `tracing` level (CRITICAL maps to ERROR).
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            LogLevel::Trace => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Critical => tracing::Level::ERROR,
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        })
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Ok(LogLevel::Trace),
            "DEBUG" => Ok(LogLevel::Debug),
            "INFO" => Ok(LogLevel::Info),
            "WARNING" | "WARN" => Ok(LogLevel::Warning),
            "ERROR" => Ok(LogLevel::Error),
            "CRITICAL" => Ok(LogLevel::Critical),
            _ => Err(de::Error::invalid_value(
                Unexpected::Str(&name),
                &LOG_LEVEL_CHOICES,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_info_and_8000() {
        let settings = ApplicationSettings::load(&ConfigSources::new()).unwrap();
        assert_eq!(settings, ApplicationSettings::default());
        assert_eq!(settings.log_level, LogLevel::Info);
        assert_eq!(settings.port, 8000);
    }

    #[test]
    fn reads_application_variables_case_insensitively() {
        let sources = ConfigSources::new()
            .with_env_var("application__log_level", "debug")
            .with_env_var("APPLICATION__PORT", "9000");
        let settings = ApplicationSettings::load(&sources).unwrap();
        assert_eq!(settings.log_level, LogLevel::Debug);
        assert_eq!(settings.log_level.tracing_level(), tracing::Level::DEBUG);
        assert_eq!(settings.port, 9000);
    }

    #[test]
    fn override_beats_environment() {
        let sources = ConfigSources::new()
            .with_env_var("APPLICATION__PORT", "9000")
            .with_override("APPLICATION__PORT", 9100);
        assert_eq!(ApplicationSettings::load(&sources).unwrap().port, 9100);
    }

    #[test]
    fn bad_log_level_names_the_variable() {
        let sources = ConfigSources::new().with_env_var("APPLICATION__LOG_LEVEL", "LOUD");
        let err = ApplicationSettings::load(&sources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "APPLICATION__LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got \"LOUD\""
        );
    }

    #[test]
    fn bad_port_names_the_variable() {
        let sources = ConfigSources::new().with_env_var("APPLICATION__PORT", "80000");
        let err = ApplicationSettings::load(&sources).unwrap_err();
        assert_eq!(
            err.to_string(),
            "APPLICATION__PORT: expected an integer from 0 to 65535, got \"80000\""
        );
    }
}
