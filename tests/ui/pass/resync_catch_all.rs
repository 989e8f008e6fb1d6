use ocean::{Context, RawItem, Result};

#[ocean::on_resync]
async fn everything(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(Vec::new())
}

#[ocean::on_resync(kind = "team")]
async fn teams(_ctx: Context) -> Result<Vec<RawItem>> {
    Ok(Vec::new())
}

fn main() {
    let registry = ocean::registry::Registry::collect().unwrap();
    let names: Vec<_> = registry.handlers_for("team").map(|h| h.name).collect();
    assert_eq!(names, ["teams", "everything"]);
    let names: Vec<_> = registry.handlers_for("anything").map(|h| h.name).collect();
    assert_eq!(names, ["everything"]);
    assert_eq!(registry.catch_all_handlers()[0].kind, None);
}
