//! The entity datasource: the user agent Ocean sends, which Port records on every entity it
//! writes and which defines ownership (`port-ocean/{type}/{version}/{identifier}/{feature}`).

use std::fmt;

/// Which Ocean feature wrote an entity (the last segment of the user agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// Resyncs and live events.
    Exporter,
    /// GitOps-style writes.
    Gitops,
}

impl Feature {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Exporter => "exporter",
            Feature::Gitops => "gitops",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one integration installation and feature as an entity datasource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Datasource {
    /// Integration type, e.g. `jira`.
    pub integration_type: String,
    /// Integration version.
    pub version: String,
    /// Installation identifier.
    pub identifier: String,
    /// The writing feature.
    pub feature: Feature,
}

impl Datasource {
    /// A datasource for the exporter feature.
    pub fn exporter(
        integration_type: impl Into<String>,
        version: impl Into<String>,
        identifier: impl Into<String>,
    ) -> Self {
        Self {
            integration_type: integration_type.into(),
            version: version.into(),
            identifier: identifier.into(),
            feature: Feature::Exporter,
        }
    }

    /// The user agent with the feature: `port-ocean/{type}/{version}/{identifier}/{feature}`.
    pub fn user_agent(&self) -> String {
        format!(
            "port-ocean/{}/{}/{}/{}",
            self.integration_type, self.version, self.identifier, self.feature
        )
    }

    /// The user agent without the feature, as sent on authentication.
    pub fn base_user_agent(&self) -> String {
        format!(
            "port-ocean/{}/{}/{}",
            self.integration_type, self.version, self.identifier
        )
    }

    /// The datasource prefix used when searching this integration's entities: `port-ocean/{type}/`.
    pub fn prefix(&self) -> String {
        format!("port-ocean/{}/", self.integration_type)
    }

    /// The datasource suffix used when searching this integration's entities: `/{identifier}/{feature}`.
    pub fn suffix(&self) -> String {
        format!("/{}/{}", self.identifier, self.feature)
    }

    /// Parses a user agent of the form `port-ocean/{type}/{version}/{identifier}/{feature}`.
    /// Returns `None` for anything else (other clients have no Ocean datasource).
    pub fn parse(user_agent: &str) -> Option<Self> {
        let rest = user_agent.strip_prefix("port-ocean/")?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != 4 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let feature = match parts[3] {
            "exporter" => Feature::Exporter,
            "gitops" => Feature::Gitops,
            _ => return None,
        };
        Some(Self {
            integration_type: parts[0].to_owned(),
            version: parts[1].to_owned(),
            identifier: parts[2].to_owned(),
            feature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_has_type_version_identifier_feature_in_that_order() {
        let ds = Datasource::exporter("jira", "1.2.3", "my-jira");
        assert_eq!(ds.user_agent(), "port-ocean/jira/1.2.3/my-jira/exporter");
        assert_eq!(ds.base_user_agent(), "port-ocean/jira/1.2.3/my-jira");
        assert_eq!(ds.prefix(), "port-ocean/jira/");
        assert_eq!(ds.suffix(), "/my-jira/exporter");
        assert_eq!(Datasource::parse(&ds.user_agent()), Some(ds));
    }

    #[test]
    fn parse_rejects_foreign_or_incomplete_user_agents() {
        assert_eq!(Datasource::parse("curl/8.0"), None);
        assert_eq!(Datasource::parse("port-ocean/jira/1.0/id"), None);
        assert_eq!(Datasource::parse("port-ocean/jira/1.0/id/other"), None);
    }
}
