//! Which Port the integration talks to: the configured one, or an embedded local Port.

use super::IntegrationInfo;
use crate::config::{DEFAULT_PORT_BASE_URL, OceanSettings, Secret};
use crate::port::Datasource;
use crate::port::client::{PortClient, PortClientConfig, PortError};
use crate::port::local::{LocalPort, LocalPortError, LocalPortHandle};

/// Why no Port client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The client configuration is invalid.
    #[error(transparent)]
    Client(#[from] PortError),
    /// The embedded local Port did not start.
    #[error(transparent)]
    LocalPort(#[from] LocalPortError),
}

/// The Port client, and the embedded local Port it talks to when there is one.
#[derive(Debug)]
pub struct PortConnection {
    /// The client every component shares.
    pub client: PortClient,
    /// The embedded local Port (no credentials were given).
    pub local: Option<LocalPortHandle>,
}

impl PortConnection {
    /// True when the integration runs against an in-process local Port.
    pub fn is_embedded(&self) -> bool {
        self.local.is_some()
    }
}

/// The datasource (user agent) this integration writes as.
pub fn datasource(settings: &OceanSettings, info: &IntegrationInfo) -> Datasource {
    Datasource::exporter(
        settings.integration.r#type.clone(),
        info.version,
        settings.integration.identifier.clone(),
    )
}

/// Connects to Port: with credentials, a client to `OCEAN__PORT__BASE_URL`; without, a local
/// Port started in-process on a free loopback port with generated credentials, and a warning
/// that says how to reach the real Port. (One credential without the other never gets here:
/// loading the settings refuses it.)
pub async fn connect(
    settings: &OceanSettings,
    info: &IntegrationInfo,
) -> Result<PortConnection, ConnectError> {
    let datasource = datasource(settings, info);
    let timeout = settings.client_timeout;
    if let Some((id, secret)) = settings.port.credentials() {
        let mut config = PortClientConfig::new(
            settings.port.base_url.clone(),
            id.clone(),
            secret.clone(),
            datasource,
        );
        config.timeout = timeout;
        tracing::info!(base_url = %settings.port.base_url, "using Port at {}", settings.port.base_url);
        return Ok(PortConnection {
            client: PortClient::new(config)?,
            local: None,
        });
    }
    let client_id = format!("local-{}", uuid::Uuid::new_v4().simple());
    let client_secret = Secret::new(uuid::Uuid::new_v4().simple().to_string());
    let local = LocalPort::builder()
        .client_id(client_id.clone())
        .client_secret(client_secret.clone())
        .start()
        .await?;
    tracing::warn!(
        url = %local.url(),
        "No Port credentials given: using the local Port at {} (nothing reaches Port). \
         To use Port, set both OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET, \
         and OCEAN__PORT__BASE_URL for another region (default {DEFAULT_PORT_BASE_URL}, e.g. \
         https://api.us.getport.io)",
        local.url()
    );
    let mut config = PortClientConfig::new(
        local.url(),
        Secret::new(client_id),
        client_secret,
        datasource,
    );
    config.timeout = timeout;
    Ok(PortConnection {
        client: PortClient::new(config)?,
        local: Some(local),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSources;

    #[tokio::test]
    async fn without_credentials_warns_how_to_reach_port() {
        let logs = crate::testing::CapturedLogs::new();
        let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::WARN));
        let settings = OceanSettings::load(&ConfigSources::new(), Some("demo")).unwrap();
        let info = IntegrationInfo {
            name: "demo",
            version: "0.0.0",
            manifest_dir: ".",
        };
        let connection = connect(&settings, &info).await.unwrap();
        assert!(connection.is_embedded());
        let logged = logs.text();
        assert!(logged.contains("WARN"), "{logged}");
        for needed in [
            "No Port credentials given: using the local Port at http://",
            "OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET",
            "OCEAN__PORT__BASE_URL for another region",
        ] {
            assert!(logged.contains(needed), "{needed} not in {logged}");
        }
        if let Some(local) = connection.local {
            local.stop().await.unwrap();
        }
    }
}
