//! The crate's own `#[on_resync]` and `#[on_start]` registrations are linked into the binary,
//! collected, and callable through the registry.

use futures::StreamExt;
use ocean::registry::Registry;
use ocean::{Context, RawItem, Result, Stream};
use serde_json::json;

const PERSONS_LINE: u32 = line!() + 1;
#[ocean::on_resync(kind = "person")]
fn persons(_ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    ocean::try_stream! {
        for page in 1..=2 {
            let items: Vec<RawItem> = serde_json::from_str(&format!(r#"[{{"page": {page}}}]"#))?;
            yield items;
        }
    }
}

#[ocean::on_resync(kind = "department")]
async fn departments(ctx: Context) -> Result<Vec<RawItem>> {
    let prefix = ctx.config::<String>()?;
    Ok(vec![json!({"id": format!("{prefix}-hr")})])
}

const AUDIT_LINE: u32 = line!() + 1;
#[ocean::on_resync]
async fn audit_everything(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(Vec::new())
}

#[ocean::on_start]
async fn check_prefix(ctx: Context) -> Result<()> {
    match ctx.config::<String>()?.as_str() {
        "" => ocean::bail!("the prefix is empty"),
        _ => Ok(()),
    }
}

fn context(prefix: &str) -> Context {
    Context::new(prefix.to_owned(), reqwest::Client::new())
}

fn registry() -> Registry {
    match Registry::collect() {
        Ok(registry) => registry,
        Err(e) => panic!("the registrations of this crate conflict: {e}"),
    }
}

#[test]
fn collect_sees_every_registration_of_the_crate() {
    let registry = registry();
    assert_eq!(
        registry.kinds().collect::<Vec<_>>(),
        ["department", "person"]
    );
    let catch_all: Vec<_> = registry
        .catch_all_handlers()
        .iter()
        .map(|h| h.name)
        .collect();
    assert_eq!(catch_all, ["audit_everything"]);
    let hooks: Vec<_> = registry.start_hooks().iter().map(|h| h.name).collect();
    assert_eq!(hooks, ["check_prefix"]);
}

#[test]
fn registrations_carry_the_function_name_file_and_line() {
    let registry = registry();
    let persons: Vec<_> = registry.handlers_for("person").collect();
    assert_eq!(persons[0].name, "persons");
    assert_eq!(persons[0].kind, Some("person"));
    assert_eq!(persons[0].file, file!());
    assert_eq!(persons[0].line, PERSONS_LINE);
    assert_eq!(persons[1].name, "audit_everything");
    assert_eq!(persons.len(), 2);
}

#[tokio::test]
async fn stream_handler_yields_each_batch() {
    let registry = registry();
    let Some(handler) = registry.handlers_for("person").next() else {
        panic!("no handler for `person`");
    };
    let batches: Vec<Vec<RawItem>> = (handler.handler)(context("acme"))
        .map(|batch| batch.unwrap_or_else(|e| panic!("batch failed: {e}")))
        .collect()
        .await;
    assert_eq!(
        batches,
        [vec![json!({"page": 1})], vec![json!({"page": 2})]]
    );
}

#[tokio::test]
async fn async_handler_yields_one_batch_using_the_context() {
    let registry = registry();
    let Some(handler) = registry.handlers_for("department").next() else {
        panic!("no handler for `department`");
    };
    let batches: Vec<_> = (handler.handler)(context("acme")).collect().await;
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].as_ref().ok(),
        Some(&vec![json!({"id": "acme-hr"})])
    );
}

#[tokio::test]
async fn start_hook_runs_and_reports_errors() {
    let registry = registry();
    let hook = registry.start_hooks()[0].hook;
    assert!(hook(context("acme")).await.is_ok());
    let err = hook(context("")).await.err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("the prefix is empty"));
}

#[test]
fn about_describes_the_registrations() {
    let about = registry().about();
    assert_eq!(about["kinds"], json!(["department", "person"]));
    assert_eq!(
        about["resyncHandlers"][2],
        json!({"kind": null, "name": "audit_everything", "location": format!("{}:{AUDIT_LINE}", file!())})
    );
}
