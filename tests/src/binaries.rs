//! The binaries under test, built once per test process.
//!
//! `cargo test` builds the test crates, not the other binaries of the workspace, so the first
//! test that needs them runs `cargo build -p fake-integration -p ocean-cli-template` (a no-op
//! when they are fresh) and takes their paths from Cargo's own artifact messages, so the
//! target directory is wherever Cargo puts it (`CARGO_TARGET_DIR`, `build.target-dir`).
//! `OCEAN_E2E_BIN_DIR` points at prebuilt binaries instead and skips the build.

use anyhow::{Result, anyhow};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the binaries under test are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// The example integration (`examples/fake-integration`).
    pub fake_integration: PathBuf,
    /// The `ocean` command-line tool (`ocean port-emulator`).
    pub ocean: PathBuf,
}

/// The build outcome, shared by every test of the process (the error as text: it is reported
/// to each test that asks).
static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn located(dir: &Path) -> Result<Binaries, String> {
    let exe = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let binaries = Binaries {
        fake_integration: exe("fake-integration"),
        ocean: exe("ocean"),
    };
    for path in [&binaries.fake_integration, &binaries.ocean] {
        if !path.is_file() {
            return Err(format!(
                "expected a binary at {}, found none",
                path.display()
            ));
        }
    }
    Ok(binaries)
}

/// Variables `cargo test` sets for this crate. Some build scripts of dependencies watch them
/// (`rerun-if-env-changed`), so passing them on would rebuild half the workspace each time.
fn is_set_by_cargo_for_this_crate(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

fn build() -> Result<Binaries, String> {
    if let Some(dir) = std::env::var_os("OCEAN_E2E_BIN_DIR").filter(|d| !d.is_empty()) {
        return located(Path::new(&dir));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_set_by_cargo_for_this_crate) {
            command.env_remove(&name);
        }
    }
    let output = command
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "-p",
            "fake-integration",
            "-p",
            "ocean-cli-template",
            "--bins",
        ])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("could not run {}: {e}", Path::new(&cargo).display()))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build -p fake-integration -p ocean-cli-template failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    from_artifacts(&String::from_utf8_lossy(&output.stdout))
}

/// The executables named in Cargo's `compiler-artifact` messages (one JSON object a line).
fn from_artifacts(messages: &str) -> Result<Binaries, String> {
    let executable = |name: &str| {
        messages
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| format!("cargo build reported no executable `{name}`"))
    };
    Ok(Binaries {
        fake_integration: executable("fake-integration")?,
        ocean: executable("ocean")?,
    })
}

/// The binaries under test, building them on the first call of the process. The build runs
/// on a blocking thread, never on the async runtime.
pub async fn binaries() -> Result<&'static Binaries> {
    let built = tokio::task::spawn_blocking(|| BINARIES.get_or_init(build))
        .await
        .map_err(|e| anyhow!("the build of the binaries under test panicked: {e}"))?;
    built.as_ref().map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_taken_from_the_artifact_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"ocean","kind":["lib"]},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"ocean","kind":["bin"]},"executable":"/t/debug/ocean"}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"fake-integration","kind":["bin"]},"executable":"/t/debug/fake-integration"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            from_artifacts(&messages),
            Ok(Binaries {
                fake_integration: PathBuf::from("/t/debug/fake-integration"),
                ocean: PathBuf::from("/t/debug/ocean"),
            })
        );
        assert!(from_artifacts("").unwrap_err().contains("fake-integration"));
    }
}
