//! A Jira integration for Ocean: Jira projects and issues in Port, by resync and by live
//! events.
//!
//! - [`resync`]: `#[on_resync]` handlers for the `project` and `issue` kinds (the issue
//!   resource's `selector.jql` chooses the issues);
//! - [`webhooks`]: processors for Jira's issue and project webhooks on `/webhook`, which
//!   re-fetch the item from Jira and verify Jira's `X-Hub-Signature` when a secret is set;
//! - [`registration`]: the start hook registering the webhook in Jira;
//! - [`client`]: the Jira REST calls these need.
//!
//! The binary (`src/main.rs`) runs them with `ocean::run!`.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod client;
pub mod config;
pub mod registration;
pub mod resync;
pub mod signature;
pub mod webhooks;

pub use client::{IssueQuery, JiraClient, JiraError};
pub use config::JiraConfig;
pub use registration::{WebhookRegistration, ensure_webhook, webhook_url};
pub use resync::{DEFAULT_JQL, IssueSelector};
pub use signature::WebhookAuth;
pub use webhooks::{IssueWebhookProcessor, ProjectWebhookProcessor};
