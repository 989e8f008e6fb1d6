//! `ocean defaults dock|clean [DIR]`: creates or removes in Port the default resources of an
//! integration's `.port/resources`, as Ocean's `defaults` commands.
//!
//! ```text
//! ocean defaults dock                 # blueprints + the integration with its default mapping
//! ocean defaults clean ../acme --force
//! ```
//!
//! Port is reached with the usual settings (`OCEAN__PORT__CLIENT_ID`, `OCEAN__PORT__CLIENT_SECRET`,
//! `OCEAN__PORT__BASE_URL`, `OCEAN__INTEGRATION__IDENTIFIER`), read from the environment and the
//! folder's `.env`. `dock` creates the blueprints that do not exist and the integration record
//! with the default mapping (an existing mapping is kept); `clean` deletes the blueprints in
//! reverse file order, and with `--force` deletes their entities first. Exit codes: 0 done, 1
//! Port refused, 2 invalid settings or files.

use ocean::config::{ConfigSources, IntegrationSpec, OceanSettings};
use ocean::port::Datasource;
use ocean::port::client::{PortClient, PortClientConfig};
use ocean::runtime::IntegrationInfo;
use ocean::runtime::defaults::{DefaultResources, ensure_blueprints, ensure_integration};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `ocean defaults`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean defaults dock\n  ocean defaults clean ../acme-tickets --force"
)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create the default blueprints and the integration with its default mapping in Port.
    Dock {
        /// The integration's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Delete the default blueprints from Port.
    Clean {
        /// The integration's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Delete the blueprints' entities first (Port refuses to delete a blueprint that has
        /// entities).
        #[arg(long)]
        force: bool,
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
            eprintln!("ocean defaults: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (dir, outcome) = match &args.action {
        Action::Dock { dir } => (dir, runtime.block_on(dock(dir))),
        Action::Clean { dir, force } => (dir, runtime.block_on(clean(dir, *force))),
    };
    match outcome {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("ocean defaults ({}): {message}", dir.display());
            ExitCode::from(code)
        }
    }
}

type Outcome = Result<Vec<String>, (u8, String)>;

fn invalid(message: impl std::fmt::Display) -> (u8, String) {
    (2, message.to_string())
}

fn refused(message: impl std::fmt::Display) -> (u8, String) {
    (1, message.to_string())
}

/// The settings (environment, then the folder's `.env`) and a Port client; Port credentials
/// are required, since a local Port in this process would vanish with it.
fn connect(
    dir: &Path,
) -> Result<(OceanSettings, PortClient, Option<IntegrationSpec>), (u8, String)> {
    let spec = IntegrationSpec::load(&dir.join(".port")).map_err(invalid)?;
    let default_type = spec
        .as_ref()
        .and_then(|s| s.integration_type.clone())
        .or_else(|| {
            dir.canonicalize()
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "integration".to_owned());
    let mut sources = ConfigSources::from_process();
    sources.dotenv_path = Some(dir.join(".env"));
    sources.config_yaml_path = Some(dir.join("config.yaml"));
    let settings = OceanSettings::load(&sources, Some(&default_type)).map_err(invalid)?;
    let (Some(id), Some(secret)) = (
        settings.port.client_id.clone(),
        settings.port.client_secret.clone(),
    ) else {
        return Err(invalid(
            "set OCEAN__PORT__CLIENT_ID and OCEAN__PORT__CLIENT_SECRET (and OCEAN__PORT__BASE_URL for another Port, e.g. `ocean port-emulator`)",
        ));
    };
    let client = PortClient::new(PortClientConfig::new(
        settings.port.base_url.clone(),
        id,
        secret,
        Datasource::exporter(
            &settings.integration.r#type,
            env!("CARGO_PKG_VERSION"),
            &settings.integration.identifier,
        ),
    ))
    .map_err(invalid)?;
    Ok((settings, client, spec))
}

async fn dock(dir: &Path) -> Outcome {
    let (settings, port, _spec) = connect(dir)?;
    let defaults = DefaultResources::load(&dir.join(".port/resources"))
        .await
        .map_err(invalid)?;
    let mut lines = Vec::new();
    let outcome = ensure_blueprints(&port, &defaults.blueprints)
        .await
        .map_err(refused)?;
    lines.push(format!("blueprints: {outcome:?}"));
    // The integration record's type and version; this process ends right after.
    let info = IntegrationInfo {
        name: Box::leak(settings.integration.r#type.clone().into_boxed_str()),
        version: env!("CARGO_PKG_VERSION"),
        manifest_dir: Box::leak(dir.display().to_string().into_boxed_str()),
    };
    let integration = ensure_integration(&port, &settings, &info, &defaults)
        .await
        .map_err(refused)?;
    lines.push(format!(
        "integration `{}`: {}",
        integration.installation_id,
        if integration.config.is_some() {
            "has a mapping"
        } else {
            "has no mapping"
        }
    ));
    Ok(lines)
}

async fn clean(dir: &Path, force: bool) -> Outcome {
    let (_settings, port, _spec) = connect(dir)?;
    let defaults = DefaultResources::load(&dir.join(".port/resources"))
        .await
        .map_err(invalid)?;
    let mut lines = Vec::new();
    for blueprint in defaults.blueprints.iter().rev() {
        let id = &blueprint.identifier;
        if force {
            let removed = delete_entities(&port, id).await.map_err(refused)?;
            lines.push(format!("blueprint `{id}`: {removed} entities deleted"));
        }
        match port.delete_blueprint(id).await {
            Ok(()) => lines.push(format!("blueprint `{id}`: deleted")),
            Err(ocean::port::client::PortError::NotFound { .. }) => {
                lines.push(format!("blueprint `{id}`: not in Port"));
            }
            Err(e) => {
                return Err(refused(format!(
                    "deleting blueprint `{id}` failed: {e}{}",
                    if force {
                        ""
                    } else {
                        " (pass --force to delete its entities first)"
                    }
                )));
            }
        }
    }
    Ok(lines)
}

/// Deletes every entity of `blueprint`, 100 at a time; returns how many.
async fn delete_entities(port: &PortClient, blueprint: &str) -> Result<usize, String> {
    use ocean::port::client::DeleteOptions;
    use ocean::port::types::{Query, QueryNode};
    let mut removed = 0;
    loop {
        let query = Query::and(vec![QueryNode::rule(
            "$blueprint",
            "=",
            serde_json::Value::String(blueprint.to_owned()),
        )]);
        let found = match port.search_entities(&query, &["identifier"]).await {
            Ok(found) => found,
            Err(ocean::port::client::PortError::NotFound { .. }) => return Ok(removed),
            Err(e) => return Err(format!("listing `{blueprint}` entities failed: {e}")),
        };
        if found.is_empty() {
            return Ok(removed);
        }
        let ids: Vec<String> = found.iter().map(|e| e.normalized_identifier()).collect();
        let options = DeleteOptions {
            delete_dependents: true,
            event: None,
        };
        let mut progressed = false;
        for chunk in ids.chunks(100) {
            let outcome = port.delete_entities_bulk(blueprint, chunk, &options).await;
            progressed |= !outcome.deleted.is_empty();
            removed += outcome.deleted.len();
            if let Some(failure) = outcome.failures.first() {
                return Err(format!(
                    "deleting `{blueprint}` entities failed: {}",
                    failure.reason
                ));
            }
        }
        if !progressed {
            return Err(format!(
                "the entities of `{blueprint}` could not be deleted"
            ));
        }
    }
}
