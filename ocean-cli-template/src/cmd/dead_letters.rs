//! `ocean dead-letters`: list, show, replay and delete the dead letters of a running
//! integration through its admin routes (`/admin/dead-letters`), printing the JSON answers.
//!
//! Exit codes: 0 when the integration answered with success, 1 when it answered an error or
//! could not be reached, 2 for invalid arguments.

use anyhow::{Context, bail};
use ocean::live_events::ADMIN_TOKEN_ENV;
use reqwest::{Method, Url};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ocean dead-letters`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean dead-letters list --url http://127.0.0.1:8000 --token \"$OCEAN__LIVE_EVENTS__ADMIN_TOKEN\""
)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
    /// Base URL of the integration, with its path prefix if it has one
    /// (`http://host:8000/prefix`).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// Bearer token of the admin routes (the integration's admin token).
    #[arg(long, global = true, env = ADMIN_TOKEN_ENV, hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum Action {
    /// List the dead letters.
    List,
    /// Show one dead letter.
    Show {
        /// The dead letter's id.
        id: String,
    },
    /// Queue a dead letter's event again (it leaves the dead letters).
    Replay {
        /// The dead letter's id.
        id: String,
    },
    /// Delete a dead letter without replaying it.
    Delete {
        /// The dead letter's id.
        id: String,
    },
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ocean dead-letters: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(call(&args)) {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string())
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ocean dead-letters: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The method and URL of an action against the integration at `base`.
fn request_of(base: &str, action: &Action) -> anyhow::Result<(Method, Url)> {
    let mut url = Url::parse(base).with_context(|| {
        format!("--url must be an http(s) URL like http://127.0.0.1:8000, got `{base}`")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--url must be an http(s) URL, got `{base}`");
    }
    let (method, tail): (Method, Vec<&str>) = match action {
        Action::List => (Method::GET, vec![]),
        Action::Show { id } => (Method::GET, vec![id]),
        Action::Replay { id } => (Method::POST, vec![id, "replay"]),
        Action::Delete { id } => (Method::DELETE, vec![id]),
    };
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("--url cannot hold a path: `{base}`"))?
        .pop_if_empty()
        .extend(["admin", "dead-letters"])
        .extend(tail);
    Ok((method, url))
}

async fn call(args: &Args) -> anyhow::Result<Value> {
    let Some(token) = args.token.as_deref().filter(|t| !t.is_empty()) else {
        bail!("an admin token is required: pass --token or set {ADMIN_TOKEN_ENV}");
    };
    let (method, url) = request_of(&args.url, &args.action)?;
    let client = ocean::config::tls::client_builder()?
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let answer = client
        .request(method.clone(), url.clone())
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("{method} {url} failed"))?;
    let status = answer.status();
    let text = answer
        .text()
        .await
        .with_context(|| format!("cannot read the answer of {method} {url}"))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status.is_success() {
        return Ok(body);
    }
    let message = body["message"]
        .as_str()
        .map_or_else(|| body.to_string(), str::to_owned);
    let hint = match status.as_u16() {
        401 => " (is the token right?)",
        404 if matches!(args.action, Action::List) => {
            " (does the integration run live events with an admin token set, and is --url right, with the path prefix?)"
        }
        _ => "",
    };
    bail!("{method} {url} answered {status}: {message}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn args(url: &str, token: Option<&str>, action: Action) -> Args {
        Args {
            action,
            url: url.to_owned(),
            token: token.map(str::to_owned),
        }
    }

    #[test]
    fn builds_the_admin_urls_under_the_given_prefix() {
        let (m, url) = request_of("http://h:8000/ocean/", &Action::List).unwrap();
        assert_eq!(
            (m, url.as_str()),
            (Method::GET, "http://h:8000/ocean/admin/dead-letters")
        );
        let replay = Action::Replay { id: "a/b c".into() };
        let (m, url) = request_of("http://h:8000", &replay).unwrap();
        assert_eq!(m, Method::POST);
        assert_eq!(
            url.as_str(),
            "http://h:8000/admin/dead-letters/a%2Fb%20c/replay"
        );
        let delete = Action::Delete { id: "x".into() };
        assert_eq!(request_of("http://h", &delete).unwrap().0, Method::DELETE);
        assert!(request_of("ftp://h", &Action::List).is_err());
        assert!(request_of("not a url", &Action::List).is_err());
    }

    #[tokio::test]
    async fn lists_with_the_bearer_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/admin/dead-letters"))
            .and(header("authorization", "Bearer s3cret"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"deadLetters": [{"id": "d1"}]})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let answer = call(&args(&server.uri(), Some("s3cret"), Action::List))
            .await
            .unwrap();
        assert_eq!(answer["deadLetters"][0]["id"], "d1");
    }

    #[tokio::test]
    async fn replays_by_id_and_reports_refusals() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/admin/dead-letters/d1/replay"))
            .and(header("authorization", "Bearer s3cret"))
            .respond_with(
                ResponseTemplate::new(202).set_body_json(serde_json::json!({"eventId": "e1"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/admin/dead-letters/d1/replay"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"status": "error", "message": "a valid admin bearer token is required"}),
            ))
            .mount(&server)
            .await;
        let replay = || Action::Replay { id: "d1".into() };
        let answer = call(&args(&server.uri(), Some("s3cret"), replay()))
            .await
            .unwrap();
        assert_eq!(answer["eventId"], "e1");
        let err = call(&args(&server.uri(), Some("wrong"), replay()))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("401") && err.contains("is the token right"),
            "{err}"
        );
        assert!(!err.contains("wrong"), "the token is never printed: {err}");
    }

    #[tokio::test]
    async fn a_missing_token_is_refused_before_any_request() {
        let err = call(&args("http://127.0.0.1:9", None, Action::List))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(ADMIN_TOKEN_ENV), "{err}");
    }
}
