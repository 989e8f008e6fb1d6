//! `ocean map`: map raw items offline with a port-app-config and print the entities exactly as
//! they would be sent to Port.
//!
//! A jq expression that does not compile spoils only its own field, as at run time and in
//! Ocean: it is reported on stderr (`invalid jq: resources[0] (service)
//! port.entity.mappings.properties.status: ...`) and the field is `null` on every item. With
//! `--strict` such an expression is an error instead.
//!
//! Exit codes: 0 when the items were mapped (even with misconfigured fields, expressions that
//! do not compile, or failed items, all reported on stderr); 1 with `--strict` when an
//! expression of the kind's resources does not compile (each named by its field path, nothing
//! is mapped); 2 when the config is invalid (YAML or schema), the kind is not in it, or the
//! input cannot be read.

use anyhow::{Context, anyhow};
use ocean::mapping::{CompiledResource, JqEngine, PortAppConfig};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ocean map`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ocean map --mapping .port/resources/port-app-config.yml --kind ticket --input items.json\n  ocean map --mapping .port/resources/port-app-config.yml --kind ticket --strict < items.json"
)]
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
    /// Exit 1, mapping nothing, when a jq expression of the kind's resources does not compile
    /// (by default that field is null on every item, as at run time).
    #[arg(long)]
    strict: bool,
}

/// Why the command stopped.
enum Failure {
    /// `--strict` found expressions that do not compile (already reported).
    Strict,
    /// Anything else: bad config, unknown kind, unreadable input.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

/// Runs the command.
// Every subcommand is dispatched with its arguments by value.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn run(args: Args) -> ExitCode {
    match map(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Strict) => ExitCode::from(1),
        Err(Failure::Other(e)) => {
            eprintln!("ocean map: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// What an expression that does not compile does to the mapping at `path`.
fn consequence(path: &str) -> &'static str {
    if path.ends_with(".selector.query") {
        "every item fails"
    } else if path.ends_with(".port.itemsToParse") {
        "no item is mapped"
    } else {
        "the field is null on every item"
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

fn map(args: &Args) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.mapping)
        .with_context(|| format!("cannot read mapping {}", args.mapping.display()))?;
    let config = PortAppConfig::parse(&text)
        .with_context(|| format!("invalid port-app-config {}", args.mapping.display()))?;
    let resources: Vec<_> = config.resources_of_kind(&args.kind).collect();
    if resources.is_empty() {
        let mut kinds: Vec<&str> = config.resources.iter().map(|r| r.kind.as_str()).collect();
        kinds.dedup();
        return Err(anyhow!(
            "kind `{}` is not in {} (kinds: {})",
            args.kind,
            args.mapping.display(),
            kinds.join(", ")
        )
        .into());
    }
    let engine = JqEngine::default();
    let mut compile_errors = 0;
    for (index, resource) in &resources {
        for error in resource.compile_errors(&engine, &format!("resources[{index}]")) {
            compile_errors += 1;
            if args.strict {
                eprintln!("ocean map: {error}");
            } else {
                eprintln!(
                    "invalid jq ({}): {error}; {}",
                    resource.kind,
                    consequence(&error.path)
                );
            }
        }
    }
    if args.strict && compile_errors > 0 {
        eprintln!(
            "ocean map: {compile_errors} jq expression(s) of kind `{}` in {} do not compile",
            args.kind,
            args.mapping.display()
        );
        return Err(Failure::Strict);
    }
    let items = read_items(args.input.as_ref())?;

    let mut entities = Vec::new();
    for (index, resource) in resources {
        let compiled = CompiledResource::new(resource, &engine);
        if let Some(warning) = compiled.skips_every_item() {
            eprintln!("warning: resources[{index}] ({}) {warning}", resource.kind);
        }
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
