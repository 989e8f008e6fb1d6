//! The Port REST client: authentication, retries, entities, blueprints, integrations, webhooks.
