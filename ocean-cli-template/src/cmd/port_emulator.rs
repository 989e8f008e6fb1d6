//! `ocean port-emulator`: the local Port as a standalone server.

use anyhow::Context;
use ocean::port::local::{DEFAULT_BODY_LIMIT, DEFAULT_SAVE_INTERVAL, FaultConfig, LocalPort};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ocean port-emulator`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean port-emulator --listen 127.0.0.1:5555 --client-id demo --client-secret demo-secret --state port.json"
)]
pub(crate) struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:5555")]
    listen: SocketAddr,
    /// Client id that clients must present.
    #[arg(long, env = "OCEAN__PORT__CLIENT_ID")]
    client_id: String,
    /// Client secret that clients must present.
    #[arg(long, env = "OCEAN__PORT__CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// JSON file holding the state: loaded at start if it exists, saved periodically and on exit.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seconds between two saves of the state file.
    #[arg(long, default_value_t = DEFAULT_SAVE_INTERVAL.as_secs())]
    save_interval: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Largest request body in bytes (larger bodies get 413).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Share of requests (0..1) answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_rate_limit: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long, default_value_t = 1)]
    fault_retry_after: u64,
    /// Share of requests (0..1) answered 503.
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    fault_server_error: f64,
    /// Milliseconds of latency added to every request.
    #[arg(long, default_value_t = 0)]
    fault_latency_ms: u64,
    /// Seed of the fault sequence.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Subject the auth route to faults too.
    #[arg(long)]
    fault_include_auth: bool,
}

fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, got \"{text}\""))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("expected a number from 0 to 1, got {value}"))
    }
}

/// Runs the command.
pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ocean port-emulator: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocean port-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let faults = FaultConfig {
        seed: args.fault_seed,
        rate_limit_rate: args.fault_rate_limit,
        retry_after_secs: args.fault_retry_after,
        server_error_rate: args.fault_server_error,
        latency: Duration::from_millis(args.fault_latency_ms),
        include_auth: args.fault_include_auth,
    };
    let port = LocalPort::builder()
        .client_id(args.client_id)
        .client_secret(args.client_secret)
        .state_file(args.state.clone())
        .save_interval(Duration::from_secs(args.save_interval))
        .token_ttl(Duration::from_secs(args.token_ttl))
        .body_limit(args.body_limit)
        .workers(args.workers)
        .faults(faults)
        .bind(args.listen)
        .start()
        .await
        .context("starting the local Port")?;
    println!("Local Port listening on {}", port.url());
    if let Some(state) = &args.state {
        println!("State file: {}", state.display());
    }
    shutdown_signal().await?;
    println!("Stopping the local Port");
    port.stop().await.context("stopping the local Port")?;
    Ok(())
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
