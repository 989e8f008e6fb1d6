//! Configuration: `OCEAN__*` environment variables, `.env`, `config.yaml`, and the author's typed
//! integration settings.

mod secret;

pub use secret::Secret;
