//! `ocean sign-webhook`: the headers that sign a body for one of the built-in webhook verifiers,
//! to send signed test events (`curl -H @headers.txt --data-binary @body.json ...`).
//!
//! `--scheme` picks the verifier (default `standard-webhooks`):
//! - `standard-webhooks`: `webhook-id`, `webhook-timestamp`, `webhook-signature`;
//! - `port`: `x-port-timestamp`, `x-port-signature`;
//! - `github`: `x-hub-signature-256`;
//! - `gitlab`: `x-gitlab-token` (the token itself; the body is not signed).
//!
//! Prints them as `name: value` lines, signed by the verifiers' own signing code. Exit codes:
//! 0 printed, 2 invalid arguments (unreadable body, unusable secret, an option the scheme does
//! not use).

use anyhow::{Context, bail};
use ocean::signature::{
    GitHubSignature, GitLabToken, PortSignature, SignatureError, SignedHeaders, StandardWebhooks,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// The verifier the headers are made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Scheme {
    /// Port's `x-port-signature` + `x-port-timestamp`.
    Port,
    /// GitHub's `X-Hub-Signature-256`.
    Github,
    /// GitLab's `X-Gitlab-Token`.
    Gitlab,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    #[default]
    StandardWebhooks,
}

/// Arguments of `ocean sign-webhook`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean sign-webhook --secret whsec_... --body event.json\n  ocean sign-webhook --scheme github --secret s3cret --body event.json"
)]
pub(crate) struct Args {
    /// The verifier to sign for.
    #[arg(long, value_enum, default_value_t = Scheme::StandardWebhooks)]
    scheme: Scheme,
    /// The signing secret (for standard-webhooks `whsec_<base64>` or a raw string; for gitlab
    /// the token).
    #[arg(
        long,
        env = "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET",
        hide_env_values = true
    )]
    secret: String,
    /// standard-webhooks only: the message id (default: a new random one). Receivers reject an
    /// id they have seen.
    #[arg(long)]
    id: Option<String>,
    /// port and standard-webhooks: the signed time in unix seconds (default: now). Receivers
    /// accept five minutes either way.
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

/// The header lines for `body` under `args.scheme`, signed at `now` unless a timestamp is given.
fn headers(args: &Args, body: &[u8], now: SystemTime) -> anyhow::Result<String> {
    let secret = args.secret.as_str();
    let signed = match args.scheme {
        Scheme::StandardWebhooks => {
            let verifier = StandardWebhooks::new(secret);
            usable(verifier.check_secret())?;
            let id = args
                .id
                .clone()
                .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
            if id.trim().is_empty() {
                bail!("--id must not be empty");
            }
            verifier.sign(&id, timestamp(args, now)?, body)
        }
        Scheme::Port => {
            refuse_id(args)?;
            let verifier = PortSignature::new(secret);
            usable(verifier.check_secret())?;
            verifier.sign(body, timestamp(args, now)?)
        }
        Scheme::Github => {
            refuse_id(args)?;
            refuse_timestamp(args)?;
            let verifier = GitHubSignature::new(secret);
            usable(verifier.check_secret())?;
            verifier.sign(body)
        }
        Scheme::Gitlab => {
            refuse_id(args)?;
            refuse_timestamp(args)?;
            let verifier = GitLabToken::new(secret);
            usable(verifier.check_secret())?;
            verifier.sign()
        }
    };
    Ok(lines(&signed.context("cannot sign the body")?))
}

fn lines(signed: &SignedHeaders) -> String {
    signed
        .iter()
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect()
}

fn usable(check: Result<(), SignatureError>) -> anyhow::Result<()> {
    check.map_err(|e| anyhow::anyhow!("--secret is unusable: {e}"))
}

fn timestamp(args: &Args, now: SystemTime) -> anyhow::Result<u64> {
    match args.timestamp {
        Some(t) => Ok(t),
        None => Ok(now
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_secs()),
    }
}

fn refuse_id(args: &Args) -> anyhow::Result<()> {
    if args.id.is_some() {
        bail!("--id applies to --scheme standard-webhooks only");
    }
    Ok(())
}

