//! Loading settings from every kind of source at once: precedence, `.env`, `config.yaml`.

use ocean::config::{
    ApplicationSettings, ConfigError, ConfigSources, EventListenerType, LogLevel, OceanSettings,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

struct Files {
    dir: TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn load(sources: &ConfigSources) -> Result<OceanSettings, ConfigError> {
    OceanSettings::load(sources, Some("fake"))
}

/// Each source sets the same four settings; each higher source leaves one fewer to the
/// sources below it, so every level of the order is observed.
#[test]
fn precedence_is_override_then_env_then_dotenv_then_config_yaml() {
    let files = Files::new();
    let yaml = files.write(
        "config.yaml",
        "eventWorkersCount: 1\nclientTimeout: 1\nresourcesPath: from-yaml\n\
         integration:\n  identifier: from-yaml\n",
    );
    let dotenv = files.write(
        ".env",
        "OCEAN__EVENT_WORKERS_COUNT=2\nOCEAN__CLIENT_TIMEOUT=2\nOCEAN__RESOURCES_PATH=from-dotenv\n",
    );
    let sources = ConfigSources::new()
        .with_config_yaml(&yaml)
        .with_dotenv(&dotenv)
        .with_env_var("OCEAN__EVENT_WORKERS_COUNT", "3")
        .with_env_var("OCEAN__CLIENT_TIMEOUT", "3")
        .with_override("OCEAN__EVENT_WORKERS_COUNT", 4);
    let s = load(&sources).unwrap();
    assert_eq!(s.event_workers_count, 4, "override beats env");
    assert_eq!(s.client_timeout, Duration::from_secs(3), "env beats .env");
    assert_eq!(
        s.resources_path,
        Path::new("from-dotenv"),
        ".env beats config.yaml"
    );
    assert_eq!(
        s.integration.identifier, "from-yaml",
        "config.yaml beats defaults"
    );
}

#[test]
fn config_yaml_camel_case_keys_and_env_references() {
    let files = Files::new();
    let yaml = files.write(
        "config.yaml",
        r#"
initializePortResources: false
scheduledResyncInterval: 30
port:
  clientId: "{{ from env PORT_CLIENT_ID }}"
  clientSecret: "{{ from env PORT_CLIENT_SECRET }}"
  baseUrl: https://api.us.getport.io
eventListener:
  type: WEBHOOKS_ONLY
integration:
  identifier: "{{ from env UNSET_IDENTIFIER }}"
  type: jira
  config:
    jiraHost: "{{ from env JIRA_HOST }}"
    departmentCount: 12
    projectKeys: ["OPS", "DEV"]
"#,
    );
    let sources = ConfigSources::new()
        .with_config_yaml(&yaml)
        .with_env_var("PORT_CLIENT_ID", "yaml-id")
        .with_env_var("PORT_CLIENT_SECRET", "yaml-secret")
        .with_env_var("JIRA_HOST", "https://example.atlassian.net");
    let s = load(&sources).unwrap();
    assert!(!s.initialize_port_resources);
    assert_eq!(
        s.scheduled_resync_interval,
        Some(Duration::from_secs(30 * 60))
    );
    let (id, secret) = s.port.credentials().unwrap();
    assert_eq!((id.expose(), secret.expose()), ("yaml-id", "yaml-secret"));
    assert_eq!(s.port.base_url, "https://api.us.getport.io");
    assert_eq!(s.event_listener.r#type, EventListenerType::WebhooksOnly);
    assert!(!s.event_listener.should_resync);
    assert_eq!(s.integration.r#type, "jira");
    // An unresolvable reference leaves the key unset, so the default applies.
    assert_eq!(s.integration.identifier, "my-jira-integration");

    #[derive(Deserialize)]
    struct Jira {
        jira_host: String,
        department_count: u32,
        project_keys: Vec<String>,
    }
    let jira: Jira = s.integration_config().unwrap();
    assert_eq!(jira.jira_host, "https://example.atlassian.net");
    assert_eq!(jira.department_count, 12);
    assert_eq!(jira.project_keys, ["OPS", "DEV"]);
}

#[test]
fn environment_refines_a_section_from_config_yaml() {
    let files = Files::new();
    let yaml = files.write(
        "config.yaml",
        "eventListener:\n  type: POLLING\n  interval: 10\n",
    );
    let sources = ConfigSources::new()
        .with_config_yaml(&yaml)
        .with_env_var("OCEAN__EVENT_LISTENER", r#"{"type": "ONCE"}"#);
    let s = load(&sources).unwrap();
    assert_eq!(s.event_listener.r#type, EventListenerType::Once);
    assert_eq!(s.event_listener.interval, Duration::from_secs(10));
}

#[test]
fn error_from_config_yaml_names_the_variable_and_the_key() {
    let files = Files::new();
    let yaml = files.write("config.yaml", "eventListener:\n  type: FOO\n");
    let err = load(&ConfigSources::new().with_config_yaml(&yaml)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "OCEAN__EVENT_LISTENER__TYPE: expected one of POLLING, ONCE, WEBHOOKS_ONLY, got \"FOO\" \
             (set by key `eventListener.type` in "
        ),
        "{message}"
    );
}

#[test]
fn error_from_dotenv_names_the_file() {
    let files = Files::new();
    let dotenv = files.write(".env", "OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT=ten\n");
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Demo {
        department_count: u64,
    }
    let s = load(&ConfigSources::new().with_dotenv(&dotenv)).unwrap();
    let err = s.integration_config::<Demo>().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT: expected an unsigned integer, \
             got \"ten\" (set by OCEAN__INTEGRATION__CONFIG__DEPARTMENT_COUNT in {})",
            dotenv.display()
        )
    );
}

#[test]
fn secrets_from_files_stay_out_of_debug_and_errors() {
    let files = Files::new();
    let dotenv = files.write(
        ".env",
        "OCEAN__PORT__CLIENT_ID=dotenv-id\nOCEAN__PORT__CLIENT_SECRET=dotenv-secret\n\
         OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET=hook-secret\n",
    );
    let s = load(&ConfigSources::new().with_dotenv(&dotenv)).unwrap();
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("dotenv-secret") && !shown.contains("hook-secret"),
        "{shown}"
    );
    assert!(!shown.contains("dotenv-id"), "{shown}");

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        webhook_secret: Vec<u8>,
    }
    let err = s.integration_config::<Wrong>().unwrap_err();
    assert!(!err.to_string().contains("hook-secret"), "{err}");
    assert!(!format!("{err:?}").contains("hook-secret"));
}

#[test]
fn absent_files_are_fine() {
    let files = Files::new();
    let sources = ConfigSources::new()
        .with_dotenv(files.path(".env"))
        .with_config_yaml(files.path("config.yaml"));
    let s = load(&sources).unwrap();
    assert_eq!(s.event_listener.r#type, EventListenerType::Polling);
}

#[test]
fn application_settings_read_dotenv_and_env() {
    let files = Files::new();
    let dotenv = files.write(
        ".env",
        "APPLICATION__LOG_LEVEL=WARNING\nAPPLICATION__PORT=8100\n",
    );
    let sources = ConfigSources::new()
        .with_dotenv(&dotenv)
        .with_env_var("APPLICATION__PORT", "8200");
    let app = ApplicationSettings::load(&sources).unwrap();
    assert_eq!(app.log_level, LogLevel::Warning);
    assert_eq!(app.port, 8200);
}

#[test]
fn one_port_credential_in_dotenv_and_the_other_nowhere_is_an_error_naming_both_places() {
    let files = Files::new();
    let dotenv = files.write(".env", "OCEAN__PORT__CLIENT_SECRET=dotenv-secret\n");
    let err = load(&ConfigSources::new().with_dotenv(&dotenv)).unwrap_err();
    assert_eq!(err.variable(), Some("OCEAN__PORT__CLIENT_ID"));
    assert!(
        err.to_string().contains(&format!(
            "OCEAN__PORT__CLIENT_SECRET is set (by OCEAN__PORT__CLIENT_SECRET in {})",
            dotenv.display()
        )),
        "{err}"
    );
    assert!(!err.to_string().contains("dotenv-secret"), "{err}");
}

#[test]
fn credentials_split_across_sources_count_as_both_given() {
    let files = Files::new();
    let yaml = files.write("config.yaml", "port:\n  clientId: yaml-id\n");
    let sources = ConfigSources::new()
        .with_config_yaml(&yaml)
        .with_env_var("OCEAN__PORT__CLIENT_SECRET", "env-secret");
    let s = load(&sources).unwrap();
    assert!(s.port.credentials().is_some());
}

#[test]
fn unknown_names_in_dotenv_and_config_yaml_are_reported_where_they_were_written() {
    let files = Files::new();
    let dotenv = files.write(".env", "OCEAN__EVENT_LISTENR__TYPE=ONCE\n");
    let yaml = files.write(
        "config.yaml",
        "eventListener:\n  intervall: 5\nintegration:\n  config:\n    anyKey: 1\n",
    );
    let sources = ConfigSources::new()
        .with_dotenv(&dotenv)
        .with_config_yaml(&yaml);
    let unknown = OceanSettings::unknown_settings(&sources).unwrap();
    let names: Vec<(&str, Option<&str>)> = unknown
        .iter()
        .map(|u| (u.name.as_str(), u.suggestion.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "OCEAN__EVENT_LISTENER__INTERVALL",
                Some("OCEAN__EVENT_LISTENER__INTERVAL")
            ),
            (
                "OCEAN__EVENT_LISTENR__TYPE",
                Some("OCEAN__EVENT_LISTENER__TYPE")
            ),
        ]
    );
    assert!(
        unknown[0].to_string().contains(&format!(
            "(set by key `eventListener.intervall` in {})",
            yaml.display()
        )),
        "{}",
        unknown[0]
    );
    assert!(
        unknown[1].to_string().contains(&format!(
            "(set by OCEAN__EVENT_LISTENR__TYPE in {})",
            dotenv.display()
        )),
        "{}",
        unknown[1]
    );
    load(&sources).unwrap();
}

#[test]
fn redis_settings_in_config_yaml_are_refused() {
    let files = Files::new();
    let yaml = files.write(
        "config.yaml",
        "liveEvents:\n  redis:\n    url: redis://cache:6379\n",
    );
    let err = load(&ConfigSources::new().with_config_yaml(&yaml)).unwrap_err();
    assert_eq!(err.variable(), Some("OCEAN__LIVE_EVENTS__REDIS__URL"));
    assert!(
        err.to_string()
            .contains("the Redis queue backend is not available yet"),
        "{err}"
    );
    assert!(
        err.to_string().contains("key `liveEvents.redis.url`"),
        "{err}"
    );
}
