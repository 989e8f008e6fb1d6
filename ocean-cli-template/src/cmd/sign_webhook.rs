//! `ocean sign-webhook`: the Standard Webhooks headers of a body, to send signed test events
//! (`curl -H @headers.txt --data-binary @body.json ...`).
//!
//! Prints `webhook-id`, `webhook-timestamp` and `webhook-signature` as `name: value` lines.
//! Exit codes: 0 printed, 2 invalid arguments (unreadable body, unusable secret).

use anyhow::{Context, bail};
use ocean::signature::StandardWebhooks;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `ocean sign-webhook`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The signing secret, `whsec_<base64>` (or a raw string).
    #[arg(
        long,
        env = "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET",
        hide_env_values = true
    )]
    secret: String,
    /// The message id (default: a new random one). Receivers reject an id they have seen.
    #[arg(long)]
    id: Option<String>,
    /// The signed time in unix seconds (default: now). Receivers accept five minutes either way.
    #[arg(long)]
    timestamp: Option<u64>,
    /// The exact bytes to send; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    body: PathBuf,
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    match read_body(&args.body).and_then(|body| headers(&args, &body, SystemTime::now())) {
        Ok(lines) => {
            print!("{lines}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ocean sign-webhook: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read_body(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .context("cannot read the body from stdin")?;
        return Ok(body);
    }
    std::fs::read(path).with_context(|| format!("cannot read the body {}", path.display()))
}

/// The three header lines for `body`, signed at `now` unless a timestamp is given.
fn headers(args: &Args, body: &[u8], now: SystemTime) -> anyhow::Result<String> {
    let verifier = StandardWebhooks::new(args.secret.as_str());
    if let Err(e) = verifier.check_secret() {
        bail!("--secret is unusable: {e}");
    }
    let timestamp = match args.timestamp {
        Some(t) => t,
        None => now
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_secs(),
    };
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    if id.trim().is_empty() {
        bail!("--id must not be empty");
    }
    let signed = verifier
        .sign(&id, timestamp, body)
        .context("cannot sign the body")?;
    Ok(signed
        .iter()
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn args(id: Option<&str>, timestamp: Option<u64>) -> Args {
        Args {
            secret: SECRET.into(),
            id: id.map(str::to_owned),
            timestamp,
            body: PathBuf::from("-"),
        }
    }

    fn parse(lines: &str) -> Vec<(String, String)> {
        lines
            .lines()
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn prints_headers_the_receiver_verifies() {
        let body = br#"{"type": "person.updated", "person": {"id": "person-0-1"}}"#;
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let lines = headers(&args(None, None), body, now).unwrap();
        let pairs = parse(&lines);
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
        assert!(pairs[0].1.starts_with("msg_"));
        assert_eq!(pairs[1].1, "1700000000");
        let receiver = StandardWebhooks::new(SECRET);
        assert!(receiver.verify(&pairs, body, now).is_ok());
        assert!(
            receiver.verify(&pairs, b"{}", now).is_err(),
            "another body fails"
        );
    }

    #[test]
    fn matches_the_standard_webhooks_reference_signature() {
        let lines = headers(
            &args(Some("msg_p5jXN8AQM9LWM0D4loKWxJek"), Some(1_614_265_330)),
            br#"{"test": 2432232314}"#,
            SystemTime::now(),
        )
        .unwrap();
        assert!(
            lines.contains("webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            "{lines}"
        );
    }

    #[test]
    fn refuses_an_unusable_secret_or_an_empty_id() {
        let mut bad = args(None, None);
        bad.secret = "whsec_!!".into();
        assert!(headers(&bad, b"{}", SystemTime::now()).is_err());
        assert!(headers(&args(Some(" "), None), b"{}", SystemTime::now()).is_err());
    }
}
