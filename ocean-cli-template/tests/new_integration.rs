//! `ocean new` end to end: the rendered integration builds, its own tests pass, and with no
//! setting at all `--once` resyncs its sample items into the local Port and exits 0.
//!
//! The new crates build into this workspace's target directory with this workspace's lock
//! file, so the dependencies compiled for the workspace are reused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ocean` binary under test.
fn ocean() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ocean"))
}

/// The workspace's target directory (the `ocean` binary lives in `<target>/<profile>/`).
fn target_dir() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_ocean"));
    binary
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the binary sits in <target>/<profile>/")
}

/// `cargo` in `dir`, building into the workspace's target directory, with no `OCEAN__*`
/// setting inherited from the test's environment.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir());
    for (name, _) in std::env::vars() {
        if name.starts_with("OCEAN__") || name.starts_with("APPLICATION__") {
            command.env_remove(name);
        }
    }
    command.output().expect("cargo runs")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Renders `name` with `extra` options into a fresh folder, with the workspace's lock file.
fn render(parent: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let output = ocean()
        .args(["new", name, "--path"])
        .arg(parent)
        .args(extra)
        .output()
        .expect("ocean runs");
    assert!(output.status.success(), "{}", text(&output));
    let dir = parent.join(name);
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).expect("the lock file is copied");
    dir
}

#[test]
fn a_new_integration_builds_passes_its_tests_and_resyncs_its_samples_with_no_setting() {
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = render(parent.path(), "acme-tickets", &[]);
    let validate = ocean()
        .arg("validate")
        .arg(&dir)
        .output()
        .expect("ocean runs");
    assert!(validate.status.success(), "{}", text(&validate));

    let tests = cargo(&dir, &["test", "--quiet"]);
    assert!(tests.status.success(), "{}", text(&tests));
    let out = text(&tests);
    assert!(out.contains("2 passed"), "{out}");

    let run = cargo(&dir, &["run", "--quiet", "--", "--once"]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("using the sample tickets"), "{out}");
    let row = String::from_utf8_lossy(&run.stdout)
        .lines()
        .find(|l| l.starts_with("ticket "))
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .unwrap_or_default();
    // kind, fetched, mapped, filtered, upserted, failed, errors
    assert_eq!(row, ["ticket", "3", "3", "0", "3", "0", "0"], "{out}");
}

#[test]
fn a_resync_only_integration_of_another_kind_builds() {
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = render(
        parent.path(),
        "acme-work",
        &["--kind", "work-item", "--no-live-events"],
    );
    assert!(dir.join("sample/work-items.json").is_file());
    let build = cargo(&dir, &["test", "--quiet", "--no-run"]);
    assert!(build.status.success(), "{}", text(&build));
}

#[test]
fn a_refused_name_or_an_existing_folder_writes_nothing() {
    let parent = tempfile::tempdir().expect("temp dir");
    for bad in ["Acme", "acme tickets", "fn"] {
        let output = ocean()
            .args(["new", bad, "--path"])
            .arg(parent.path())
            .output()
            .expect("ocean runs");
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", text(&output));
    }
    let existing = parent.path().join("taken");
    std::fs::create_dir(&existing).expect("created");
    std::fs::write(existing.join("keep.txt"), "mine").expect("written");
    let output = ocean()
        .args(["new", "taken", "--path"])
        .arg(parent.path())
        .output()
        .expect("ocean runs");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already exists"),
        "{}",
        text(&output)
    );
    let entries: Vec<_> = std::fs::read_dir(parent.path())
        .expect("readable")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, ["taken"], "nothing else was written");
    assert_eq!(
        std::fs::read_to_string(existing.join("keep.txt")).expect("kept"),
        "mine"
    );
}

#[test]
fn a_missing_framework_folder_is_refused_with_what_to_pass() {
    let parent = tempfile::tempdir().expect("temp dir");
    let output = ocean()
        .args(["new", "acme", "--path"])
        .arg(parent.path())
        .args(["--framework-path", "/nonexistent/ocean-core"])
        .output()
        .expect("ocean runs");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--framework-git"), "{err}");
    assert!(!parent.path().join("acme").exists());
}
