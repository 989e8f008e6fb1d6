//! `ocean map`: map raw items offline with a port-app-config.

use std::process::ExitCode;

/// Arguments of `ocean map`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs the command.
pub(crate) fn run(_args: Args) -> ExitCode {
    eprintln!("ocean map: not built yet");
    ExitCode::from(2)
}
