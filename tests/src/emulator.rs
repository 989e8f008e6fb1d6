//! A standalone local Port (`ocean port-emulator`) for one test, and the reads tests make of it.

use crate::binaries::binaries;
use crate::process::ChildProcess;
use anyhow::{Context as _, Result, anyhow, bail};
use ocean::config::Secret;
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::port::types::Integration;
use ocean::port::{Datasource, Entity, Query, QueryNode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::process::Command;

/// The client id every test's local Port accepts.
pub const CLIENT_ID: &str = "e2e-client";
/// The client secret every test's local Port accepts.
pub const CLIENT_SECRET: &str = "e2e-client-secret";

/// How long the local Port may take to start listening and answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `ocean port-emulator` on a free loopback port; stopped when dropped.
#[derive(Debug)]
pub struct PortEmulator {
    process: ChildProcess,
    url: String,
    http: reqwest::Client,
    reader: PortClient,
}

/// The `http://...` address in the emulator's "Local Port listening on ..." line.
fn listening_url(stdout: &str) -> Option<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Local Port listening on "))?;
    let url = line.trim_start_matches("Local Port listening on ").trim();
    url.starts_with("http://").then(|| url.to_owned())
}

impl PortEmulator {
    /// Starts a local Port on `127.0.0.1:0` (the OS picks a free port, so parallel tests never
    /// race for one) and waits until it hands out tokens.
    pub async fn start() -> Result<Self> {
        Self::start_with(&[]).await
    }

    /// [`PortEmulator::start`] with more `ocean port-emulator` arguments (e.g. fault
    /// injection: `--fault-rate-limit 0.5`).
    pub async fn start_with(extra_args: &[&str]) -> Result<Self> {
        let bins = binaries().await?;
        let mut command = Command::new(&bins.ocean);
        command.args([
            "port-emulator",
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ]);
        command.args(extra_args);
        command.env_remove("OCEAN__PORT__CLIENT_ID");
        command.env_remove("OCEAN__PORT__CLIENT_SECRET");
        let process = ChildProcess::spawn("ocean port-emulator", command)?;
        process
            .wait_for_output("its listening address", START_TIMEOUT, |out, _| {
                listening_url(out).is_some()
            })
            .await?;
        let url = listening_url(&process.stdout())
            .ok_or_else(|| anyhow!("the local Port printed no address"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let reader = port_client(
            &url,
            Datasource::exporter("e2e-observer", "0", "e2e-observer"),
        )?;
        let emulator = Self {
            process,
            url,
            http,
            reader,
        };
        emulator.wait_until_answering().await?;
        Ok(emulator)
    }

    async fn wait_until_answering(&self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match self.access_token().await {
                Ok(_) => return Ok(()),
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    return Err(error.context(format!(
                        "the local Port at {} did not answer within {START_TIMEOUT:?}",
                        self.url
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`), what `OCEAN__PORT__BASE_URL` is set to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the emulator wrote so far (for failure messages).
    pub fn output(&self) -> String {
        format!("{}{}", self.process.stdout(), self.process.stderr())
    }

    /// A Port client writing as `datasource`.
    pub fn client(&self, datasource: Datasource) -> Result<PortClient> {
        port_client(&self.url, datasource)
    }

    async fn access_token(&self) -> Result<String> {
        let answer: Value = self
            .http
            .post(format!("{}/v1/auth/access_token", self.url))
            .json(&json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        answer
            .get("accessToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the token answer has no accessToken: {answer}"))
    }

    /// Upserts `entity` into `blueprint` with a raw HTTP call sent with `user_agent`, as any
    /// writer that is not this project's client would (another integration, a script, the UI).
    pub async fn upsert_as(&self, user_agent: &str, blueprint: &str, entity: &Value) -> Result<()> {
        let token = self.access_token().await?;
        let response = self
            .http
            .post(format!("{}/v1/blueprints/{blueprint}/entities", self.url))
            .query(&[("upsert", "true")])
            .bearer_auth(token)
            .header(reqwest::header::USER_AGENT, user_agent)
            .json(entity)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("upserting {entity} as `{user_agent}` answered {status}: {body}");
        }
        Ok(())
    }

    /// Every entity of `blueprint`, read through the search API.
    pub async fn entities(&self, blueprint: &str) -> Result<Vec<Entity>> {
        let query = Query::and(vec![QueryNode::rule(
            "$blueprint",
            "=",
            Value::String(blueprint.to_owned()),
        )]);
        self.reader
            .search_entities(&query, &[])
            .await
            .with_context(|| format!("searching the entities of {blueprint}"))
    }

    /// The identifiers of every entity of `blueprint`.
    pub async fn identifiers(&self, blueprint: &str) -> Result<BTreeSet<String>> {
        Ok(self
            .entities(blueprint)
            .await?
            .iter()
            .filter_map(|e| e.identifier_str().map(str::to_owned))
            .collect())
    }

    /// The entities `datasource` owns, as reconciliation lists them (Port's datasource listing).
    pub async fn owned_by(&self, datasource: Datasource) -> Result<Vec<Entity>> {
        self.client(datasource)?
            .all_datasource_entities(None)
            .await
            .context("listing the entities of a datasource")
    }

    /// The integration installation `identifier`.
    pub async fn integration(&self, identifier: &str) -> Result<Integration> {
        self.reader
            .get_integration(identifier)
            .await?
            .ok_or_else(|| {
                anyhow!("the integration `{identifier}` does not exist in the local Port")
            })
    }

    /// The status of the last resync the integration reported (`running`, `completed`, ...).
    pub async fn resync_status(&self, identifier: &str) -> Result<Option<String>> {
        Ok(self
            .integration(identifier)
            .await?
            .resync_state
            .and_then(|s| s.status))
    }
}

fn port_client(url: &str, datasource: Datasource) -> Result<PortClient> {
    let mut config = PortClientConfig::new(
        url,
        Secret::new(CLIENT_ID.to_owned()),
        Secret::new(CLIENT_SECRET.to_owned()),
        datasource,
    );
    config.timeout = Duration::from_secs(30);
    PortClient::new(config).map_err(|e| anyhow!("building a Port client for {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_url_is_read_from_the_first_line() {
        let out = "Local Port listening on http://127.0.0.1:41234\nState file: x\n";
        assert_eq!(
            listening_url(out).as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(listening_url("Local Port listening on "), None);
        assert_eq!(listening_url("starting\n"), None);
    }
}
