// The function stays callable as written, and may be registered for several kinds.
use ocean::{Context, RawItem, Result};

/// Documented, public, with a raw identifier name.
#[ocean::on_resync(kind = "issue")]
#[ocean::on_resync(kind = "bug")]
pub async fn r#type(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(vec![serde_json::json!(1)])
}

#[cfg(any())]
#[ocean::on_resync(kind = "never")]
async fn compiled_out(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(Vec::new())
}

fn main() {
    let direct = futures::executor::block_on(r#type(Context::new((), reqwest::Client::new())));
    assert_eq!(direct.unwrap().len(), 1);
    let registry = ocean::registry::Registry::collect().unwrap();
    assert_eq!(registry.kinds().collect::<Vec<_>>(), ["bug", "issue"]);
    assert_eq!(registry.handlers_for("bug").next().unwrap().name, "type");
}
