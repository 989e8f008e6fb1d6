//! `ocean map`: map raw items offline with a port-app-config and print the entities exactly as
//! they would be sent to Port.
//!
//! Exit codes: 0 when the items were mapped (even with misconfigured fields or failed items,
//! which are reported on stderr), 2 when the config is invalid (YAML, schema or jq), the kind is
//! not in it, or the input cannot be read.

use anyhow::{Context, bail};
use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ocean map`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The port-app-config (YAML or JSON) holding the resource mappings.
    #[arg(long, value_name = "FILE")]
    mapping: PathBuf,
    /// The kind to map with (every resource of this kind, in order).
    #[arg(long)]
    kind: String,
    /// Raw items: a JSON array or NDJSON. Reads stdin when absent.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Map items that fail the selector too (as live events do) and list them on stderr.
    #[arg(long)]
    parse_all: bool,
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    match map(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocean map: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read_items(input: Option<&PathBuf>) -> anyhow::Result<Vec<Value>> {
    let text = match input {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read input {}", path.display()))?,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read input from stdin")?;
            text
        }
    };
    if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text) {
        return Ok(items);
    }
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .enumerate()
        .map(|(i, v)| {
            v.with_context(|| format!("input is not a JSON array or NDJSON (value {})", i + 1))
        })
        .collect()
}

fn map(args: &Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.mapping)
        .with_context(|| format!("cannot read mapping {}", args.mapping.display()))?;
    let config = PortAppConfig::parse(&text)
        .with_context(|| format!("invalid port-app-config {}", args.mapping.display()))?;
    let resources: Vec<_> = config.resources_of_kind(&args.kind).collect();
    if resources.is_empty() {
        let mut kinds: Vec<&str> = config.resources.iter().map(|r| r.kind.as_str()).collect();
        kinds.dedup();
        bail!(
            "kind `{}` is not in {} (kinds: {})",
            args.kind,
            args.mapping.display(),
            kinds.join(", ")
        );
    }
    let engine = JqEngine::default();
    for (index, resource) in &resources {
        resource
            .validate_jq(&engine, &format!("resources[{index}]"))
            .with_context(|| format!("invalid port-app-config {}", args.mapping.display()))?;
    }
    let items = read_items(args.input.as_ref())?;

    let mut entities = Vec::new();
    for (index, resource) in resources {
        let compiled = CompiledResource::new(resource, &engine);
        let outcome = compiled.map_batch_parallel(&items, args.parse_all);
        for (path, expr) in &outcome.misconfigurations {
            eprintln!(
                "misconfigured: resources[{index}] ({}) {path}: {expr} (null, missing, or misconfigured)",
                resource.kind
            );
        }
        for failure in &outcome.failures {
            eprintln!(
                "failed: resources[{index}] ({}) item {}: {}",
                resource.kind, failure.index, failure.message
            );
        }
        if outcome.filtered_out.count > 0 {
            eprintln!(
                "filtered out: resources[{index}] ({}) {} item(s) did not pass the selector",
                resource.kind, outcome.filtered_out.count
            );
        }
        if outcome.skipped > 0 {
            eprintln!(
                "skipped: resources[{index}] ({}) {} item(s) mapped to an empty identifier or blueprint",
                resource.kind, outcome.skipped
            );
        }
        for entity in &outcome.filtered_out.entities {
            eprintln!(
                "did not pass the selector: {}",
                serde_json::to_string(entity).context("cannot serialize entity")?
            );
        }
        entities.extend(outcome.entities);
    }
    let out = serde_json::to_string_pretty(&entities).context("cannot serialize entities")?;
    println!("{out}");
    Ok(())
}
