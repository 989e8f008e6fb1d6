//! Webhook signature verifiers over raw request bytes: Port, GitHub, GitLab, Standard Webhooks.
