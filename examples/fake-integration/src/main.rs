//! The fake integration: departments and persons from a deterministic in-process source.
//!
//! With nothing configured it resyncs once into an embedded local Port, prints a table of what
//! it synced and exits; see the README for the other ways to run it, and for its live events
//! (`person.updated` / `person.deleted` on `/integration/webhook`).

mod source;
mod webhook;

use ocean::config::{EventListenerType, Secret};
use ocean::prelude::*;
use ocean::runtime::{IntegrationInfo, RunDefaults};
use std::process::ExitCode;
use std::time::Duration;

/// Settings of the fake third party (`OCEAN__INTEGRATION__CONFIG__<FIELD>`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// How many departments exist.
    pub department_count: usize,
    /// How many persons each department has.
    pub persons_per_department: usize,
    /// Size of each person's `bio`, in KiB.
    pub payload_kb: usize,
    /// Persons per batch handed to the runtime.
    pub batch_size: usize,
    /// A kind whose handler fails mid-stream (for tests).
    pub fail_kind: Option<String>,
    /// Simulated latency of each third-party page, in milliseconds.
    pub latency_ms: u64,
    /// Standard Webhooks secret (`whsec_<base64>`) person events must be signed with; without
    /// one, unsigned events are accepted.
    pub webhook_secret: Option<Secret>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            department_count: 5,
            persons_per_department: 400,
            payload_kb: 1,
            batch_size: 1000,
            fail_kind: None,
            latency_ms: 0,
            webhook_secret: None,
        }
    }
}

impl FakeConfig {
    fn fails(&self, kind: &str) -> bool {
        self.fail_kind.as_deref() == Some(kind)
    }

    async fn page_latency(&self) {
        if self.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.latency_ms)).await;
        }
    }
}

#[on_resync(kind = "fake-department")]
async fn departments(ctx: Context) -> Result<Vec<RawItem>> {
    let config = ctx.config::<FakeConfig>()?.clone();
    config.page_latency().await;
    if config.fails("fake-department") {
        bail!("the fake third party failed listing departments (fail_kind = fake-department)");
    }
    Ok((0..config.department_count)
        .map(source::department)
        .collect())
}

#[on_resync(kind = "fake-person")]
fn persons(ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    try_stream! {
        let config = ctx.config::<FakeConfig>()?.clone();
        let batch_size = config.batch_size.max(1);
        let bio = source::bio(config.payload_kb * 1024);
        let total = config.department_count * config.persons_per_department;
        let mut next = 0;
        while next < total {
            let end = (next + batch_size).min(total);
            config.page_latency().await;
            let batch: Vec<RawItem> = (next..end)
                .map(|i| {
                    let d = i / config.persons_per_department;
                    let p = i % config.persons_per_department;
                    source::person(d, p, &bio)
                })
                .collect();
            if next > 0 && config.fails("fake-person") {
                Err(Error::msg(format!(
                    "the fake third party failed after {next} persons (fail_kind = fake-person)"
                )))?;
            }
            next = end;
            yield batch;
        }
        if total <= batch_size && config.fails("fake-person") {
            Err(Error::msg("the fake third party failed after the first page (fail_kind = fake-person)"))?;
        }
    }
}

// `ocean::run!()` does this itself; a binary with its own `main` asks for it.
ocean::global_allocator!();

fn main() -> ExitCode {
    ocean::runtime::run_with::<FakeConfig>(
        IntegrationInfo {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            manifest_dir: env!("CARGO_MANIFEST_DIR"),
        },
        // Nothing configured: one resync and exit, which is what a newcomer wants to see.
        RunDefaults {
            event_listener: Some(EventListenerType::Once),
        },
    )
}