fn refuse_timestamp(args: &Args) -> anyhow::Result<()> {
    if args.timestamp.is_some() {
        bail!("--timestamp applies to --scheme port and standard-webhooks only");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &[u8] = br#"{"type": "person.updated", "person": {"id": "person-0-1"}}"#;

    fn args(id: Option<&str>, timestamp: Option<u64>) -> Args {
        scheme_args(Scheme::StandardWebhooks, SECRET, id, timestamp)
    }

    fn scheme_args(scheme: Scheme, secret: &str, id: Option<&str>, timestamp: Option<u64>) -> Args {
        Args {
            scheme,
            secret: secret.into(),
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

    fn names(pairs: &[(String, String)]) -> Vec<&str> {
        pairs.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn standard_webhooks_is_the_default_scheme() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let cli = Cli::parse_from(["ocean", "--secret", "s", "--body", "-"]);
        assert_eq!(cli.args.scheme, Scheme::StandardWebhooks);
        let cli = Cli::parse_from([
            "ocean", "--scheme", "github", "--secret", "s", "--body", "-",
        ]);
        assert_eq!(cli.args.scheme, Scheme::Github);
    }

    #[test]
    fn prints_headers_the_receiver_verifies() {
        let now = at(1_700_000_000);
        let lines = headers(&args(None, None), BODY, now).unwrap();
        let pairs = parse(&lines);
        assert_eq!(
            names(&pairs),
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
        assert!(pairs[0].1.starts_with("msg_"));
        assert_eq!(pairs[1].1, "1700000000");
        let receiver = StandardWebhooks::new(SECRET);
        assert!(receiver.verify(&pairs, BODY, now).is_ok());
        assert!(
            receiver.verify(&pairs, b"{}", now).is_err(),
            "another body fails"
        );
    }

    #[test]
    fn port_headers_verify_with_the_port_verifier() {
        let now = at(1_700_000_000);
        let lines = headers(
            &scheme_args(Scheme::Port, "port-secret", None, None),
            BODY,
            now,
        )
        .unwrap();
        let pairs = parse(&lines);
        assert_eq!(names(&pairs), ["x-port-timestamp", "x-port-signature"]);
        assert_eq!(pairs[0].1, "1700000000");
        let receiver = PortSignature::new("port-secret");
        assert!(receiver.verify(&pairs, BODY, now).is_ok());
        assert!(receiver.verify(&pairs, b"{}", now).is_err());
        assert!(
            PortSignature::new("other")
                .verify(&pairs, BODY, now)
                .is_err()
        );
    }

    #[test]
    fn github_header_verifies_with_the_github_verifier() {
        let lines = headers(
            &scheme_args(Scheme::Github, "gh-secret", None, None),
            BODY,
            SystemTime::now(),
        )
        .unwrap();
        let pairs = parse(&lines);
        assert_eq!(names(&pairs), ["x-hub-signature-256"]);
        let receiver = GitHubSignature::new("gh-secret");
        assert!(receiver.verify(&pairs, BODY).is_ok());
        assert!(receiver.verify(&pairs, b"{}").is_err());
    }

    #[test]
    fn gitlab_header_verifies_with_the_gitlab_verifier() {
        let lines = headers(
            &scheme_args(Scheme::Gitlab, "gl-token", None, None),
            BODY,
            SystemTime::now(),
        )
        .unwrap();
        let pairs = parse(&lines);
        assert_eq!(names(&pairs), ["x-gitlab-token"]);
        assert!(GitLabToken::new("gl-token").verify(&pairs).is_ok());
        assert!(GitLabToken::new("other").verify(&pairs).is_err());
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
        for scheme in [Scheme::Port, Scheme::Github, Scheme::Gitlab] {
            let empty = scheme_args(scheme, "", None, None);
            let err = headers(&empty, b"{}", SystemTime::now()).unwrap_err();
            assert!(err.to_string().contains("--secret is unusable"), "{err}");
        }
    }

    #[test]
    fn refuses_options_the_scheme_does_not_use() {
        let err = headers(
            &scheme_args(Scheme::Port, "s", Some("msg_1"), None),
            b"{}",
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--id"), "{err}");
        for scheme in [Scheme::Github, Scheme::Gitlab] {
            let err = headers(
                &scheme_args(scheme, "s", None, Some(1)),
                b"{}",
                SystemTime::now(),
            )
            .unwrap_err();
            assert!(err.to_string().contains("--timestamp"), "{err}");
        }
    }
}
