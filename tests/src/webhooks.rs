//! The `fake-integration` serving live events, and a third party sending it webhooks over HTTP:
//! `person.updated` / `person.deleted`, signed with Standard Webhooks (or not).

use crate::fake::{FakeIntegration, field_value};
use crate::process::ChildProcess;
use anyhow::{Context as _, Result, anyhow, bail};
use ocean::signature::StandardWebhooks;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the integration may take to connect to Port and serve webhooks.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A Standard Webhooks secret the tests sign with.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Another valid secret: signatures made with it are wrong for [`SECRET`].
pub const OTHER_SECRET: &str = "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==";

/// The log line the runtime writes once the live-event workers run and the route is served.
const SERVED: &str = "live events served";

/// A `person.updated` body for person `id` of department `department`.
pub fn person_updated(id: &str, name: &str, department: &str) -> Vec<u8> {
    json!({
        "type": "person.updated",
        "person": {
            "id": id,
            "name": name,
            "email": format!("{id}@fake.example"),
            "department_id": department,
            "status": "WORKING",
            "age": 36,
        },
    })
    .to_string()
    .into_bytes()
}

/// A `person.deleted` body for person `id`.
pub fn person_deleted(id: &str) -> Vec<u8> {
    json!({"type": "person.deleted", "person": {"id": id}})
        .to_string()
        .into_bytes()
}

/// The Standard Webhooks headers of delivery `id` of `body`, signed now with `secret`.
pub fn signed_headers(secret: &str, id: &str, body: &[u8]) -> Result<Vec<(String, String)>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let headers = StandardWebhooks::new(secret)
        .sign(id, now, body)
        .map_err(|e| anyhow!("signing delivery {id}: {e}"))?;
    Ok(headers
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// An answer of the integration: status and JSON body (`Null` when not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
}

/// A running `fake-integration` with a listener that processes webhooks; killed when dropped.
#[derive(Debug)]
pub struct LiveIntegration {
    process: ChildProcess,
    base: String,
    webhook: String,
    http: reqwest::Client,
}

impl FakeIntegration {
    /// Starts the integration with the `WEBHOOKS_ONLY` listener (no resync) and waits until it
    /// serves `/integration/webhook`.
    pub async fn serve_webhooks(self) -> Result<LiveIntegration> {
        let process = self
            .env("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")
            .spawn()
            .await?;
        process
            .wait_for_output("that it serves live events", START_TIMEOUT, |_, err| {
                err.contains(SERVED)
            })
            .await?;
        let stderr = process.stderr();
        let line = |needle: &str| {
            stderr
                .lines()
                .find(|l| l.contains(needle))
                .ok_or_else(|| anyhow!("no log line `{needle}`\n{stderr}"))
        };
        // The server listens on every interface; the tests talk to it over loopback.
        let listening = field_value(line("HTTP server listening")?, "addr")
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|port| port.parse::<u16>().ok())
            .ok_or_else(|| anyhow!("no listening port in the log\n{stderr}"))?;
        let path = field_value(line(SERVED)?, "local")
            .and_then(|url| url.find("/integration/").map(|at| url[at..].to_owned()))
            .ok_or_else(|| anyhow!("no webhook URL in the log\n{stderr}"))?;
        let base = format!("http://127.0.0.1:{listening}");
        Ok(LiveIntegration {
            process,
            webhook: format!("{base}{path}"),
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }
}

impl LiveIntegration {
    /// The webhook URL (`http://127.0.0.1:PORT/integration/webhook`).
    pub fn webhook_url(&self) -> &str {
        &self.webhook
    }

    /// What the integration logged so far (for failure messages).
    pub fn log(&self) -> String {
        self.process.stderr()
    }

    /// Posts `body` with `headers` to the webhook route.
    pub async fn post(&self, body: &[u8], headers: &[(String, String)]) -> Result<Answer> {
        let mut request = self
            .http
            .post(&self.webhook)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .with_context(|| format!("posting to {}", self.webhook))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    /// Posts `body` as delivery `id`, signed now with [`SECRET`].
    pub async fn post_signed(&self, id: &str, body: &[u8]) -> Result<Answer> {
        self.post(body, &signed_headers(SECRET, id, body)?).await
    }

    /// The value of the unlabelled counter or gauge `name` on `GET /metrics` (a labelled one
    /// with its labels: `live_events_rejected_total{reason="unauthorized"}`).
    pub async fn metric(&self, name: &str) -> Result<u64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                (key == name).then(|| value.parse::<f64>().ok())?
            })
            // Counters are whole numbers.
            .map(|value| value as u64)
            .ok_or_else(|| anyhow!("/metrics has no `{name}`:\n{text}"))
    }

    /// Events the workers finished and applied (`live_events_processed_total`).
    pub async fn processed(&self) -> Result<u64> {
        self.metric("live_events_processed_total").await
    }

    /// Waits until `processed` events were applied; fails if one was dead-lettered.
    pub async fn wait_processed(&self, processed: u64) -> Result<()> {
        eventually(
            &format!("{processed} live events processed"),
            Duration::from_secs(30),
            || async {
                let dead = self.metric("live_events_dead_lettered_total").await?;
                if dead > 0 {
                    bail!("{dead} live events were dead-lettered\n{}", self.log());
                }
                Ok(self.processed().await? >= processed)
            },
        )
        .await
    }
}

/// Polls `check` every 50 ms until it holds; fails after `timeout`, or as soon as `check` fails.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_headers_verify_with_the_secret_only() {
        let body = person_deleted("person-0-0");
        let headers = signed_headers(SECRET, "msg_1", &body).unwrap();
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
        let now = SystemTime::now();
        assert!(
            StandardWebhooks::new(SECRET)
                .verify_signature(headers.as_slice(), &body, now)
                .is_ok()
        );
        assert!(
            StandardWebhooks::new(OTHER_SECRET)
                .verify_signature(headers.as_slice(), &body, now)
                .is_err()
        );
    }
}
