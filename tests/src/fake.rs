//! Running the `fake-integration` example against a test's local Port, and reading what it
//! reported (exit code, the summary table on stdout, the log on stderr).

use crate::binaries::{binaries, workspace_root};
use crate::emulator::{CLIENT_ID, CLIENT_SECRET, PortEmulator};
use crate::process::{ChildProcess, Finished};
use anyhow::{Context as _, Result, anyhow};
use ocean::port::Datasource;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// The integration type the example registers as (its binary name).
pub const INTEGRATION_TYPE: &str = "fake-integration";
/// The installation identifier the tests give the example.
pub const IDENTIFIER: &str = "e2e-fake";
/// The example's department blueprint.
pub const DEPARTMENT: &str = "fake-department";
/// The example's person blueprint.
pub const PERSON: &str = "fake-person";

/// Upper bound of one run of the example in the tests (they take well under a second).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The example's version, the same as this crate's (one workspace version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The datasource the example writes as with the tests' identifier.
pub fn datasource() -> Datasource {
    Datasource::exporter(INTEGRATION_TYPE, version(), IDENTIFIER)
}

/// The example's default resources directory (`.port/resources`).
pub fn example_resources() -> PathBuf {
    workspace_root().join("examples/fake-integration/.port/resources")
}

/// The example's default port-app-config, as JSON.
pub fn example_port_app_config() -> Result<Value> {
    let path = example_resources().join("port-app-config.yml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A copy of the example's resources directory whose port-app-config is `config`: point
/// `OCEAN__RESOURCES_PATH` at it to start the integration with another default mapping.
pub fn resources_with_config(config: &Value) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let blueprints = example_resources().join("blueprints.json");
    std::fs::copy(&blueprints, dir.path().join("blueprints.json"))
        .with_context(|| format!("copying {}", blueprints.display()))?;
    std::fs::write(
        dir.path().join("port-app-config.json"),
        serde_json::to_vec_pretty(config)?,
    )?;
    Ok(dir)
}

/// Is this variable one the integration reads its settings from? Such variables in the test's
/// own environment must not leak into the runs.
fn is_setting(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("OCEAN__") || upper.starts_with("APPLICATION__") || upper == "RUST_LOG"
}

/// One configured run of `fake-integration` against a local Port (ONCE listener, free HTTP
/// port, its own empty working directory so no `.env` or `config.yaml` is picked up).
#[derive(Debug)]
pub struct FakeIntegration {
    env: BTreeMap<String, String>,
    args: Vec<String>,
    workdir: tempfile::TempDir,
}

impl FakeIntegration {
    /// A run against `port` with the tests' identifier and small counts: 5 departments,
    /// 10 persons each, empty bios.
    pub fn new(port: &PortEmulator) -> Result<Self> {
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("OCEAN__PORT__BASE_URL", port.url()),
            ("OCEAN__PORT__CLIENT_ID", CLIENT_ID),
            ("OCEAN__PORT__CLIENT_SECRET", CLIENT_SECRET),
            ("OCEAN__INTEGRATION__IDENTIFIER", IDENTIFIER),
            ("OCEAN__EVENT_LISTENER__TYPE", "ONCE"),
            ("APPLICATION__PORT", "0"),
            ("APPLICATION__LOG_LEVEL", "INFO"),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
        let run = Self {
            env,
            args: Vec::new(),
            workdir: tempfile::tempdir()?,
        };
        Ok(run
            .departments(5)
            .persons_per_department(10)
            .config("PAYLOAD_KB", 0))
    }

    /// Sets `OCEAN__INTEGRATION__CONFIG__<key>`.
    pub fn config(mut self, key: &str, value: impl ToString) -> Self {
        self.env.insert(
            format!("OCEAN__INTEGRATION__CONFIG__{}", key.to_ascii_uppercase()),
            value.to_string(),
        );
        self
    }

    /// Removes `OCEAN__INTEGRATION__CONFIG__<key>` (the example's default applies).
    pub fn without_config(mut self, key: &str) -> Self {
        self.env.remove(&format!(
            "OCEAN__INTEGRATION__CONFIG__{}",
            key.to_ascii_uppercase()
        ));
        self
    }

    /// Sets any environment variable of the run.
    pub fn env(mut self, name: &str, value: impl ToString) -> Self {
        self.env.insert(name.to_owned(), value.to_string());
        self
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// How many departments the fake third party has.
    pub fn departments(self, count: usize) -> Self {
        self.config("DEPARTMENT_COUNT", count)
    }

    /// How many persons each department has.
    pub fn persons_per_department(self, count: usize) -> Self {
        self.config("PERSONS_PER_DEPARTMENT", count)
    }

    /// Persons per batch the handler yields.
    pub fn batch_size(self, size: usize) -> Self {
        self.config("BATCH_SIZE", size)
    }

    /// Simulated latency of each page of the fake third party.
    pub fn latency_ms(self, ms: u64) -> Self {
        self.config("LATENCY_MS", ms)
    }

    /// The kind whose handler fails.
    pub fn fail_kind(self, kind: &str) -> Self {
        self.config("FAIL_KIND", kind)
    }

    /// Reads the default resources (blueprints, mapping) from `dir`.
    pub fn resources_path(self, dir: &Path) -> Self {
        self.env("OCEAN__RESOURCES_PATH", dir.display())
    }

    /// Starts the run; the process is killed if the handle is dropped before it ends.
    pub async fn spawn(&self) -> Result<ChildProcess> {
        let bins = binaries().await?;
        let mut command = Command::new(&bins.fake_integration);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_setting) {
                command.env_remove(&name);
            }
        }
        command
            .args(&self.args)
            .envs(&self.env)
            .current_dir(self.workdir.path());
        ChildProcess::spawn("fake-integration", command)
    }

    /// Runs to the end (at most [`RUN_TIMEOUT`]).
    pub async fn run(&self) -> Result<Finished> {
        self.spawn().await?.wait(RUN_TIMEOUT).await
    }
}

