//! `ocean new NAME`: a new integration crate from the template embedded in this binary.
//!
//! ```text
//! ocean new acme-tickets                       # ./acme-tickets, sample kind `ticket`
//! ocean new acme-issues --kind issue --path ~/src
//! ocean new acme-sync --no-live-events --framework-git https://example.com/ocean-rs.git
//! ```
//!
//! Every file is rendered in memory first, then written to a temporary folder beside the target
//! and renamed into place: a refused name, an existing target or a failed write leaves nothing
//! behind. Exit codes: 0 written, 2 refused (bad name or kind, target exists, framework not
//! found), 1 a write failed.

use crate::template::{self, Framework, Options};
use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The framework checkout this binary was built from (its `ocean-core` folder).
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ocean-core");

/// Arguments of `ocean new`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean new acme-tickets --kind ticket\n  cd acme-tickets && cargo run"
)]
pub(crate) struct Args {
    /// The integration's crate name: lower-case letters, digits, `-` and `_`.
    name: String,
    /// The folder the integration's folder is created in.
    #[arg(long, value_name = "PARENT", default_value = ".")]
    path: PathBuf,
    /// The sample kind (and blueprint identifier) the integration starts with.
    #[arg(long, default_value = "ticket")]
    kind: String,
    /// No webhook processor (resync only).
    #[arg(long)]
    no_live_events: bool,
    /// Depend on the framework at this `ocean-core` folder (default: the checkout this `ocean`
    /// was built from).
    #[arg(long, value_name = "DIR", conflicts_with = "framework_git")]
    framework_path: Option<PathBuf>,
    /// Depend on the framework from this git repository instead of a folder.
    #[arg(long, value_name = "URL")]
    framework_git: Option<String>,
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    let target = args.path.join(&args.name);
    let files = match plan(&args) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("ocean new: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = write_all(&target, &files) {
        eprintln!("ocean new: {e:#}");
        return ExitCode::from(1);
    }
    println!("Created {} ({} files).", target.display(), files.len());
    println!(
        "Next:\n  cd {}\n  cargo run      # resyncs the sample items into a local Port\n  cargo test",
        target.display()
    );
    ExitCode::SUCCESS
}

/// Checks everything and renders every file, writing nothing.
fn plan(args: &Args) -> Result<Vec<(String, String)>> {
    template::check_name(&args.name)?;
    template::check_kind(&args.kind)?;
    let target = args.path.join(&args.name);
    if target.exists() {
        bail!(
            "{} already exists: choose another name, or another parent folder with --path",
            target.display()
        );
    }
    let framework = framework(args)?;
    let files = template::render(&Options {
        name: args.name.clone(),
        kind: args.kind.clone(),
        live_events: !args.no_live_events,
        framework,
    })?;
    Ok(files.into_iter().collect())
}

fn framework(args: &Args) -> Result<Framework> {
    if let Some(url) = &args.framework_git {
        return Ok(Framework::Git(url.clone()));
    }
    let dir = args
        .framework_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(BUILT_FROM));
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "no framework at {}: pass --framework-path <the ocean-core folder of a checkout> or --framework-git <url>",
            dir.display()
        );
    }
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let path = dir
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", dir.display()))?;
    Ok(Framework::Path(path.to_owned()))
}

/// Writes `files` into a temporary folder beside `target`, then renames it to `target`; on
/// any failure the temporary folder is removed.
fn write_all(target: &Path, files: &[(String, String)]) -> Result<()> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".ocean-new-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    for (relative, content) in files {
        let path = staging.path().join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, content).with_context(|| format!("cannot write {relative}"))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, target) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e).with_context(|| format!("cannot create {}", target.display()));
    }
    Ok(())
}
