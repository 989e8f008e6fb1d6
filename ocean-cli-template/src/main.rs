//! The `ocean` command-line tool: run a local Port, try mappings offline, scaffold integrations.

mod cmd;
mod template;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Ocean for Rust: build and try Port integrations.
#[derive(Debug, Parser)]
#[command(name = "ocean", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the local Port (an emulator of the Port REST API) as a standalone server.
    PortEmulator(cmd::port_emulator::Args),
    /// Map raw items with a port-app-config, offline, and print the entities Port would get.
    Map(cmd::map::Args),
    /// List, show, replay or delete the dead letters of a running integration.
    DeadLetters(cmd::dead_letters::Args),
    /// Create a new integration crate from the template (sample kind, resync handler, webhook
    /// processor, tests, Dockerfile).
    New(cmd::new::Args),
    /// Build and run the integration in a folder (`cargo run`), passing --once, --port and
    /// --log-level through.
    Sail(cmd::sail::Args),
    /// Create (dock) or remove (clean) the default blueprints and mapping of `.port/resources`
    /// in Port.
    Defaults(cmd::defaults::Args),
    /// Print the versions of this tool and of the framework it scaffolds with.
    Version,
    /// Check an integration's `.port/` folder: spec, blueprints, mapping, jq, kinds, relations.
    Validate(cmd::validate::Args),
    /// Print the headers that sign a body for a webhook verifier: Standard Webhooks, Port,
    /// GitHub or GitLab (for test events).
    SignWebhook(cmd::sign_webhook::Args),
}

// The local Port parses and stores many small JSON values: the same allocator as integrations.
ocean::global_allocator!();

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::PortEmulator(args) => cmd::port_emulator::run(args),
        Command::Map(args) => cmd::map::run(args),
        Command::DeadLetters(args) => cmd::dead_letters::run(args),
        Command::SignWebhook(args) => cmd::sign_webhook::run(args),
        Command::New(args) => cmd::new::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Sail(args) => cmd::sail::run(args),
        Command::Defaults(args) => cmd::defaults::run(args),
        Command::Version => {
            println!("ocean {}", env!("CARGO_PKG_VERSION"));
            println!("framework ocean-core {}", ocean::VERSION);
            ExitCode::SUCCESS
        }
    }
}