/// Reading what a run reported.
pub trait RunReport {
    /// The first line of the summary table: `Resync completed|failed|aborted`.
    fn summary_status(&self) -> Option<&str>;
    /// The summary table's row of `kind`, by column name (`fetched`, `upserted`, ...).
    fn summary_row(&self, kind: &str) -> Option<BTreeMap<String, u64>>;
    /// The log lines containing `needle`.
    fn log_lines(&self, needle: &str) -> Vec<&str>;
    /// The value of `field=` in the last log line containing `message`, as a number.
    fn log_number(&self, message: &str, field: &str) -> Option<u64>;
}

/// The value of `field=` in a log line of the `fmt` layer (`field=value` or `field="value"`).
pub fn field_value<'a>(line: &'a str, field: &str) -> Option<&'a str> {
    let key = format!(" {field}=");
    let start = line.find(&key)? + key.len();
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split_whitespace().next(),
    }
}

impl RunReport for Finished {
    fn summary_status(&self) -> Option<&str> {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("Resync "))
            .map(str::trim)
    }

    fn summary_row(&self, kind: &str) -> Option<BTreeMap<String, u64>> {
        let mut lines = self.stdout.lines();
        let header: Vec<&str> = lines
            .find(|l| l.split_whitespace().next() == Some("kind"))?
            .split_whitespace()
            .collect();
        let row: Vec<&str> = lines
            .find(|l| l.split_whitespace().next() == Some(kind))?
            .split_whitespace()
            .collect();
        header
            .iter()
            .zip(&row)
            .skip(1)
            .map(|(name, value)| Some(((*name).to_owned(), value.parse().ok()?)))
            .collect()
    }

    fn log_lines(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }

    fn log_number(&self, message: &str, field: &str) -> Option<u64> {
        let line = self.log_lines(message).pop()?;
        field_value(line, field)?.parse().ok()
    }
}

/// `person-{d}-{p}` for every department `d` in `departments` and person `p` in `persons`.
pub fn person_ids(
    departments: std::ops::Range<usize>,
    persons: std::ops::Range<usize>,
) -> std::collections::BTreeSet<String> {
    departments
        .flat_map(|d| persons.clone().map(move |p| format!("person-{d}-{p}")))
        .collect()
}

/// `dept-{d}` for every `d` in `departments`.
pub fn department_ids(departments: std::ops::Range<usize>) -> std::collections::BTreeSet<String> {
    departments.map(|d| format!("dept-{d}")).collect()
}

/// Fails with the run's output unless it exited with `code`.
pub fn expect_exit(run: &Finished, code: i32) -> Result<()> {
    if run.code == Some(code) {
        Ok(())
    } else {
        Err(anyhow!("expected exit code {code}\n{run}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(stdout: &str, stderr: &str) -> Finished {
        Finished {
            name: "x".into(),
            code: Some(0),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn summary_rows_are_read_by_column_name() {
        let run = finished(
            "Resync completed\n\
             kind               fetched     mapped   filtered   upserted     failed  errors\n\
             fake-department          5          5          0          5          0       0\n\
             fake-person             45         45          0          0          0       0\n",
            "",
        );
        assert_eq!(run.summary_status(), Some("completed"));
        let row = run.summary_row("fake-person").unwrap();
        assert_eq!(row["fetched"], 45);
        assert_eq!(row["upserted"], 0);
        assert_eq!(row.len(), 6);
        assert_eq!(run.summary_row("fake-team"), None);
    }

    #[test]
    fn log_fields_are_read_plain_or_quoted() {
        let line = "INFO x: Resync finished: completed status=\"completed\" kinds=2 deleted=5";
        assert_eq!(field_value(line, "status"), Some("completed"));
        assert_eq!(field_value(line, "deleted"), Some("5"));
        assert_eq!(field_value(line, "missing"), None);
        let run = finished("", &format!("{line}\nResync finished: failed deleted=0\n"));
        assert_eq!(run.log_number("Resync finished", "deleted"), Some(0));
    }

    #[test]
    fn only_settings_variables_are_kept_from_the_runs() {
        assert!(is_setting("OCEAN__PORT__CLIENT_ID"));
        assert!(is_setting("application__port"));
        assert!(is_setting("RUST_LOG"));
        assert!(!is_setting("PATH"));
    }
}
