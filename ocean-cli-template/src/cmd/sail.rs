//! `ocean sail [DIR]`: builds and runs the integration in a folder, as Ocean's `sail`.
//!
//! ```text
//! ocean sail                         # the integration in the current folder
//! ocean sail ../acme-tickets --once  # one resync, then exit with its status
//! ocean sail --release --port 8080 --log-level DEBUG
//! ```
//!
//! Runs `cargo run` in the folder (so its `.env`, `config.yaml` and `.port/` are the ones read)
//! and passes `--once`, `--port` and `--log-level` to the integration. The exit code is the
//! integration's; 2 when the folder holds no `Cargo.toml` or cargo cannot start.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Arguments of `ocean sail`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  ocean sail ../acme-tickets --once")]
pub(crate) struct Args {
    /// The integration's folder (the one holding its `Cargo.toml`).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
    /// Run one resync and exit.
    #[arg(long)]
    once: bool,
    /// Port of the integration's HTTP server.
    #[arg(long)]
    port: Option<u16>,
    /// Minimum log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.
    #[arg(long)]
    log_level: Option<String>,
}

/// The `cargo run` command line for `args`.
fn command(args: &Args) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.current_dir(&args.dir).arg("run");
    if args.release {
        command.arg("--release");
    }
    command.arg("--");
    if args.once {
        command.arg("--once");
    }
    if let Some(port) = args.port {
        command.args(["--port", &port.to_string()]);
    }
    if let Some(level) = &args.log_level {
        command.args(["--log-level", level]);
    }
    command
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    if !args.dir.join("Cargo.toml").is_file() {
        eprintln!(
            "ocean sail: {} holds no Cargo.toml: pass the integration's folder",
            args.dir.display()
        );
        return ExitCode::from(2);
    }
    match command(&args).status() {
        Ok(status) => status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from),
        Err(e) => {
            eprintln!("ocean sail: cannot start cargo: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn the_integration_flags_are_passed_after_the_separator() {
        let cli = Cli::try_parse_from([
            "sail",
            "../acme",
            "--release",
            "--once",
            "--port",
            "8080",
            "--log-level",
            "DEBUG",
        ])
        .unwrap();
        let command = command(&cli.args);
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "run",
                "--release",
                "--",
                "--once",
                "--port",
                "8080",
                "--log-level",
                "DEBUG"
            ]
        );
        assert_eq!(
            command.get_current_dir(),
            Some(std::path::Path::new("../acme"))
        );
    }
}
