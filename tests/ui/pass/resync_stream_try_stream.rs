use futures::StreamExt;
use ocean::{Context, RawItem, Result, Stream};

fn page(n: u32) -> Result<Vec<RawItem>> {
    if n > 3 {
        ocean::bail!("page {n} does not exist");
    }
    Ok(vec![serde_json::json!({"page": n})])
}

#[ocean::on_resync(kind = "person")]
fn persons(_ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    ocean::try_stream! {
        for n in 1..=4 {
            let items = page(n)?;
            yield items;
        }
    }
}

fn main() {
    let registry = ocean::registry::Registry::collect().unwrap();
    let handler = registry.handlers_for("person").next().unwrap();
    let ctx = Context::new((), reqwest::Client::new());
    let batches: Vec<_> = futures::executor::block_on((handler.handler)(ctx).collect());
    // Three pages, then the error of the fourth ends the stream.
    assert_eq!(batches.len(), 4);
    assert!(batches[..3].iter().all(|b| b.is_ok()));
    assert_eq!(batches[3].as_ref().unwrap_err().to_string(), "page 4 does not exist");
}
