//! `ocean port-emulator`: the local Port as a standalone server.

use std::process::ExitCode;

/// Arguments of `ocean port-emulator`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs the command.
pub(crate) fn run(_args: Args) -> ExitCode {
    eprintln!("ocean port-emulator: not built yet");
    ExitCode::from(2)
}
