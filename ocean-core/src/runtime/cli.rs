//! The command line of an integration binary.

use crate::config::ConfigSources;

/// Flags every integration binary accepts. Each one overrides the matching setting, whatever
/// the environment, `.env` or `config.yaml` say.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Parser)]
#[command(about = "A Port integration built with Ocean for Rust")]
pub struct Cli {
    /// Run one resync and exit (sets the event listener to ONCE).
    #[arg(long, short = 'O')]
    pub once: bool,
    /// Port of the HTTP server (APPLICATION__PORT); 0 picks a free one.
    #[arg(long)]
    pub port: Option<u16>,
    /// Minimum log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (APPLICATION__LOG_LEVEL).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Whether to create the default blueprints and mapping in Port at start.
    #[arg(long)]
    pub initialize_port_resources: Option<bool>,
    /// Print the integration's name, version, configuration type and handlers as JSON, then exit.
    #[arg(long)]
    pub about: bool,
}

impl Cli {
    /// `sources` with this command line's overrides added.
    pub fn apply(&self, mut sources: ConfigSources) -> ConfigSources {
        if self.once {
            sources = sources.with_override("OCEAN__EVENT_LISTENER__TYPE", "ONCE");
        }
        if let Some(port) = self.port {
            sources = sources.with_override("APPLICATION__PORT", port);
        }
        if let Some(level) = &self.log_level {
            sources = sources.with_override("APPLICATION__LOG_LEVEL", level.as_str());
        }
        if let Some(init) = self.initialize_port_resources {
            sources = sources.with_override("OCEAN__INITIALIZE_PORT_RESOURCES", init);
        }
        sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApplicationSettings, EventListenerType, LogLevel, OceanSettings};
    use clap::Parser;

    #[test]
    fn once_port_and_log_level_override_the_environment() {
        let cli =
            Cli::try_parse_from(["x", "--once", "--port", "0", "--log-level", "debug"]).unwrap();
        let sources = cli.apply(
            ConfigSources::new()
                .with_env_var("OCEAN__EVENT_LISTENER__TYPE", "POLLING")
                .with_env_var("APPLICATION__PORT", "9000"),
        );
        let settings = OceanSettings::load(&sources, Some("fake")).unwrap();
        assert_eq!(settings.event_listener.r#type, EventListenerType::Once);
        let app = ApplicationSettings::load(&sources).unwrap();
        assert_eq!(app.port, 0);
        assert_eq!(app.log_level, LogLevel::Debug);
    }

    #[test]
    fn no_flags_change_nothing() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert!(cli.apply(ConfigSources::new()).overrides.is_empty());
    }
}
