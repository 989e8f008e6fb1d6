use ocean::{Context, Result};

#[ocean::on_start]
async fn warm_up(ctx: Context) -> Result<()> {
    let attempts = ctx.config::<u32>()?;
    if *attempts == 0 {
        ocean::bail!("no attempts left");
    }
    Ok(())
}

fn main() {
    let registry = ocean::registry::Registry::collect().unwrap();
    let hook = registry.start_hooks()[0];
    assert_eq!(hook.name, "warm_up");
    let ok = futures::executor::block_on((hook.hook)(Context::new(3_u32, reqwest::Client::new())));
    assert!(ok.is_ok());
    let err = futures::executor::block_on((hook.hook)(Context::new(0_u32, reqwest::Client::new())));
    assert_eq!(err.unwrap_err().to_string(), "no attempts left");
}
