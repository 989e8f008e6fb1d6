use ocean::{Context, RawItem, Stream};

#[ocean::on_resync(kind = "person")]
fn persons(_ctx: Context) -> impl Stream<Item = Vec<RawItem>> + Send + 'static {
    ocean::stream! {
        yield Vec::new();
    }
}

fn main() {}
