//! The Jira integration's binary: see the crate's README for its settings.

ocean::run!(config = jira::JiraConfig, crates = [jira]);
