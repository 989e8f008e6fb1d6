//! Resync handlers: every project, and the issues the resource's JQL selects, one batch per
//! Jira page.

use crate::client::{DEFAULT_ISSUE_FIELDS, IssueQuery, JiraClient, JiraError};
use futures::StreamExt;
use ocean::mapping::ResourceConfig;
use ocean::{Context, RawItem, Result, Stream, on_resync, try_stream};
use serde::Deserialize;

/// The JQL of an issue resource whose selector names none: open issues, and anything created
/// or updated in the last week.
pub const DEFAULT_JQL: &str = "(statusCategory != Done) OR (created >= -1w) OR (updated >= -1w)";

/// The Jira-specific keys of an issue resource's selector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueSelector {
    /// Which issues to sync (default [`DEFAULT_JQL`]).
    #[serde(default = "default_jql")]
    pub jql: String,
    /// Which fields to fetch (default `*all`).
    #[serde(default = "default_fields")]
    pub fields: String,
}

fn default_jql() -> String {
    DEFAULT_JQL.to_owned()
}

fn default_fields() -> String {
    DEFAULT_ISSUE_FIELDS.to_owned()
}

impl Default for IssueSelector {
    fn default() -> Self {
        Self {
            jql: default_jql(),
            fields: default_fields(),
        }
    }
}

impl IssueSelector {
    /// The selector of `resource`, or the defaults when there is no resource.
    pub fn of(resource: Option<&ResourceConfig>) -> Result<Self> {
        match resource {
            Some(resource) => Ok(resource.selector.extra_as::<IssueSelector>()?),
            None => Ok(Self::default()),
        }
    }

    /// The query listing every issue the selector selects.
    pub fn query(&self) -> IssueQuery {
        IssueQuery {
            jql: self.jql.clone(),
            fields: self.fields.clone(),
        }
    }

    /// The query fetching the one issue `key`, if the selector still selects it.
    ///
    /// The selector's JQL is parenthesised: JQL binds `AND` tighter than `OR`, so appending
    /// `AND key = X` to the default `A OR B OR C` would select far more than one issue.
    pub fn query_for_key(&self, key: &str) -> IssueQuery {
        let key = jql_string(key);
        let jql = if self.jql.trim().is_empty() {
            format!("key = {key}")
        } else {
            format!("({}) AND key = {key}", self.jql)
        };
        IssueQuery {
            jql,
            fields: self.fields.clone(),
        }
    }
}

/// A JQL string literal.
fn jql_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Every project, one batch per page.
#[on_resync(kind = "project")]
pub fn projects(ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    try_stream! {
        let client = JiraClient::from_context(&ctx)?;
        let pages = client.projects();
        futures::pin_mut!(pages);
        while let Some(page) = pages.next().await {
            yield page.map_err(JiraError::into_ocean)?;
        }
    }
}

/// The issues the resource's `selector.jql` selects, one batch per page.
#[on_resync(kind = "issue")]
pub fn issues(ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    try_stream! {
        let client = JiraClient::from_context(&ctx)?;
        let selector = IssueSelector::of(ctx.resource())?;
        tracing::info!(jql = %selector.jql, "listing Jira issues");
        let pages = client.issues(selector.query());
        futures::pin_mut!(pages);
        while let Some(page) = pages.next().await {
            yield page.map_err(JiraError::into_ocean)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean::mapping::PortAppConfig;

    fn resource(selector: &str) -> ResourceConfig {
        let yaml = format!(
            "resources:\n  - kind: issue\n    selector: {selector}\n    port:\n      entity:\n        mappings:\n          identifier: .key\n          blueprint: '\"jiraIssue\"'\n"
        );
        PortAppConfig::parse(&yaml).unwrap().resources.remove(0)
    }

    #[test]
    fn the_selector_jql_is_read_and_defaults_apply() {
        let custom =
            IssueSelector::of(Some(&resource("{query: 'true', jql: 'project = SEC'}"))).unwrap();
        assert_eq!(custom.jql, "project = SEC");
        assert_eq!(custom.fields, "*all");
        let default = IssueSelector::of(Some(&resource("{query: 'true'}"))).unwrap();
        assert_eq!(default, IssueSelector::default());
        assert_eq!(IssueSelector::of(None).unwrap().jql, DEFAULT_JQL);
    }

    #[test]
    fn a_selector_jql_of_the_wrong_type_is_an_error_naming_the_selector() {
        let err = IssueSelector::of(Some(&resource("{query: 'true', jql: [1]}"))).unwrap_err();
        assert!(err.to_string().contains("selector"), "{err}");
    }

    #[test]
    fn the_single_issue_query_parenthesises_the_selector_and_quotes_the_key() {
        let selector = IssueSelector::default();
        assert_eq!(
            selector.query_for_key("SEC-108").jql,
            format!("({DEFAULT_JQL}) AND key = \"SEC-108\"")
        );
        let empty = IssueSelector {
            jql: " ".into(),
            ..IssueSelector::default()
        };
        assert_eq!(empty.query_for_key("A\"B").jql, "key = \"A\\\"B\"");
    }
}
