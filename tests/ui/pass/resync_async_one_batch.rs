use futures::StreamExt;
use ocean::{Context, RawItem, Result};
use serde_json::json;

#[ocean::on_resync(kind = "department")]
async fn departments(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(vec![json!({"id": "hr"}), json!({"id": "rnd"})])
}

fn main() {
    let registry = ocean::registry::Registry::collect().unwrap();
    let handlers: Vec<_> = registry.handlers_for("department").collect();
    assert_eq!(handlers.len(), 1);
    assert_eq!(handlers[0].name, "departments");
    let ctx = Context::new((), reqwest::Client::new());
    let batches: Vec<_> = futures::executor::block_on((handlers[0].handler)(ctx).collect());
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].as_ref().unwrap().len(), 2);
}
